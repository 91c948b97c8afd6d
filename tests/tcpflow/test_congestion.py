"""pcapkit.tcpflow.congestion against tshark's TCP analysis on real captures."""

from __future__ import annotations

import itertools
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.tcpflow.ccmodel import PhaseChange, model_direction
from pcapkit.tcpflow.congestion import analyse_direction, largest_transfer
from pcapkit.tcpflow.segments import segments


def _report(rel: str):  # type: ignore[no-untyped-def]
    segs = list(segments(CORPUS / rel))
    pair = largest_transfer(segs)
    assert pair is not None
    return analyse_direction(segs, *pair)


def _ns(text: str) -> int:
    return int(Decimal(text) * 1_000_000_000)


@requires_tshark
def test_bytes_in_flight_matches_tshark_without_sack(corpus: Path) -> None:
    rel = "labs/tcp-ethereal-trace-1"
    rep = _report(rel)
    rows = tshark_fields(CORPUS / rel, ["frame.number", "tcp.analysis.bytes_in_flight"],
                         display_filter=f"ip.src=={rep.sender[0]} and tcp.srcport=={rep.sender[1]} and tcp.len>0")
    theirs = {int(r["frame.number"]): int(r["tcp.analysis.bytes_in_flight"]) for r in rows}
    ours = {s.frame: s.bytes_in_flight for s in rep.sent}
    assert ours == theirs


@requires_tshark
@pytest.mark.parametrize("rel", ["tcp/tcp_retransmissions.pcapng", "tcp/retransmit-fast009.pcap"])
def test_losses_and_rto_match_tshark(corpus: Path, rel: str) -> None:
    rep = _report(rel)
    rows = tshark_fields(CORPUS / rel, ["frame.number", "tcp.analysis.rto", "tcp.analysis.fast_retransmission"],
                         display_filter=f"tcp.analysis.retransmission and ip.src=={rep.sender[0]} "
                                        f"and tcp.srcport=={rep.sender[1]}")
    assert [lo.frame for lo in rep.losses] == [int(r["frame.number"]) for r in rows]
    for lo, r in zip(rep.losses, rows, strict=True):
        if "tcp.analysis.rto" in r:
            assert lo.rto_ns == _ns(r["tcp.analysis.rto"])
        assert (lo.kind == "fast-retransmit") == ("tcp.analysis.fast_retransmission" in r)
    if rel.endswith("tcp_retransmissions.pcapng"):
        # exponential backoff: each timeout waits about twice the previous one
        gaps = [b.ts_ns - a.ts_ns for a, b in zip(rep.losses, rep.losses[1:], strict=False)]
        assert all(1.8 < b / a < 2.2 for a, b in itertools.pairwise(gaps))


@requires_tshark
def test_rtt_samples_are_karn_and_match_tshark_ack_rtt(corpus: Path) -> None:
    rel = "labs/tcp-ethereal-trace-1"
    rep = _report(rel)
    rows = tshark_fields(CORPUS / rel, ["frame.number", "tcp.analysis.ack_rtt"],
                         display_filter=f"tcp.analysis.ack_rtt and ip.src=={rep.receiver[0]} "
                                        f"and tcp.srcport=={rep.receiver[1]} and tcp.flags.syn==0")
    theirs = {int(r["frame.number"]): _ns(r["tcp.analysis.ack_rtt"]) for r in rows}
    assert rep.rtt_samples
    for frame, _, rtt in rep.rtt_samples:  # no retransmissions here: Karn == tshark
        assert theirs[frame] == rtt
    assert rep.min_rtt_ns == min(theirs.values())


def test_flights_partition_the_data_and_the_model_labels_them(corpus: Path) -> None:
    rep = _report("labs/tcp-ethereal-trace-1")
    assert sum(f.segments for f in rep.flights) == len(rep.sent)
    assert sum(f.bytes for f in rep.flights) == sum(s.length for s in rep.sent)
    model = model_direction(rep)
    by_frame = {e.frame: e for e in model.segments}
    assert [e.frame for e in model.segments] == [s.frame for s in rep.sent]
    # no loss and no stall of a window-limited slow start: slow start throughout (the
    # kernel's definition: cwnd < ssthresh, and ssthresh was never set)
    assert {e.phase for e in model.segments} == {"slow-start"}
    assert model.loss_events == 0 and model.changes == [PhaseChange(0, "slow-start", "start")]
    # the well-known shape of this trace: the sender ends up sending fleets of
    # 6 segments (8192 bytes, one application write) about one period apart, with all
    # earlier data acknowledged in between -> limited by the application
    steady = rep.flights[6:-2]
    assert steady and all(f.bytes == 8192 for f in steady)
    starts = {f.first_frame for f in steady}
    assert all(by_frame[fr].limited_by == "application" for fr in starts)
    assert model.algorithm == "unknown" and "application-limited" in (model.identification.reason or "")
    periods = [f.period_ns for f in steady if f.period_ns]
    assert max(periods) < 2 * min(periods)


@requires_tshark
def test_timeouts_are_rto_recovery(corpus: Path) -> None:
    rep = _report("tcp/tcp_retransmissions.pcapng")
    assert all(lo.kind == "timeout" for lo in rep.losses)
    model = model_direction(rep)
    assert [e.phase for e in model.segments[1:]] == ["rto-recovery"] * (len(model.segments) - 1)
    # each back-off is a timeout of its own (tshark: one retransmission per timeout)
    assert model.rtos == len(rep.losses) and model.fast_retransmits == 0
    assert model.algorithm == "unknown"
