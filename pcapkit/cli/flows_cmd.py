"""``pcapkit flows`` (one row per conversation) and ``pcapkit tcptrace`` (tcptrace -l -r)."""

from __future__ import annotations

import click

from pcapkit.cli.common import PcapkitCommand, output_options
from pcapkit.cli.views import ColumnChoice, column_options


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_expr", metavar="[FILTER]", nargs=-1)
@click.option("--proto", type=click.Choice(["tcp", "udp", "icmp", "all"]), default="all",
              show_default=True, help="Only conversations of this protocol.")
@column_options
@output_options()
def flows(file: str, filter_expr: tuple[str, ...], proto: str, choice: ColumnChoice, fmt: str,
          output: str | None) -> None:
    """One row per conversation of FILE (TCP, UDP, ICMP, other IP): endpoints,
    first/last time, duration, packets and bytes each way; for TCP also tcp.stream,
    Zeek's conn_state and history, missed bytes, retransmissions, RTT and throughput.
    FILTER is a tcpdump expression choosing the frames counted.

    \b
    Examples:
      pcapkit flows capture.pcap
      pcapkit flows capture.pcap 'host 10.0.0.1' --proto tcp --format csv -o flows.csv
    """
    from pcapkit.cli.output import write_report
    from pcapkit.reports.flows import flows_table

    df = flows_table(file, filter=" ".join(filter_expr))
    if proto != "all":
        import numpy as np

        names = df["proto"].texts_at().tolist()
        df = df.take(np.array([name is not None and name.startswith(proto) for name in names], dtype=bool))
    write_report(df, fmt, output, choice=choice, view="flows")


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_expr", metavar="[FILTER]", nargs=-1)
@click.option("--conn", "conn", type=int, default=None, help="Only tcptrace connection N (1-based).")
@column_options
@output_options()
def tcptrace(file: str, filter_expr: tuple[str, ...], conn: int | None, choice: ColumnChoice, fmt: str,
             output: str | None) -> None:
    """tcptrace-style statistics of every TCP connection of FILE, one row per
    connection and direction, computed as `tcptrace -l -r -n` computes them: packets,
    pure ACKs, SACKs, unique/retransmitted bytes, out-of-order, window and segment
    sizes, initial window, stream length, missed data, idle time, throughput, and
    Karn-rule RTT samples, duplicate ACKs and retransmission times.

    \b
    Examples:
      pcapkit tcptrace capture.pcap
      pcapkit tcptrace capture.pcap --conn 1 --format json
    """
    from pcapkit.cli.output import format_for, table_extents, write_report, write_report_frames
    from pcapkit.tcpflow.tcptrace.chunks import StatsRuns

    # a run of address/port pairs at a time: a million connections never sit in memory at once
    runs = StatsRuns(file, filter=" ".join(filter_expr))
    if conn is not None:  # (one connection: its rows are few)
        import pandas as pd

        parts = [df if df.empty else df[df["conn"] == conn] for df in runs.frames()]
        df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0].reset_index(drop=True)
        df.attrs = {"pcapkit.error": str(runs.error)} if runs.error is not None else {}
        if fmt == "table" and not df.empty and choice.named() is None:
            # one connection: a statistic per line, a column per direction (as tcptrace prints)
            from pcapkit.reports.output import text_frame

            df = text_frame(df)
            t = df.set_index(df["conn"].astype(str) + " " + df["direction"]).T
            t.insert(0, "statistic", t.index)
            write_report(pd.DataFrame(t).reset_index(drop=True).astype("string"), fmt, output)
            return
        write_report(df, fmt, output, choice=choice, view="tcptrace")
        return
    extents = None
    if format_for(output, fmt) == "table" and len(runs) > 1:
        extents = table_extents(choice, "tcptrace")
        runs.survey(extents.add)  # (the column widths: every row measured first)
    write_report_frames(runs.tables(), fmt, output, extents=extents, choice=choice, view="tcptrace")
