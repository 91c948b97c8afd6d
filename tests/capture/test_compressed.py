"""capture.compressed.GzipPieces: what any reader gets of a gzip stream, whole, cut or
corrupt, is the same whatever it asks for at a time."""

from __future__ import annotations

import gzip
import io
import random

from pcapkit.capture.compressed import GzipPieces

DATA = bytes(random.Random(1).randrange(64) for _ in range(600_000))  # (compresses to several pieces' worth)


def _drain(stream: bytes, step: int) -> tuple[bytes, str | None]:
    pieces = GzipPieces(io.BytesIO(stream))
    out = []
    while part := (pieces.read1(step) if step % 2 else pieces.read(step)):
        out.append(part)
    return b"".join(out), pieces.error


def test_whole_stream_reads_back_in_any_steps() -> None:
    stream = gzip.compress(DATA)
    for step in (101, 4096, 65536, 1 << 20):
        assert _drain(stream, step) == (DATA, None)
    assert GzipPieces(io.BytesIO(stream)).read() == DATA


def test_damaged_streams_end_at_the_same_byte_whatever_the_steps() -> None:
    """Cut or with a byte changed: every step size gets the same bytes and the same words."""
    stream = gzip.compress(DATA)
    cut = stream[:len(stream) // 2]
    flipped = bytearray(stream)
    flipped[len(stream) * 2 // 3] ^= 0x55
    for damaged, words in ((cut, "compressed stream ends before its end marker"),
                           (bytes(flipped), "corrupt compressed stream")):
        results = {_drain(damaged, step) for step in (1001, 4096, 65536, 1 << 20)}
        assert len(results) == 1
        got, error = results.pop()
        assert error is not None and error.startswith(words)
        assert 0 < len(got) < len(DATA) and DATA.startswith(got)
