"""A sender the receiver's window holds back, with no loss, stays in slow start.

tests/data/congestion-rwnd/ holds the head of a generated Reno flow (see its README)
whose kernel never leaves slow start: it never loses, and while the receiver's window
limits it Linux does not count the flat flight against it. The congestion model once
judged the receiver's window where each ACK interval began (just after the ACK moved the
window's edge), so every interval looked window-limited, the flat flight read as a
slow start that stopped growing, and the flow was labelled congestion-avoidance (68.6 %
of its segments right) and named CUBIC. The kernel's state per data segment
(benchmarks/congestion/truth.py) is the reference.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "congestion-rwnd"
BENCH = REPO / "benchmarks" / "congestion"
PCAP = DATA / "s1301-036-reno-head.pcap"

if not (BENCH / "truth.py").exists() or not PCAP.exists():
    pytest.skip("the ground-truth flow and its loader (benchmarks/congestion) are not in this tree",
                allow_module_level=True)

sys.path.insert(0, str(BENCH))
import truth  # noqa: E402

from pcapkit.reports.congestion import congestion_segments, congestion_summary  # noqa: E402


def _labelled():  # type: ignore[no-untyped-def]
    kernel = truth.label_segments(PCAP)
    meta = kernel.attrs["meta"]
    ours = congestion_segments(PCAP)
    ours = ours[(ours["tcp.srcport"] == meta["client"]["port"]) & (ours["tcp.dstport"] == meta["server"]["port"])]
    return kernel.merge(ours.astype({"frame.number": "int64"}), on="frame.number", how="left"), meta


def test_rwnd_limited_reno_without_loss_stays_in_slow_start() -> None:
    seg, meta = _labelled()
    assert meta["algorithm"] == "reno" and meta["loss_percent"] == 0
    # the kernel's own answer: slow start on every data segment, never a loss
    assert set(seg["kernel_phase"].dropna()) == {"slow-start"}
    assert (seg["phase"] == seg["kernel_phase"]).mean() >= 0.99
    # the sender really is held back by the receiver's window once it has grown
    tail = seg.iloc[len(seg) * 3 // 4:]
    assert (tail["limited_by"] == "rwnd").mean() >= 0.5
    # and while it is, the kernel does not show it window-limited
    assert not tail.loc[tail["limited_by"] == "rwnd", "kernel_cwnd_limited"].fillna(False).any()


def test_slow_start_through_hystarts_delay_rise_names_reno() -> None:
    """No loss, so no reduction to measure: the evidence is that slow start kept doubling
    the window through an RTT rise at which CUBIC's HyStart would have left it."""
    summary = congestion_summary(PCAP)
    meta = truth.load_meta(PCAP)
    row = summary[(summary["tcp.srcport"] == meta["client"]["port"])].iloc[0]
    assert row["cc_algorithm"] == "reno", row["reason"]
    assert row["loss_events"] == 0 and row["share_slow_start"] == 1.0
