"""What the pcap and pcapng writers share: opening the target, writing many frames,
closing, and use as a context manager."""

from __future__ import annotations

import os
from collections.abc import Iterable
from types import TracebackType
from typing import BinaryIO, Self

from pcapkit.errors import CaptureWriteError
from pcapkit.frame import Frame


class CaptureWriter:
    """Base of PcapWriter and PcapngWriter. A path is opened (and closed by :meth:`close`);
    a file object is written to and only flushed."""

    _f: BinaryIO
    _owns: bool

    def _open(self, target: str | os.PathLike[str] | BinaryIO) -> None:
        if isinstance(target, str | os.PathLike):
            try:
                self._f = open(target, "wb")  # noqa: SIM115 - closed in close()
            except OSError as exc:
                raise CaptureWriteError(f"{os.fspath(target)}: {exc.strerror}") from None
            self._owns = True
        else:
            self._f = target
            self._owns = False

    def write(self, frame: Frame) -> None:
        raise NotImplementedError

    def write_all(self, frames: Iterable[Frame]) -> int:
        n = 0
        for frame in frames:
            self.write(frame)
            n += 1
        return n

    def close(self) -> None:
        if self._owns:
            self._f.close()
        else:
            self._f.flush()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
