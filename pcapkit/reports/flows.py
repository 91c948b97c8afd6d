"""One row per conversation: TCP, UDP, ICMP and other IP.

``flows(path)`` returns a DataFrame with, per conversation: ``proto``, the endpoints
(``src``/``sport`` is the side that sent the first packet, or Zeek's originator for
TCP), ``first``/``last`` (datetime64[ns]), ``duration`` (timedelta64[ns]), packets
and bytes each way (bytes are frame lengths, as tshark's ``-z conv`` counts them) and
in total, and Zeek's ``conn_state`` (UDP: SF or S0, with history D/d for payload each
way; ICMP and other IP: OTH). TCP rows add ``tcp.stream`` (tshark's numbering, from :mod:`pcapkit.tcpflow.engine`),
Zeek's ``conn_state``/``history``/``missed_bytes``, and from the tcptrace model the
retransmitted data packets, the RTT summary and throughput (unique bytes per second
of the connection's duration) each way. ``application`` names the conversation's
application protocol (``dns``, ``http``, ``tls:SNI``; see :mod:`pcapkit.reports.app_labels`).
``cc_algorithm`` (TCP) is the congestion-control algorithm of the direction that sent the
most data, from the congestion model (``reno``, ``cubic``, ``bbr`` or ``unknown``; see
:mod:`pcapkit.reports.congestion`).

``rtt_ab_min_ms`` / ``_avg_`` / ``_max_`` summarise tcptrace's RTT samples of the a->b
direction (``tcptrace -l -r``'s a->b RTT min/avg/max): a's data and SYN segments timed
to b's ACK of them, by Karn's rule; ``rtt_ba_*`` likewise for b's segments. Each
measures the path from the capture point to the receiver and back, so a capture taken
at a gives the path RTT in ``rtt_ab_*`` and only a's own ACK delay in ``rtt_ba_*``
(tcp-ethereal-trace-1: 23.2 ms and 0.093 ms minima); the two directions are never
mixed.

Conversations are keyed as tshark keys them: TCP by tcp.stream, UDP by address and
port pair, ICMP and other IP
protocols by address pair and protocol. Frames that are not IP are not counted.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.columnar.column_table import Column, ColumnTable, column_from_numpy
from pcapkit.reports.app_labels import application_labels, rereadable
from pcapkit.reports.congestion import modelled_algorithms
from pcapkit.reports.flows_tcp import FLOAT_COLUMNS, RETRANS_COLUMNS, tcptrace_columns, zeek_streams
from pcapkit.tcpflow.analysed import AnalysedSegments, analyse_table
from pcapkit.tcpflow.segments import PacketTable, Source, segment_table
from pcapkit.tcpflow.segments.reading import RecordSelect

if TYPE_CHECKING:
    import pandas as pd


_PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
COLUMNS = ["first_frame", "proto", "src", "sport", "dst", "dport", "first", "last", "duration",
           "packets_ab", "bytes_ab", "packets_ba", "bytes_ba", "packets", "bytes",
           "tcp.stream", "conn_state", "history", "missed_bytes", "retrans_ab", "retrans_ba",
           "rtt_ab_min_ms", "rtt_ab_avg_ms", "rtt_ab_max_ms", "rtt_ba_min_ms", "rtt_ba_avg_ms", "rtt_ba_max_ms",
           "throughput_ab_Bps", "throughput_ba_Bps", "application", "cc_algorithm"]


def _conversation_keys(pk: PacketTable, stream: np.ndarray) -> np.ndarray:
    """One id per conversation for each packet, numbered in order of first appearance:
    TCP by tcp.stream, TCP/UDP with ports by the unordered address/port pair, others by
    the unordered address pair and protocol (as tshark keys them)."""
    n = len(pk)
    if not n:
        return np.zeros(0, np.int64)
    src_ep, dst_ep = pk.src * 65537 + (pk.sport + 1), pk.dst * 65537 + (pk.dport + 1)
    has_ports = (pk.sport >= 0) & np.isin(pk.proto, (6, 17))
    kind = np.where(stream >= 0, 0, np.where(has_ports, 1, 2))
    a = np.where(kind == 0, stream, np.where(kind == 1, np.minimum(src_ep, dst_ep), np.minimum(pk.src, pk.dst)))
    b = np.where(kind == 0, 0, np.where(kind == 1, np.maximum(src_ep, dst_ep), np.maximum(pk.src, pk.dst)))
    del src_ep, dst_ep, has_ports
    # (kind, a, b, proto) as two keys: b (an endpoint code, < 2^53) shifted past proto and kind
    b = (b << 10) | (np.where(kind == 0, 0, pk.proto).astype(np.int64) << 2) | kind
    del kind
    order = np.lexsort((b, a))  # (stable: each conversation's first packet comes first)
    a, b = a[order], b[order]
    starts = np.r_[True, (a[1:] != a[:-1]) | (b[1:] != b[:-1])]
    del a, b
    group = np.cumsum(starts) - 1   # conversation per sorted packet, numbered in sorted order
    first_packet = order[starts]
    del starts
    # numbered in order of first appearance instead
    number = np.empty(first_packet.shape[0], np.int64)
    number[np.argsort(first_packet, kind="stable")] = np.arange(first_packet.shape[0])
    out = np.empty(n, np.int64)
    out[order] = number[group]
    return out


def flows(source: Source, *, filter: str | None = None) -> pd.DataFrame:
    """One row per conversation of a capture (file path, "-" or frames); see the module
    doc. ``filter``: a tcpdump expression choosing the frames counted."""
    return flows_table(source, filter=filter).to_pandas()


def flows_table(source: Source, *, filter: str | None = None, select: RecordSelect | None = None) -> ColumnTable:
    """:func:`flows` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the
    CLI formats, without pandas). ``select``: only the conversations of the records it
    keeps (one bucket of them: see :mod:`pcapkit.tcpflow.segments.buckets`)."""
    with rereadable(source) as (readable, named):
        df = _flows(readable, filter, select)
    df.attrs["warnings"] = [named(str(w)) for w in df.attrs["warnings"]]
    if "pcapkit.error" in df.attrs:
        df.attrs["pcapkit.error"] = named(df.attrs["pcapkit.error"])
    return df


def _flows(source: Source, filter: str | None, select: RecordSelect | None) -> ColumnTable:
    from pcapkit.reports.memory import release_memory

    table = segment_table(source, packets=True, filter=filter, select=select)
    release_memory()  # (the reader's batches)
    an = analyse_table(table, outputs=("stream",))  # (the streams are all flows reads of the analysis)
    pk = table.packets
    assert pk is not None
    tcp_payload_frames = table.frame[table.seglen > 0]  # (the frames that can name an application)
    # tshark's tcp.stream of each packet that carries an analysed TCP segment
    stream = np.full(len(pk), -1, dtype=np.int64)
    pos = np.searchsorted(pk.frame, an.segments.frame)
    inside = pos < len(pk)
    pos, inside_stream = pos[inside], an.stream[inside]
    hit = pk.frame[pos] == an.segments.frame[inside]
    stream[pos[hit]] = inside_stream[hit]  # (TCP inside IP-in-IP belongs to its TCP conversation)
    del pos, inside, inside_stream, hit
    # what is left of the analysis: the segments and their streams (its other results go)
    warnings, error = list(an.warnings), table.error
    segs, seg_stream = an.segments, an.stream
    del an
    release_memory()
    # the congestion model reads the segments and their streams only
    algorithms = modelled_algorithms(AnalysedSegments(segs, SimpleNamespace(stream=seg_stream), warnings))
    conv = _conversation_keys(pk, stream)
    first_of = np.unique(conv, return_index=True)[1]  # conversation id -> row of its first packet
    n = first_of.shape[0]
    st = stream[first_of]
    del stream
    tcp_rows = np.nonzero(st >= 0)[0]
    proto = pk.proto[first_of]
    # endpoints: the first packet's, or Zeek's originator and responder for TCP
    src, sport = pk.src[first_of], pk.sport[first_of]
    dst, dport = pk.dst[first_of], pk.dport[first_of]
    conn_state = np.full(n, None, dtype=object)
    history = np.full(n, None, dtype=object)
    missed = np.zeros(n, dtype=np.int64)
    floats = {c: np.full(n, np.nan) for c in FLOAT_COLUMNS}
    retrans = {c: np.zeros(n, dtype=np.int64) for c in RETRANS_COLUMNS}
    no_tt = np.ones(n, dtype=bool)
    if tcp_rows.size:
        # one model at a time, each run over groups of connections and reduced to the
        # report's columns before the next group runs
        zeek = zeek_streams(segs, seg_stream)
        streams = st[tcp_rows]
        src[tcp_rows], sport[tcp_rows] = zeek.orig[streams, 0], zeek.orig[streams, 1]
        dst[tcp_rows], dport[tcp_rows] = zeek.resp[streams, 0], zeek.resp[streams, 1]
        conn_state[tcp_rows] = zeek.conn_state[streams]
        history[tcp_rows] = zeek.history[streams]
        missed[tcp_rows] = zeek.missed[streams]
        del zeek, segs, seg_stream, streams
        release_memory()
        tcptrace_columns(table, pk.frame[first_of], src, sport, tcp_rows, {**floats, **retrans}, no_tt)
    else:
        del segs, seg_stream
    texts = table.addresses
    del table  # (the segments; the packets stay in pk)
    release_memory()
    data: dict[str, Any] = {"first_frame": _ints(pk.frame[first_of])}
    del first_of
    _packet_columns(data, pk, conv, n, src, sport, proto, st >= 0, conn_state, history)
    missing = st < 0
    data["src"], data["dst"] = _strings(src, texts), _strings(dst, texts)
    data["sport"], data["dport"] = _ints(sport, sport < 0), _ints(dport, dport < 0)
    del src, dst, sport, dport
    data["tcp.stream"] = _ints(st, missing)
    data["conn_state"] = _texts(conn_state)
    data["history"] = _texts(history)
    data["missed_bytes"] = _ints(missed, missing)
    data["retrans_ab"] = _ints(retrans["retrans_ab"], no_tt)
    data["retrans_ba"] = _ints(retrans["retrans_ba"], no_tt)
    data.update(floats)
    del conn_state, history, missed, retrans, floats
    cc = np.full(n, None, dtype=object)
    cc[~missing] = "unknown"
    if algorithms:
        modelled = np.fromiter(algorithms, np.int64, len(algorithms))
        at = np.nonzero(np.isin(st, modelled))[0]
        cc[at] = [algorithms[s] for s in st[at].tolist()]
    data["cc_algorithm"] = _texts(cc)
    del cc
    data["application"] = _texts(np.asarray(
        application_labels(source, pk.frame, conv, pk.proto, pk.sport, pk.dport, n, tcp_payload_frames),
        dtype=object))
    del pk, conv, st
    attrs: dict[str, Any] = {"warnings": warnings}
    if error is not None:
        attrs["pcapkit.error"] = str(error)
    return ColumnTable({name: _column(data.pop(name)) for name in COLUMNS}, attrs)


def _packet_columns(data: dict[str, Any], pk: PacketTable, conv: np.ndarray, n: int, src: np.ndarray,
                    sport: np.ndarray, proto: np.ndarray, tcp_conv: np.ndarray, conn_state: np.ndarray,
                    history: np.ndarray) -> None:
    """The columns counted from the packets (proto, times, packets and bytes each way) into
    ``data``, and Zeek's conn_state and history of UDP and other IP conversations into
    ``conn_state`` / ``history``, in place (``src``/``sport``: each conversation's
    originator)."""
    # a packet goes a -> b when it comes from the originator (and its port, when ports count)
    forward = (pk.src == src[conv]) & ((sport[conv] < 0) | (pk.sport == sport[conv]))
    pk_ab = np.bincount(conv[forward], minlength=n)
    pk_ba = np.bincount(conv[~forward], minlength=n)
    by_ab = np.bincount(conv[forward], weights=pk.wirelen[forward], minlength=n).astype(np.int64)
    by_ba = np.bincount(conv[~forward], weights=pk.wirelen[~forward], minlength=n).astype(np.int64)
    first_ts = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    last_ts = np.full(n, np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(first_ts, conv, pk.ts_ns)
    np.maximum.at(last_ts, conv, pk.ts_ns)
    names = np.asarray([_PROTO_NAMES.get(int(p), f"ip-{int(p)}") for p in range(256)], dtype=object)
    data["proto"] = _texts(np.where(tcp_conv, "tcp", names[np.clip(proto, 0, 255)]))
    # Zeek's conn_state for UDP (SF both ways, S0 originator only) and other IP (OTH)
    udp = ~tcp_conv & (proto == 17)
    other = ~tcp_conv & ~np.isin(proto, (6, 17))
    conn_state[udp] = np.where(pk_ba[udp] > 0, "SF", "S0")
    conn_state[other] = "OTH"
    udp_d = (pk.proto == 17) & (pk.udp_payload > 0)
    for cid, letters in _udp_histories(conv, forward, udp_d, n).items():
        if udp[cid]:
            history[cid] = letters
    history[udp & (history == None)] = ""  # noqa: E711 - elementwise
    del forward, udp_d
    data["first"] = first_ts.view("datetime64[ns]")
    data["last"] = last_ts.view("datetime64[ns]")
    data["duration"] = (last_ts - first_ts).view("timedelta64[ns]")
    data["packets_ab"], data["bytes_ab"], data["packets_ba"], data["bytes_ba"] = pk_ab, by_ab, pk_ba, by_ba
    data["packets"], data["bytes"] = pk_ab + pk_ba, by_ab + by_ba


def _strings(codes: np.ndarray, texts: list[str]) -> Column:
    """The "string" column of the address texts of ``codes``."""
    return Column(np.asarray(codes, dtype=np.int64), None, "string", texts=np.array(texts, dtype=object))


def _texts(values: np.ndarray) -> Column:
    """A "string" column of texts (None: missing)."""
    missing = np.fromiter((v is None for v in values.tolist()), dtype=bool, count=values.shape[0])
    return Column(values.astype(object), missing, "string")


def _column(values: Any) -> Column:
    """A column of :func:`_flows`' data: a Column already, or a numpy array (its dtype)."""
    return values if isinstance(values, Column) else column_from_numpy(values)


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


def _ints(values: np.ndarray, missing: np.ndarray | None = None) -> Column:
    """A nullable Int64 column of ``values``, missing where ``missing``."""
    m = None if missing is None else np.asarray(missing, dtype=bool)
    return Column((values if m is None else np.where(m, 0, values)).astype(np.int64), m, "Int64")
