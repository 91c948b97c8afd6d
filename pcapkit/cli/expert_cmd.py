"""``pcapkit expert FILE [FILTER]``: the anomalies of a capture by severity, as
``tshark -q -z expert``."""

from __future__ import annotations

import click

from pcapkit.cli.common import PcapkitCommand, output_options


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_words", metavar="[FILTER]", nargs=-1)
@click.option("--items", is_flag=True, help="One row per item (frame, severity, group, protocol, summary).")
@output_options()
def expert(file: str, filter_words: tuple[str, ...], items: bool, fmt: str, output: str | None) -> None:
    """Expert information of FILE: every TCP analysis flag (retransmission, lost
    segment, duplicate ACK, zero window, ...), the connection events (SYN, FIN, RST),
    IPv4 TTL notes and every finding of pcapkit's dissectors (malformed, truncated,
    ...), grouped by severity (Error, Warn, Note, Chat), group and protocol, with the
    count and the first frame, as tshark -q -z expert prints them. FILTER (a tcpdump
    expression) keeps the items of the frames it matches.

    \b
    Examples:
      pcapkit expert trace.pcap
      pcapkit expert trace.pcap port 80 --format csv -o expert.csv
      pcapkit expert trace.pcap --items --format json
    """
    from pcapkit.cli.output import write_report, write_to
    from pcapkit.errors import PcapkitError
    from pcapkit.reports.expert import expert_frame, expert_item_table, expert_text, summary_table

    filter_expr = " ".join(filter_words) or None
    table = expert_item_table(file, filter_expr)
    if not items:
        table = summary_table(table)
    if fmt == "table" and not items:
        write_to(output, lambda s: s.write(expert_text(table)))
        if "pcapkit.error" in table.attrs:
            raise PcapkitError(str(table.attrs["pcapkit.error"]))
        return
    # (Parquet keeps the DataFrame's dtypes: severity an ordered categorical)
    write_report(expert_frame(table) if fmt == "parquet" else table, fmt, output)
