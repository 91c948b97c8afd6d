"""``pcapkit congestion``: every TCP sender's window, phase and algorithm, from the trace."""

from __future__ import annotations

import click

from pcapkit.cli.common import PcapkitCommand, output_options
from pcapkit.cli.views import ColumnChoice, column_options


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--stream", type=int, default=None, help="Only this tcp.stream.")
@click.option("--summary", is_flag=True,
              help="One row per stream and sending direction: the congestion-control algorithm "
                   "(reno, cubic, bbr or unknown with the reason), loss events, time share of each phase, "
                   "mean cwnd.")
@column_options
@output_options()
def congestion(file: str, stream: int | None, summary: bool, choice: ColumnChoice, fmt: str,
               output: str | None) -> None:
    """Congestion behaviour of every TCP sender in FILE, estimated from the trace (best
    from a capture taken at the sender): per data segment the congestion window
    (cwnd_bytes), ssthresh once it was set, the phase (slow-start, congestion-avoidance,
    fast-recovery, rto-recovery, cwr; BBR: startup, drain, probe-bw, probe-rtt) and what
    limited the sender (cwnd, rwnd, application, zero-window); or with --summary the
    algorithm per stream and direction. The accuracy against the sender's kernel is
    measured in benchmarks/congestion.

    \b
    Examples:
      pcapkit congestion upload.pcap --stream 1
      pcapkit congestion upload.pcap --summary --format json
    """
    from pcapkit.cli.output import write_report
    from pcapkit.cli.views import with_time_relative
    from pcapkit.reports.congestion import congestion_segment_table, congestion_summary_table

    if summary:
        df = congestion_summary_table(file, stream)
    else:
        df = congestion_segment_table(file, stream)
        if fmt == "table":
            df = with_time_relative(df, file)
    write_report(df, fmt, output, choice=choice, view="congestion --summary" if summary else "congestion")
