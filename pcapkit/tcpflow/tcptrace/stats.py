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


def _stream_length(d: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    syn, wrap = d["syn"], d["seq_wrap_count"]
    last = np.where(d["reset_count"] > 0, d["latest_seq"], d["fin"])
    wrapped = np.where(last > syn, last + MAX_32 * wrap - syn - 1, last + MAX_32 * (wrap + 1) - syn - 1)
    plain = np.where(last > syn, last - syn - 1, MAX_32 + last - syn - 1)
    return np.where(wrap > 0, wrapped, plain), (d["syn_count"] > 0) & (d["fin_count"] > 0)


def throughput(table: ConnectionTable, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The throughput of the directions ``index`` (unique bytes per second of their
    connection's duration), and where it is defined (tcptrace prints NA elsewhere)."""
    secs = _elapsed(table.conns["first_time"][index // 2], table.conns["last_time"][index // 2]) / 1000000.0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(secs == 0.0, 0.0, table.dirs["unique_bytes"][index] / secs), secs != 0.0


def stat_columns(table: ConnectionTable, index: np.ndarray) -> Stats:
    """The statistics of the directions ``index`` (records of ``table.dirs``), by label."""
    d = table.dirs[index]
    conn = table.conns[index // 2]
    both_scaled = ((table.dirs["window_stats_updated_for_scaling"][index & ~1] != 0)
                   & (table.dirs["window_stats_updated_for_scaling"][index | 1] != 0))
    etime = _elapsed(conn["first_time"], conn["last_time"])
    stream, has_stream = _stream_length(d)
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
    out["wavg owin"] = (wavg, etime != 0.0)
    out["initial window bytes"] = (d["initialwin_bytes"], None)
    out["initial window pkts"] = (d["initialwin_segs"], None)
    out["ttl stream length"] = (stream, has_stream)
    out["missed data"] = (stream - d["unique_bytes"], has_stream)
    out["truncated data"] = (d["trunc_bytes"], None)
    out["truncated packets"] = (d["trunc_segs"], None)
    out["data xmit time"] = (_elapsed(d["first_data_time"], d["last_data_time"]) / 1000000.0, None)
    out["idletime max"] = (d["idle_max"] / ms, d["last_time"] != 0)
    out["hardware dups"] = (d["num_hardware_dups"], None)
    out["throughput"] = throughput(table, index)
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


def _nullable(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """A column with NA (as pandas infers one from Python values and None): the values
    when all are defined, None everywhere when none is, else floats with NaN."""
    if valid.all():
        return values
    if not valid.any():
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
    df = pd.DataFrame(_stats_frame(table)) if len(table) else pd.DataFrame([])
    if table.error is not None:
        df.attrs["pcapkit.error"] = str(table.error)
    return df


def _stats_frame(table: ConnectionTable) -> dict[str, Any]:
    index = np.arange(2 * len(table))
    d, conn = table.dirs, table.conns[index // 2]
    texts = np.asarray(table.addresses, dtype=object)
    a, b = table.dirs[0::2][index // 2], table.dirs[1::2][index // 2]
    cols: dict[str, Any] = {
        "conn": index // 2 + 1, "direction": np.where(index % 2 == 0, "a2b", "b2a").astype(object),
        "src": texts[d["host"]], "sport": d["port"], "dst": texts[d["host"][index ^ 1]], "dport": d["port"][index ^ 1],
        "first": (conn["first_time"] * 1000).astype("datetime64[ns]"),
        "last": (conn["last_time"] * 1000).astype("datetime64[ns]"),
        "complete": (a["syn_count"] >= 1) & (b["syn_count"] >= 1) & (a["fin_count"] >= 1) & (b["fin_count"] >= 1),
        "reset": a["reset_count"] + b["reset_count"] != 0,
    }
    for label, (values, valid) in stat_columns(table, index).items():
        cols[_column(label)] = values if valid is None else _nullable(values, valid)
    return cols
