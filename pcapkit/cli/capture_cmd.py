"""``pcapkit compile`` (tcpdump -d/-dd/-ddd) and ``pcapkit capture`` (live capture)."""

from __future__ import annotations

import click

from pcapkit.cli.common import PcapkitCommand


@click.command("compile", cls=PcapkitCommand)
@click.argument("expression", nargs=-1, required=True)
@click.option("--linktype", "-y", "linktype", default="EN10MB", show_default=True,
              help="Link type: a name (EN10MB, LINUX_SLL, LINUX_SLL2, RAW, NULL, ...) or a number.")
@click.option("-s", "--snaplen", type=int, default=262144, show_default=True,
              help="Snapshot length (the value the accepting return gives).")
@click.option("--format", "fmt", type=click.Choice(["d", "dd", "ddd"]), default="d",
              show_default=True, help="d: readable (tcpdump -d), dd: C array, ddd: decimal.")
@click.option("-O", "--no-optimize", is_flag=True, help="Do not run libpcap's optimizer.")
def compile_cmd(expression: tuple[str, ...], linktype: str, snaplen: int, fmt: str,
                no_optimize: bool) -> None:
    """Compile a tcpdump filter EXPRESSION to classic BPF, printed exactly as
    ``tcpdump -d``/``-dd``/``-ddd`` print it.

    \b
    Examples:
      pcapkit compile 'tcp port 80'
      pcapkit compile --linktype LINUX_SLL --format ddd 'ip6 and udp'
    """
    from pcapkit.capture.bpf import compile_filter, format_program

    program = compile_filter(" ".join(expression), linktype, snaplen, optimize=not no_optimize)
    click.echo(format_program(program, fmt), nl=False)
