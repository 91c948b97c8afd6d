"""benchmarks/congestion/accuracy.py on the committed ground-truth flows: every data segment
is scored once, the model answers in issue 12's vocabulary, and tshark's bytes
in flight (the cwnd proxy) is the same number pcapkit's TCP table gives."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import requires_tshark

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "congestion"
sys.path.insert(0, str(REPO / "benchmarks" / "congestion"))

import accuracy  # noqa: E402
import models  # noqa: E402
import truth  # noqa: E402

PHASES = {"slow-start", "congestion-avoidance", "fast-recovery", "rto-recovery", "cwr",
          "startup", "drain", "probe-bw", "probe-rtt"}
LIMITS = {"cwnd", "rwnd", "application", "zero-window"}


@requires_tshark
def test_every_segment_is_scored_once_against_tshark() -> None:
    for pcap in sorted(DATA.glob("*.pcap")):
        _, segments, summary = models.pick("api")
        seg, flow = accuracy.score_flow(pcap, segments, summary)
        assert len(seg) == len(truth.label_segments(pcap)) == flow["segments"] == flow["model_rows"]
        assert seg["frame.number"].is_unique
        assert set(seg["phase"]) <= PHASES and set(seg["limited_by"]) <= LIMITS
        # tshark's answer and pcapkit's (tshark-exact) table agree segment by segment
        assert (seg["tshark_bif"].to_numpy() == seg["bytes_in_flight"].to_numpy(dtype="float64")).all()
        assert flow["predicted"] in {"reno", "cubic", "bbr", "unknown"}


@requires_tshark
def test_the_report_covers_every_flow_and_group() -> None:
    name, table, confusion, _ = accuracy.report(DATA, "api")
    assert name == "pcapkit.reports.congestion"
    everything = table.set_index("group").loc["all"]
    assert everything["flows"] == 3
    assert everything["segments"] == sum(len(truth.label_segments(p)) for p in DATA.glob("*.pcap"))
    assert set(table["group"]) >= {"all", "reno", "cubic", "bbr"}
    # on segments the kernel shows cwnd-limited, bytes in flight is within 1 MSS of cwnd
    assert everything["tshark_ok"] == 1.0
    # the share named right is the confusion matrix's diagonal over its flows
    assert everything["algo"] == sum(confusion.at[a, a] for a in confusion.index if a in confusion.columns) / 3
    assert list(confusion.index) == ["reno", "cubic", "bbr"]
