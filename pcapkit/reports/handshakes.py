"""The three-way handshake of every TCP conversation (tcp.stream).

One row per stream: who opened it (client = sender of the SYN; when only the SYN-ACK
was seen, its receiver), the SYN / SYN-ACK / ACK frames and times, SYN
retransmissions, each side's raw ISN and SYN options (MSS, window scale shift, SACK
permitted, timestamps), tshark's ``tcp.analysis.initial_rtt`` and the outcome:

- ``established``: SYN-ACK and then the client's ACK were seen (``syn_frame`` is empty
  when the SYN itself is missing from the capture);
- ``incomplete``: SYN-ACK seen, but no ACK from the client afterwards;
- ``refused``: the server answered the SYN with a RST;
- ``unanswered``: SYN(s) only;
- ``mid-stream``: no SYN at all (the capture started after the handshake).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pcapkit.tcpflow.segment import ACK, RST, SYN

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.reports.tcp import PathOrFrames
    from pcapkit.tcpflow.segment import Segment


@dataclass(slots=True)
class _Hs:
    stream: int
    first: Segment
    client: tuple[str, int] | None = None
    syn: Segment | None = None
    syn_count: int = 0
    synack: Segment | None = None
    ack: Segment | None = None
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


def handshake_rows(records: Iterable[Any], irtt_by_stream: dict[int, int]) -> list[dict[str, Any]]:
    """Rows (dicts) from engine records (:class:`~pcapkit.tcpflow.engine.FrameAnalysis`)."""
    streams: dict[int, _Hs] = {}
    for rec in records:
        seg = rec.segment
        hs = streams.get(rec.stream)
        if hs is None:
            hs = streams[rec.stream] = _Hs(rec.stream, seg)
        flags = seg.flags
        if flags & (SYN | ACK) == SYN:
            if hs.client is None or hs.client == (seg.src, seg.sport):
                hs.client = (seg.src, seg.sport)
                hs.syn_count += 1
                if hs.syn is None:
                    hs.syn = seg
        elif flags & (SYN | ACK) == (SYN | ACK):
            if hs.client is None:
                hs.client = (seg.dst, seg.dport)
            if hs.synack is None and (seg.dst, seg.dport) == hs.client:
                hs.synack = seg
        elif hs.client is not None and (seg.src, seg.sport) == hs.client:
            if hs.synack is not None and hs.ack is None and flags & ACK and not flags & RST:
                hs.ack = seg
        elif hs.client is not None and flags & RST and hs.synack is None:
            hs.rst_from_server = True
    rows = []
    for stream in sorted(streams):
        hs = streams[stream]
        if hs.client is None:
            c = (hs.first.src, hs.first.sport)
            s = (hs.first.dst, hs.first.dport)
        else:
            c = hs.client
            s = (hs.first.dst, hs.first.dport) if (hs.first.src, hs.first.sport) == c else \
                (hs.first.src, hs.first.sport)
        syn, synack, ack = hs.syn, hs.synack, hs.ack
        if ack is not None:
            outcome = "established"
        elif synack is not None:
            outcome = "incomplete"
        elif syn is not None:
            outcome = "refused" if hs.rst_from_server else "unanswered"
        else:
            outcome = "mid-stream"
        irtt = irtt_by_stream.get(stream)
        rows.append({
            "tcp.stream": stream,
            "client": _endpoint(*c),
            "server": _endpoint(*s),
            "syn_frame": syn.frame_number if syn else None,
            "syn_time": syn.ts_ns if syn else None,
            "synack_frame": synack.frame_number if synack else None,
            "synack_time": synack.ts_ns if synack else None,
            "ack_frame": ack.frame_number if ack else None,
            "ack_time": ack.ts_ns if ack else None,
            "syn_retransmissions": max(0, hs.syn_count - 1) if syn else None,
            "client_isn": syn.seq if syn else None,
            "server_isn": synack.seq if synack else None,
            "client_mss": syn.mss if syn else None,
            "server_mss": synack.mss if synack else None,
            "client_wscale": syn.wscale if syn else None,
            "server_wscale": synack.wscale if synack else None,
            "client_sack_permitted": syn.sack_permitted if syn else None,
            "server_sack_permitted": synack.sack_permitted if synack else None,
            "client_timestamps": (syn.ts_val is not None) if syn else None,
            "server_timestamps": (synack.ts_val is not None) if synack else None,
            "tcp.analysis.initial_rtt": irtt / 1e9 if irtt else None,
            "outcome": outcome,
        })
    return rows


def handshakes(path: PathOrFrames) -> pd.DataFrame:
    """One row per tcp.stream of ``path`` describing its handshake (see module doc)."""
    import pandas as pd

    from pcapkit.reports.tcp import _column, run_engine

    engine, records = run_engine(path)
    recs = list(records)
    irtt = {s: rtt for s in range(engine.stream_count) if (rtt := engine.initial_rtt(s)) is not None}
    rows = handshake_rows(recs, irtt)
    df = pd.DataFrame({name: _column([r[name] for r in rows], dtype) for name, dtype in COLUMNS.items()})
    df.attrs["warnings"] = list(engine.warnings)
    return df
