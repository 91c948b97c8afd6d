"""A progress bar for long reads: packets and bytes done, rate, ETA (CLI only).

Library code never prints: readers accept a ``progress(packets, bytes)`` callback and
the CLI passes :meth:`ProgressBar.update`. The bar draws on standard error only when
it is a terminal; otherwise it stays silent.
"""

from __future__ import annotations

import sys
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
