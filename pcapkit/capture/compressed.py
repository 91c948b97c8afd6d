"""A gzip-compressed capture, decompressed the same way for every reader.

The record reader (:mod:`pcapkit.capture.files`) and the record batches
(:mod:`pcapkit.capture.chunks`) ask for different amounts at a time. When a stream is cut
or corrupt, what one decompression call had produced when it failed is lost, so with
different calls the two would deliver different bytes (and frames) before the damage.
:class:`GzipPieces` decompresses a fixed :data:`PIECE` at a time whatever is asked for:
both then see the same bytes, and the same words for what ended the stream.
"""

from __future__ import annotations

import gzip
import zlib
from typing import BinaryIO

PIECE = 1 << 16  # decompressed bytes asked of the gzip stream per call


class GzipPieces:
    """The decompressed bytes of the gzip stream ``fileobj``, read with :meth:`read1`;
    ``error`` says what ended the stream before its end marker (None: not ended, or ended
    cleanly)."""

    def __init__(self, fileobj: BinaryIO) -> None:
        self._gz = gzip.GzipFile(fileobj=fileobj, mode="rb")
        self._piece = b""
        self._pos = 0
        self.error: str | None = None

    def read1(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all of the current piece when negative); b"" at the end."""
        if self._pos >= len(self._piece):
            self._piece, self._pos = self._next_piece(), 0
        end = len(self._piece) if n < 0 else min(len(self._piece), self._pos + n)
        out = self._piece[self._pos:end]
        self._pos = end
        return out

    def read(self, n: int = -1) -> bytes:
        """``n`` bytes (fewer at the end), or everything left when negative."""
        parts: list[bytes] = []
        got = 0
        while n < 0 or got < n:
            part = self.read1(-1 if n < 0 else n - got)
            if not part:
                break
            parts.append(part)
            got += len(part)
        return b"".join(parts)

    def _next_piece(self) -> bytes:
        if self.error is not None:
            return b""
        try:
            return self._gz.read1(PIECE)
        except EOFError:
            self.error = "compressed stream ends before its end marker"
        except (zlib.error, gzip.BadGzipFile) as exc:
            self.error = f"corrupt compressed stream ({exc})"
        except OSError as exc:
            self.error = f"read error ({exc})"
        return b""

    def close(self) -> None:
        self._gz.close()
