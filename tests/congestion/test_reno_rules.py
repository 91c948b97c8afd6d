"""Linux's NewReno rules in the congestion model, against the sender kernel's own state.

tests/data/congestion-reno/ holds Reno uploads without SACK made by the ground-truth
generator (see its README): two with random loss (seed 41) and one without (seed 31),
whose queue overflows in slow start and whose recovery repairs one hole per round trip.
Without SACK Linux runs NewReno: a recovery ends only when an ACK goes *above* the
recovery point (``tcp_try_undo_recovery`` holds it at ``snd_una == high_seq``), and
Reno's slow start ends only at a loss (no HyStart). The kernel's ``ca_state`` and
``snd_cwnd``/``ssthresh`` per data segment (benchmarks/congestion/truth.py) are the
reference; each assertion names the rule it checks.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "congestion-reno"
BENCH = REPO / "benchmarks" / "congestion"

if not (BENCH / "truth.py").exists() or not DATA.is_dir():
    pytest.skip("the ground-truth flows and their loader (benchmarks/congestion) are not in this tree",
                allow_module_level=True)

sys.path.insert(0, str(BENCH))
import truth  # noqa: E402
from test_model_vs_kernel import score  # noqa: E402

from pcapkit.reports.congestion import congestion_segments  # noqa: E402

FLOWS = sorted(p.name.removesuffix(".pcap") for p in DATA.glob("*.pcap"))


def _labelled(pcap: Path) -> pd.DataFrame:
    """The kernel's labels of each data segment with the model's answer beside them."""
    kernel = truth.label_segments(pcap)
    meta = kernel.attrs["meta"]
    ours = congestion_segments(pcap)
    ours = ours[(ours["tcp.srcport"] == meta["client"]["port"]) & (ours["tcp.dstport"] == meta["server"]["port"])]
    return kernel.merge(ours.astype({"frame.number": "int64"}), on="frame.number", how="left")


@pytest.mark.parametrize("stem", FLOWS)
def test_reno_without_sack_is_named_and_tracked(stem: str) -> None:
    pcap = DATA / f"{stem}.pcap"
    kernel = truth.label_segments(pcap)
    assert not kernel.attrs["meta"]["sack"]
    phase, cwnd, algorithm, vantage = score(pcap, kernel)
    assert (algorithm, vantage) == ("reno", "sender")
    assert phase >= 0.95, f"{stem}: phase agrees on {phase:.3f}"
    assert cwnd >= 0.90, f"{stem}: cwnd within tolerance on {cwnd:.3f}"


@pytest.mark.parametrize("stem", FLOWS)
def test_newreno_recovery_lasts_as_long_as_the_kernels(stem: str) -> None:
    """The kernel's Recovery segments are the model's fast-recovery ones, and the model
    calls no segment fast-recovery that the kernel sent in Open/Disorder."""
    seg = _labelled(DATA / f"{stem}.pcap")
    kernel_fr = seg["kernel_phase"] == "fast-recovery"
    model_fr = seg["phase"] == "fast-recovery"
    if not kernel_fr.any():
        pytest.skip(f"{stem}: the kernel never entered Recovery")
    assert (model_fr[kernel_fr]).mean() >= 0.95
    assert (model_fr & seg["kernel_phase"].isin(["slow-start", "congestion-avoidance"])).mean() <= 0.02


@pytest.mark.parametrize("stem", FLOWS)
def test_reno_slow_start_lasts_until_the_first_loss(stem: str) -> None:
    """Before the kernel's first Recovery or Loss, every segment the kernel sent in slow
    start is slow-start in the model too (Reno has no HyStart exit)."""
    seg = _labelled(DATA / f"{stem}.pcap")
    losses = seg.index[seg["kernel_phase"].isin(["fast-recovery", "rto-recovery"])]
    first = losses[0] if len(losses) else len(seg)
    head = seg.iloc[:first]
    in_slow_start = head["kernel_phase"] == "slow-start"
    assert in_slow_start.any()
    assert (head.loc[in_slow_start, "phase"] == "slow-start").all()
