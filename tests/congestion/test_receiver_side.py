"""The congestion model on captures taken at the receiver, against the sender kernel's
own state (issue 12: "receiver-side captures: measure and report the same figures").

tests/data/congestion-receiver/ holds three generated uploads (Reno, CUBIC, BBR; 2.5 s at
2-3 Mbit/s, TCP timestamps on; see its README), each captured at the sender and, after
the bottleneck, at the receiver, with the sender kernel's tcp_probe/ca_state/ss truth.
Every data segment of the receiver's capture takes the state its own frame was sent
under (benchmarks/congestion/truth.py, ``label_receiver_segments``).

The model reads a receiver-side capture in the sender's order (pcapkit.tcpflow.ccvantage);
read in the capture's order instead, its cwnd is wrong on most window-limited segments,
which the last test checks, so that the floors here measure the reordering.
"""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from conftest import requires_tshark
from oracle import tshark_fields

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data" / "congestion-receiver"
BENCH = REPO / "benchmarks" / "congestion"
sys.path.insert(0, str(BENCH))

import truth  # noqa: E402
from test_model_vs_kernel import score  # noqa: E402

from pcapkit.reports.congestion import congestion_summary  # noqa: E402

# name stem -> (algorithm, phase floor, cwnd floor); measured 0.995 / 1.000 / 1.000 phase
# and 1.000 cwnd on each when this was written
FLOORS = {
    "000-reno": ("reno", 0.95, 0.90),
    "001-cubic": ("cubic", 0.95, 0.90),
    "002-bbr": ("bbr", 0.95, 0.90),
}


def _score(stem: str) -> tuple[float, float, str, str]:
    rx = DATA / f"{stem}.receiver.pcap"
    return score(rx, truth.label_receiver_segments(rx))


@pytest.mark.parametrize("stem", sorted(FLOORS))
def test_model_agrees_with_the_kernel_from_the_receiver(stem: str) -> None:
    algorithm, phase_floor, cwnd_floor = FLOORS[stem]
    phase, cwnd, named, vantage = _score(stem)
    assert vantage == "receiver"
    assert named == algorithm
    assert phase >= phase_floor, f"{stem}: phase agrees on {phase:.3f}"
    assert cwnd >= cwnd_floor, f"{stem}: cwnd within tolerance on {cwnd:.3f}"


def _ns(text: str) -> int:
    return int(Decimal(text) * 1_000_000_000)


@requires_tshark
@pytest.mark.parametrize("path", ["tests/data/congestion-receiver/000-reno.pcap",
                                  "tests/data/congestion-receiver/000-reno.receiver.pcap",
                                  "corpus:labs/tcp-ethereal-trace-1", "corpus:labs/http-ethereal-trace-5",
                                  "corpus:labs/ssl-ethereal-trace-1"])
def test_vantage_follows_the_handshake(path: str, corpus: Path) -> None:
    """Each sending direction's vantage against tshark's handshake: the capture is near
    the end that answers at once (the answer to the other end's SYN or SYN-ACK comes
    sooner than that end's own answer)."""
    file = corpus / path.removeprefix("corpus:") if path.startswith("corpus:") else REPO / path
    if not file.exists():
        pytest.skip(f"{file} is not here")
    rows = tshark_fields(file, ["tcp.stream", "frame.time_epoch", "ip.src", "tcp.srcport", "tcp.flags.syn",
                                "tcp.flags.ack"])
    expected: dict[tuple[int, int], str] = {}
    for stream in {r["tcp.stream"] for r in rows if "tcp.stream" in r}:
        conn = [r for r in rows if r.get("tcp.stream") == stream]
        syn = next((r for r in conn if r.get("tcp.flags.syn") == "1" and r.get("tcp.flags.ack") == "0"), None)
        synack = next((r for r in conn if r.get("tcp.flags.syn") == "1" and r.get("tcp.flags.ack") == "1"), None)
        if syn is None or synack is None:
            continue
        ack = next((r for r in conn if r.get("tcp.flags.syn") == "0" and _ns(r["frame.time_epoch"])
                    >= _ns(synack["frame.time_epoch"])), None)
        if ack is None:
            continue
        to_answer = _ns(synack["frame.time_epoch"]) - _ns(syn["frame.time_epoch"])
        to_ack = _ns(ack["frame.time_epoch"]) - _ns(synack["frame.time_epoch"])
        near_port = int(syn["tcp.srcport"]) if to_answer >= to_ack else int(synack["tcp.srcport"])
        for port in (int(syn["tcp.srcport"]), int(synack["tcp.srcport"])):
            expected[(int(stream), port)] = "sender" if port == near_port else "receiver"
    summary = congestion_summary(file)
    summary = summary[summary["data_segments"] > 0]
    checked = 0
    for st, sport, vantage in zip(summary["tcp.stream"], summary["tcp.srcport"], summary["vantage"], strict=True):
        if (int(st), int(sport)) in expected:
            assert vantage == expected[(int(st), int(sport))], (st, sport)
            checked += 1
    assert checked > 0


def test_the_capture_order_would_be_wrong_at_the_receiver(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the reordering the receiver's capture shows the ACKs a round trip early,
    and the cwnd estimate fails on most window-limited segments of some flow."""
    from pcapkit.tcpflow import ccvantage

    worst = min(_score(stem)[1] for stem in FLOORS)
    monkeypatch.setattr(ccvantage, "sender_view", lambda report: report)
    unordered = min(_score(stem)[1] for stem in FLOORS)
    assert worst >= 0.9 > 0.5 > unordered, (worst, unordered)


def test_receiver_labels_are_the_sender_frames() -> None:
    """Each receiver-side data segment is one the sender's capture shows (same IP ID, raw
    sequence number and length), with its labels."""
    for stem in FLOORS:
        rx = truth.label_receiver_segments(DATA / f"{stem}.receiver.pcap")
        tx = truth.label_segments(DATA / f"{stem}.pcap").set_index("frame.number")
        assert rx["sender_frame"].notna().all()
        assert len(rx) <= len(tx)
        assert (rx["kernel_phase"].to_numpy() == tx.loc[rx["sender_frame"].to_numpy(dtype="int64"),
                                                        "kernel_phase"].to_numpy()).all()
        assert pd.Series(rx["sender_frame"]).is_unique
