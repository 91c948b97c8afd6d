"""``pcapkit dns`` (one row per DNS query) and ``pcapkit http`` (one row per HTTP request)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from pcapkit.cli.common import PcapkitCommand, output_options
from pcapkit.cli.views import ColumnChoice, column_options

if TYPE_CHECKING:
    from pcapkit.columnar.column_table import ColumnTable


def _for_format(table: ColumnTable, fmt: str | None, output: str | None) -> Any:
    """``table`` as the report's DataFrame for Parquet (its addresses' categories are text,
    as the library gives them), else itself (table, CSV and JSON without pandas)."""
    from pcapkit.cli.output import format_for
    from pcapkit.reports.typed_rows import to_frame

    return to_frame(table) if format_for(output, fmt) == "parquet" else table


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_expr", metavar="[FILTER]", nargs=-1)
@column_options
@output_options()
def dns(file: str, filter_expr: tuple[str, ...], choice: ColumnChoice, fmt: str, output: str | None) -> None:
    """One row per DNS query of FILE with its response: dns.id, dns.qry.name and type,
    dns.response_in, dns.time (response time), dns.flags.rcode, dns.count.answers and the
    answers; an unanswered query keeps the response columns empty. FILTER is a tcpdump
    expression choosing the queries listed.

    \b
    Examples:
      pcapkit dns capture.pcap
      pcapkit dns capture.pcap 'host 10.0.0.53' --format csv -o dns.csv
    """
    from pcapkit.cli.output import write_report
    from pcapkit.cli.views import with_time_relative
    from pcapkit.reports.dns_report import dns_queries_table

    table = with_time_relative(dns_queries_table(file, filter=" ".join(filter_expr)), file)
    write_report(_for_format(table, fmt, output), fmt, output, choice=choice, view="dns")


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_expr", metavar="[FILTER]", nargs=-1)
@column_options
@output_options()
def http(file: str, filter_expr: tuple[str, ...], choice: ColumnChoice, fmt: str, output: str | None) -> None:
    """One row per HTTP/1.x request of FILE with its response: client, server, http.host,
    method, URI, http.response_in, http.response.code, http.content_length and http.time
    (response time); a request without response keeps those empty. FILTER is a tcpdump
    expression choosing the requests listed.

    \b
    Examples:
      pcapkit http capture.pcap
      pcapkit http capture.pcap 'port 8080' --format json
    """
    from pcapkit.cli.output import write_report
    from pcapkit.cli.views import with_time_relative
    from pcapkit.reports.http_report import http_requests_table

    table = with_time_relative(http_requests_table(file, filter=" ".join(filter_expr)), file)
    write_report(_for_format(table, fmt, output), fmt, output, choice=choice, view="http")
