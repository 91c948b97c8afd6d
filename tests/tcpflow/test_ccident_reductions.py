"""How ccident reads the spread of the reduction factors measured at fast recoveries:
a loss-based sender's factors sit at its beta (0.5 Reno, 0.7 CUBIC) give or take a round
trip's growth; BBR's (it keeps its window; without SACK its recoveries often end in a
timeout) mostly do not, even when their median lands on 0.5 or 0.7."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from pcapkit.tcpflow.ccident import BETA_CUBIC, BETA_RENO, reduction_shape

DATA = Path(__file__).resolve().parents[1] / "data" / "congestion"


def test_loss_based_reductions_are_consistent() -> None:
    reno = (0.45, 0.5, 0.47, 0.44, 0.5, 0.46, 0.48)
    cubic = (0.7, 0.66, 0.67, 0.62, 0.69, 0.0, 0.64, 0.7)   # one recovery ended in a timeout
    for betas in (reno, cubic):
        shape = reduction_shape(betas)
        assert shape.consistent and not shape.erratic


def test_bbr_reductions_are_erratic_even_with_a_loss_based_median() -> None:
    # no SACK: recoveries ending in timeouts (near 0) and windows kept (above 1)
    bbr = (0.0, 4.34, 0.66, 0.78, 1.51, 0.3, 0.0, 0.0, 0.55)
    assert abs(statistics.median(bbr) - BETA_RENO) < abs(statistics.median(bbr) - 1.0)
    shape = reduction_shape(bbr)
    assert shape.erratic and not shape.consistent
    kept = (0.95, 1.02, 0.88, 0.7, 1.1, 0.66)                # the window kept through most recoveries
    assert statistics.median(kept) > BETA_CUBIC
    assert reduction_shape(kept).erratic


def test_too_few_factors_decide_nothing() -> None:
    for betas in ((), (0.0,), (0.0, 3.0)):
        shape = reduction_shape(betas)
        assert not shape.erratic and not shape.consistent
    assert not reduction_shape((0.5, 0.5, 0.5)).consistent  # consistent needs more evidence than erratic


def test_unanimous_reductions_outweigh_a_late_ack_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """A loss-based sender on a busy machine answers ACKs late and looks paced (set7 of
    benchmarks/congestion: Reno and CUBIC sent 16-38 % of their segments within the ACK-clock
    threshold); two or more reductions, every one in the multiplicative-decrease band,
    name it anyway. One such reduction, or one outside the band, leaves the timing to decide."""
    from pcapkit.tcpflow import ccident
    from pcapkit.tcpflow.ccflight import trace_flight
    from pcapkit.tcpflow.congestion import analyse_direction, largest_transfer
    from pcapkit.tcpflow.segments import segment_table

    segs = list(segment_table(DATA / "000-reno.pcap").segments())
    sender, receiver = largest_transfer(segs) or pytest.fail("no data in the committed Reno flow")
    tr = trace_flight(analyse_direction(segs, sender, receiver))
    monkeypatch.setattr(ccident, "ack_clocked_share", lambda _tr: 0.2)

    def named(betas: tuple[float, ...]) -> str:
        monkeypatch.setattr(ccident, "measured_betas", lambda _tr: list(betas))
        return ccident.identify(tr, False, 0.0).algorithm

    assert named((0.45, 0.52)) == "reno"
    assert named((0.68, 0.7, 0.66)) == "cubic"
    assert named((0.68,)) == "bbr"
    assert named((0.68, 0.95)) == "bbr"
