"""pcap: write -> read round trips, byte-identical copies of the corpus, damaged input."""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
import time
from pathlib import Path

import pytest
from conftest import corpus_files, corpus_id, requires_tshark
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import tshark_fields
from strategies import pcap_frames

from pcapkit.capture.files import copy_pcap, open_capture
from pcapkit.capture.pcap import PcapReader
from pcapkit.capture.writer import PcapWriter
from pcapkit.errors import CaptureFileError, PcapkitError, TruncatedFileError
from pcapkit.frame import Frame, format_epoch_ns


def write_pcap(frames: list[Frame], **kwargs: object) -> bytes:
    buf = io.BytesIO()
    with PcapWriter(buf, **kwargs) as w:  # type: ignore[arg-type]
        w.write_all(frames)
    return buf.getvalue()


def read_all(data: bytes, strict: bool = False) -> tuple[list[Frame], list[str]]:
    with open_capture(io.BytesIO(data), strict=strict) as r:
        frames = list(r)
        return frames, r.warnings


@settings(max_examples=60, deadline=None)
@given(st.booleans(), st.sampled_from(["<", ">"]), st.data())
def test_write_read_round_trip(nanosecond: bool, order: str, data: st.DataObject) -> None:
    frames = data.draw(pcap_frames(linktype=1, nanosecond=nanosecond))
    blob = write_pcap(frames, nanosecond=nanosecond, byte_order=order)
    expected_magic = {(False, "<"): "d4c3b2a1", (False, ">"): "a1b2c3d4",
                      (True, "<"): "4d3cb2a1", (True, ">"): "a1b23c4d"}[(nanosecond, order)]
    assert blob[:4].hex() == expected_magic
    got, warnings = read_all(blob)
    assert warnings == []
    assert got == frames
    # and written again: the same bytes
    assert write_pcap(got, nanosecond=nanosecond, byte_order=order) == blob


def _records_end(blob: bytes, order: str) -> list[int]:
    """Offsets at which each record of a (well-formed) pcap ends."""
    ends, pos = [], 24
    while pos < len(blob):
        (incl,) = struct.unpack_from(order + "I", blob, pos + 8)
        pos += 16 + incl
        ends.append(pos)
    return ends


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pcap_frames(max_frames=6), st.data())
def test_truncation_delivers_complete_records_then_warns(frames: list[Frame], data: st.DataObject) -> None:
    blob = write_pcap(frames)
    cut = data.draw(st.integers(min_value=0, max_value=len(blob)))
    damaged = blob[:cut]
    if cut < 24:
        with pytest.raises(TruncatedFileError):
            read_all(damaged)
        return
    ends = _records_end(blob, "<")
    complete = sum(1 for e in ends if e <= cut)
    got, warnings = read_all(damaged)
    assert got == frames[:complete]
    at_boundary = cut == 24 or cut in ends
    assert (warnings == []) == at_boundary
    if not at_boundary:
        assert len(warnings) == 1 and "offset" in warnings[0]
        with pytest.raises(TruncatedFileError):
            read_all(damaged, strict=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pcap_frames(max_frames=5, nanosecond=True), st.data())
def test_random_byte_changes_give_documented_errors_only(frames: list[Frame], data: st.DataObject) -> None:
    blob = bytearray(write_pcap(frames, nanosecond=True))
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        i = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
        blob[i] = data.draw(st.integers(min_value=0, max_value=255))
    start = time.monotonic()
    try:
        got, warnings = read_all(bytes(blob))
    except PcapkitError as exc:
        assert isinstance(exc, CaptureFileError) and exc.offset is not None
    else:
        assert all(isinstance(w, str) for w in warnings)
        assert len(got) <= len(blob) // 16
    assert time.monotonic() - start < 5


PCAP_FILES = []
for _p in corpus_files():
    try:
        with open_capture(_p) as _r:
            if isinstance(_r, PcapReader):
                PCAP_FILES.append(_p)
    except PcapkitError:
        pass

# files we read only up to damage: the copy is the good prefix of the original
DAMAGED = {"broken/bad_rsn_parsing_overrides_ssid.pcap", "broken/fuzz-2021-10-13.pcap",
           "broken/truncated_dns_2.pcap"}
# records with an out-of-range fraction (µs >= 10^6, ns >= 10^9) are read as the time they
# mean, and written back normalised (seconds + 1): the copy differs in those fields only
INVALID_TIMES = {"broken/timestamp_invalid_micro.pcap", "broken/timestamp_invalid_nano.pcap",
                 "broken/fuzz-2021-10-13.pcap"}


@pytest.mark.parametrize("path", PCAP_FILES, ids=corpus_id)
def test_corpus_pcap_copies_byte_identical(path: Path) -> None:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    buf = io.BytesIO()
    copy_pcap(path, buf)
    out = buf.getvalue()
    name = corpus_id(path)
    if name in INVALID_TIMES:
        assert out[:24] == raw[:24]
        assert len(out) == len(raw) or name in DAMAGED
        with open_capture(path) as a, open_capture(io.BytesIO(out)) as b:
            assert list(a) == list(b)
    elif name in DAMAGED:
        assert len(out) < len(raw) and out == raw[:len(out)]
    else:
        assert out == raw


@requires_tshark
@pytest.mark.tshark
def test_written_pcap_read_by_tshark(tmp_path: Path) -> None:
    frames = [Frame(number=i, ts_ns=1_700_000_000_123_456_789 + i * 1_000_000_007, caplen=60,
                    wirelen=60 + i, linktype=1, interface_id=0, data=bytes(range(i, i + 60)))
              for i in range(1, 6)]
    out = tmp_path / "ns.pcap"
    with PcapWriter(out, nanosecond=True, byte_order=">") as w:
        w.write_all(frames)
    rows = tshark_fields(out, ("frame.time_epoch", "frame.len", "frame.cap_len"))
    assert [r["frame.time_epoch"] for r in rows] == [format_epoch_ns(f.ts_ns) for f in frames]
    assert [int(r["frame.len"]) for r in rows] == [f.wirelen for f in frames]
    proc = subprocess.run(["capinfos", "-M", "-c", str(out)], capture_output=True, text=True, check=False)
    assert "Number of packets:   5" in proc.stdout


def _crafted(major: int, minor: int, network: int, records: list[tuple[int, int, int]]) -> bytes:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, major, minor, 0, 0, 65535, network)
    for incl, orig, size in records:
        out += struct.pack("<IIII", 1000, 5, incl, orig) + bytes(range(size))
    return out


VARIANTS = {
    # version 2.3: incl/orig swapped only when incl > orig
    "v2.3": (2, 3, 1, [(60, 50, 50), (50, 60, 50)]),
    "v3.0": (3, 0, 1, [(60, 60, 60)]),
    # FCS length bits in the network field
    "fcs-bits": (2, 4, 0x04000000 | (4 << 28) | 1, [(60, 60, 60)]),
    # AIX: version 2.2 with RFC 1573 ifTypes, ns times, lengths swapped, FDDI padded by 3
    "aix-ethernet": (2, 2, 6, [(60, 70, 70), (70, 60, 60)]),
    "aix-token-ring": (2, 2, 9, [(60, 70, 70)]),
    "aix-fddi": (2, 2, 15, [(60, 70, 70), (50, 50, 50)]),
    "aix-loopback": (2, 2, 24, [(60, 70, 70)]),
}


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_header_variants_match_tshark(name: str, tmp_path: Path) -> None:
    from pcapkit.capture.linktypes import wtap_encap

    major, minor, network, records = VARIANTS[name]
    path = tmp_path / f"{name}.pcap"
    path.write_bytes(_crafted(major, minor, network, records))
    fields = ("frame.time_epoch", "frame.len", "frame.cap_len", "frame.encap_type")
    theirs = tshark_fields(path, fields)
    with open_capture(path) as r:
        ours = [{"frame.time_epoch": format_epoch_ns(f.ts_ns), "frame.len": str(f.wirelen),
                 "frame.cap_len": str(f.caplen), "frame.encap_type": str(wtap_encap(f.linktype))} for f in r]
        assert r.warnings == []
    assert ours == theirs
    buf = io.BytesIO()
    copy_pcap(path, buf)
    if name in ("v2.3", "aix-fddi"):
        # a 2.3 record stored swapped is written back unswapped; AIX FDDI padding bytes
        # are not kept: the copy holds the same frames, not the same bytes
        with open_capture(path) as a, open_capture(io.BytesIO(buf.getvalue())) as b:
            assert list(a) == list(b)
    else:
        assert buf.getvalue() == path.read_bytes()
