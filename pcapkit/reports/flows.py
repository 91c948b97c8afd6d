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

from collections.abc import Iterable
from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.frame import Frame
from pcapkit.tcpflow.extract import network_start

if TYPE_CHECKING:
    import pandas as pd

_IPV4, _IPV6 = 0x0800, 0x86DD
_PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}


@dataclass(slots=True)
class IPInfo:
    version: int
    src: str
    dst: str
    proto: int
    sport: int | None
    dport: int | None
    udp_payload: int = 0     # UDP length field - 8 (0 for other protocols)


def ip_info(frame: Frame) -> IPInfo | None:
    """Addresses, protocol and ports of the outermost IP packet in ``frame``."""
    import socket

    data = frame.data
    proto, off = network_start(frame.linktype, data, frame.wirelen)
    n = len(data)
    if proto == _IPV4:
        if n < off + 20 or data[off] >> 4 != 4:
            return None
        ihl = (data[off] & 0x0F) * 4
        p = data[off + 9]
        src = socket.inet_ntop(socket.AF_INET, data[off + 12:off + 16])
        dst = socket.inet_ntop(socket.AF_INET, data[off + 16:off + 20])
        first_frag = ((data[off + 6] & 0x1F) << 8 | data[off + 7]) == 0
        l4 = off + ihl
        version = 4
    elif proto == _IPV6:
        if n < off + 40 or data[off] >> 4 != 6:
            return None
        p = data[off + 6]
        src = socket.inet_ntop(socket.AF_INET6, data[off + 8:off + 24])
        dst = socket.inet_ntop(socket.AF_INET6, data[off + 24:off + 40])
        l4 = off + 40
        first_frag = True
        while p in (0, 43, 60, 44) and n >= l4 + 8:
            if p == 44:
                first_frag = ((data[l4 + 2] << 8 | data[l4 + 3]) & 0xFFF8) == 0
                hl = 8
            else:
                hl = (data[l4 + 1] + 1) * 8
            p = data[l4]
            l4 += hl
        version = 6
    else:
        return None
    sport = dport = None
    udp_payload = 0
    if p in (6, 17) and first_frag and n >= l4 + 4:
        sport = (data[l4] << 8) | data[l4 + 1]
        dport = (data[l4 + 2] << 8) | data[l4 + 3]
        if p == 17 and n >= l4 + 6:
            udp_payload = max(((data[l4 + 4] << 8) | data[l4 + 5]) - 8, 0)
    return IPInfo(version, src, dst, p, sport, dport, udp_payload)


@dataclass(slots=True)
class _Conv:
    proto: str
    src: str
    sport: int | None
    dst: str
    dport: int | None
    first: int
    last: int
    pk: list[int] = field(default_factory=lambda: [0, 0])
    by: list[int] = field(default_factory=lambda: [0, 0])
    tcp_first_frame: int | None = None
    frames: list[int] = field(default_factory=list)
    history: str = ""


def _frames(source: str | PathLike[str] | Iterable[Frame]) -> list[Frame]:
    from pcapkit.tcpflow.tcptrace import capture_frames

    return list(capture_frames(source))


def flows(source: str | PathLike[str] | Iterable[Frame], *,
          frame_filter: Any = None) -> pd.DataFrame:
    """One row per conversation of a capture (file path or frames); see the module doc."""
    import pandas as pd

    from pcapkit.tcpflow.extract import segment_from_frame
    from pcapkit.tcpflow.tcptrace import analyze, direction_stats
    from pcapkit.tcpflow.zeek import zeek_connections

    frames = _frames(source)
    if frame_filter is not None:
        frames = [f for f in frames if frame_filter(f)]

    # TCP: Zeek's connections (which split reused port pairs) drive the grouping
    segs = [s for s in (segment_from_frame(f) for f in frames) if s is not None]
    tconns = analyze(frames)
    # tshark's tcp.stream numbering from the TCP engine; Zeek's view of each stream
    tcp_of_frame: dict[int, int] = {}
    from pcapkit.tcpflow.engine import analyse as engine_analyse

    by_stream: dict[int, list[Any]] = {}
    for rec in engine_analyse(segs):
        by_stream.setdefault(rec.stream, []).append(rec.segment)
        tcp_of_frame[rec.segment.frame_number] = rec.stream
    # Zeek's view of each stream: the connection starting with the stream's first packet
    zconns = {st: zeek_connections(by_stream[st])[0] for st in by_stream}
    tt_of_frame: dict[int, Any] = {}
    for tc in tconns:
        for num in tc.frames:
            tt_of_frame[num] = tc

    convs: dict[Any, _Conv] = {}
    order: list[Any] = []
    for fr in frames:
        info = ip_info(fr)
        if info is None:
            continue
        name = _PROTO_NAMES.get(info.proto, f"ip-{info.proto}")
        if info.proto == 6 and fr.number in tcp_of_frame:
            key: Any = ("tcp", tcp_of_frame[fr.number])
        elif info.proto in (6, 17) and info.sport is not None:
            a, b = (info.src, info.sport), (info.dst, info.dport)
            key = (name, *sorted([a, b]))
        else:
            key = (name, *sorted([info.src, info.dst]))
        conv = convs.get(key)
        if conv is None:
            conv = _Conv(name, info.src, info.sport, info.dst, info.dport, fr.ts_ns, fr.ts_ns)
            if key[0] == "tcp" and isinstance(key[1], int):
                zc = zconns[key[1]]
                conv.src, conv.sport = zc.orig.host, zc.orig.port
                conv.dst, conv.dport = zc.resp.host, zc.resp.port
            convs[key] = conv
            order.append(key)
        d = 0 if (info.src == conv.src and (conv.sport is None or info.sport == conv.sport)) else 1
        conv.pk[d] += 1
        conv.by[d] += fr.wirelen
        conv.first = min(conv.first, fr.ts_ns)
        conv.last = max(conv.last, fr.ts_ns)
        conv.frames.append(fr.number)
        if info.proto == 17 and info.udp_payload > 0:
            letter = "D" if d == 0 else "d"
            if letter not in conv.history:
                conv.history += letter

    rows: list[dict[str, Any]] = []
    for key in order:
        c = convs[key]
        row: dict[str, Any] = {
            "first_frame": c.frames[0], "proto": c.proto, "src": c.src, "sport": c.sport, "dst": c.dst, "dport": c.dport,
            "first": c.first, "last": c.last, "duration": c.last - c.first,
            "packets_ab": c.pk[0], "bytes_ab": c.by[0], "packets_ba": c.pk[1], "bytes_ba": c.by[1],
            "packets": c.pk[0] + c.pk[1], "bytes": c.by[0] + c.by[1],
        }
        if c.proto in ("udp", "icmp", "icmpv6") or c.proto.startswith("ip-"):
            # Zeek's conn_state for UDP (SF both ways, S0 originator only) and others (OTH)
            if c.proto == "udp":
                row["conn_state"] = "SF" if c.pk[1] else "S0"
                row["history"] = c.history
            else:
                row["conn_state"] = "OTH"
        if key[0] == "tcp" and isinstance(key[1], int):
            zc = zconns[key[1]]
            row["tcp.stream"] = key[1]
            row["conn_state"] = zc.conn_state
            row["history"] = zc.history_str
            row["missed_bytes"] = zc.missed_bytes
            tcx = tt_of_frame.get(c.frames[0])
            if tcx is not None:
                ab, ba = (tcx.a2b, tcx.b2a) if tcx.a2b.host == c.src and tcx.a2b.port == c.sport \
                    else (tcx.b2a, tcx.a2b)
                sab, sba = direction_stats(tcx, ab), direction_stats(tcx, ba)
                row["retrans_ab"] = sab["rexmt data pkts"]
                row["retrans_ba"] = sba["rexmt data pkts"]
                samples = [s[2] for s in ab.rtt_samples + ba.rtt_samples]
                if samples:
                    row["rtt_min_ms"] = min(samples) / 1000.0
                    row["rtt_avg_ms"] = sum(samples) / len(samples) / 1000.0
                    row["rtt_max_ms"] = max(samples) / 1000.0
                row["throughput_ab_Bps"] = sab["throughput"]
                row["throughput_ba_Bps"] = sba["throughput"]
        rows.append(row)

    columns = ["first_frame", "proto", "src", "sport", "dst", "dport", "first", "last", "duration",
               "packets_ab", "bytes_ab", "packets_ba", "bytes_ba", "packets", "bytes",
               "tcp.stream", "conn_state", "history", "missed_bytes", "retrans_ab", "retrans_ba",
               "rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "throughput_ab_Bps", "throughput_ba_Bps"]
    df = pd.DataFrame(rows, columns=columns)
    df["first"] = pd.to_datetime(df["first"].astype("int64"), unit="ns")
    df["last"] = pd.to_datetime(df["last"].astype("int64"), unit="ns")
    df["duration"] = pd.to_timedelta(df["duration"].astype("int64"), unit="ns")
    for col in ("first_frame", "sport", "dport", "tcp.stream", "missed_bytes", "retrans_ab", "retrans_ba"):
        df[col] = df[col].astype("Int64")
    for col in ("rtt_min_ms", "rtt_avg_ms", "rtt_max_ms", "throughput_ab_Bps", "throughput_ba_Bps"):
        df[col] = df[col].astype("float64")
    for col in ("proto", "src", "dst", "conn_state", "history"):
        df[col] = df[col].astype("string")
    return df
