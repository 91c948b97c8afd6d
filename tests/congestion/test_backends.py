"""The congestion model's compiled passes (pcapkit.tcpflow.cckernel) are written once and
run compiled by numba or interpreted: both backends must give the same arrays, on the
generated uploads of tests/data (sender- and receiver-side captures, Reno, CUBIC, BBR).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pcapkit.reports.congestion import _stream_rows, _table_senders
from pcapkit.tcpflow import jit
from pcapkit.tcpflow.analysed import analyse
from pcapkit.tcpflow.ccflight import replay
from pcapkit.tcpflow.congestion import scan_table

DATA = Path(__file__).resolve().parents[1] / "data"
CAPTURES = sorted((DATA / "congestion").glob("*.pcap")) + sorted((DATA / "congestion-receiver").glob("*.pcap"))


@pytest.mark.skipif(not jit.available(), reason="numba is not available")
@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.name)
def test_compiled_and_interpreted_passes_agree(path: Path) -> None:
    an = analyse(path)
    segs = an.segments
    directions = 0
    for _, rows in _stream_rows(an, set(np.unique(an.stream).tolist())):
        for sender, receiver in _table_senders(segs, rows):
            compiled = scan_table(segs, sender, receiver, rows, compiled=True)
            interpreted = scan_table(segs, sender, receiver, rows, compiled=False)
            for name in ("sent", "acks", "sacks", "rtt", "losses"):
                assert np.array_equal(getattr(compiled, name), getattr(interpreted, name)), name
            assert (compiled.mss, compiled.min_rtt_ns) == (interpreted.mss, interpreted.min_rtt_ns)
            a, b = replay(compiled, compiled=True), replay(compiled, compiled=False)
            for name in ("flight", "acked", "events"):
                assert np.array_equal(getattr(a, name), getattr(b, name)), name
            assert (a.tail_probes, a.window_probes, a.uncaptured) == (b.tail_probes, b.window_probes, b.uncaptured)
            directions += 1
    assert directions >= 1
