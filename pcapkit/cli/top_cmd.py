"""``pcapkit top``: the busiest TCP connections of a live capture, refreshed every second."""

from __future__ import annotations

import contextlib
import os
import select
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from pcapkit.cli.common import PcapkitCommand

if TYPE_CHECKING:
    from rich.table import Table

    from pcapkit.capture.live import CaptureStats

SORT_CHOICES = ("rate", "bytes", "packets", "srtt", "retrans", "zerowin", "start")
SUMMARY_COLUMNS = ("tcp.stream", "client", "server", "conn_state", "packets", "bytes", "srtt_ms", "retrans",
                   "zero_windows")


def _rate(bps: float) -> str:
    for unit, size in (("MB/s", 1e6), ("kB/s", 1e3)):
        if bps >= size:
            return f"{bps / size:.1f} {unit}"
    return f"{bps:.0f} B/s"


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


class _Keys:
    """Single key presses from a terminal on standard input (cbreak mode: Ctrl-C still
    interrupts); nothing when standard input is not a terminal."""

    def __init__(self) -> None:
        self.fd = sys.stdin.fileno() if sys.stdin is not None and sys.stdin.isatty() else -1
        self._saved: Any = None

    def __enter__(self) -> _Keys:
        if self.fd >= 0:
            import termios
            import tty

            self._saved = termios.tcgetattr(self.fd)
            tty.setcbreak(self.fd)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self._saved)

    def pressed(self) -> str:
        if self.fd < 0 or not select.select([self.fd], [], [], 0)[0]:
            return ""
        try:
            return os.read(self.fd, 64).decode(errors="replace")
        except OSError:
            return ""


def _table(rows: list[dict[str, Any]], title: str) -> Table:
    from rich.table import Table

    table = Table(title=title, title_justify="left", expand=False, box=None, header_style="bold")
    for name, justify in (("stream", "right"), ("client", "left"), ("server", "left"), ("state", "left"),
                          ("c->s", "right"), ("s->c", "right"), ("SRTT ms", "right"), ("retrans", "right"),
                          ("zero win", "right"), ("packets", "right")):
        table.add_column(name, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    for r in rows:
        table.add_row(str(r["tcp.stream"]), r["client"], r["server"], r["conn_state"], _rate(r["rate_cs_Bps"]),
                      _rate(r["rate_sc_Bps"]), _ms(r["srtt_ms"]), str(r["retrans"]), str(r["zero_windows"]),
                      str(r["packets"]))
    return table


def _title(interface: str, expr: str, stats: CaptureStats, count: int, sort: str) -> str:
    return (f"pcapkit top  {interface} {expr!r}  {count} connection{'s' if count != 1 else ''}  "
            f"captured {stats.captured}  received by filter {stats.received}  "
            f"dropped by kernel {stats.dropped}  sort: {sort}  (q quits)")


@contextlib.contextmanager
def _screen(enabled: bool) -> Iterator[Any]:
    """A rich Live on the terminal's alternate screen (None when output is not a terminal)."""
    if not enabled:
        yield None
        return
    from rich.live import Live

    with Live(None, screen=True, auto_refresh=False, transient=True) as live:
        yield live


@click.command("top", cls=PcapkitCommand)
@click.argument("expression", nargs=-1)
@click.option("-i", "--interface", default="any", show_default=True, help="Interface to capture on.")
@click.option("--sort", type=click.Choice(SORT_CHOICES), default="rate", show_default=True,
              help="Order: throughput now (rate), bytes or packets so far, SRTT, retransmissions, "
                   "zero windows (largest first), or start (oldest first).")
@click.option("--refresh", type=float, default=1.0, show_default=True, help="Seconds between screen updates.")
@click.option("--duration", type=float, default=None, help="Stop after SECONDS.")
@click.option("--idle-timeout", type=float, default=60.0, show_default=True,
              help="A connection without a packet for this many seconds leaves the table.")
@click.option("--no-promisc", "-p", "no_promisc", is_flag=True, help="No promiscuous mode.")
def top(expression: tuple[str, ...], interface: str, sort: str, refresh: float, duration: float | None,
        idle_timeout: float, no_promisc: bool) -> None:
    """A full-screen table of the busiest TCP connections on INTERFACE, refreshed every
    second: client and server, Zeek's conn_state, throughput each way, the RFC 6298
    SRTT of tshark's ack_rtt samples, retransmissions and zero windows (tshark's
    analysis flags), with the kernel's drop counters. EXPRESSION is a tcpdump filter.
    q or Ctrl-C quits and prints the final summary.

    \b
    Examples:
      pcapkit top -i eth0
      pcapkit top -i eth0 --sort srtt 'port 443'
    """
    import signal
    import time

    from pcapkit.capture.live import LiveCapture
    from pcapkit.errors import LiveCaptureError
    from pcapkit.frame import Frame
    from pcapkit.reports.live_reports import LiveAnalysis
    from pcapkit.reports.live_top import ConnectionBoard

    expr = " ".join(expression)
    from pcapkit.reports.live import warm_up

    # (64 blocks of 256 KiB: a block is handed over every 50 ms even when nearly empty, so
    # the ring holds 3 s of a slow screen update, not 200 ms)
    cap = LiveCapture(interface, expr, promisc=not no_promisc, duration=duration, block_size=1 << 18,
                      block_count=64, block_timeout_ms=50)
    cap.open()
    for name in ("rtt", "flows"):  # the engine's and the Zeek model's compiled code load here,
        warm_up(name)              # not while packets wait in the ring
    analysis = LiveAnalysis()
    board = ConnectionBoard(idle_ns=int(idle_timeout * 1e9))

    def on_signal(signum: int, _frame: object) -> None:
        cap.stop()

    old = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    error: LiveCaptureError | None = None
    number = 0
    try:
        with _Keys() as keys, _screen(sys.stdout.isatty()) as live:
            next_refresh = 0.0
            frames: list[Frame] = []
            for batch in cap.batches():
                for ts, caplen, wirelen, data in batch:
                    number += 1
                    frames.append(Frame(number, ts, caplen, wirelen, cap.linktype, 0, data))
                # (several waiting ring blocks in one step: a step's fixed cost is milliseconds)
                if frames and not (cap.pending() and len(frames) < 50_000):
                    board.feed(analysis.feed(frames))
                    frames = []
                if "q" in keys.pressed().lower():
                    cap.stop()
                now = time.monotonic()
                if now >= next_refresh:
                    next_refresh = now + refresh
                    board.tick(time.time_ns())
                    analysis.expire(time.time_ns(), board.idle_ns)
                    if live is not None:
                        height = live.console.size.height
                        rows = board.rows(sort, limit=max(1, height - 4))
                        live.update(_table(rows, _title(interface, expr, cap.stats(), len(board.conns), sort)),
                                    refresh=True)
    except LiveCaptureError as exc:  # the interface went down: the summary still comes
        error = exc
    finally:
        stats = cap.stats()
        cap.close()
        for sig, handler in old.items():
            signal.signal(sig, handler)
    _summary(board.rows(sort), stats, board.closed)
    for line in analysis.warnings:
        click.echo(f"pcapkit: warning: {line}", err=True)
    if error is not None:
        raise error


def _summary(rows: list[dict[str, Any]], stats: CaptureStats, closed: int) -> None:
    """The connections as they stood at the end, as plain aligned text, and the counters."""
    cells = [[str(c) for c in SUMMARY_COLUMNS]]
    for r in rows:
        cells.append([_ms(r[c]) if c == "srtt_ms" else str(r[c]) for c in SUMMARY_COLUMNS])
    widths = [max(len(row[k]) for row in cells) for k in range(len(SUMMARY_COLUMNS))]
    for row in cells:
        click.echo("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if closed:
        click.echo(f"({closed} idle connection{'s' if closed != 1 else ''} left the table)")
    for line in stats.lines():
        click.echo(line, err=True)
