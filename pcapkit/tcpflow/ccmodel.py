"""The congestion model of one sending direction: cwnd, ssthresh, phase and what limits
the sender at every data segment, its loss events and its algorithm -- from the trace.

What it takes from the literature:

* **Jaiswal et al. 2004** ("Inferring TCP connection characteristics through passive
  measurements"): replay the sender's state machine on the ACKs it receives and bound
  the window by the flight it keeps. Here, sender-side, the flight is the kernel's own
  in-flight count (:mod:`pcapkit.tcpflow.ccflight`); a window-limited sender stops when
  it reaches ``cwnd``, so the flight at the end of each ACK interval (the sends released
  by one ACK) *is* the cwnd the ACK left -- the estimate of every segment of the
  interval. Between such observations (application- or receiver-limited intervals) the
  estimate holds, as Linux does not grow a window it does not use.
* the **state machine** (RFC 5681, RFC 6582, RFC 6675, Linux's ``tcp_fastretrans_alert``):
  slow start while ``cwnd < ssthresh``; at a fast retransmit ``ssthresh = beta * cwnd``
  and fast recovery (PRR, RFC 6937: the window follows the flight) until the ACK passes
  ``high_seq``, then ``cwnd = ssthresh`` (congestion avoidance); at an RTO ``ssthresh =
  beta * cwnd`` (not again while already recovering), ``cwnd = 1`` and slow start after
  the recovery; an ECE mark: ``cwr``, a reduction without a loss. A slow start that stops
  growing while window-limited, or grows by less than a quarter of what is acknowledged
  over half a window of ACKs (CUBIC's HyStart; slow start grows by all of it), sets
  ``ssthresh = cwnd`` where it slowed; not
  for a sender named Reno, whose slow start only a loss ends (Linux's Reno has no HyStart).
  Only ACK intervals limited by the congestion window count as that evidence: a sender
  held back by the receiver's window (or with nothing more to send) does not grow its
  flight whatever its cwnd, and the kernel keeps it in slow start (Linux even grows the
  window there up to twice the flight, ``tcp_is_cwnd_limited``). On a generated set (seed
  1301) two Reno senders without loss stayed receive-window-limited for seconds; judged
  where each ACK interval began they looked window-limited, "left" slow start and were
  named CUBIC (phase 72.1 % for Reno there; 99.0 % once judged where the sends stopped).
* **Gordon 2019, DeePCCI 2019, Nebby 2024** -- algorithm identification, see
  :mod:`pcapkit.tcpflow.ccident` (beta 0.5 Reno vs 0.7 CUBIC at a loss, pacing vs ACK
  clocking, the slow-start exit).
* **BBR** (Cardwell et al. 2016, Linux ``tcp_bbr.c``): modes from the delivery rate --
  startup (window grows by what is acked, up to 2.89 BDP) until the bandwidth grew less
  than 25 % in three rounds, drain until the flight is down to one BDP, probe-bw
  (cycling pacing gains 1.25/0.75/1, window 2 BDP), probe-rtt (window 4 segments for
  200 ms) when the flight collapses to 4 segments; recovery as above.

``limited_by``, one answer per ACK interval (the sends one ACK released):
``zero-window`` (the receiver's window is 0), ``rwnd`` (the interval's last send reaches
the receiver's window less one MSS), ``cwnd`` (the interval's flight reached the
estimate, or the sender is recovering), else ``application`` (the sender had less to
send, or paced below its window).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from pcapkit.tcpflow.ccflight import (
    FlightTrace,
    LossEvent,
    replay,
    trace_flight,
)
from pcapkit.tcpflow.ccident import (
    BETA_CUBIC,
    Identification,
    SlowStartEvidence,
    identify,
    identify_with,
    outlasted_hystart,
)
from pcapkit.tcpflow.ccwindow import L_RWND, L_ZERO_WINDOW, LIMITS, P_SLOW_START
from pcapkit.tcpflow.congestion import CongestionReport, DirectionColumns, report_of

LOSS_PHASES = ("slow-start", "congestion-avoidance", "fast-recovery", "rto-recovery", "cwr")
BBR_PHASES = ("startup", "drain", "probe-bw", "probe-rtt", "fast-recovery", "rto-recovery")
#: what makes the phase change (every change of a segment's phase names one of these)
EVENTS = ("start", "fast-retransmit", "rto", "ecn", "recovery-end", "ssthresh-reached", "slow-start-exit",
          "full-bandwidth", "drained", "probe-rtt", "probe-rtt-end")


class SegmentEstimate(NamedTuple):
    """The model's state at one data segment (a named tuple: one is built per segment)."""

    frame: int
    ts_ns: int
    cwnd: int                 # bytes
    ssthresh: int | None      # bytes; None until the model has seen it set
    phase: str
    limited_by: str
    pipe: int                 # the flight after this segment (bytes, kernel's count)


@dataclass(frozen=True, slots=True)
class PhaseChange:
    index: int                # the first data segment (index) of the new phase
    phase: str
    event: str


@dataclass(slots=True)
class CongestionModel:
    report: CongestionReport
    mss: int
    identification: Identification
    segments: list[SegmentEstimate] = field(default_factory=list)
    changes: list[PhaseChange] = field(default_factory=list)
    events: list[LossEvent] = field(default_factory=list)

    @property
    def algorithm(self) -> str:
        return self.identification.algorithm

    @property
    def fast_retransmits(self) -> int:
        return sum(e.kind == "fast-retransmit" for e in self.events)

    @property
    def rtos(self) -> int:
        return sum(e.kind == "rto" for e in self.events)

    @property
    def loss_events(self) -> int:
        return self.fast_retransmits + self.rtos


def _loss_based(tr: FlightTrace, beta: float, model: CongestionModel, *, delay_exit: bool = True) -> bool:
    """Fill ``model`` for a loss-based sender; True when slow start ended without a loss."""
    rows, hystart = _loss_rows(tr, beta, delay_exit=delay_exit)
    _emit(model, tr, rows)
    return hystart


def _slow_start_evidence(tr: FlightTrace, rows: np.ndarray, hystart: bool) -> SlowStartEvidence:
    """What the window pass (``rows``: :func:`_window_pass`) saw of slow start."""
    limited = rows[:, 3]
    n = rows.shape[0]
    receiver_limited = int(np.count_nonzero((limited == L_RWND) | (limited == L_ZERO_WINDOW))) / n
    outlasted = not hystart and outlasted_hystart(tr, rows[:, 0], rows[:, 2] == P_SLOW_START)
    return SlowStartEvidence(hystart, receiver_limited, outlasted)


def _window_pass(tr: FlightTrace, beta: float, *, delay_exit: bool = True) -> tuple[np.ndarray, bool]:
    """Per data segment of a loss-based sender, as indexes (:mod:`pcapkit.tcpflow.ccwindow`):
    [cwnd, ssthresh (-1: unset), phase, limited_by, event]; and whether slow start ended
    without a loss. ``delay_exit``: the sender may leave slow start before a loss (CUBIC's
    HyStart); Linux's Reno has no such exit, its slow start lasts until the first loss
    however flat the window stays."""
    from pcapkit.tcpflow import cckernel as k
    from pcapkit.tcpflow import jit

    assert tr.columns is not None, "a FlightTrace from trace_flight or flight_trace"
    fc = tr.columns
    n, m = fc.flight.shape[0], fc.acked.shape[0]
    compiled = jit.use_compiled(None)
    columns = [np.ascontiguousarray(fc.flight[:, c]) for c in range(6)] + [np.ascontiguousarray(fc.acked[:, 0])]
    rows = np.zeros((n, 5), np.int64)
    scratch = [np.full(m + 1, -1, np.int64), np.full(m + 1, -1, np.int64), np.full(n + 1, -1, np.int64),
               np.full(n + 1, -1, np.int64)]
    hystart = k.kernel(k.window_rows, compiled)(*(columns if compiled else [c.tolist() for c in columns]),
                                                fc.events, fc.events.shape[0], fc.mss, float(beta), delay_exit,
                                                *scratch, rows)
    return rows, bool(hystart)


def _loss_rows(tr: FlightTrace, beta: float, *, delay_exit: bool = True) -> tuple[list[list], bool]:
    """:func:`_window_pass` as [cwnd, ssthresh (None: unset), phase, limited_by, event] (names)."""
    rows, hystart = _window_pass(tr, beta, delay_exit=delay_exit)
    return _loss_rows_of(rows), hystart


def _loss_rows_of(rows: np.ndarray) -> list[list]:
    return [[cwnd, None if ssthresh < 0 else ssthresh, LOSS_PHASES[phase], LIMITS[limit], EVENTS[event]]
            for cwnd, ssthresh, phase, limit, event in rows.tolist()]


def _emit(model: CongestionModel, tr: FlightTrace, rows: list[list]) -> None:
    model.segments.clear()
    model.changes.clear()
    for i, (cwnd, ssthresh, phase, limited, event) in enumerate(rows):
        s = tr.report.sent[i]
        if not model.segments or model.segments[-1].phase != phase:
            model.changes.append(PhaseChange(i, phase, event if model.segments else "start"))
        model.segments.append(SegmentEstimate(s.frame, s.ts_ns, int(cwnd), ssthresh, phase, limited, tr.pipe[i]))


def direction_identification(report: CongestionReport) -> Identification:
    """The algorithm of ``report``'s sender: :func:`model_direction`'s
    ``identification``, without the per-segment estimates it does not need (the
    window model runs only when no fast recovery measured a reduction)."""
    from pcapkit.tcpflow.ccvantage import sender_view

    report = sender_view(report)
    tr = trace_flight(report)
    if not report.sent:
        return identify(tr, False, 0.0)

    def slow_start_evidence() -> SlowStartEvidence:
        rows, hystart = _window_pass(tr, BETA_CUBIC)
        return _slow_start_evidence(tr, rows, hystart)

    return identify_with(tr, slow_start_evidence)


def columns_identification(dc: DirectionColumns, sender: tuple[str, int],
                           receiver: tuple[str, int]) -> Identification:
    """:func:`direction_identification` of a direction scanned as columns
    (:func:`pcapkit.tcpflow.congestion.scan_table`): the flight is replayed and the
    identification's passes run over arrays; Python values per segment are made only
    where the answer needs the window model (no fast recovery measured a reduction) or
    the capture was taken at the receiver (:mod:`pcapkit.tcpflow.ccvantage`)."""
    from pcapkit.tcpflow.ccvantage import SENDER, handshake_rtt_ns

    head = dc.handshake(sender, receiver)
    found = handshake_rtt_ns(head)
    if found is not None and found[0] != SENDER and dc.sent.shape[0]:
        return direction_identification(report_of(dc, sender, receiver))
    fc = replay(dc)
    tr = FlightTrace(head, fc.mss, uncaptured=fc.uncaptured, columns=fc)
    if not dc.sent.shape[0]:
        return identify(tr, False, 0.0)

    def slow_start_evidence() -> SlowStartEvidence:
        rows, hystart = _window_pass(tr, BETA_CUBIC)
        return _slow_start_evidence(tr, rows, hystart)

    return identify_with(tr, slow_start_evidence)


def model_direction(report: CongestionReport) -> CongestionModel:
    """The congestion model of ``report``'s sender (see the module doc)."""
    from pcapkit.tcpflow.ccbbr import bbr_rows
    from pcapkit.tcpflow.ccvantage import sender_view

    report = sender_view(report)
    tr = trace_flight(report)
    if not report.sent:
        return CongestionModel(report, tr.mss, identify(tr, False, 0.0))
    probe = CongestionModel(report, tr.mss, identify(tr, False, 0.0))
    window, hystart = _window_pass(tr, BETA_CUBIC)
    rows = _loss_rows_of(window)
    _emit(probe, tr, rows)
    ident = identify_with(tr, lambda: _slow_start_evidence(tr, window, hystart))
    model = CongestionModel(report, tr.mss, ident, events=[e for e in tr.events if e.kind != "ecn"])
    if ident.algorithm == "bbr":
        _emit(model, tr, bbr_rows(tr))
    elif ident.algorithm == "unknown" and not hystart and not ident.betas:
        model.segments, model.changes = probe.segments, probe.changes
    else:
        _loss_based(tr, ident.beta, model, delay_exit=ident.algorithm != "reno")
    return model


@dataclass(frozen=True, slots=True)
class PhaseInterval:
    phase: str
    start_ns: int             # the first data segment of the phase
    end_ns: int               # the first data segment of the next phase (the last one's, at the end)
    segments: int


def phase_intervals(model: CongestionModel) -> list[PhaseInterval]:
    """The phases of ``model`` as time intervals, in order."""
    segs = model.segments
    out: list[PhaseInterval] = []
    for k, change in enumerate(model.changes):
        stop = model.changes[k + 1].index if k + 1 < len(model.changes) else len(segs)
        end = segs[stop].ts_ns if stop < len(segs) else segs[-1].ts_ns
        out.append(PhaseInterval(change.phase, segs[change.index].ts_ns, end, stop - change.index))
    return out
