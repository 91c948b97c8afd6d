"""What each report's table shows by default: the one place the column sets are declared.

A table shows the columns of its :class:`View` (in that order) that fit the terminal
(120 characters when standard output is not a terminal), choosing them in ``priority``
order when not all fit; a note after the table names the others. ``--columns all``
shows every column (still cut to the width, with the note), ``--columns a,b`` or
``-e a -e b`` (as tshark) exactly those, in every format. CSV, JSON and Parquet carry
every column of the report unless columns are named.
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable

F = TypeVar("F", bound=Callable[..., Any])
Table = TypeVar("Table", "ColumnTable", "pd.DataFrame")
TABLE_WIDTH = 120  # when standard output is not a terminal (a file, a pipe, a test)


@dataclass(frozen=True, slots=True)
class View:
    """columns: the default table columns in display order; priority: the order in which
    they are kept when not all fit (default: display order); decimals: per-column
    overrides of :func:`pcapkit.reports.table.decimals_for`; unit: the one unit of every
    time and duration of the default columns, said above the table (the CSV names
    are the users' API and stay as they are)."""

    columns: tuple[str, ...]
    priority: tuple[str, ...] = ()
    decimals: dict[str, int] = field(default_factory=dict)
    unit: str = ""

    def note(self) -> str | None:
        return f"(times and durations in {self.unit})" if self.unit else None

    def ordered(self, available: Sequence[str]) -> tuple[list[str], list[str]]:
        """(display order, priority order) of the view's columns present in ``available``."""
        present = set(available)
        shown = [c for c in self.columns if c in present]
        first = [c for c in self.priority if c in present]
        return shown, first + [c for c in shown if c not in first]


VIEWS: dict[str, View] = {
    "tcp": View(("frame.number", "frame.time_relative", "frame.time_epoch", "tcp.stream", "ip.src", "ipv6.src",
                 "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.flags.str", "tcp.seq", "tcp.ack",
                 "tcp.len", "tcp.window_size", "tcp.analysis.ack_rtt", "tcp.analysis.bytes_in_flight",
                 "analysis"),
                priority=("frame.number", "frame.time_relative", "tcp.stream", "ip.src", "ipv6.src",
                          "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport", "tcp.flags.str", "tcp.seq",
                          "tcp.ack", "tcp.len", "analysis", "tcp.analysis.ack_rtt", "tcp.window_size",
                          "tcp.analysis.bytes_in_flight"),
                unit="seconds"),
    "handshakes": View(("tcp.stream", "client", "server", "syn_frame", "synack_frame", "ack_frame",
                        "syn_retransmissions", "client_mss", "server_mss", "client_wscale", "server_wscale",
                        "tcp.analysis.initial_rtt", "outcome"),
                       priority=("tcp.stream", "client", "server", "outcome", "tcp.analysis.initial_rtt",
                                 "syn_frame", "synack_frame", "ack_frame", "syn_retransmissions"),
                unit="seconds"),
    "rtt": View(("tcp.stream", "data_src", "data_dst", "frame.number", "frame.time_relative",
                 "tcp.analysis.acks_frame", "tcp.ack", "tcp.analysis.ack_rtt", "acked_len", "srtt", "rttvar",
                 "estimated_rtt"),
                priority=("tcp.stream", "data_src", "data_dst", "frame.number", "tcp.analysis.ack_rtt",
                          "srtt", "estimated_rtt", "frame.time_relative", "tcp.analysis.acks_frame", "acked_len",
                          "rttvar", "tcp.ack"),
                unit="seconds"),
    "rtt --summary": View(("tcp.stream", "data_src", "data_dst", "count", "min", "mean", "median", "p95", "max",
                           "stdev", "srtt", "rttvar", "estimated_rtt"),
                          priority=("tcp.stream", "data_src", "data_dst", "count", "min", "mean", "max",
                                    "estimated_rtt", "srtt", "median", "p95", "stdev", "rttvar"),
                unit="seconds"),
    "congestion": View(("frame.number", "frame.time_relative", "tcp.stream", "tcp.srcport", "tcp.dstport",
                        "cwnd_bytes", "ssthresh_bytes", "phase", "limited_by"),
                       unit="seconds"),
    "congestion --summary": View(("tcp.stream", "tcp.srcport", "tcp.dstport", "vantage", "cc_algorithm",
                                  "confidence", "loss_events", "fast_retransmits", "rtos", "share_slow_start",
                                  "share_congestion_avoidance", "mean_cwnd_bytes", "reason"),
                                 priority=("tcp.stream", "tcp.srcport", "tcp.dstport", "cc_algorithm",
                                           "confidence", "vantage", "reason", "loss_events", "mean_cwnd_bytes")),
    "flows": View(("first_frame", "proto", "src", "sport", "dst", "dport", "duration", "packets_ab", "bytes_ab",
                   "packets_ba", "bytes_ba", "tcp.stream", "conn_state", "application", "retrans_ab",
                   "retrans_ba", "throughput_ab_Bps", "cc_algorithm"),
                  priority=("first_frame", "proto", "src", "sport", "dst", "dport", "application", "duration",
                            "packets_ab", "bytes_ab", "packets_ba", "bytes_ba", "tcp.stream", "conn_state"),
                unit="seconds"),
    "tcptrace": View(("conn", "direction", "src", "sport", "dst", "dport", "total_packets", "unique_bytes_sent",
                      "rexmt_data_pkts", "outoforder_pkts", "duplicate_acks", "throughput_Bps", "RTT_avg_ms",
                      "RTT_min_ms", "RTT_max_ms"),
                     priority=("conn", "direction", "src", "sport", "dst", "dport", "total_packets",
                               "unique_bytes_sent", "rexmt_data_pkts", "throughput_Bps", "RTT_avg_ms"),
                unit="milliseconds, as tcptrace"),
    "dns": View(("frame.number", "frame.time_relative", "ip.src", "ipv6.src", "ip.dst", "ipv6.dst", "dns.id",
                 "dns.qry.name", "type", "dns.flags.rcode", "dns.response_in", "dns.time", "dns.count.answers",
                 "answers"),
                priority=("frame.number", "dns.qry.name", "type", "dns.time", "dns.response_in", "ip.src",
                          "ipv6.src", "ip.dst", "ipv6.dst", "dns.flags.rcode", "dns.count.answers",
                          "frame.time_relative", "dns.id", "answers"),
                unit="seconds"),
    "http": View(("frame.number", "frame.time_relative", "ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst",
                  "tcp.dstport", "http.host", "http.request.method", "http.request.uri", "http.response_in",
                  "http.response.code", "http.content_length", "http.time"),
                 priority=("frame.number", "http.request.method", "http.host", "http.response.code", "http.time",
                           "http.request.uri", "http.response_in", "http.content_length", "ip.src", "ipv6.src",
                           "ip.dst", "ipv6.dst", "frame.time_relative", "tcp.srcport", "tcp.dstport"),
                 unit="seconds"),
    "lab dhcp": View(("frame", "time", "message", "transaction_id", "src", "dst", "client_mac", "yiaddr",
                      "server_id", "lease_time_s", "router", "subnet_mask"),
                     priority=("frame", "time", "message", "transaction_id", "src", "dst", "yiaddr",
                               "client_mac", "server_id", "lease_time_s"),
                unit="seconds"),
    "lab dns messages": View(("frame", "time", "transport", "src", "dst", "id", "kind", "name", "type",
                              "answers", "response_to", "response_time"),
                             priority=("frame", "time", "kind", "name", "type", "src", "dst", "id", "answers",
                                       "response_time", "response_to", "transport"),
                unit="seconds"),
}


def table_width() -> int:
    """The terminal's width when standard output is one, else :data:`TABLE_WIDTH`."""
    if sys.stdout.isatty():
        return shutil.get_terminal_size((TABLE_WIDTH, 24)).columns
    return TABLE_WIDTH


def _split_names(value: str) -> list[str]:
    return [c.strip() for c in value.split(",") if c.strip()]


@dataclass(frozen=True, slots=True)
class ColumnChoice:
    """What the user asked for: ``--columns`` (None, "all" or names) and ``-e`` names."""

    columns: str | None = None
    fields: tuple[str, ...] = ()

    def named(self) -> list[str] | None:
        """The columns named with -e/--columns (None: not named)."""
        names = list(self.fields)
        if self.columns and self.columns != "all":
            names = _split_names(self.columns) + names
        return list(dict.fromkeys(names)) or None


def view_note(choice: ColumnChoice, view: str | None) -> str | None:
    """The unit line above a default table (none when the user chose the columns)."""
    if view is None or view not in VIEWS or choice.columns == "all" or choice.named() is not None:
        return None
    return VIEWS[view].note()


def select(df: ColumnTable | pd.DataFrame, fmt: str, choice: ColumnChoice, view: str | None) -> tuple[Any, Any]:
    """``df`` (a :class:`~pcapkit.columnar.column_table.ColumnTable` or a DataFrame) cut
    to the named columns (every format), and the (display, priority) column orders for a
    table (None: every column)."""
    from pcapkit.columnar.column_table import ColumnTable, as_table

    named = choice.named()
    if named is not None:
        unknown = [c for c in named if c not in df.columns]
        if unknown:
            raise click.BadParameter(f"unknown column(s): {', '.join(unknown)} (the columns are: "
                                     f"{', '.join(map(str, df.columns))})", param_hint="-e/--columns")
        return (df.select(named) if isinstance(df, ColumnTable) else df[named]), None
    if fmt != "table" or choice.columns == "all" or view is None or view not in VIEWS:
        return df, None
    # a column of the view that no row fills (no IPv6 in the capture, ...) is left out
    table = as_table(df)
    filled = [str(c) for c in table.columns if not table[c].all_missing()]
    return df, VIEWS[view].ordered(filled)


def column_options(fn: F) -> F:
    """``--columns all|A,B`` and ``-e NAME`` (repeatable) for a report command; the
    command receives them as one :class:`ColumnChoice` argument ``choice``."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Any:
        kwargs["choice"] = ColumnChoice(kwargs.pop("columns", None), tuple(kwargs.pop("fields", ())))
        return fn(*args, **kwargs)

    wrapped = click.option("-e", "fields", multiple=True, metavar="NAME",
                           help="Show this column (repeatable, as tshark -e); in every format.")(run)
    wrapped = click.option("--columns", default=None, metavar="all|A,B,...",
                           help="Table columns: 'all', or these comma-separated names (in every format). "
                                "Default: a set that fits the terminal; csv/json/parquet: every column.")(wrapped)
    return wrapped  # type: ignore[return-value]


def capture_start_ns(path: str) -> int | None:
    """The first frame's time of the capture ``path`` (frame.time_relative's zero), or
    None for standard input or a capture without frames."""
    if path == "-" or not os.path.isfile(path):
        return None
    from pcapkit.capture.files import open_capture

    with open_capture(path) as reader:
        for frame in reader:
            return int(frame.ts_ns)
    return None


def with_time_relative(df: Table, path: str, epoch: str = "frame.time_epoch") -> Table:
    """``df`` (a :class:`~pcapkit.columnar.column_table.ColumnTable` or a DataFrame) with
    ``frame.time_relative`` (seconds since the capture's first frame, as tshark) inserted
    before ``epoch``; unchanged when the start is unknown."""
    from pcapkit.columnar.column_table import Column, ColumnTable

    if epoch not in df.columns or "frame.time_relative" in df.columns:
        return df
    if isinstance(df, ColumnTable):
        times = df[epoch]
        if not times.dtype.startswith("datetime64"):
            return df
        start = capture_start_ns(path)
        if start is None:
            return df
        relative = Column(times.values - start, times.mask, "timedelta64[ns]")
        return df.with_column("frame.time_relative", relative, before=epoch)
    import pandas as pd

    start = capture_start_ns(path)
    if start is None:
        return df
    times = df[epoch]
    if not pd.api.types.is_datetime64_any_dtype(times.dtype):
        return df
    relative = times - pd.Timestamp(start, unit="ns")
    out = df.copy()
    out.insert(int(df.columns.get_loc(epoch)), "frame.time_relative", relative)  # type: ignore[arg-type]
    return out
