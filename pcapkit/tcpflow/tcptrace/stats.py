"""The values ``tcptrace -l -r`` prints, derived from the model's records (vectorised
over directions), as tcptrace derives them: averages divide by ``count + 0.0001``,
standard deviations are 0 for n <= 2, times are in ms (RTT, retransmission, idle) or s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.tcpflow.tcptrace.layout import MAX_32
from pcapkit.tcpflow.tcptrace.table import Connection, ConnectionTable, Direction, connection_table

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.tcpflow.segments import SegmentTable, Source

# label -> (values, valid); valid is None when every value is defined (tcptrace prints NA otherwise)
Stats = dict[str, tuple[np.ndarray, np.ndarray | None]]


def _elapsed(t1: np.ndarray, t2: np.ndarray) -> np.ndarray:
    return np.where(t2 < t1, 0.0, (t2 - t1).astype(np.float64))


def _average(total: np.ndarray, count: np.ndarray) -> np.ndarray:
    return total / (count + 0.0001)


def _stdev(total: np.ndarray, total2: np.ndarray, n: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        term = (total2 - (total * total) / n) / (n - 1)
    return np.where((n > 2) & (term > 0), np.sqrt(np.where(term > 0, term, 0.0)), 0.0)


def _floor_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.where(den == 0, 0, num // np.where(den == 0, 1, den))


def _stream_length(d: _Fields) -> np.ndarray:
    syn, wrap = d["syn"], d["seq_wrap_count"]
    last = np.where(d["reset_count"] > 0, d["latest_seq"], d["fin"])
    wrapped = np.where(last > syn, last + MAX_32 * wrap - syn - 1, last + MAX_32 * (wrap + 1) - syn - 1)
    plain = np.where(last > syn, last - syn - 1, MAX_32 + last - syn - 1)
    return np.where(wrap > 0, wrapped, plain)  # (defined where both a SYN and a FIN were sent: _validity)


class _Fields:
    """The fields of the directions ``index`` of a table (None: every direction), one
    array per field (a record array indexed as a whole copies every field of it)."""

    def __init__(self, table: ConnectionTable, index: np.ndarray | None) -> None:
        self._table, self._index = table, index

    def __getitem__(self, name: str) -> np.ndarray:
        values = self._table.dirs[name]  # (a view of the records: a copy, which holds no record alive)
        return np.ascontiguousarray(values) if self._index is None else values[self._index]

    def conn(self, name: str) -> np.ndarray:
        """A field of each direction's connection."""
        values = self._table.conns[name]
        return np.repeat(values, 2) if self._index is None else values[self._index // 2]

    def pair(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A field of each direction's a2b and b2a direction."""
        values = self._table.dirs[name]
        a, b = values[0::2], values[1::2]
        if self._index is None:
            return np.repeat(a, 2), np.repeat(b, 2)
        return a[self._index // 2], b[self._index // 2]


def throughput(table: ConnectionTable, index: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """The throughput of the directions ``index`` (None: every direction; unique bytes per
    second of their connection's duration), and where it is defined (tcptrace prints NA
    elsewhere)."""
    d = _Fields(table, index)
    secs = _elapsed(d.conn("first_time"), d.conn("last_time")) / 1000000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(secs == 0.0, 0.0, d["unique_bytes"] / secs), secs != 0.0


def stat_columns(table: ConnectionTable, index: np.ndarray | None) -> Stats:
    """The statistics of the directions ``index`` (records of ``table.dirs``; None: every
    direction), by label."""
    d = _Fields(table, index)
    scaled_a, scaled_b = d.pair("window_stats_updated_for_scaling")
    both_scaled = (scaled_a != 0) & (scaled_b != 0)
    etime = _elapsed(d.conn("first_time"), d.conn("last_time"))
    stream = _stream_length(d)
    ms = 1000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        wavg = np.where(etime == 0.0, 0, d["owin_wavg"] / (etime / 1000000)).astype(np.int64)
    plain: dict[str, np.ndarray] = {
        "total packets": d["packets"], "resets sent": d["reset_count"], "ack pkts sent": d["ack_pkts"],
        "pure acks sent": d["pureack_pkts"], "sack pkts sent": d["num_sacks"], "dsack pkts sent": d["num_dsacks"],
        "max sack blks/ack": d["max_sack_blocks"], "unique bytes sent": d["unique_bytes"],
        "actual data pkts": d["data_pkts"], "actual data bytes": d["data_bytes"],
        "rexmt data pkts": d["rexmit_pkts"], "rexmt data bytes": d["rexmit_bytes"],
        "zwnd probe pkts": d["num_zwnd_probes"], "zwnd probe bytes": d["zwnd_probe_bytes"],
        "outoforder pkts": d["out_order_pkts"], "pushed data pkts": d["data_pkts_push"],
        "SYN pkts sent": d["syn_count"], "FIN pkts sent": d["fin_count"],
        "req 1323 ws": d["f1323_ws"] != 0, "req 1323 ts": d["f1323_ts"] != 0, "adv wind scale": d["window_scale"],
        "req sack": d["fsack_req"] != 0, "sacks sent": d["sacks_sent"], "urgent data pkts": d["urg_data_pkts"],
        "urgent data bytes": d["urg_data_bytes"], "mss requested": d["mss"], "max segm size": d["max_seg_size"],
        "min segm size": d["min_seg_size"],
        "avg segm size": (d["data_bytes"] / (d["data_pkts"] + 0.001)).astype(np.int64),
        "max win adv": d["win_max"], "min win adv": d["win_min"], "zero win adv": d["win_zero_ct"],
        # tcptrace divides by the packets sent since scaling took effect when both
        # directions have sent a scaled window, else by all packets sent
        "avg win adv": np.where(both_scaled, _floor_div(d["win_tot"], d["win_scaled_pkts"]),
                                _floor_div(d["win_tot"], d["packets"])),
        "max owin": d["owin_max"], "min non-zero owin": d["owin_min"],
        "avg owin": _floor_div(d["owin_tot"], d["owin_count"]),
    }
    out: Stats = {label: (values, None) for label, values in plain.items()}
    defined = _validity(d)
    out["wavg owin"] = (wavg, defined["wavg owin"])
    out["initial window bytes"] = (d["initialwin_bytes"], None)
    out["initial window pkts"] = (d["initialwin_segs"], None)
    out["ttl stream length"] = (stream, defined["ttl stream length"])
    out["missed data"] = (stream - d["unique_bytes"], defined["missed data"])
    out["truncated data"] = (d["trunc_bytes"], None)
    out["truncated packets"] = (d["trunc_segs"], None)
    out["data xmit time"] = (_elapsed(d["first_data_time"], d["last_data_time"]) / 1000000.0, None)
    out["idletime max"] = (d["idle_max"] / ms, defined["idletime max"])
    out["hardware dups"] = (d["num_hardware_dups"], None)
    out["throughput"] = (throughput(table, index)[0], defined["throughput"])
    rtt: dict[str, np.ndarray] = {
        "RTT samples": d["rtt_count"], "RTT min": d["rtt_min"] / ms, "RTT max": d["rtt_max"] / ms,
        "RTT avg": _average(d["rtt_sum"], d["rtt_count"]) / ms,
        "RTT stdev": _stdev(d["rtt_sum"], d["rtt_sum2"], d["rtt_count"]) / ms,
        "RTT from 3WHS": d["rtt_3WHS"] / ms, "RTT full_sz smpls": d["rtt_full_count"],
        "RTT full_sz min": d["rtt_full_min"] / ms, "RTT full_sz max": d["rtt_full_max"] / ms,
        "RTT full_sz avg": _average(d["rtt_full_sum"], d["rtt_full_count"]) / ms,
        "RTT full_sz stdev": _stdev(d["rtt_full_sum"], d["rtt_full_sum2"], d["rtt_full_count"]) / ms,
        "post-loss acks": d["rtt_nosample"], "ambiguous acks": d["rtt_amback"],
        "RTT min (last)": d["rtt_min_last"] / ms, "RTT max (last)": d["rtt_max_last"] / ms,
        "RTT avg (last)": _average(d["rtt_sum_last"], d["rtt_count_last"]) / ms,
        "RTT sdv (last)": _stdev(d["rtt_sum_last"], d["rtt_sum2_last"], d["rtt_count_last"]) / ms,
        "segs cum acked": d["rtt_cumack"], "duplicate acks": d["rtt_dupack"], "triple dupacks": d["rtt_triple_dupack"],
        "max # retrans": d["retr_max"], "min retr time": d["retr_min_tm"] / ms, "max retr time": d["retr_max_tm"] / ms,
        "avg retr time": _average(d["retr_tm_sum"], d["retr_tm_count"]) / ms,
        "sdv retr time": _stdev(d["retr_tm_sum"], d["retr_tm_sum2"], d["retr_tm_count"]) / ms,
    }
    out.update((label, (values, None)) for label, values in rtt.items())
    return out


def direction_stats(conn: Connection, d: Direction) -> dict[str, Any]:
    """The values of one column of ``tcptrace -l -r``, as numbers (times in ms / s; None
    where tcptrace prints NA)."""
    del conn  # (the direction knows its connection)
    cols = stat_columns(d._table, np.array([d.index]))
    return {label: None if valid is not None and not valid[0] else values[0].item()
            for label, (values, valid) in cols.items()}


# column name in the DataFrame for each statistic (snake case, units in the name)
_COLUMN = {
    "data xmit time": "data_xmit_time_s", "idletime max": "idletime_max_ms",
    "throughput": "throughput_Bps", "max # retrans": "max_retrans",
    "max sack blks/ack": "max_sack_blks_per_ack",
}


def _column(label: str) -> str:
    if label in _COLUMN:
        return _COLUMN[label]
    name = label.replace("(last)", "last").replace("/", "_").replace("#", "n").replace("-", "_")
    name = "_".join(name.split())
    if (label.startswith("RTT") and label not in ("RTT samples", "RTT full_sz smpls")) \
            or label.endswith("retr time"):
        name += "_ms"
    return name


# how a statistic that tcptrace prints as NA somewhere is held in a DataFrame, by
# whether its values are defined everywhere, nowhere or in some rows (pandas' inference
# from Python values and None): the values, None everywhere, or floats with NaN
ALL, NONE, SOME = "all", "none", "some"


def nullable_state(valid: np.ndarray) -> str:
    """:data:`ALL`, :data:`NONE` or :data:`SOME` of ``valid``."""
    if valid.all():
        return ALL
    return NONE if not valid.any() else SOME


def joined_state(a: str | None, b: str) -> str:
    """The state of two parts of a column together (``a`` None: no part before)."""
    return b if a is None or a == b else SOME


def _nullable(values: np.ndarray, valid: np.ndarray, state: str | None = None) -> np.ndarray:
    """A column with NA held as its ``state`` says (default: the state of ``valid``;
    a part of a longer column takes the state of the whole)."""
    state = state or nullable_state(valid)
    if state == ALL:
        return values
    if state == NONE:
        return np.full(values.shape[0], None, dtype=object)
    return np.where(valid, values.astype(np.float64), np.nan)


def tcptrace_stats(source: Source | SegmentTable | ConnectionTable) -> pd.DataFrame:
    """One row per connection and direction with tcptrace's long (-l -r) statistics.

    Columns: conn (tcptrace's 1-based number), direction ("a2b"/"b2a"), src, sport,
    dst, dport, first/last (datetime64[ns] of the connection's first/last packet),
    complete, reset, then the statistics (RTT values in ms, as tcptrace prints them).
    """
    import pandas as pd

    table = source if isinstance(source, ConnectionTable) else connection_table(source)
    df = pd.DataFrame(stats_frame(table)) if len(table) else pd.DataFrame([])
    if table.error is not None:
        df.attrs["pcapkit.error"] = str(table.error)
    return df


def _validity(d: _Fields) -> dict[str, np.ndarray]:
    """Where each statistic that tcptrace prints as NA somewhere is defined."""
    timed = _elapsed(d.conn("first_time"), d.conn("last_time")) != 0.0
    has_stream = (d["syn_count"] > 0) & (d["fin_count"] > 0)
    return {"wavg owin": timed, "ttl stream length": has_stream, "missed data": has_stream,
            "idletime max": d["last_time"] != 0, "throughput": timed}


def nullable_states(table: ConnectionTable) -> dict[str, str]:
    """The NA state (:func:`nullable_state`) of each column of :func:`stats_frame` that
    tcptrace prints as NA somewhere, over the table's directions."""
    return {_column(label): nullable_state(valid) for label, valid in _validity(_Fields(table, None)).items()}


_DIRECTION_NAMES = np.array(["a2b", "b2a"], dtype=object)


def stats_frame(table: ConnectionTable, *, states: dict[str, str] | None = None, first_number: int = 1,
                texts: np.ndarray | None = None) -> dict[str, Any]:
    """The columns of :func:`tcptrace_stats` of every direction of ``table``: connections
    numbered from ``first_number``, NA held as ``states`` says (default: as the table's own
    values say; see :func:`nullable_states`), addresses from ``texts`` (default: the
    table's ``addresses`` as an object array)."""
    d = _Fields(table, None)
    n = 2 * len(table)
    if texts is None:
        texts = np.asarray(table.addresses, dtype=object)
    host, port = d["host"], d["port"]
    peer = np.arange(n) ^ 1
    syn_a, syn_b = d.pair("syn_count")
    fin_a, fin_b = d.pair("fin_count")
    rst_a, rst_b = d.pair("reset_count")
    cols: dict[str, Any] = {
        "conn": np.repeat(np.arange(first_number, first_number + len(table)), 2),
        "direction": np.tile(_DIRECTION_NAMES, len(table)),
        "src": texts[host], "sport": port.copy(), "dst": texts[host[peer]], "dport": port[peer],
        "first": (d.conn("first_time") * 1000).astype("datetime64[ns]"),
        "last": (d.conn("last_time") * 1000).astype("datetime64[ns]"),
        "complete": (syn_a >= 1) & (syn_b >= 1) & (fin_a >= 1) & (fin_b >= 1),
        "reset": rst_a + rst_b != 0,
    }
    for label, (values, valid) in stat_columns(table, None).items():
        name = _column(label)
        cols[name] = values if valid is None else _nullable(values, valid, (states or {}).get(name))
    return cols
