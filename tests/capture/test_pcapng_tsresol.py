"""if_tsresol (powers of 10 and of 2) and if_tsoffset: our times equal tshark's to the ns."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import requires_tshark
from oracle import tshark_fields

from pcapkit.capture.files import open_capture
from pcapkit.frame import TS_NS_MAX, TS_NS_MIN, format_epoch_ns, frame_epoch_text, time_invalid


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
    expected = [tshark_value(t) for t in theirs]
    # a time outside int64 ns saturates in ts_ns (every table holds it) and is kept exactly,
    # as tshark has it, in ts_exact; in range, ts_ns is tshark's time to the ns
    for f, want in zip(frames, expected, strict=True):
        if TS_NS_MIN <= want <= TS_NS_MAX:
            assert f.ts_ns == want and not time_invalid(f.ts_ns)
        else:
            assert time_invalid(f.ts_ns) and (f.ts_ns > 0) == (want > 0)
            assert f.ts_exact == Fraction(want, 1_000_000_000)
    # the text is tshark's for every non-negative time; a saturated one prints its kept time
    ours_text = [frame_epoch_text(f) if time_invalid(f.ts_ns) else format_epoch_ns(f.ts_ns) for f in frames]
    assert [o for o in ours_text if o[0] != "-"] == [t for t in theirs if t[0] != "-"]
    # the exact value is kept when the resolution is finer than 1 ns
    units = r.interfaces[0].tsresol
    for f, ts in zip(frames, STAMPS, strict=True):
        if time_invalid(f.ts_ns):
            continue
        if units > 10**9:
            assert f.ts_exact == Fraction(ts, units) + tsoffset
        else:
            assert f.ts_exact is None


@requires_tshark
@pytest.mark.tshark
def test_block_mix_matches_tshark(tmp_path: Path) -> None:
    """Obsolete Packet Blocks, Simple Packet Blocks, a Name Resolution Block, an unknown
    block type, a custom block and an ISB between packets: same frames as tshark."""
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb0 = _block(1, struct.pack("<HHI", 1, 0, 100) + _opt(9, bytes([3])) + b"\0\0\0\0")
    idb1 = _block(1, struct.pack("<HHI", 101, 0, 0))
    eth = bytes(range(150))
    ipv4 = bytes.fromhex("4500001c00010000401100007f0000017f000001") + bytes(8)
    pb = _block(2, struct.pack("<HHIIII", 0, 0, 0, 123_456, 60, 70) + eth[:60] + _opt(1, b"old block")
                + b"\0\0\0\0")
    pb1 = _block(2, struct.pack("<HHIIII", 1, 5, 1, 5, len(ipv4), len(ipv4)) + ipv4)
    spb = _block(3, struct.pack("<I", 150) + eth[:100])  # snaplen 100 on interface 0
    nrb = _block(4, struct.pack("<HH", 1, 8) + bytes([127, 0, 0, 1]) + b"lo\0\0" + b"\0\0\0\0")
    unknown = _block(0x123, b"abcd")
    custom = _block(0xBAD, struct.pack("<I", 32473) + b"custom data!")
    isb = _block(5, struct.pack("<III", 0, 0, 999) + _opt(4, struct.pack("<Q", 7)) + b"\0\0\0\0")
    path = tmp_path / "mix.pcapng"
    path.write_bytes(shb + idb0 + idb1 + pb + nrb + spb + unknown + pb1 + custom + isb + pb)
    fields = ("frame.time_epoch", "frame.len", "frame.cap_len", "frame.encap_type", "frame.interface_id",
              "frame.comment")
    theirs = tshark_fields(path, fields)
    with open_capture(path) as r:
        ours = []
        for f in r:
            row = {"frame.len": str(f.wirelen), "frame.cap_len": str(f.caplen)}
            if f.number not in r.untimed_frames:
                row["frame.time_epoch"] = format_epoch_ns(f.ts_ns)
            if f.linktype >= 0:
                row["frame.encap_type"] = str({1: 1, 101: 7}[f.linktype])
                row["frame.interface_id"] = str(f.interface_id)
            if f.comment:
                row["frame.comment"] = f.comment
            ours.append(row)
        assert r.name_resolution_blocks == 1 and r.skipped_blocks == {0x123: 1}
        assert r.interface_stats[0].ifrecv == 7 and r.warnings == []
    assert ours == theirs
    assert len(ours) == 5


@requires_tshark
@pytest.mark.tshark
def test_journal_export_and_secrets_blocks_match_tshark(tmp_path: Path) -> None:
    """systemd Journal Export blocks are records (time from __REALTIME_TIMESTAMP, trailing
    NUL padding dropped); Decryption Secrets blocks are not."""
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _block(1, struct.pack("<HHI", 1, 0, 0))
    epb = _block(6, struct.pack("<IIIII", 0, 0, 5, 14, 14) + bytes(16))

    def sje(entry: bytes) -> bytes:
        return _block(9, entry + b"\0" * (-len(entry) % 4))

    timed = sje(b"__CURSOR=s=1\n__REALTIME_TIMESTAMP=1600000000123456\nMESSAGE=hello\n")
    untimed = sje(b"__CURSOR=s=2\nMESSAGE=no time stamp here\n")
    dsb = _block(0x0A, struct.pack("<II", 0x544C534B, 4) + b"abcd")
    path = tmp_path / "sje.pcapng"
    path.write_bytes(shb + idb + epb + timed + dsb + untimed + epb)
    fields = ("frame.time_epoch", "frame.len", "frame.cap_len", "frame.encap_type")
    theirs = tshark_fields(path, fields)
    with open_capture(path) as r:
        ours = []
        for f in r:
            row = {"frame.len": str(f.wirelen), "frame.cap_len": str(f.caplen)}
            if f.number not in r.untimed_frames:
                row["frame.time_epoch"] = format_epoch_ns(f.ts_ns)
            if f.linktype >= 0:
                row["frame.encap_type"] = "1"
            ours.append(row)
    assert ours == theirs and len(ours) == 4
