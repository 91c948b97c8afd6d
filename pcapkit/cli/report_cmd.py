"""``pcapkit report FILE -o report.html``: one self-contained HTML page about a capture."""

from __future__ import annotations

import click

from pcapkit.cli.common import PcapkitCommand


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", type=click.Path(), required=True, help="The HTML file to write (.html).")
@click.option("--streams", type=click.IntRange(min=0), default=3, show_default=True,
              help="Plot this many of the busiest TCP streams (by bytes).")
@click.option("--max-rows", type=click.IntRange(min=1), default=200, show_default=True,
              help="Rows shown per table (the note under a longer table says how many there are).")
@click.option("--no-hash", is_flag=True, help="Do not compute the file's SHA256 for the summary.")
def report(file: str, output: str, streams: int, max_rows: int, no_hash: bool) -> None:
    """Write one HTML file about FILE that opens without network access (inline CSS,
    plots as inline images, no scripts): capture summary, protocol hierarchy,
    conversations, TCP handshakes, RTT and retransmission summaries, expert
    information, and time-sequence/RTT/throughput plots of the busiest TCP streams.
    Each table holds the values of the matching command's CSV output.

    \b
    Examples:
      pcapkit report trace.pcap -o report.html
      pcapkit report trace.pcap -o report.html --streams 5 --max-rows 1000
    """
    import os

    from pcapkit.cli.output import check_target, write_to
    from pcapkit.errors import OutputError, PcapkitError
    from pcapkit.reports.html_report import build_report

    if os.path.splitext(output)[1].lower() not in (".html", ".htm"):
        raise OutputError(f"{output}: the report is HTML; name the file .html")
    if output == "-":
        raise OutputError("the report is written to a file (-o report.html), not to standard output")
    check_target(output)
    errors: list[str] = []
    text = build_report(file, max_rows=max_rows, streams=streams, hashes=not no_hash, errors=errors)
    write_to(output, lambda s: s.write(text))
    click.echo(output)
    if errors:  # a damaged file: the report of what came before it is written, then the error
        raise PcapkitError("; ".join(errors))
