"""One row per conversation: TCP, UDP, ICMP and other IP.

``flows(path)`` returns a DataFrame with, per conversation: ``proto``, the endpoints
(``src``/``sport`` is the side that sent the first packet, or Zeek's originator for
TCP), ``first``/``last`` (datetime64[ns]), ``duration`` (timedelta64[ns]), packets
and bytes each way (bytes are frame lengths, as tshark's ``-z conv`` counts them) and
in total, and Zeek's ``conn_state`` (UDP: SF or S0, with history D/d for payload each
way; ICMP and other IP: OTH). TCP rows add ``tcp.stream`` (tshark's numbering, from :mod:`pcapkit.tcpflow.engine`),
Zeek's ``conn_state``/``history``/``missed_bytes``, and from the tcptrace model the
retransmitted data packets, Karn-rule RTT summary (ms) and throughput (unique bytes
per second of the connection's duration) each way.

Conversations are keyed as tshark keys them: TCP by tcp.stream, UDP by address and
port pair, ICMP and other IP
protocols by address pair and protocol. Frames that are not IP are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.tcpflow.analysed import AnalysedSegments, analyse_table
from pcapkit.tcpflow.segments import PacketTable, SegmentTable, Source, segment_table

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.tcpflow.tcptrace import ConnectionTable

_PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
COLUMNS = ["first_frame", "proto", "src", "sport", "dst", "dport", "first", "last", "duration",
           "packets_ab", "bytes_ab", "packets_ba", "bytes_ba", "packets", "bytes",
           "tcp.stream", "conn_state", "history", "missed_bytes", "retrans_ab", "retrans_ba",
           "rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "throughput_ab_Bps", "throughput_ba_Bps"]


def _conversation_keys(pk: PacketTable, stream: np.ndarray) -> np.ndarray:
    """One id per conversation for each packet, numbered in order of first appearance:
    TCP by tcp.stream, TCP/UDP with ports by the unordered address/port pair, others by
    the unordered address pair and protocol (as tshark keys them)."""
    import pandas as pd

    n = len(pk)
    lo_ep = np.minimum(pk.src * 65537 + (pk.sport + 1), pk.dst * 65537 + (pk.dport + 1))
    hi_ep = np.maximum(pk.src * 65537 + (pk.sport + 1), pk.dst * 65537 + (pk.dport + 1))
    has_ports = (pk.sport >= 0) & np.isin(pk.proto, (6, 17))
    kind = np.where(stream >= 0, 0, np.where(has_ports, 1, 2))
    a = np.where(kind == 0, stream, np.where(kind == 1, lo_ep, np.minimum(pk.src, pk.dst)))
    b = np.where(kind == 0, 0, np.where(kind == 1, hi_ep, np.maximum(pk.src, pk.dst)))
    c = np.where(kind == 0, 0, pk.proto)
    frame = pd.DataFrame({"k": kind, "a": a, "b": b, "c": c})
    return frame.groupby(["k", "a", "b", "c"], sort=False).ngroup().to_numpy() if n else np.zeros(0, np.int64)


@dataclass(eq=False)
class _TcpDetails:
    """Zeek's view of each tcp.stream (its first Zeek connection: originator and
    responder address codes and ports, conn_state, history, missed bytes) and the
    tcptrace connection of each conversation's first frame with its per-connection
    columns (see :func:`_tcptrace_columns`)."""

    orig: np.ndarray       # (stream, 2): address code, port
    resp: np.ndarray
    conn_state: list[str]
    history: list[str]
    missed: np.ndarray
    tt_conn: np.ndarray    # tcptrace connection of each conversation (-1: none)
    tt: dict[str, Any]


def _tcp_details(table: SegmentTable, an: AnalysedSegments, conv_frames: np.ndarray) -> _TcpDetails:
    from pcapkit.tcpflow.tcptrace import connection_table
    from pcapkit.tcpflow.zeek import zeek_table

    nstreams = int(an.stream.max()) + 1
    z = zeek_table(an.segments, an.stream)
    first = z.first_of_key(nstreams)
    eps = z.endpoints
    o, r = z.orig_index()[first], z.resp_index()[first]
    tt = connection_table(table)
    return _TcpDetails(np.stack([eps["host"][o], eps["port"][o]], axis=1),
                       np.stack([eps["host"][r], eps["port"][r]], axis=1), z.conn_states(first), [z.history[i] for i in first.tolist()], z.missed_bytes()[first],
                       tt.conn_of_frames(conv_frames), _tcptrace_arrays(tt))


def flows(source: Source, *, filter: str | None = None) -> pd.DataFrame:
    """One row per conversation of a capture (file path, "-" or frames); see the module
    doc. ``filter``: a tcpdump expression choosing the frames counted."""
    import pandas as pd

    table = segment_table(source, packets=True, filter=filter)
    an = analyse_table(table)
    pk = table.packets
    assert pk is not None
    # tshark's tcp.stream of each packet that carries an analysed TCP segment
    stream = np.full(len(pk), -1, dtype=np.int64)
    pos = np.searchsorted(pk.frame, an.segments.frame)
    inside = pos < len(pk)
    pos, seg_stream = pos[inside], an.stream[inside]
    hit = pk.frame[pos] == an.segments.frame[inside]
    stream[pos[hit]] = seg_stream[hit]  # (TCP inside IP-in-IP belongs to its TCP conversation)
    conv = _conversation_keys(pk, stream)
    texts = table.addresses
    rows: list[dict[str, Any]] = []
    if len(pk):
        first_of = np.unique(conv, return_index=True)[1]  # conversation id -> row of its first packet
        nconv = first_of.shape[0]
        tcp = _tcp_details(table, an, pk.frame[first_of]) if (stream >= 0).any() else None
        # each conversation's originator: the first packet's source, or Zeek's for TCP
        code_of = {text: code for code, text in enumerate(texts)}
        conv_src = pk.src[first_of].copy()
        conv_port = pk.sport[first_of].copy()
        for cid in np.nonzero(stream[first_of] >= 0)[0].tolist():
            assert tcp is not None
            host, port = tcp.orig[int(stream[first_of[cid]])].tolist()
            conv_src[cid] = code_of.get(texts[host], -2)
            conv_port[cid] = port
        orig_src, orig_port = conv_src[conv], conv_port[conv]
        forward = (pk.src == orig_src) & ((orig_port < 0) | (pk.sport == orig_port))
        pk_ab = np.bincount(conv[forward], minlength=nconv)
        pk_ba = np.bincount(conv[~forward], minlength=nconv)
        by_ab = np.bincount(conv[forward], weights=pk.wirelen[forward], minlength=nconv).astype(np.int64)
        by_ba = np.bincount(conv[~forward], weights=pk.wirelen[~forward], minlength=nconv).astype(np.int64)
        first_ts = np.full(nconv, np.iinfo(np.int64).max, dtype=np.int64)
        last_ts = np.full(nconv, np.iinfo(np.int64).min, dtype=np.int64)
        np.minimum.at(first_ts, conv, pk.ts_ns)
        np.maximum.at(last_ts, conv, pk.ts_ns)
        udp_d = (pk.proto == 17) & (pk.udp_payload > 0)
        histories = _udp_histories(conv, forward, udp_d, nconv)
        for cid in range(nconv):
            r0 = int(first_of[cid])
            st = int(stream[r0])
            name = "tcp" if st >= 0 else _PROTO_NAMES.get(int(pk.proto[r0]), f"ip-{int(pk.proto[r0])}")
            src, dst = texts[int(pk.src[r0])], texts[int(pk.dst[r0])]
            sport = int(pk.sport[r0]) if pk.sport[r0] >= 0 else None
            dport = int(pk.dport[r0]) if pk.dport[r0] >= 0 else None
            if tcp is not None and st >= 0:
                (oh, sport), (rh, dport) = tcp.orig[st].tolist(), tcp.resp[st].tolist()
                src, dst = texts[oh], texts[rh]
            ab, ba = int(pk_ab[cid]), int(pk_ba[cid])
            t0, t1 = int(first_ts[cid]), int(last_ts[cid])
            row: dict[str, Any] = {
                "first_frame": int(pk.frame[r0]), "proto": name, "src": src, "sport": sport, "dst": dst,
                "dport": dport, "first": t0, "last": t1, "duration": t1 - t0,
                "packets_ab": ab, "bytes_ab": int(by_ab[cid]), "packets_ba": ba, "bytes_ba": int(by_ba[cid]),
                "packets": ab + ba, "bytes": int(by_ab[cid]) + int(by_ba[cid]),
            }
            if st < 0 and (name in ("udp", "icmp", "icmpv6") or name.startswith("ip-")):
                # Zeek's conn_state for UDP (SF both ways, S0 originator only) and others (OTH)
                if name == "udp":
                    row["conn_state"] = "SF" if ba else "S0"
                    row["history"] = histories.get(cid, "")
                else:
                    row["conn_state"] = "OTH"
            if tcp is not None and st >= 0:
                row["tcp.stream"] = st
                row["conn_state"] = tcp.conn_state[st]
                row["history"] = tcp.history[st]
                row["missed_bytes"] = int(tcp.missed[st])
                tcx = int(tcp.tt_conn[cid])
                if tcx >= 0:
                    row.update(_tcptrace_columns(tcp.tt, tcx, src, sport))
            rows.append(row)
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["first"] = pd.to_datetime(df["first"].astype("int64"), unit="ns")
    df["last"] = pd.to_datetime(df["last"].astype("int64"), unit="ns")
    df["duration"] = pd.to_timedelta(df["duration"].astype("int64"), unit="ns")
    for col in ("first_frame", "sport", "dport", "tcp.stream", "missed_bytes", "retrans_ab", "retrans_ba"):
        df[col] = df[col].astype("Int64")
    for col in ("rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "throughput_ab_Bps", "throughput_ba_Bps"):
        df[col] = df[col].astype("float64")
    for col in ("proto", "src", "dst", "conn_state", "history"):
        df[col] = df[col].astype("string")
    df.attrs["warnings"] = list(an.warnings)
    if table.error is not None:
        df.attrs["pcapkit.error"] = str(table.error)
    return df


def _udp_histories(conv: np.ndarray, forward: np.ndarray, payload: np.ndarray, nconv: int) -> dict[int, str]:
    """Zeek's UDP history of each conversation with payload: D / d for payload from the
    originator / responder, in the order first seen."""
    rows = np.nonzero(payload)[0]
    out: dict[int, str] = {}
    for cid, fwd in zip(conv[rows].tolist(), forward[rows].tolist(), strict=True):
        letters = out.get(cid, "")
        letter = "D" if fwd else "d"
        if letter not in letters:
            out[cid] = letters + letter
    return out


def _tcptrace_arrays(tt: ConnectionTable) -> dict[str, Any]:
    """Per tcptrace direction: endpoint, retransmitted data packets, throughput (NaN where
    tcptrace prints NA); per connection: count, min, sum and max of the Karn RTT samples
    of both directions (us)."""
    from pcapkit.tcpflow.tcptrace import stat_columns
    from pcapkit.tcpflow.tcptrace.layout import S_DIR, S_RTT

    throughput, valid = stat_columns(tt, np.arange(2 * len(tt)))["throughput"]
    conn = tt.samples[:, S_DIR] // 2
    rtt = tt.samples[:, S_RTT].astype(np.float64)
    rtt_min = np.full(len(tt), np.inf)
    rtt_max = np.full(len(tt), -np.inf)
    np.minimum.at(rtt_min, conn, rtt)
    np.maximum.at(rtt_max, conn, rtt)
    return {"host": np.asarray(tt.addresses, dtype=object)[tt.dirs["host"]], "port": tt.dirs["port"],
            "retrans": tt.dirs["rexmit_pkts"], "throughput": throughput, "throughput_valid": valid,
            "rtt_n": np.bincount(conn, minlength=len(tt)), "rtt_sum": np.bincount(conn, rtt, minlength=len(tt)),
            "rtt_min": rtt_min, "rtt_max": rtt_max}


def _tcptrace_columns(tt: dict[str, Any], c: int, src: str, sport: int | None) -> dict[str, Any]:
    """Retransmissions, Karn RTT (ms) and throughput each way of tcptrace connection ``c``."""
    a2b = tt["host"][2 * c] == src and tt["port"][2 * c] == sport
    ab, ba = (2 * c, 2 * c + 1) if a2b else (2 * c + 1, 2 * c)
    out: dict[str, Any] = {"retrans_ab": int(tt["retrans"][ab]), "retrans_ba": int(tt["retrans"][ba])}
    for name, d in (("throughput_ab_Bps", ab), ("throughput_ba_Bps", ba)):
        out[name] = float(tt["throughput"][d]) if tt["throughput_valid"][d] else None
    n = int(tt["rtt_n"][c])
    if n:
        out["rtt_min_ms"] = float(tt["rtt_min"][c]) / 1000.0
        out["rtt_avg_ms"] = float(tt["rtt_sum"][c]) / n / 1000.0
        out["rtt_max_ms"] = float(tt["rtt_max"][c]) / 1000.0
    return out
