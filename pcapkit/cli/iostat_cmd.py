"""``pcapkit iostat FILE -i INTERVAL [FILTER...]``: frames and bytes per interval, as
``tshark -q -z io,stat``."""

from __future__ import annotations

import click

from pcapkit.cli.common import PcapkitCommand, output_options
from pcapkit.cli.views import ColumnChoice, column_options


def _interval(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from pcapkit.reports.iostat import interval_us

    try:
        interval_us(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filters", metavar="[FILTER]...", nargs=-1)
@click.option("-i", "--interval", default="1", show_default=True, callback=_interval,
              help="Interval in seconds (whole microseconds); 0: the whole capture as one interval.")
@click.option("--max-rows", type=click.IntRange(min=1), default=1_000_000, show_default=True,
              help="Refuse a table of more intervals than this (a capture whose clock jumps).")
@column_options
@output_options()
def iostat(file: str, filters: tuple[str, ...], interval: str, max_rows: int, choice: ColumnChoice, fmt: str,
           output: str | None) -> None:
    """Frames and bytes of FILE per INTERVAL seconds from its first frame, as tshark
    -q -z io,stat,INTERVAL[,FILTER...] counts them: one frames/bytes column pair per
    FILTER (a tcpdump expression; quote one that has spaces; "" counts every frame),
    or one pair for all frames when no FILTER is given. Bytes are frame lengths.

    \b
    Examples:
      pcapkit iostat capture.pcap -i 1
      pcapkit iostat capture.pcap -i 0.5 tcp udp 'icmp or arp'
      pcapkit iostat capture.pcap -i 10 "" "port 53" --format csv -o io.csv
    """
    from pcapkit.cli.output import write_report
    from pcapkit.reports.iostat import iostat_table

    write_report(iostat_table(file, interval, filters, max_rows=max_rows), fmt, output, choice=choice)
