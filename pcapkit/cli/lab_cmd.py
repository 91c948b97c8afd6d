"""``pcapkit lab``: answers to the Kurose & Ross Wireshark lab questions."""

from __future__ import annotations

import click

from pcapkit.cli.common import PcapkitCommand, output_options
from pcapkit.cli.views import ColumnChoice, column_options


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def lab() -> None:
    """Answers to the Kurose & Ross Wireshark labs.

    \b
    Examples:
      pcapkit lab tcp tcp-ethereal-trace-1
      pcapkit lab tcp trace.pcap --stream 0 --format json
      pcapkit lab dhcp dhcp-ethereal-trace-1
      pcapkit lab dns dns-ethereal-trace-2
    """


@lab.command("tcp", cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--stream", type=int, default=None,
              help="tcp.stream (as tshark numbers it); default: the largest transfer.")
@click.option("--segments", "nsegments", type=int, default=6, show_default=True,
              help="How many data segments to list with their RTTs.")
@click.option("--part", type=click.Choice(["answers", "segments"]), default="answers", show_default=True,
              help="For csv/json/parquet: the question/answer rows or the segment table.")
@column_options
@output_options()
def tcp(file: str, stream: int | None, nsegments: int, part: str, choice: ColumnChoice, fmt: str,
        output: str | None) -> None:
    """The TCP lab for one connection of FILE: addresses and ports, SYN and SYN-ACK
    (raw and relative numbers, options), the segment with the HTTP request, the first
    data segments with SampleRTT and EstimatedRTT, the minimum receive window,
    retransmissions, data per ACK, throughput, slow-start and congestion-avoidance
    intervals.

    \b
    Examples:
      pcapkit lab tcp tcp-ethereal-trace-1
      pcapkit lab tcp tcp-ethereal-trace-1 --part segments --format csv -o rtt.csv
    """
    from pcapkit.cli.output import write_report
    from pcapkit.reports.lab import lab_tcp

    result = lab_tcp(file, stream=stream, nsegments=nsegments)
    if fmt == "table" and output is None:
        write_report(result.answers(), fmt, None, title=f"TCP lab, stream {result.stream}")
        click.echo("")
        write_report(result.segments_frame(), fmt, None, title="first data segments", error=result.error,
                     choice=choice)
    else:
        df = result.answers() if part == "answers" else result.segments_frame()
        write_report(df, fmt, output, error=result.error, choice=choice)
    if result.unanswered:
        # the rows say which questions have no answer; the status says the lab is incomplete
        raise click.ClickException("; ".join(result.unanswered.values()))


@lab.command("dhcp", cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@column_options
@output_options()
def dhcp(file: str, choice: ColumnChoice, fmt: str, output: str | None) -> None:
    """The DHCP lab for FILE: one row per DHCP message (Discover, Offer, Request, ACK,
    Release...) with transaction ID, source/destination addresses and ports, client
    MAC, offered address (yiaddr), server identifier, lease time, router, subnet mask,
    requested parameter list and relay agent address.

    \b
    Examples:
      pcapkit lab dhcp dhcp-ethereal-trace-1
      pcapkit lab dhcp dhcp.pcapng --format csv -o dhcp.csv
    """
    from pcapkit.cli.output import write_report
    from pcapkit.reports.lab import lab_dhcp

    write_report(lab_dhcp(file), fmt, output, choice=choice, view="lab dhcp")


@lab.command("dns", cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--part", type=click.Choice(["answers", "messages"]), default="answers", show_default=True,
              help="The lab's questions with their answers, or one row per DNS message.")
@column_options
@output_options()
def dns(file: str, part: str, choice: ColumnChoice, fmt: str, output: str | None) -> None:
    """The DNS lab for FILE: for each query and its response, the transport, ports, server,
    query type, answers and what they contain, authority and additional records, the
    response time; whether the next TCP SYN goes to an answered address; repeated queries.

    \b
    Examples:
      pcapkit lab dns dns-ethereal-trace-1
      pcapkit lab dns dns-ethereal-trace-3 --part messages --format csv -o dns.csv
    """
    from pcapkit.cli.output import write_report
    from pcapkit.reports.lab_dns import lab_dns, lab_dns_messages

    messages = lab_dns_messages(file)
    error = messages.attrs.get("pcapkit.error")
    df = lab_dns(file, messages) if part == "answers" else messages
    write_report(df, fmt, output, title="DNS lab" if part == "answers" else None, error=error, choice=choice,
                 view=None if part == "answers" else "lab dns messages")
