"""The ``pcapkit`` command. The CLI is the only part of pcapkit that prints.

Subcommands live in their own modules and are imported only when invoked, so
``pcapkit --help`` and small jobs start fast.
"""

from __future__ import annotations

import os
import sys
from importlib import import_module
from typing import Any

import click

from pcapkit import __version__

# command name -> ("module:attribute", one-line help shown in `pcapkit --help`)
COMMANDS: dict[str, tuple[str, str]] = {
    "read": ("pcapkit.cli.read_cmd:read", "One line per packet, like tcpdump -r."),
    "stats": ("pcapkit.cli.stats_cmd:stats", "What capinfos prints, plus the protocol hierarchy."),
    "show": ("pcapkit.cli.show_cmd:show", "Full dissection as a tree (like tshark -V) or JSON."),
    "verify": ("pcapkit.cli.verify_cmd:verify", "Compare pcapkit's dissection with tshark's."),
    "tcp": ("pcapkit.cli.tcp_cmd:tcp", "Per-frame TCP analysis, as tshark's tcp.analysis.*."),
    "handshakes": ("pcapkit.cli.tcp_cmd:handshakes", "One row per TCP stream's handshake."),
    "rtt": ("pcapkit.cli.tcp_cmd:rtt", "RTT samples and per-stream summaries."),
    "congestion": ("pcapkit.cli.congestion_cmd:congestion", "Each TCP sender's cwnd, phase and algorithm."),
    "flows": ("pcapkit.cli.flows_cmd:flows", "One row per conversation (TCP, UDP, ICMP, other IP)."),
    "dns": ("pcapkit.cli.app_cmd:dns", "One row per DNS query with its response and response time."),
    "http": ("pcapkit.cli.app_cmd:http", "One row per HTTP request with its status, size and response time."),
    "expert": ("pcapkit.cli.expert_cmd:expert", "Anomalies by severity and protocol (tshark -z expert)."),
    "iostat": ("pcapkit.cli.iostat_cmd:iostat", "Frames and bytes per interval and filter (tshark -z io,stat)."),
    "tcptrace": ("pcapkit.cli.flows_cmd:tcptrace", "tcptrace-style per-connection statistics."),
    "lab": ("pcapkit.cli.lab_cmd:lab", "Answers to the Kurose & Ross Wireshark labs."),
    "plot": ("pcapkit.cli.plot_cmd:plot", "Time-sequence, RTT, throughput, window and cwnd plots."),
    "report": ("pcapkit.cli.report_cmd:report", "One self-contained HTML report of a capture."),
    "compile": ("pcapkit.cli.capture_cmd:compile_cmd", "Compile a tcpdump filter to classic BPF."),
    "capture": ("pcapkit.cli.capture_cmd:capture", "Live capture (AF_PACKET, TPACKET_V3)."),
    "top": ("pcapkit.cli.top_cmd:top", "Live full-screen table of the busiest TCP connections."),
    "export": ("pcapkit.cli.export_cmd:export", "Export packets/tcp/flows/rtt tables to Parquet."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported only when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module, _, attr = entry[0].partition(":")
        try:
            command = getattr(import_module(module), attr)
        except (ImportError, AttributeError):
            return None
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # list commands from the table, without importing them
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="pcapkit")
def cli() -> None:
    """pcapkit: capture, dissect and analyse packets; tshark-exact answers as tables.

    \b
    Examples:
      pcapkit read capture.pcapng -c 10
      pcapkit stats captures/*.pcap --format json
      pcapkit tcp capture.pcap --stream 0 --format csv -o tcp.csv
    """


def main(argv: list[str] | None = None) -> Any:
    from pcapkit.cli.common import run_cli

    # numpy's OpenBLAS starts a thread per core when numpy is imported: about 0.08 s of CPU
    # on 2 cores, a third of a command on a 200-frame capture; pcapkit does no linear algebra
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

    return run_cli(cli, argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
