"""Byte ranges of a pcap file: the record boundary found after any offset is the true next
record (the file's own record chain says where records start), and the ranges' records,
read one range at a time, are the file's records."""

from __future__ import annotations

import mmap
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS

from pcapkit.capture.batch import iter_records
from pcapkit.capture.ranges import _Header, byte_ranges, next_record, ranges_cut_at

REPO = Path(__file__).resolve().parents[2]
FILES = [CORPUS / "labs" / "NAT_ISP_side.pcap", CORPUS / "tcp" / "bro.org.pcap", REPO / "captures" / "tcp-upload.pcap"]


def _record_starts(path: Path) -> list[int]:
    data = path.read_bytes()
    e = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    starts, pos = [], 24
    while pos + 16 <= len(data):
        starts.append(pos)
        pos += 16 + struct.unpack_from(e + "I", data, pos + 8)[0]
    return starts


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_next_record_is_the_true_boundary(path: Path) -> None:
    if not path.exists():
        pytest.skip("corpus missing")
    starts = np.array(_record_starts(path))
    size = path.stat().st_size
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        header = _Header(mm, str(path))
        for offset in range(24, size, max(1, size // 400)):
            later = starts[starts >= offset]
            want = int(later[0]) if later.size else size
            assert next_record(mm, header, offset) == want, offset


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
@pytest.mark.parametrize("parts", [1, 3, 7])
def test_ranges_hold_the_records_of_the_file(path: Path, parts: int) -> None:
    if not path.exists():
        pytest.skip("corpus missing")
    ranges = byte_ranges(str(path), parts)
    assert len(ranges) == parts
    whole = [(rb.ts_ns, rb.caplen, rb.wirelen) for rb in iter_records(str(path))]
    pieces = [(rb.ts_ns, rb.caplen, rb.wirelen) for r in ranges
              for rb in iter_records(str(path), byte_range=r, chunk_bytes=1 << 12, max_packets=50)]
    for k in range(3):
        assert np.array_equal(np.concatenate([w[k] for w in whole]), np.concatenate([p[k] for p in pieces]))


def test_not_a_pcap_file_is_one_range(tmp_path: Path) -> None:
    gz = CORPUS / "tcp" / "http.dmp.gz"
    if not gz.exists():
        pytest.skip("corpus missing")
    assert byte_ranges(str(gz), 4) == [(0, gz.stat().st_size)]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_ranges_cut_at_offsets_start_on_the_next_records(path: Path) -> None:
    """Cut at any offsets (a cut within one record of another, or past the last record,
    is dropped): each range starts on the first record at or after its offset."""
    if not path.exists():
        pytest.skip("corpus missing")
    starts = np.array(_record_starts(path))
    size = path.stat().st_size
    offsets = sorted({24, 25, size // 3, size // 3 + 1, size // 2, size - 1, size + 10})
    ranges = ranges_cut_at(str(path), offsets)
    want = sorted({int(starts[starts >= o][0]) for o in offsets if (starts >= o).any()} - {24})
    assert [r[0] for r in ranges] == [24, *want]
    assert [r[1] for r in ranges] == [*want, size]
