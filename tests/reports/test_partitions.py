"""The plan of the Dask tcp export (:mod:`pcapkit.reports.partitions`), without a cluster:
how the inputs are cut into units and placed, where the frame ranges are cut, and the
rows that ship between workers (narrowed, then joined back into their own types)."""

from __future__ import annotations

import itertools
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st

from pcapkit.capture.batch import iter_records
from pcapkit.reports.conversations import file_segments
from pcapkit.reports.partition_rows import ANALYSED, Rows, narrow
from pcapkit.reports.partitions import SNAP, range_cuts, range_workers, tcp_units, unit_places

WEB = CORPUS / "tcp" / "bro.org.pcap"             # 751 frames, plain pcap
MANY = CORPUS / "tcp" / "http.dmp.gz"            # gzip: never cut

pytestmark = pytest.mark.skipif(not WEB.exists() or not MANY.exists(), reason="corpus missing")


def _records(path: str, byte_range: tuple[int, int] | None = None) -> int:
    return sum(len(rb.ts_ns) for rb in iter_records(path, byte_range=byte_range))


@pytest.mark.parametrize("copies, workers", [(1, 2), (3, 2), (8, 2), (2, 3), (1, 1)])
def test_units_are_one_share_of_the_bytes_per_worker(tmp_path: Path, copies: int, workers: int) -> None:
    """Only a file that straddles the edge of a worker's share is cut; each worker's units
    hold its share of the bytes (to within a record), and the units hold every record."""
    files = []
    for i in range(copies):
        files.append(str(tmp_path / f"in{i}.pcap"))
        shutil.copy(WEB, files[-1])
    units, unit_input = tcp_units(files, workers)
    assert sorted(set(unit_input)) == list(range(copies))
    assert sum(_records(path, r) for path, r in units) == copies * _records(str(WEB))
    size = WEB.stat().st_size
    edges = [copies * size * w / workers for w in range(1, workers)]
    cut_files = {i for i in range(copies) for e in edges if i * size < e < (i + 1) * size}
    assert len(units) == copies + len(cut_files)
    place = unit_places(units, workers)
    assert place == sorted(place) and set(place) == set(range(min(workers, len(units))))
    share = [0] * workers
    for (_path, r), w in zip(units, place, strict=True):
        share[w] += size if r is None else r[1] - r[0]
    biggest_record = 16 + 1514  # (a cut moves on to the next record boundary)
    assert max(share) - min(share) <= 2 * biggest_record

def test_a_file_that_cannot_be_cut_is_one_unit(tmp_path: Path) -> None:
    units, unit_input = tcp_units([str(MANY)], 2)
    assert units == [(str(MANY), None)] and unit_input == [0]
    assert unit_places(units, 2) == [0]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.lists(st.integers(0, 3), max_size=300), st.integers(1, 64)), min_size=1, max_size=5),
       st.integers(1, 4))
def test_range_cuts(units: list[tuple[list[int], int]], ranges: int) -> None:
    """Cuts run from frame 1 to past the last, rise and leave no range empty; a boundary
    between units within SNAP of a range's rows from the ideal cut is a cut."""
    frames = [len(rows) for rows, _ in units]
    bins = [np.bincount(np.arange(len(rows)) * n // max(len(rows), 1), weights=rows, minlength=n).astype(np.int64)
            for rows, n in units]  # (as unit_rows counts them)
    cuts = range_cuts(bins, frames, ranges)
    total_frames = sum(frames)
    assert cuts[0] == 1 and cuts[-1] == total_frames + 1
    assert cuts == sorted(set(cuts)) or cuts == [1, 1]  # (no frame at all: one empty range)
    assert len(cuts) - 1 <= ranges
    # rows per frame, bin by bin (every row of a bin on its first frame: where cuts may fall)
    per_frame = np.zeros(total_frames + 2, dtype=np.int64)
    offset, unit_starts = 0, []
    for b, f in zip(bins, frames, strict=True):
        unit_starts.append(offset + 1)
        for k, rows in enumerate(b.tolist()):
            per_frame[offset + 1 + -(-k * f // len(b))] += rows
        offset += f
    total = int(per_frame.sum())
    in_range = [int(per_frame[lo:hi].sum()) for lo, hi in itertools.pairwise(cuts)]
    assert sum(in_range) == total
    if total:
        assert all(r > 0 for r in in_range)
    else:
        assert len(in_range) == 1
    before = np.cumsum(per_frame)  # (before[c - 1]: the rows before frame c)
    for r in range(1, ranges if total else 1):
        target = total * r / ranges
        near = [s for s in unit_starts[1:] if 0 < before[s - 1] < total
                and abs(int(before[s - 1]) - target) <= SNAP * total / ranges]
        assert not near or set(near) & set(cuts), (r, near)

def test_range_workers_spread_the_ranges() -> None:
    bins = [np.ones(8, dtype=np.int64)]
    assert range_workers(bins, [100], [0], [1, 51, 101], 2) == [0, 1]  # one unit: the second range elsewhere
    bins = [np.ones(8, dtype=np.int64)] * 2
    assert range_workers(bins, [100, 100], [1, 0], [1, 101, 201], 2) == [1, 0]  # each range where its rows are


@pytest.mark.parametrize("values", [np.array([0, 255], np.int64), np.array([-1, 70_000], np.int64),
                                    np.array([0, 2**32 - 1], np.int64), np.array([-1, 2**40], np.int64),
                                    np.array([5], np.int16), np.zeros(0, np.int64), np.array([1.5])])
def test_narrow_keeps_every_value(values: np.ndarray) -> None:
    out = narrow(values)
    assert np.array_equal(out.astype(values.dtype), values) and out.dtype.itemsize <= values.dtype.itemsize


def test_rows_narrowed_join_back_into_their_own_types() -> None:
    """Rows shipped narrowed and joined (frames numbered on, addresses into one list) are
    the rows joined as they were."""
    one, two = file_segments(str(WEB), (24, 200_000)), file_segments(str(WEB))
    parts = [Rows.of(t, np.arange(0, len(t), 3), ANALYSED) for t in (one, two)]
    plain = Rows.join(parts)
    shipped = Rows.join([p.narrowed() for p in parts])
    assert any(p.narrowed().columns["frame"].dtype.itemsize < 8 for p in parts)
    assert shipped.addresses == plain.addresses
    for name in ANALYSED:
        assert shipped.columns[name].dtype == plain.columns[name].dtype == one.__dict__[name].dtype, name
        assert np.array_equal(shipped.columns[name], plain.columns[name]), name
    assert np.array_equal(shipped.sack_l, plain.sack_l)


@pytest.mark.parametrize("groups", [1, 3])
def test_unit_parts_hold_each_row_once(groups: int) -> None:
    """Dealt into groups, a unit's parts hold each of its rows once, in frame order (one
    group: the unit's own columns, not copies); shipped, the same values."""
    from pcapkit.reports.partitions import BUCKETS, deal, unit_part, unit_rows

    made = unit_rows((str(WEB), None), BUCKETS)
    dealt = deal([made[0]], [0], groups, BUCKETS)
    view = made[1]
    parts = [unit_part(made, dealt, 0, g, False) for g in range(groups)]
    frames = np.concatenate([p.columns["frame"] for p in parts])
    assert np.array_equal(np.sort(frames), view.frame)
    for g, p in enumerate(parts):
        assert np.all(np.diff(p.columns["frame"]) >= 0)
        shipped = Rows.join([unit_part(made, dealt, 0, g, True)])
        for name in ANALYSED:
            assert np.array_equal(shipped.columns[name], p.columns[name]), name
    if groups == 1:
        assert np.shares_memory(parts[0].columns["seq"], view.seq)
    assert unit_part(made, (dealt[0], []), 0, 0, False).columns["frame"].size == 0  # (a unit left out)
