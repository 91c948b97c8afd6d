"""read_ahead: the items of an iterator made in a second thread, in order, with its
error at its place; and segment tables read that way equal those read in one thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from pcapkit.capture.readahead import read_ahead
from tests.conftest import CAPTURES, corpus_files, corpus_id


class Broken(Exception):
    pass


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "pcapkit-read-ahead"]


def _wait_for_no_workers() -> None:
    for _ in range(100):
        if not _workers():
            return
        time.sleep(0.01)
    raise AssertionError("the read-ahead thread is still running")


def test_items_come_in_order_from_another_thread() -> None:
    made_in: set[int] = set()

    def items() -> Iterator[int]:
        for k in range(1000):
            made_in.add(threading.get_ident())
            yield k

    assert list(read_ahead(items(), depth=3)) == list(range(1000))
    assert made_in and threading.get_ident() not in made_in
    _wait_for_no_workers()


def test_an_error_comes_after_the_items_made_before_it() -> None:
    def items() -> Iterator[int]:
        yield 1
        yield 2
        raise Broken("cut here")

    got: list[int] = []
    with pytest.raises(Broken, match="cut here"):
        for item in read_ahead(items()):
            got.append(item)
    assert got == [1, 2]
    _wait_for_no_workers()


def test_stopping_early_stops_the_thread_and_closes_the_source() -> None:
    closed = threading.Event()

    def items() -> Iterator[int]:
        try:
            k = 0
            while True:
                yield k
                k += 1
        finally:
            closed.set()

    ahead = read_ahead(items(), depth=2)
    assert [next(ahead) for _ in range(5)] == [0, 1, 2, 3, 4]
    ahead.close()
    assert closed.wait(5)
    _wait_for_no_workers()


def _files() -> list[Path]:
    names = ("tcp-ethereal-trace-1", "http-ethereal-trace-5", "bad_ack_code", "bad_rsn_parsing", "sack")
    picked = [p for p in corpus_files("labs", "tcp", "broken") if any(n in p.name for n in names)]
    return picked + [p for p in sorted(CAPTURES.glob("*.pcap*"))][:4]


@pytest.mark.parametrize("path", _files(), ids=corpus_id)
def test_segment_table_read_ahead_equals_one_thread(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import pcapkit.tcpflow.segments as segments
    from pcapkit.errors import PcapkitError
    from pcapkit.tcpflow.segments import reading

    def table() -> segments.SegmentTable | str:
        try:
            return segments.segment_table(path, packets=True, chunk_packets=29)  # (many batches)
        except PcapkitError as exc:
            return str(exc)

    monkeypatch.setattr(reading, "READ_AHEAD_BYTES", 1 << 62)
    one = table()
    monkeypatch.setattr(reading, "READ_AHEAD_BYTES", 0)
    ahead = table()
    _wait_for_no_workers()
    if isinstance(one, str) or isinstance(ahead, str):
        assert ahead == one
        return
    for name in (*segments.INT_COLUMNS, "sack_l", "sack_r"):
        assert np.array_equal(getattr(one, name), getattr(ahead, name)), name
    assert one.addresses == ahead.addresses
    assert str(one.error) == str(ahead.error)
    assert (one.frames, one.first_ts_ns, one.last_ts_ns) == (ahead.frames, ahead.first_ts_ns, ahead.last_ts_ns)
    assert one.packets is not None and ahead.packets is not None
    for name in vars(one.packets):
        assert np.array_equal(getattr(one.packets, name), getattr(ahead.packets, name)), name
