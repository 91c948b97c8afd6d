"""Capture times outside what int64 nanoseconds hold (a pcapng time stamp past 2262 or
before 1677): every path keeps the frame, saturates ``ts_ns`` the same way, keeps the
exact time for text (printed as tshark prints it), and no report raises (GitHub issue
11, item 3)."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, requires_tshark
from oracle import tshark_fields

from pcapkit.capture.batch import iter_records
from pcapkit.capture.files import open_capture
from pcapkit.frame import TS_NS_MAX, time_invalid

PACKET = (bytes.fromhex("020000000002020000000001") + b"\x08\x00"
          + struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
          + struct.pack("!HHIIBBHHH", 1234, 80, 1, 0, 0x50, 0x02, 8192, 0, 0))


def _block(btype: int, body: bytes) -> bytes:
    body += b"\0" * (-len(body) % 4)
    return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))


def _pcapng(path: Path, tsresol: int, ticks: list[int]) -> Path:
    shb = _block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _block(1, struct.pack("<HHI", 1, 0, 0) + struct.pack("<HHB", 9, 1, tsresol) + b"\0\0\0" + b"\0" * 4)
    epbs = b"".join(_block(6, struct.pack("<IIIII", 0, t >> 32, t & 0xFFFFFFFF, len(PACKET), len(PACKET)) + PACKET)
                    for t in ticks)
    path.write_bytes(shb + idb + epbs)
    return path


TICKS = [17_000_000_000, 2**64 - 1, 5, 9_300_000_000]  # resolution 1 s: 2508, -1 s (signed), 5 s, 2264


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return _pcapng(tmp_path / "times.pcapng", 0, TICKS)


def test_both_readers_saturate_alike(capture: Path) -> None:
    with open_capture(capture) as reader:
        frames = list(reader)
    batch = [int(t) for rb in iter_records(str(capture)) for t in rb.ts_ns]
    assert [f.ts_ns for f in frames] == batch
    assert [time_invalid(f.ts_ns) for f in frames] == [True, False, False, True]
    assert frames[0].ts_ns == TS_NS_MAX and frames[0].ts_exact == 17_000_000_000


@requires_tshark
def test_text_prints_the_raw_time_as_tshark(capture: Path) -> None:
    ref = [r["frame.time_epoch"] for r in tshark_fields(capture, ["frame.time_epoch"])]
    out = subprocess.run([sys.executable, "-m", "pcapkit", "read", str(capture), "--format", "csv"],
                         capture_output=True, text=True, cwd=REPO, check=True).stdout.splitlines()
    column = out[0].split(",").index("frame.time_epoch")
    assert [line.split(",")[column] for line in out[1:]] == ref


@pytest.mark.parametrize("report", ["tcp", "handshakes", "rtt", "flows", "tcptrace", "read_packets"])
def test_no_report_raises(capture: Path, report: str) -> None:
    import pcapkit
    from pcapkit.reports.flows import flows
    from pcapkit.reports.handshakes import handshakes
    from pcapkit.reports.rtt import rtt_samples
    from pcapkit.reports.tcp import tcp_frames
    from pcapkit.tcpflow.tcptrace import tcptrace_stats

    fn = {"tcp": tcp_frames, "handshakes": handshakes, "rtt": rtt_samples, "flows": flows,
          "tcptrace": tcptrace_stats, "read_packets": pcapkit.read_packets}[report]
    df = fn(capture)
    if report in ("tcp", "read_packets"):
        assert len(df) == len(TICKS)
        assert df["frame.time_epoch"].iloc[0].value == TS_NS_MAX


@requires_tshark
def test_saturated_frames_carry_a_finding(capture: Path) -> None:
    """The per-packet dissection names the out-of-range time (frame.time_invalid) with the
    raw time tshark prints; in-range frames have no such finding."""
    from pcapkit.dissect.driver import dissect

    with open_capture(capture) as reader:
        frames = list(reader)
    ref = [r["frame.time_epoch"] for r in tshark_fields(capture, ["frame.time_epoch"])]
    for i, frame in enumerate(frames):
        notes = [f.reason for f in dissect(frame).findings if "frame.time_invalid" in f.reason]
        assert bool(notes) == time_invalid(frame.ts_ns)
        if notes:
            assert ref[i] in notes[0]
