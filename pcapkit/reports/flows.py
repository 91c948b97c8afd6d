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

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.reports.app_labels import application_labels, rereadable
from pcapkit.reports.congestion import bulk_algorithms
from pcapkit.tcpflow.analysed import analyse_table
from pcapkit.tcpflow.segments import PacketTable, SegmentTable, Source, segment_table

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.tcpflow.tcptrace import ConnectionTable

_PROTO_NAMES = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmpv6"}
# the connections a model holds at a time: tcptrace's address/port pairs (~2 KB each),
# Zeek's streams (~0.5 KB each)
_MODEL_CONNECTIONS = 50_000
COLUMNS = ["first_frame", "proto", "src", "sport", "dst", "dport", "first", "last", "duration",
           "packets_ab", "bytes_ab", "packets_ba", "bytes_ba", "packets", "bytes",
           "tcp.stream", "conn_state", "history", "missed_bytes", "retrans_ab", "retrans_ba",
           "rtt_ab_min_ms", "rtt_ab_avg_ms", "rtt_ab_max_ms", "rtt_ba_min_ms", "rtt_ba_avg_ms", "rtt_ba_max_ms",
           "throughput_ab_Bps", "throughput_ba_Bps", "application", "cc_algorithm"]
_RTT_COLUMNS = [c for c in COLUMNS if c.startswith("rtt_")]


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


def _tcp_details(table: SegmentTable, segs: SegmentTable, seg_stream: np.ndarray,
                 conv_frames: np.ndarray) -> _TcpDetails:
    """``segs`` / ``seg_stream``: the analysed segments and their tcp.stream."""
    from pcapkit.tcpflow.zeek import zeek_table

    # one model at a time, each run over groups of connections and reduced to what the
    # report shows before the next group runs
    tt_conn, tt_arrays = _tcptrace_details(table, conv_frames)
    nstreams = int(seg_stream.max()) + 1
    orig, resp = np.zeros((nstreams, 2), np.int64), np.zeros((nstreams, 2), np.int64)
    conn_state, history = [""] * nstreams, [""] * nstreams
    missed = np.zeros(nstreams, np.int64)
    # Zeek's connections of different streams never meet in the model: a group of
    # streams at a time gives one run's answer
    groups = -(-nstreams // _MODEL_CONNECTIONS)
    for group in range(groups):
        rows = np.nonzero(seg_stream % groups == group)[0] if groups > 1 else np.arange(len(seg_stream))
        if not rows.size:
            continue
        z = zeek_table(segs.select(rows), seg_stream[rows])
        streams = np.unique(seg_stream[rows])
        first = z.first_of_key(nstreams)[streams]  # (each stream's first Zeek connection)
        eps = z.endpoints
        for out, ends in ((orig, z.orig_index()[first]), (resp, z.resp_index()[first])):
            out[streams, 0], out[streams, 1] = eps["host"][ends], eps["port"][ends]
        for s, state, i in zip(streams.tolist(), z.conn_states(first), first.tolist(), strict=True):
            conn_state[s], history[s] = state, z.history[i]
        missed[streams] = z.missed_bytes()[first]
        del z
    return _TcpDetails(orig, resp, conn_state, history, missed, tt_conn, tt_arrays)


def flows(source: Source, *, filter: str | None = None) -> pd.DataFrame:
    """One row per conversation of a capture (file path, "-" or frames); see the module
    doc. ``filter``: a tcpdump expression choosing the frames counted."""
    with rereadable(source) as (readable, named):
        df = _flows(readable, filter)
    df.attrs["warnings"] = [named(str(w)) for w in df.attrs["warnings"]]
    if "pcapkit.error" in df.attrs:
        df.attrs["pcapkit.error"] = named(df.attrs["pcapkit.error"])
    return df


def _flows(source: Source, filter: str | None) -> pd.DataFrame:
    import pandas as pd

    table = segment_table(source, packets=True, filter=filter)
    an = analyse_table(table)
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
    algorithms = bulk_algorithms(an)
    segs, seg_stream = an.segments, an.stream
    del an
    conv = _conversation_keys(pk, stream)
    texts = np.asarray(table.addresses, dtype=object)
    first_of = np.unique(conv, return_index=True)[1]  # conversation id -> row of its first packet
    n = first_of.shape[0]
    st = stream[first_of]
    tcp_conv = st >= 0
    proto = pk.proto[first_of]
    # endpoints: the first packet's, or Zeek's originator and responder for TCP
    src, sport = pk.src[first_of].copy(), pk.sport[first_of].copy()
    dst, dport = pk.dst[first_of].copy(), pk.dport[first_of].copy()
    tcp = _tcp_details(table, segs, seg_stream, pk.frame[first_of]) if bool(tcp_conv.any()) else None
    del table, segs, seg_stream  # (the segments; the packets stay in pk)
    if tcp is not None:
        streams = st[tcp_conv]
        src[tcp_conv], sport[tcp_conv] = tcp.orig[streams, 0], tcp.orig[streams, 1]
        dst[tcp_conv], dport[tcp_conv] = tcp.resp[streams, 0], tcp.resp[streams, 1]
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
    name = np.where(tcp_conv, "tcp", names[np.clip(proto, 0, 255)])
    # Zeek's conn_state for UDP (SF both ways, S0 originator only) and other IP (OTH)
    udp = ~tcp_conv & (proto == 17)
    other = ~tcp_conv & ~np.isin(proto, (6, 17))
    conn_state = np.full(n, None, dtype=object)
    conn_state[udp] = np.where(pk_ba[udp] > 0, "SF", "S0")
    conn_state[other] = "OTH"
    history = np.full(n, None, dtype=object)
    udp_d = (pk.proto == 17) & (pk.udp_payload > 0)
    for cid, letters in _udp_histories(conv, forward, udp_d, n).items():
        if udp[cid]:
            history[cid] = letters
    history[udp & (history == None)] = ""  # noqa: E711 - elementwise
    data: dict[str, Any] = {
        "first_frame": _ints(pk.frame[first_of]), "proto": name, "src": texts[src], "sport": _ints(sport, sport < 0),
        "dst": texts[dst], "dport": _ints(dport, dport < 0), "first": first_ts, "last": last_ts,
        "duration": last_ts - first_ts, "packets_ab": pk_ab, "bytes_ab": by_ab, "packets_ba": pk_ba,
        "bytes_ba": by_ba, "packets": pk_ab + pk_ba, "bytes": by_ab + by_ba,
    }
    missing = ~tcp_conv
    missed = np.zeros(n, dtype=np.int64)
    floats = {c: np.full(n, np.nan) for c in (*_RTT_COLUMNS, "throughput_ab_Bps", "throughput_ba_Bps")}
    retrans = {c: np.zeros(n, dtype=np.int64) for c in ("retrans_ab", "retrans_ba")}
    no_tt = np.ones(n, dtype=bool)
    if tcp is not None:
        rows = np.nonzero(tcp_conv)[0]
        streams = st[rows]
        conn_state[rows] = [tcp.conn_state[s] for s in streams.tolist()]
        history[rows] = [tcp.history[s] for s in streams.tolist()]
        missed[rows] = tcp.missed[streams]
        _tcptrace_into(tcp, rows, texts[src[rows]], sport[rows], retrans, floats, no_tt)
    data["tcp.stream"] = _ints(st, missing)
    data["conn_state"] = conn_state
    data["history"] = history
    data["missed_bytes"] = _ints(missed, missing)
    data["retrans_ab"] = _ints(retrans["retrans_ab"], no_tt)
    data["retrans_ba"] = _ints(retrans["retrans_ba"], no_tt)
    data.update(floats)
    data["cc_algorithm"] = np.array([algorithms.get(s) if s >= 0 else None for s in st.tolist()], dtype=object)
    data["application"] = application_labels(source, pk.frame, conv, pk.proto, pk.sport, pk.dport, n,
                                             tcp_payload_frames)
    # the packets and models are let go before the frame is built (a million
    # one-SYN flows: ~0.6 GB), and each column is typed alone, then set in the frame
    # without a copy
    del pk, tcp, stream, conv, forward, udp_d, texts, floats, retrans, conn_state, history
    data["first"] = data["first"].view("datetime64[ns]")
    data["last"] = data["last"].view("datetime64[ns]")
    data["duration"] = data["duration"].view("timedelta64[ns]")
    for col in ("proto", "src", "dst", "conn_state", "history", "application", "cc_algorithm"):
        data[col] = pd.array(data[col], dtype="string")
    df = pd.DataFrame({name: data.pop(name) for name in COLUMNS}, copy=False)
    df.attrs["warnings"] = warnings
    if error is not None:
        df.attrs["pcapkit.error"] = str(error)
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


# every array of _tcptrace_arrays is per direction (connection c: rows 2c and 2c + 1)
_PER_DIRECTION = ("host", "port", "retrans", "throughput", "throughput_valid", "rtt_n", "rtt_sum", "rtt_min",
                  "rtt_max")


def _tcptrace_details(table: SegmentTable, conv_frames: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """The tcptrace connection of each conversation's first frame and the arrays of
    :func:`_tcptrace_arrays`, with the model run over at most :data:`_MODEL_CONNECTIONS`
    address/port pairs at a time, each run reduced to those arrays before the next: the
    answer of one run (tcptrace's connections of different pairs never meet; they are
    numbered as one run numbers them, by the segment that opened them), the memory of a
    run's share (1M one-SYN flows: 2.2 GB of records in one run)."""
    from pcapkit.tcpflow.tcptrace import connection_table
    from pcapkit.tcpflow.tcptrace.table import connection_of_frames

    view = table.tcptrace_view()
    key = view.conversation_keys()[0]
    groups = -(-(int(key.max()) + 1) // _MODEL_CONNECTIONS) if len(view) else 1
    if groups <= 1:
        tt = connection_table(table)
        return tt.conn_of_frames(conv_frames), _tcptrace_arrays(tt)
    pieces, opened = [], []
    found: dict[str, list[np.ndarray]] = {name: [] for name in _PER_DIRECTION}
    for group in range(groups):
        rows = np.nonzero(key % groups == group)[0]  # (every segment of a pair, in file order)
        if not rows.size:
            continue
        tt = connection_table(view.select(rows))
        opened.append(rows[np.unique(tt.row_conn, return_index=True)[1]])  # the segment opening each connection
        pieces.append((rows, tt.row_conn, len(tt)))
        for name, values in _tcptrace_arrays(tt).items():
            found[name].append(values)
        del tt
    # number: each connection's number, in the order the groups found them
    number = np.empty(sum(len(o) for o in opened), np.int64)
    number[np.argsort(np.concatenate(opened))] = np.arange(number.shape[0])
    row_conn = np.full(len(view), -1, np.int64)
    start = 0
    for rows, local_conn, count in pieces:
        row_conn[rows] = number[start:start + count][local_conn]
        start += count
    # one array at a time into the run's order (the groups' pieces go as it is placed)
    out: dict[str, np.ndarray] = {}
    for name in _PER_DIRECTION:
        joined = np.concatenate(found.pop(name))
        placed = np.empty_like(joined)
        placed[2 * number] = joined[0::2]
        placed[2 * number + 1] = joined[1::2]
        out[name] = placed
        del joined
    return connection_of_frames(view.frame, row_conn, conv_frames), out


def _tcptrace_arrays(tt: ConnectionTable) -> dict[str, Any]:
    """Per tcptrace direction: endpoint, retransmitted data packets, throughput (NaN where
    tcptrace prints NA) and the count, min, sum and max of its Karn RTT samples (us)."""
    from pcapkit.tcpflow.tcptrace import throughput as throughput_of
    from pcapkit.tcpflow.tcptrace.layout import S_DIR, S_RTT

    throughput, valid = throughput_of(tt, np.arange(2 * len(tt)))
    ndirs = 2 * len(tt)
    direction = tt.samples[:, S_DIR]
    rtt = tt.samples[:, S_RTT].astype(np.float64)
    rtt_min = np.full(ndirs, np.inf)
    rtt_max = np.full(ndirs, -np.inf)
    np.minimum.at(rtt_min, direction, rtt)
    np.maximum.at(rtt_max, direction, rtt)
    # (copies of the record fields: a view would keep every direction record alive)
    return {"host": np.asarray(tt.addresses, dtype=object)[tt.dirs["host"]], "port": tt.dirs["port"].copy(),
            "retrans": tt.dirs["rexmit_pkts"].copy(), "throughput": throughput, "throughput_valid": valid,
            "rtt_n": np.bincount(direction, minlength=ndirs), "rtt_sum": np.bincount(direction, rtt, minlength=ndirs),
            "rtt_min": rtt_min, "rtt_max": rtt_max}


def _ints(values: np.ndarray, missing: np.ndarray | None = None) -> Any:
    """A nullable Int64 array of ``values``, missing where ``missing``."""
    import pandas as pd

    m = np.zeros(values.shape[0], dtype=bool) if missing is None else np.asarray(missing, dtype=bool)
    return pd.arrays.IntegerArray(np.where(m, 0, values).astype(np.int64), m.copy())


def _tcptrace_into(tcp: _TcpDetails, rows: np.ndarray, src: np.ndarray, sport: np.ndarray,
                   retrans: dict[str, np.ndarray], floats: dict[str, np.ndarray], no_tt: np.ndarray) -> None:
    """Retransmissions, Karn RTT summary (ms) and throughput each way of the tcptrace connection of
    each TCP conversation ``rows`` (whose originator is ``src``/``sport``), in place."""
    tt = tcp.tt
    conn = tcp.tt_conn[rows]
    has = conn >= 0
    rows, conn, src, sport = rows[has], conn[has], src[has], sport[has]
    no_tt[rows] = False
    a2b = (tt["host"][2 * conn] == src) & (tt["port"][2 * conn] == sport)
    ab = np.where(a2b, 2 * conn, 2 * conn + 1)
    ba = np.where(a2b, 2 * conn + 1, 2 * conn)
    retrans["retrans_ab"][rows] = tt["retrans"][ab]
    retrans["retrans_ba"][rows] = tt["retrans"][ba]
    for name, d in (("throughput_ab_Bps", ab), ("throughput_ba_Bps", ba)):
        floats[name][rows] = np.where(tt["throughput_valid"][d], tt["throughput"][d], np.nan)
    for way, d in (("ab", ab), ("ba", ba)):
        count = tt["rtt_n"][d]
        some = count > 0
        r, d = rows[some], d[some]
        floats[f"rtt_{way}_min_ms"][r] = tt["rtt_min"][d] / 1000.0
        floats[f"rtt_{way}_avg_ms"][r] = tt["rtt_sum"][d] / count[some] / 1000.0
        floats[f"rtt_{way}_max_ms"][r] = tt["rtt_max"][d] / 1000.0
