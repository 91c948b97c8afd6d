"""if_tsresol (powers of 10 and of 2) and if_tsoffset: our times equal tshark's to the ns."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import requires_tshark
from oracle import tshark_fields

from pcapkit.capture.files import open_capture
from pcapkit.frame import format_epoch_ns


def _block(btype: int, body: bytes) -> bytes:
    return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def build(tsresol: int | None, tsoffset: int, stamps: list[int]) -> bytes:
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    opts = b""
    if tsresol is not None:
        opts += _opt(9, bytes([tsresol]))
    if tsoffset:
        opts += _opt(14, struct.pack("<q", tsoffset))
    if opts:
        opts += b"\0\0\0\0"
    idb = _block(1, struct.pack("<HHI", 1, 0, 0) + opts)
    out = shb + idb
    frame = bytes(range(60))
    for ts in stamps:
        out += _block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, 60, 60) + frame)
    return out


STAMPS = [0, 1, 999_999_999, 1_234_567_890_123, 2**40 + 12345, 2**63 + 987654321, 2**64 - 1]
CASES = [
    (None, 0), (6, 0), (9, 0), (3, 0), (0, 0), (12, 0), (15, 0), (19, 0), (20, 0),
    (0x80 | 10, 0), (0x80 | 20, 0), (0x80 | 30, 0), (0x80 | 40, 0), (0x80 | 63, 0), (0x80 | 64, 0),
    (6, 1_000_000_000), (9, -5), (0x80 | 20, 1_500_000_000),
]


def tshark_value(text: str) -> int:
    """tshark's frame.time_epoch as ns. Wireshark's time is (seconds, nanoseconds) with the
    nanoseconds in [0, 10^9) even when the seconds are negative (a negative if_tsoffset),
    and it prints that as "-S.F": the value is -S s + F ns (so -4.999999999 s prints as
    "-5.000000001")."""
    secs, _, frac = text.partition(".")
    return int(secs) * 1_000_000_000 + int(frac)


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize(("tsresol", "tsoffset"), CASES)
def test_times_equal_tshark(tsresol: int | None, tsoffset: int, tmp_path: Path) -> None:
    path = tmp_path / "t.pcapng"
    path.write_bytes(build(tsresol, tsoffset, STAMPS))
    theirs = [r["frame.time_epoch"] for r in tshark_fields(path, ("frame.time_epoch",))]
    with open_capture(path) as r:
        frames = list(r)
    assert len(theirs) == len(frames)
    assert [f.ts_ns for f in frames] == [tshark_value(t) for t in theirs]
    # the text is tshark's for every non-negative time
    assert [format_epoch_ns(f.ts_ns) for f in frames if f.ts_ns >= 0] == [t for t in theirs if t[0] != "-"]
    # the exact value is kept when the resolution is finer than 1 ns
    units = r.interfaces[0].tsresol
    for f, ts in zip(frames, STAMPS, strict=True):
        if units > 10**9:
            assert f.ts_exact == Fraction(ts, units) + tsoffset
        else:
            assert f.ts_exact is None
