"""A progress bar for long reads: packets and bytes done, rate, ETA (CLI only).

Library code never prints: readers accept a ``progress(packets, bytes)`` callback and
the CLI passes :meth:`ProgressBar.update`. The bar draws on standard error only when
it is a terminal; otherwise it stays silent. So does :func:`announce_compiles`, which says
when numba compiles a kernel (its first use on a machine: seconds, silent otherwise).
"""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any


class ProgressBar:
    """``with ProgressBar(total_bytes) as bar: read(..., progress=bar.update)``."""

    def __init__(self, total_bytes: int | None, *, enabled: bool | None = None,
                 label: str = "reading") -> None:
        self.total = total_bytes
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self.label = label
        self._progress: Any = None
        self._task: Any = None
        self.packets = 0
        self.bytes = 0

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn(),
                TextColumn("{task.fields[packets]:,} packets ({task.fields[rate]:,.0f}/s)"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total, packets=0, rate=0.0)
        return self

    def update(self, packets: int, nbytes: int) -> None:
        self.packets, self.bytes = packets, nbytes
        if self._progress is None:
            return
        task = self._progress.tasks[0]
        elapsed = task.elapsed or 0.0
        rate = packets / elapsed if elapsed > 0 else 0.0
        self._progress.update(self._task, completed=nbytes, packets=packets, rate=rate)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()


_announcing = False


def announce_compiles(enabled: bool | None = None) -> None:
    """From now on, say on standard error (when it is a terminal) when numba compiles a
    kernel and how long it took: once per machine (numba caches kernels on disk), the
    first use of a compiled path waits for it. Imports numba: call it only for inputs
    that run the compiled kernels anyway."""
    global _announcing
    if _announcing or not (sys.stderr.isatty() if enabled is None else enabled):
        return
    try:
        from numba.core import event
    except ImportError:
        return
    _announcing = True

    class CompileNotice(event.Listener):
        """One line when an outermost compilation starts, one when it ends."""

        depth = 0
        started = 0.0

        def on_start(self, ev: Any) -> None:
            self.depth += 1
            if self.depth == 1:
                self.started = time.perf_counter()
                name = getattr(ev.data.get("dispatcher"), "__qualname__", None) or "a kernel"
                print(f"pcapkit: compiling {name} with numba (first use on this machine; cached "
                      "afterwards)...", file=sys.stderr, flush=True)

        def on_end(self, ev: Any) -> None:
            self.depth -= 1
            if self.depth == 0:
                print(f"pcapkit: compiled in {time.perf_counter() - self.started:.1f} s", file=sys.stderr,
                      flush=True)

    event.register("numba:compile", CompileNotice())
