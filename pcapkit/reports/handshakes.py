"""The three-way handshake of every TCP conversation (tcp.stream).

One row per stream: who opened it (client = sender of the SYN; when only the SYN-ACK
was seen, its receiver), the SYN / SYN-ACK / ACK frames and times, SYN
retransmissions, each side's raw ISN and SYN options (MSS, window scale shift, SACK
permitted, timestamps), tshark's ``tcp.analysis.initial_rtt`` and the outcome.

``tcp.analysis.initial_rtt`` is exactly tshark's (4.0): the time from the most recent
SYN to the first segment with ACK and without SYN -- so a connection refused by a
RST|ACK has one (SYN to RST time, as tshark shows it on the RST), one refused by a
bare RST has none.

The outcomes:

- ``established``: SYN-ACK and then the client's ACK were seen (``syn_frame`` is empty
  when the SYN itself is missing from the capture);
- ``incomplete``: SYN-ACK seen, but no ACK from the client afterwards;
- ``refused``: the server answered the SYN with a RST;
- ``unanswered``: SYN(s) only;
- ``mid-stream``: no SYN at all (the capture started after the handshake).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.tcpflow.analysed import AnalysedSegments, analyse
from pcapkit.tcpflow.segment import ACK, RST, SYN

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.reports.tcp import PathOrFrames
    from pcapkit.tcpflow.segments import SegmentTable


@dataclass(slots=True)
class _Hs:
    stream: int
    first: int                              # row of the stream's first segment
    client: tuple[int, int] | None = None   # (address code, port)
    syn: int | None = None                  # rows
    syn_count: int = 0
    synack: int | None = None
    ack: int | None = None
    rst_from_server: bool = False


COLUMNS: dict[str, str] = {
    "tcp.stream": "Int64",
    "client": "string",
    "server": "string",
    "syn_frame": "Int64",
    "syn_time": "datetime64[ns]",
    "synack_frame": "Int64",
    "synack_time": "datetime64[ns]",
    "ack_frame": "Int64",
    "ack_time": "datetime64[ns]",
    "syn_retransmissions": "Int64",
    "client_isn": "Int64",
    "server_isn": "Int64",
    "client_mss": "Int64",
    "server_mss": "Int64",
    "client_wscale": "Int64",
    "server_wscale": "Int64",
    "client_sack_permitted": "boolean",
    "server_sack_permitted": "boolean",
    "client_timestamps": "boolean",
    "server_timestamps": "boolean",
    "tcp.analysis.initial_rtt": "float64",
    "outcome": "string",
}


def _endpoint(addr: str, port: int) -> str:
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def _handshake_states(segs: SegmentTable, stream: np.ndarray) -> dict[int, _Hs]:
    """Who opened each stream and its SYN, SYN-ACK and RST rows, read from the rows
    that can change them (SYN or RST set, and each stream's first row)."""
    flags = segs.flags
    _, first_rows = np.unique(stream, return_index=True)
    interesting = (flags & (SYN | RST)) != 0
    interesting[first_rows] = True
    streams: dict[int, _Hs] = {}
    src, sport, dst, dport = segs.src, segs.sport, segs.dst, segs.dport
    for i in np.nonzero(interesting)[0].tolist():
        st = int(stream[i])
        hs = streams.get(st)
        if hs is None:
            hs = streams[st] = _Hs(st, i)
        f = int(flags[i])
        me = (int(src[i]), int(sport[i]))
        peer = (int(dst[i]), int(dport[i]))
        if f & (SYN | ACK) == SYN:
            if hs.client is None or hs.client == me:
                hs.client = me
                hs.syn_count += 1
                if hs.syn is None:
                    hs.syn = i
        elif f & (SYN | ACK) == (SYN | ACK):
            if hs.client is None:
                hs.client = peer
            if hs.synack is None and peer == hs.client:
                hs.synack = i
        elif hs.client is not None and me != hs.client and f & RST and hs.synack is None:
            hs.rst_from_server = True
    return streams


def _first_acks(segs: SegmentTable, stream: np.ndarray, states: dict[int, _Hs]) -> None:
    """Each handshake's ACK: the client's first segment after the SYN-ACK with ACK set
    and neither SYN nor RST (one vectorised pass over the candidate rows)."""
    import pandas as pd

    flags = segs.flags
    cand = np.nonzero(((flags & ACK) != 0) & ((flags & (SYN | RST)) == 0))[0]
    wanted = [(hs.stream, hs.client[0], hs.client[1], hs.synack) for hs in states.values()
              if hs.synack is not None and hs.client is not None]
    if not wanted or not cand.size:
        return
    rows = pd.DataFrame({"row": cand, "stream": stream[cand], "src": segs.src[cand], "sport": segs.sport[cand]})
    want = pd.DataFrame(wanted, columns=["stream", "src", "sport", "after"])
    hit = rows.merge(want, on=["stream", "src", "sport"])
    hit = hit[hit["row"] > hit["after"]]
    first = hit.groupby("stream")["row"].min()
    for st, row in zip(first.index.tolist(), first.tolist(), strict=True):
        states[int(st)].ack = int(row)


def handshake_rows(an: AnalysedSegments) -> list[dict[str, Any]]:
    """One row (a dict) per tcp.stream of analysed segments."""
    segs = an.segments
    stream = an.stream
    states = _handshake_states(segs, stream)
    _first_acks(segs, stream, states)
    irtt_by_stream = an.initial_rtt_by_stream()
    texts = segs.addresses

    def endpoint(row: int, side: str) -> tuple[int, int]:
        if side == "src":
            return int(segs.src[row]), int(segs.sport[row])
        return int(segs.dst[row]), int(segs.dport[row])

    def opt(values: np.ndarray, row: int | None) -> int | None:
        if row is None:
            return None
        v = int(values[row])
        return None if v < 0 else v

    rows = []
    for stream_no in sorted(states):
        hs = states[stream_no]
        first_src, first_dst = endpoint(hs.first, "src"), endpoint(hs.first, "dst")
        if hs.client is None:
            c, s = first_src, first_dst
        else:
            c = hs.client
            s = first_dst if first_src == c else first_src
        syn, synack, ack = hs.syn, hs.synack, hs.ack
        if ack is not None:
            outcome = "established"
        elif synack is not None:
            outcome = "incomplete"
        elif syn is not None:
            outcome = "refused" if hs.rst_from_server else "unanswered"
        else:
            outcome = "mid-stream"
        irtt = irtt_by_stream.get(stream_no)
        rows.append({
            "tcp.stream": stream_no,
            "client": _endpoint(texts[c[0]], c[1]),
            "server": _endpoint(texts[s[0]], s[1]),
            "syn_frame": None if syn is None else int(segs.frame[syn]),
            "syn_time": None if syn is None else int(segs.ts_ns[syn]),
            "synack_frame": None if synack is None else int(segs.frame[synack]),
            "synack_time": None if synack is None else int(segs.ts_ns[synack]),
            "ack_frame": None if ack is None else int(segs.frame[ack]),
            "ack_time": None if ack is None else int(segs.ts_ns[ack]),
            "syn_retransmissions": max(0, hs.syn_count - 1) if syn is not None else None,
            "client_isn": None if syn is None else int(segs.seq[syn]),
            "server_isn": None if synack is None else int(segs.seq[synack]),
            "client_mss": opt(segs.mss, syn),
            "server_mss": opt(segs.mss, synack),
            "client_wscale": opt(segs.wscale, syn),
            "server_wscale": opt(segs.wscale, synack),
            "client_sack_permitted": None if syn is None else bool(segs.sack_perm[syn]),
            "server_sack_permitted": None if synack is None else bool(segs.sack_perm[synack]),
            "client_timestamps": None if syn is None else bool(segs.tsval[syn] >= 0),
            "server_timestamps": None if synack is None else bool(segs.tsval[synack] >= 0),
            "tcp.analysis.initial_rtt": irtt / 1e9 if irtt else None,
            "outcome": outcome,
        })
    return rows


def handshakes(path: PathOrFrames | AnalysedSegments) -> pd.DataFrame:
    """One row per tcp.stream of ``path`` describing its handshake (see module doc)."""
    import pandas as pd

    from pcapkit.reports.tcp import column

    an = path if isinstance(path, AnalysedSegments) else analyse(path)
    rows = handshake_rows(an)
    df = pd.DataFrame({name: column([r[name] for r in rows], dtype) for name, dtype in COLUMNS.items()})
    df.attrs["warnings"] = list(an.warnings)
    if an.segments.error is not None:
        df.attrs["pcapkit.error"] = str(an.segments.error)
    return df
