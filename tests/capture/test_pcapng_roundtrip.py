"""pcapng: write -> read round trips, files we write read by tshark/capinfos, damaged input."""

from __future__ import annotations

import io
import struct
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CORPUS, requires_tshark
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import tshark_fields
from strategies import pcapng_frames

from pcapkit.capture.files import open_capture
from pcapkit.capture.pcapng_blocks import ts_to_ns, units_per_second
from pcapkit.capture.writer import PcapngWriter
from pcapkit.errors import CaptureFileError, PcapkitError, TruncatedFileError
from pcapkit.frame import Frame


def write_pcapng(linktypes: list[int], frames: list[Frame], order: str = "<") -> bytes:
    buf = io.BytesIO()
    with PcapngWriter(buf, byte_order=order, comment="pcapkit test") as w:
        for lt in linktypes:
            w.add_interface(lt, name=f"if{lt}")
        w.write_all(frames)
    return buf.getvalue()


def read_all(data: bytes, strict: bool = False) -> tuple[list[Frame], list[str]]:
    with open_capture(io.BytesIO(data), strict=strict) as r:
        frames = list(r)
        return frames, r.warnings


@settings(max_examples=60, deadline=None)
@given(pcapng_frames(), st.sampled_from(["<", ">"]))
def test_write_read_round_trip(spec: tuple[list[int], list[Frame]], order: str) -> None:
    linktypes, frames = spec
    blob = write_pcapng(linktypes, frames, order)
    with open_capture(io.BytesIO(blob)) as r:
        got = list(r)
        assert r.format == "pcapng" and r.linktypes == linktypes
        assert [i.name for i in r.interfaces] == [f"if{lt}" for lt in linktypes]
        assert all(i.tsresol == 10**9 for i in r.interfaces)
        assert r.comments == ["pcapkit test"] and r.warnings == []
        assert r.byte_order == order
    assert got == frames


def _block_ends(blob: bytes) -> list[int]:
    ends, pos = [], 0
    while pos < len(blob):
        (tlen,) = struct.unpack_from("<I", blob, pos + 4)
        pos += tlen
        ends.append(pos)
    return ends


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pcapng_frames(max_frames=5), st.data())
def test_truncation_delivers_complete_blocks_then_warns(spec: tuple[list[int], list[Frame]],
                                                        data: st.DataObject) -> None:
    linktypes, frames = spec
    blob = write_pcapng(linktypes, frames)
    ends = _block_ends(blob)
    header_end = ends[len(linktypes)]  # SHB + IDBs: what opening the file reads
    cut = data.draw(st.integers(min_value=0, max_value=len(blob)))
    damaged = blob[:cut]
    last_end = max([0, *(e for e in ends if e <= cut)])
    if cut < header_end and cut not in ends and (last_end == 0 or cut - last_end >= 8):
        # inside the SHB, or inside an IDB after its 8-byte header: an error at open
        # (a partial block header after the SHB is found by the iteration, as in Wireshark)
        with pytest.raises(CaptureFileError):
            read_all(damaged)
        return
    got, warnings = read_all(damaged)
    packet_ends = ends[1 + len(linktypes):]
    complete = sum(1 for e in packet_ends if e <= cut)
    assert got == frames[:complete]
    assert (warnings == []) == (cut in ends)
    if cut not in ends:
        with pytest.raises(TruncatedFileError):
            read_all(damaged, strict=True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pcapng_frames(max_frames=4), st.data())
def test_random_byte_changes_give_documented_errors_only(spec: tuple[list[int], list[Frame]],
                                                         data: st.DataObject) -> None:
    blob = bytearray(write_pcapng(*spec))
    for _ in range(data.draw(st.integers(min_value=1, max_value=6))):
        i = data.draw(st.integers(min_value=0, max_value=len(blob) - 1))
        blob[i] = data.draw(st.integers(min_value=0, max_value=255))
    start = time.monotonic()
    try:
        _, warnings = read_all(bytes(blob))
    except PcapkitError as exc:
        assert isinstance(exc, CaptureFileError) and exc.offset is not None
        assert "\n" not in str(exc)
    else:
        assert all(isinstance(w, str) for w in warnings)
    assert time.monotonic() - start < 5


def test_units_per_second_and_conversion() -> None:
    assert units_per_second(6) == 10**6
    assert units_per_second(9) == 10**9
    assert units_per_second(0x80 | 10) == 1024
    # 2^-10 s units: 1536 units = 1.5 s exactly
    assert ts_to_ns(1536, 1024, 0) == 1_500_000_000
    # 1/1024 s = 976562.5 ns: Wireshark truncates
    assert ts_to_ns(1, 1024, 0) == 976_562
    assert ts_to_ns(5, 10**6, 100) == 100_000_005_000


CORPUS_SOURCES = ["formats/le_test202.pcapng", "formats/be_test101.pcapng", "formats/le_test009.pcapng",
                  "formats/pcapng-multi-interface.pcapng", "tcp/tcp.dmp.gz", "formats/le_test008.pcapng"]


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("name", CORPUS_SOURCES)
def test_our_pcapng_read_by_tshark_and_capinfos(name: str, tmp_path: Path) -> None:
    """Frames of a corpus file written by PcapngWriter: tshark sees the same packets and
    times, capinfos counts them (custom blocks and SPB frames are left out: an EPB needs
    an interface and has a time stamp)."""
    src = CORPUS / name
    out = tmp_path / "out.pcapng"
    with open_capture(src) as reader:
        untimed = getattr(reader, "untimed_frames", set())
        kept = [f for f in reader if f.linktype >= 0 and f.number not in untimed]
        with PcapngWriter(out) as w:
            for iface in reader.interfaces:
                w.add_interface(iface.linktype, snaplen=iface.snaplen, name=iface.name)
            for f in kept:
                # one section in our file: interfaces are numbered across the sections
                local = [i for i in reader.interfaces if i.section == f.section]
                gid = reader.interfaces.index(local[f.interface_id])
                w.write(Frame(f.number, f.ts_ns, f.caplen, f.wirelen, f.linktype, gid, f.data, f.comment))
    fields = ("frame.time_epoch", "frame.len", "frame.cap_len", "frame.encap_type", "frame.comment")
    ref = [r for r in tshark_fields(src, fields) if "frame.time_epoch" in r and "frame.encap_type" in r]
    ours = tshark_fields(out, fields)
    assert len(ours) == len(kept)
    assert ours == ref
    proc = subprocess.run(["capinfos", "-M", "-c", str(out)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0
    assert f"Number of packets:   {len(kept)}" in proc.stdout
    # and we read back what we wrote
    with open_capture(out) as again:
        assert [(f.ts_ns, f.data, f.comment) for f in again] == [(f.ts_ns, f.data, f.comment) for f in kept]


@requires_tshark
@pytest.mark.tshark
def test_statistics_block_written_and_read(tmp_path: Path) -> None:
    out = tmp_path / "isb.pcapng"
    frames = [Frame(i, 1_600_000_000_000_000_000 + i, 60, 60, 1, 0, bytes(60), f"c{i}") for i in (1, 2)]
    with PcapngWriter(out) as w:
        w.add_interface(1, name="eth9")
        w.write_all(frames)
        w.write_statistics(0, 1_600_000_001_000_000_000, ifrecv=10, ifdrop=3)
    with open_capture(out) as r:
        assert list(r) == frames
        (stats,) = r.interface_stats
        assert (stats.interface_id, stats.ts_ns, stats.ifrecv, stats.ifdrop) == (0, 1_600_000_001_000_000_000, 10, 3)
    proc = subprocess.run(["capinfos", "-M", "-I", str(out)], capture_output=True, text=True, check=False)
    assert "Name = eth9" in proc.stdout and "Number of stat entries = 1" in proc.stdout
    assert [r["frame.comment"] for r in tshark_fields(out, ("frame.comment",))] == ["c1", "c2"]
