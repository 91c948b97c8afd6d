"""One field specification, two paths: every row the columnar fast path decodes has the
same value in every column as the per-packet dissectors (pcapkit.dissect.driver) give,
on every capture of the corpus and of captures/. Rows the fast path marks are decoded
by the per-packet path itself, so the table never depends on the path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, capture_files, corpus_files, corpus_id

from columnar.parity import compare_driver
from pcapkit.capture.batch import iter_records
from pcapkit.columnar.api import read_packets
from pcapkit.columnar.decode import decode_batch

pytest.importorskip("pcapkit.dissect.driver")

FILES = corpus_files() + capture_files()


@pytest.mark.parametrize("path", FILES, ids=[corpus_id(p) for p in FILES])
def test_fast_path_equals_per_packet(path: Path) -> None:
    compared, nonnull, problems = compare_driver(path)
    assert not problems, f"{len(problems)} differences, first: {problems[:5]}"
    if compared:
        assert nonnull >= compared * 3  # frame.len, frame.cap_len, frame.time_epoch at least


def test_marked_rows_are_filled_by_the_per_packet_path() -> None:
    """A fragmented datagram: the fast path marks it; the per-packet path (reassembly)
    fills the TCP fields of the last fragment, as tshark shows them."""
    path = CORPUS / "ip" / "fragmented-syn.pcap"
    if not path.exists():
        pytest.skip("corpus not available")
    marked = np.concatenate([decode_batch(rb).fallback for rb in iter_records(str(path))])
    assert marked.any()
    with_pp = read_packets(path)
    without = read_packets(path, fallback=False)
    assert with_pp["tcp.srcport"].notna().sum() > without["tcp.srcport"].notna().sum()
