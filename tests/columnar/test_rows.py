"""gather_rows: the numba copy loop gives the same rows as numpy's sliding window
(through the whole columnar decode, on corpus files)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import corpus_files, corpus_id

from pcapkit.capture.batch import iter_records
from pcapkit.errors import PcapkitError

SAMPLE = [p for p in corpus_files("formats", "broken", "tcp") if p.stat().st_size < 3_000_000]


@pytest.mark.parametrize("path", SAMPLE[::4], ids=[corpus_id(p) for p in SAMPLE[::4]])
def test_gather_kernel_equals_numpy(path: Path) -> None:
    from pcapkit.columnar.decode import decode_batch

    batches = []
    try:
        for rb in iter_records(str(path)):
            batches.append(rb)
    except PcapkitError:
        pass
    for rb in batches:
        # (fast=False: the general decoder's gathers; the one-pass decoder: test_fastpath.py)
        a, b = decode_batch(rb, use_kernel=True, fast=False), decode_batch(rb, use_kernel=False)
        assert np.array_equal(a.fallback, b.fallback)
        assert a.values.keys() == b.values.keys()
        for k in a.values:
            assert np.array_equal(a.valid[k], b.valid[k])
            assert np.array_equal(a.values[k][a.valid[k]], b.values[k][b.valid[k]])
