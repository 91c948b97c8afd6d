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

from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.tcpflow.analysed import AnalysedSegments, analyse_table
from pcapkit.tcpflow.segments import PacketTable, SegmentTable, Source, segment_table

if TYPE_CHECKING:
    import pandas as pd

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


def _tcp_details(table: SegmentTable, an: AnalysedSegments) -> tuple[dict[int, Any], dict[int, Any]]:
    """Zeek's view of each tcp.stream (the connection starting with its first packet) and
    the tcptrace connection of each frame."""
    from pcapkit.tcpflow.tcptrace import analyze
    from pcapkit.tcpflow.zeek import zeek_connections

    zconns = {st: zeek_connections(segs)[0] for st, segs in an.by_stream().items()}
    tt_of_frame: dict[int, Any] = {}
    for tc in analyze(table):
        for num in tc.frames:
            tt_of_frame[num] = tc
    return zconns, tt_of_frame


def flows(source: Source, *, frame_filter: Any = None) -> pd.DataFrame:
    """One row per conversation of a capture (file path or frames); see the module doc.
    ``frame_filter(frame) -> bool`` keeps only the frames it accepts (frames in: file or
    iterable of frames)."""
    import pandas as pd

    if frame_filter is not None:
        from os import PathLike

        if isinstance(source, (str, PathLike)):
            from pcapkit.capture.files import open_capture

            with open_capture(source) as reader:
                table = segment_table((f for f in reader if frame_filter(f)), packets=True)
        else:
            table = segment_table((f for f in source if frame_filter(f)), packets=True)
    else:
        table = segment_table(source, packets=True)
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
    zconns, tt_of_frame = _tcp_details(table, an) if (stream >= 0).any() else ({}, {})
    texts = table.addresses
    rows: list[dict[str, Any]] = []
    if len(pk):
        first_of = np.unique(conv, return_index=True)[1]  # conversation id -> row of its first packet
        nconv = first_of.shape[0]
        # each conversation's originator: the first packet's source, or Zeek's for TCP
        code_of = {text: code for code, text in enumerate(texts)}
        conv_src = pk.src[first_of].copy()
        conv_port = pk.sport[first_of].copy()
        for cid in np.nonzero(stream[first_of] >= 0)[0].tolist():
            zc = zconns[int(stream[first_of[cid]])]
            conv_src[cid] = code_of.get(zc.orig.host, -2)
            conv_port[cid] = zc.orig.port
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
            if st >= 0:
                zc = zconns[st]
                src, sport, dst, dport = zc.orig.host, zc.orig.port, zc.resp.host, zc.resp.port
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
            if st >= 0:
                zc = zconns[st]
                row["tcp.stream"] = st
                row["conn_state"] = zc.conn_state
                row["history"] = zc.history_str
                row["missed_bytes"] = zc.missed_bytes
                tcx = tt_of_frame.get(int(pk.frame[r0]))
                if tcx is not None:
                    row.update(_tcptrace_columns(tcx, src, sport))
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


def _tcptrace_columns(tcx: Any, src: str, sport: int | None) -> dict[str, Any]:
    """Retransmissions, Karn RTT (ms) and throughput each way from tcptrace's model."""
    from pcapkit.tcpflow.tcptrace import direction_stats

    ab, ba = (tcx.a2b, tcx.b2a) if tcx.a2b.host == src and tcx.a2b.port == sport else (tcx.b2a, tcx.a2b)
    sab, sba = direction_stats(tcx, ab), direction_stats(tcx, ba)
    out: dict[str, Any] = {"retrans_ab": sab["rexmt data pkts"], "retrans_ba": sba["rexmt data pkts"],
                           "throughput_ab_Bps": sab["throughput"], "throughput_ba_Bps": sba["throughput"]}
    samples = [s[2] for s in ab.rtt_samples + ba.rtt_samples]
    if samples:
        out["rtt_min_ms"] = min(samples) / 1000.0
        out["rtt_avg_ms"] = sum(samples) / len(samples) / 1000.0
        out["rtt_max_ms"] = max(samples) / 1000.0
    return out
