"""``pcapkit compile`` (tcpdump -d/-dd/-ddd) and ``pcapkit capture`` (live capture)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pcapkit.cli.common import PcapkitCommand

if TYPE_CHECKING:
    from pcapkit.capture.live import LiveCapture
    from pcapkit.capture.live_output import CaptureOutput
    from pcapkit.cli.live_rows import RowWriter
    from pcapkit.frame import Frame
    from pcapkit.reports.live import LiveReport


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
    from pcapkit.capture.bpf import compile_filter
    from pcapkit.capture.bpf_program import format_program

    program = compile_filter(" ".join(expression), linktype, snaplen, optimize=not no_optimize)
    click.echo(format_program(program, fmt), nl=False)


def _summary(frame: object) -> str:
    from pcapkit.frame import Frame, frame_epoch_text

    assert isinstance(frame, Frame)
    try:
        from pcapkit.dissect.summary import summary_line

        return summary_line(frame)
    except Exception:
        return f"{frame_epoch_text(frame, 6)} length {frame.wirelen} caplen {frame.caplen}"


@click.command("capture", cls=PcapkitCommand)
@click.argument("expression", nargs=-1)
@click.option("-i", "--interface", default="any", show_default=True,
              help="Interface to capture on ('any' = all, Linux cooked headers).")
@click.option("-D", "--list-interfaces", "list_ifaces", is_flag=True,
              help="List the interfaces one can capture on, and exit.")
@click.option("-s", "--snaplen", type=int, default=262144, show_default=True,
              help="Bytes kept per packet.")
@click.option("-c", "--count", type=int, default=None, help="Stop after COUNT packets.")
@click.option("--duration", type=float, default=None, help="Stop after SECONDS.")
@click.option("-w", "--write", "write_to", default=None,
              help="Write packets to FILE (pcapng if it ends in .pcapng, else pcap; '-' = stdout).")
@click.option("-C", "--file-size", "file_size", type=float, default=None,
              help="With -w: start a new file (FILE1, FILE2, ...) when one passes MB megabytes.")
@click.option("-G", "--rotate-seconds", "rotate_seconds", type=float, default=None,
              help="With -w: start a new file every SECONDS (FILE may hold strftime %-codes).")
@click.option("--no-promisc", "-p", "no_promisc", is_flag=True,
              help="Do not put the interface into promiscuous mode.")
@click.option("-y", "--linktype", "linktype", default=None,
              help="For -i any: LINUX_SLL2 (default, as tcpdump) or LINUX_SLL.")
@click.option("--block-size", type=int, default=None,
              help="TPACKET_V3 ring block size in bytes (power of two; default 1 MiB, 256 KiB with --report).")
@click.option("--block-count", type=int, default=None,
              help="Number of ring blocks (default 4; 64 with --report: blocks are handed over every "
                   "10 ms, so the ring holds 640 ms of a slow report step).")
@click.option("--block-timeout", type=int, default=None,
              help="Milliseconds after which the kernel hands over a block that is not full "
                   "(default 50; 10 with --report, so that a row follows its packet within 100 ms).")
@click.option("--time-stamp-precision", "precision", type=click.Choice(["micro", "nano"]),
              default="nano", show_default=True, help="Resolution of pcap files written with -w.")
@click.option("-q", "--quiet", is_flag=True, help="No 'listening on' line and no statistics.")
@click.option("-U", "--packet-buffered", "packet_buffered", is_flag=True, default=None,
              help="With -w: write each packet out at once (default for -w -; else every 50 ms "
                   "or 1 MiB, whichever comes first: with the 50 ms block timeout, a killed "
                   "capture loses at most the last 100 ms).")
@click.option("--report", "report", type=click.Choice(["handshakes", "rtt", "tcp", "flows"]), default=None,
              help="Instead of packet lines, the rows of this report (as `pcapkit REPORT FILE` "
                   "gives them), each printed as soon as it is final.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="With --report: aligned table lines, CSV, or JSON Lines.")
@click.option("--interval", type=float, default=None,
              help="With --report flows: also print the open conversations every SECONDS.")
@click.option("--flow-timeout", type=float, default=60.0, show_default=True,
              help="With --report flows/handshakes: a conversation idle this many seconds is ended.")
@click.option("--max-flows", type=int, default=100_000, show_default=True,
              help="With --report flows: conversations kept open at once (the least recently active "
                   "is ended early, with a warning).")
@click.option("--max-flow-packets", type=int, default=200_000, show_default=True,
              help="With --report flows: packets kept (their headers, ~400 bytes each) per open "
                   "conversation; a longer one's row counts these, with a warning.")
def capture(expression: tuple[str, ...], interface: str, list_ifaces: bool, snaplen: int,
            count: int | None, duration: float | None, write_to: str | None,
            file_size: float | None, rotate_seconds: float | None, no_promisc: bool,
            linktype: str | None, block_size: int | None, block_count: int | None, block_timeout: int | None,
            precision: str, quiet: bool, packet_buffered: bool | None, report: str | None,
            fmt: str, interval: float | None, flow_timeout: float, max_flows: int,
            max_flow_packets: int) -> None:
    """Capture packets live (Linux AF_PACKET with a TPACKET_V3 ring), filtered in the
    kernel by a tcpdump EXPRESSION.

    Without -w, one summary line per packet; with --report, the rows of that report
    as they become final (a handshake at its third packet, an RTT sample at its ACK,
    a frame's TCP analysis at once, a flow when it ends), -w FILE writing the packets
    at the same time. On exit (count, duration, Ctrl-C, SIGTERM)
    the file is complete and the tcpdump statistics are printed on stderr.
    Needs root or CAP_NET_RAW (setcap cap_net_raw,cap_net_admin=eip on the interpreter).

    \b
    Examples:
      pcapkit capture -D
      pcapkit capture -i eth0 -c 10 'tcp port 443'
      pcapkit capture -i any -w out.pcapng --duration 30 'udp port 53'
      pcapkit capture -i eth0 -w 'ring-%H%M%S.pcap' -G 60 -C 100
      pcapkit capture -i eth0 --report handshakes 'tcp port 443'
      pcapkit capture -i eth0 --report rtt --format json -w rtt.pcapng | jq .
    """
    import signal

    from pcapkit.capture.bpf import dlt_name, linktype_value
    from pcapkit.capture.interfaces import tcpdump_list_lines
    from pcapkit.capture.live import LiveCapture
    from pcapkit.capture.live_output import CaptureOutput
    from pcapkit.errors import CaptureWriteError, LiveCaptureError, PcapkitError

    if list_ifaces:
        for line in tcpdump_list_lines():
            click.echo(line)
        return
    if (file_size or rotate_seconds) and not write_to:
        raise click.UsageError("-C and -G need -w FILE")
    if (interval is not None or fmt != "table") and report is None:
        raise click.UsageError("--format and --interval go with --report")
    if report is not None and write_to == "-":
        raise click.UsageError("--report prints its rows on standard output: -w - would mix packets into them")
    if block_timeout is None:
        block_timeout = 10 if report else 50
    if block_size is None:
        block_size = 1 << 18 if report else 1 << 20
    if block_count is None:
        block_count = 64 if report else 4
    lt = linktype_value(linktype) if linktype else None
    live_report = None
    if report is not None:
        from pcapkit.cli.live_rows import RowWriter
        from pcapkit.reports.live import LiveReport

        live_report = LiveReport(report, idle_ns=int(flow_timeout * 1e9),
                                 interval_ns=int(interval * 1e9) if interval else None, max_flows=max_flows,
                                 max_flow_packets=max_flow_packets)
        writer = RowWriter(fmt, columns=_report_columns(report, fmt))
    if write_to and write_to != "-":  # (a file that cannot be made: said before listening, not at the first packet)
        from pcapkit.cli.output import check_target

        check_target(write_to)
    cap = LiveCapture(interface, " ".join(expression), snaplen=snaplen, promisc=not no_promisc,
                      count=count, duration=duration, block_size=block_size,
                      block_count=block_count, block_timeout_ms=block_timeout, linktype=lt)
    cap.open()
    if report is not None:
        from pcapkit.reports.live import warm_up

        warm_up(report)  # (before "listening on": the first row must not wait for compiled code)
    output: CaptureOutput | None = None
    error: PcapkitError | None = None

    def on_signal(signum: int, _frame: object) -> None:
        cap.stop()

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if write_to:
            output = CaptureOutput(write_to, linktype=cap.linktype, snaplen=cap.snaplen,
                                   rotate_bytes=int(file_size * 1_000_000) if file_size else None,
                                   rotate_seconds=rotate_seconds, interface_name=interface,
                                   nanosecond=precision == "nano", packet_buffered=packet_buffered)
        if not quiet:
            click.echo(f"listening on {interface}, link-type {dlt_name(cap.linktype)}, "
                       f"snapshot length {cap.snaplen} bytes", err=True)
        try:
            if live_report is not None:
                _run_report(cap, live_report, writer, output)
            elif output is not None:
                for batch in cap.batches():
                    output.write_batch(batch)
            else:
                for frame in cap:
                    click.echo(_summary(frame))
        except CaptureWriteError as exc:
            where = output.files[-1] if output is not None and output.files else write_to
            error = CaptureWriteError(
                f"{where}: {exc}; capture stopped, the file keeps every complete packet written before")
        except LiveCaptureError as exc:  # e.g. the interface went down: keep the file whole
            error = exc
        stats = cap.stats()
        if output is not None:
            try:
                output.close(stats)
            except CaptureWriteError as exc:
                error = error or exc
            except OSError as exc:
                error = error or CaptureWriteError(f"{exc.filename or write_to}: {exc.strerror or exc}")
    finally:
        cap.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    if not quiet:
        for line in stats.lines():
            click.echo(line, err=True)
    if live_report is not None:
        for line in live_report.warnings:
            click.echo(f"pcapkit: warning: {line}", err=True)
    if error is not None:
        raise error


def _report_columns(report: str, fmt: str) -> list[str] | None:
    """A table shows the default columns of the file report's table (:mod:`pcapkit.cli.views`),
    less the two that need the whole capture (the relative time, the flags summary); the
    other formats every column."""
    if fmt != "table":
        return None
    from pcapkit.cli.views import VIEWS

    view = VIEWS.get(report)
    return None if view is None else [c for c in view.columns if c not in ("analysis", "frame.time_relative")]


def _run_report(cap: LiveCapture, report: LiveReport, writer: RowWriter, output: CaptureOutput | None) -> None:
    """Feed every batch of the capture to the report and print its final rows; at the
    end (count, duration, a signal, the interface gone) the rows still open."""
    import time

    from pcapkit.errors import LiveCaptureError
    from pcapkit.frame import Frame

    lt = cap.linktype
    number = 0
    last_tick = 0.0
    frames: list[Frame] = []
    try:
        for batch in cap.batches():
            if output is not None:
                output.write_batch(batch)
            for ts, caplen, wirelen, data in batch:
                number += 1
                frames.append(Frame(number, ts, caplen, wirelen, lt, 0, data))
            # (a report step has a fixed cost of milliseconds: when the next blocks are
            # already waiting, take them into the same step rather than fall further behind)
            if frames and not (cap.pending() and len(frames) < 50_000):
                rows = report.feed(frames)
                frames = []
                if rows is not None:
                    writer.write(rows)
            now = time.monotonic()
            if now - last_tick >= 0.25:  # (idle timeouts and intervals need no finer clock)
                last_tick = now
                rows = report.tick(time.time_ns())
                if rows is not None:
                    writer.write(rows)
    except LiveCaptureError:
        _finish_report(report, writer, frames)
        raise
    _finish_report(report, writer, frames)


def _finish_report(report: LiveReport, writer: RowWriter, frames: list[Frame]) -> None:
    for rows in (report.feed(frames), report.finish()):
        if rows is not None:
            writer.write(rows)
