"""The congestion model's invariants over random senders (Hypothesis): whatever the trace,
the model gives one estimate per data segment, never a window below the flight it
measured while it calls the sender window-limited, and changes phase only at an event
it names."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcapkit.tcpflow.ccmodel import BBR_PHASES, EVENTS, LIMITS, LOSS_PHASES, model_direction
from pcapkit.tcpflow.congestion import analyse_direction
from pcapkit.tcpflow.segment import ACK, ECE, SYN, Segment

SENDER, RECEIVER = ("10.0.0.1", 40000), ("10.0.0.2", 5201)
ISN_S, ISN_R = 1_000_000, 7_000_000
MSS = 1000


@st.composite
def senders(draw: st.DrawFn) -> list[Segment]:
    """A handshake, then a random mix of new data, retransmissions, cumulative and
    duplicate ACKs with SACK blocks, window changes (0 too), ECE marks and pauses."""
    ts = 1_000_000_000
    frame = 0
    segs: list[Segment] = []

    def add(src: tuple[str, int], dst: tuple[str, int], seq: int, ack: int, flags: int, window: int,
            length: int, blocks: tuple[tuple[int, int], ...] = ()) -> None:
        nonlocal frame
        frame += 1
        segs.append(Segment(frame, ts, src[0], dst[0], src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                            flags, window, length, mss=MSS if flags & SYN else None,
                            wscale=0 if flags & SYN else None, sack_permitted=bool(flags & SYN),
                            sack_blocks=blocks))

    add(SENDER, RECEIVER, ISN_S, 0, SYN, 65535, 0)
    ts += 10_000_000
    add(RECEIVER, SENDER, ISN_R, ISN_S + 1, SYN | ACK, 65535, 0)
    ts += 10_000_000
    nxt = una = 1
    for _ in range(draw(st.integers(1, 120))):
        ts += draw(st.sampled_from([0, 10_000, 200_000, 5_000_000, 250_000_000]))
        kind = draw(st.sampled_from(["data", "data", "data", "ack", "ack", "dup", "retx"]))
        if kind == "data":
            length = draw(st.sampled_from([MSS, MSS, 1, 300]))
            add(SENDER, RECEIVER, ISN_S + nxt, ISN_R + 1, ACK, 65535, length)
            nxt += length
        elif kind == "retx" and nxt > una:
            start = draw(st.integers(una, nxt - 1))
            add(SENDER, RECEIVER, ISN_S + start, ISN_R + 1, ACK, 65535, min(MSS, nxt - start))
        else:
            if kind == "ack":
                una = draw(st.integers(una, nxt))
            blocks: tuple[tuple[int, int], ...] = ()
            if nxt > una + 1 and draw(st.booleans()):
                lo = draw(st.integers(una + 1, nxt - 1))
                hi = draw(st.integers(lo + 1, nxt))
                blocks = ((ISN_S + lo, ISN_S + hi),)
            window = draw(st.sampled_from([65535, 65535, 20000, 0]))
            flags = ACK | (ECE if draw(st.integers(0, 15)) == 0 else 0)
            add(RECEIVER, SENDER, ISN_R + 1, ISN_S + una, flags, window, 0, blocks)
    return segs


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(senders())
def test_model_invariants(segs: list[Segment]) -> None:
    report = analyse_direction(segs, SENDER, RECEIVER)
    model = model_direction(report)
    # one estimate per data segment, in order
    assert [e.frame for e in model.segments] == [s.frame for s in report.sent]
    phases = set(LOSS_PHASES) | set(BBR_PHASES)
    for e in model.segments:
        assert e.phase in phases and e.limited_by in LIMITS
        assert e.cwnd > 0 and (e.ssthresh is None or e.ssthresh > 0)
        if e.limited_by == "cwnd":
            # never below the flight (the kernel's count: sent - SACKed - lost + re-sent)
            assert e.cwnd >= e.pipe, e
    # a phase changes only where the model names the event that changed it
    starts = {c.index: c for c in model.changes}
    assert all(c.event in EVENTS for c in model.changes)
    for i, e in enumerate(model.segments):
        changed = i == 0 or model.segments[i - 1].phase != e.phase
        assert changed == (i in starts), (i, e.phase)
        if changed:
            assert starts[i].phase == e.phase
    assert (model.changes[0].event == "start") if model.segments else not model.changes
    # the episodes the summary counts are the model's events
    assert model.loss_events == model.fast_retransmits + model.rtos
    assert model.identification.algorithm in ("reno", "cubic", "bbr", "unknown")
    assert (model.identification.algorithm == "unknown") == (model.identification.reason is not None)
