"""``pcapkit lab``: answers to the Kurose & Ross Wireshark lab questions."""

from __future__ import annotations

import functools
from importlib import import_module
from typing import Any

import click

from pcapkit.cli.common import PcapkitCommand, output_options
from pcapkit.cli.views import ColumnChoice, column_options


class LabCommand(PcapkitCommand):
    """A lab's command: when the capture holds nothing the lab can answer on and is also
    cut or damaged, the one error line says both (the damage may be why)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        answer = self.callback
        assert answer is not None

        @functools.wraps(answer)
        def answer_or_say_the_damage(**params: Any) -> Any:
            from pcapkit.reports.lab_common import LabError

            try:
                return answer(**params)
            except LabError as exc:
                damage = [d for d in map(_first_damage, _input_files(params)) if d is not None]
                if not damage:
                    raise
                raise LabError(f"{exc} (the capture is damaged: {'; '.join(damage)})") from None

        self.callback = answer_or_say_the_damage


def _input_files(params: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, value in params.items():
        if name != "output":
            out += [v for v in (value if isinstance(value, (tuple, list)) else (value,)) if isinstance(v, str)]
    return out


def _first_damage(path: str) -> str | None:
    """The record reader's first warning about ``path`` (a regular file), or None."""
    import os

    from pcapkit.capture.files import open_capture
    from pcapkit.errors import PcapkitError

    if path == "-" or not os.path.isfile(path):
        return None
    try:
        with open_capture(path) as reader:
            for _ in reader:
                pass
            return reader.warnings[0] if reader.warnings else None
    except PcapkitError:
        return None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def lab() -> None:
    """Answers to the Kurose & Ross Wireshark labs.

    \b
    Examples:
      pcapkit lab tcp tcp-ethereal-trace-1
      pcapkit lab tcp trace.pcap --stream 0 --format json
      pcapkit lab dhcp dhcp-ethereal-trace-1
      pcapkit lab dns dns-ethereal-trace-2
      pcapkit lab http http-ethereal-trace-4
      pcapkit lab tls ssl-ethereal-trace-1
      pcapkit lab udp udp-wireshark-trace.pcap --format json
      pcapkit lab nat NAT_home_side.pcap NAT_ISP_side.pcap
    """


@lab.command("tcp", cls=LabCommand)
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
        write_report(result.answers_table(), fmt, None, title=f"TCP lab, stream {result.stream}")
        click.echo("")
        write_report(result.segments_table(), fmt, None, title="first data segments", error=result.error,
                     choice=choice)
    else:
        df = result.answers_table() if part == "answers" else result.segments_table()
        write_report(df, fmt, output, error=result.error, choice=choice)
    if result.unanswered:
        # the rows say which questions have no answer; the status says the lab is incomplete
        raise click.ClickException("; ".join(result.unanswered.values()))


@lab.command("dhcp", cls=LabCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--part", type=click.Choice(["answers", "messages"]), default="answers", show_default=True,
              help="The lab's questions with their answers, or one row per DHCP message.")
@column_options
@output_options()
def dhcp(file: str, part: str, choice: ColumnChoice, fmt: str, output: str | None) -> None:
    """The DHCP lab for FILE (v8.0 and v8.1 questions): the Discover / Offer / Request /
    ACK with addresses and ports, the host's MAC, transaction IDs, requested parameters,
    server, offered address, relay agent, router and mask, lease time, Release, ARP.
    ``--part messages``: one row per DHCP message with the fields the lab asks about.

    \b
    Examples:
      pcapkit lab dhcp dhcp-ethereal-trace-1
      pcapkit lab dhcp dhcp.pcapng --part messages --format csv -o dhcp.csv
    """
    from pcapkit.cli.output import write_report
    from pcapkit.reports.lab_dhcp import lab_dhcp_answers_table, lab_dhcp_table

    if part == "answers":
        write_report(lab_dhcp_answers_table(file), fmt, output, title="DHCP lab", choice=choice)
    else:
        write_report(lab_dhcp_table(file), fmt, output, choice=choice, view="lab dhcp")


@lab.command("dns", cls=LabCommand)
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
    from pcapkit.reports.lab_dns import lab_dns_messages_table, lab_dns_table

    messages = lab_dns_messages_table(file)
    error = messages.attrs.get("pcapkit.error")
    df = lab_dns_table(file, messages) if part == "answers" else messages
    write_report(df, fmt, output, title="DNS lab" if part == "answers" else None, error=error, choice=choice,
                 view=None if part == "answers" else "lab dns messages")


@lab.command("http", cls=LabCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--part", type=click.IntRange(1, 5), default=None,
              help="Answer this part's questions only (default: every part the trace has data for).")
@output_options()
def http(file: str, part: int | None, fmt: str, output: str | None) -> None:
    """The HTTP lab for FILE: 1 the basic GET/response (versions, languages, addresses, status,
    Last-Modified, content length), 2 the conditional GET (If-Modified-Since, 304), 3 a long
    document (the TCP segments of the response), 4 embedded objects (servers, serial or
    parallel), 5 basic authentication (401, the Authorization field).

    \b
    Examples:
      pcapkit lab http http-ethereal-trace-1
      pcapkit lab http http-ethereal-trace-3 --part 3 --format json
    """
    from pcapkit.cli.output import write_report
    from pcapkit.reports.lab_http import lab_http_table

    write_report(lab_http_table(file, part), fmt, output, title="HTTP lab")


@lab.command("nat", cls=LabCommand)
@click.argument("home", type=click.Path(dir_okay=False))
@click.argument("isp", type=click.Path(dir_okay=False))
@output_options()
def nat(home: str, isp: str, fmt: str, output: str | None) -> None:
    """The NAT lab for the HOME-side and ISP-side traces: the page's GET, 200 OK, SYN and
    SYN-ACK on each side, what NAT changed, and the translation table of every connection
    seen on both sides.

    \b
    Example:
      pcapkit lab nat NAT_home_side.pcap NAT_ISP_side.pcap
    """
    from pcapkit.cli.output import write_report
    from pcapkit.reports.lab_nat import lab_nat_table

    write_report(lab_nat_table(home, isp), fmt, output, title="NAT lab")


# the labs answered from one trace: name -> (module, function(path) -> question / answer /
# frames rows as a ColumnTable (no pandas), the lab's trace for the example, help text)
_LABS: dict[str, tuple[str, str, str, str]] = {
    "udp": ("pcapkit.reports.lab_udp", "lab_udp_table", "udp-wireshark-trace.pcap",
            "The UDP lab for FILE: the first UDP segment, the header's fields and sizes, what Length "
            "counts, the largest payload and port, UDP's protocol number, a request and its reply's ports."),
    "ip": ("pcapkit.reports.lab_ip", "lab_ip_table", "ip-ethereal-trace-1",
           "The IP lab for FILE (a traceroute at growing sizes): the first probe's header, which fields "
           "change, the identification pattern, the routers' replies (nearest first), and each "
           "fragmented datagram's fragments (flags, offsets, lengths, changing fields)."),
    "icmp": ("pcapkit.reports.lab_icmp", "lab_icmp_table", "icmp-ethereal-trace-2",
             "The ICMP lab for FILE: ping (Echo request/reply type, code, fields, every RTT) and "
             "traceroute (ICMP error contents, each hop with the RTT of its three probes)."),
    "ethernet-arp": ("pcapkit.reports.lab_ethernet", "lab_ethernet_arp_table", "ethernet-ethereal-trace-1",
                     "The Ethernet and ARP lab for FILE: the HTTP GET's and response's Ethernet addresses, "
                     "type and byte offsets; the ARP request and reply (addresses, opcode, question, answer); "
                     "requests without a reply and why."),
    "intro": ("pcapkit.reports.lab_intro", "lab_intro_table", "http-ethereal-trace-1",
              "The getting-started lab for FILE: protocols seen, time from the HTTP GET to the OK, the "
              "server's and host's addresses, the two HTTP messages."),
    "tls": ("pcapkit.reports.lab_tls", "lab_tls_table", "ssl-ethereal-trace-1",
            "The SSL/TLS lab for FILE: the records of the exchange's first 8 frames (content type, version, "
            "length), the ClientHello (content type, version, length, nonce, cipher suites), the ServerHello "
            "(cipher suite, nonce, session ID), the Certificate's record and segments, ClientKeyExchange, "
            "each side's ChangeCipherSpec and encrypted Finished, the application data records."),
    "wifi": ("pcapkit.reports.lab_wifi", "lab_wifi_table", "Wireshark_802_11.pcap",
             "The 802.11 lab for FILE: the APs sending the most beacons, their SSIDs and beacon interval, "
             "the advertised rates, the addresses of the beacon, SYN and SYN-ACK frames, leaving an AP "
             "(DHCP Release, deauthentication), authentication (algorithm), association (rates, status, "
             "AID), probes."),
}


def _lab_command(name: str, module: str, function: str, example: str, help_text: str) -> None:
    @lab.command(name, cls=LabCommand,
                 help=f"{help_text}\n\n\b\nExamples:\n  pcapkit lab {name} {example}\n"
                      f"  pcapkit lab {name} {example} --format json -o answers.json")
    @click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
    @output_options()
    def command(file: str, fmt: str, output: str | None) -> None:
        from pcapkit.cli.output import write_report

        write_report(getattr(import_module(module), function)(file), fmt, output, title=f"{name} lab")


for _name, (_module, _function, _example, _help) in _LABS.items():
    _lab_command(_name, _module, _function, _example, _help)
