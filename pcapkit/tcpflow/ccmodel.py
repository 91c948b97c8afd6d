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

from pcapkit.tcpflow.ccflight import (
    OPEN,
    FlightTrace,
    LossEvent,
    burst_ends,
    flight_trace,
    last_sends,
    limit_of,
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
from pcapkit.tcpflow.congestion import CongestionReport, DirectionColumns, report_of

INITIAL_WINDOW = 10          # segments (RFC 6928, Linux's default)
LOSS_PHASES = ("slow-start", "congestion-avoidance", "fast-recovery", "rto-recovery", "cwr")
BBR_PHASES = ("startup", "drain", "probe-bw", "probe-rtt", "fast-recovery", "rto-recovery")
LIMITS = ("cwnd", "rwnd", "application", "zero-window")
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


def _slow_start_evidence(tr: FlightTrace, rows: list[list], hystart: bool) -> SlowStartEvidence:
    limited = [row[3] for row in rows]
    outlasted = not hystart and outlasted_hystart(tr, [row[0] for row in rows], [row[2] for row in rows])
    return SlowStartEvidence(hystart, _receiver_limited(limited), outlasted)


def _loss_rows(tr: FlightTrace, beta: float, *, delay_exit: bool = True) -> tuple[list[list], bool]:
    """[cwnd, ssthresh, phase, limited_by, event] per data segment of a loss-based sender,
    and whether slow start ended without a loss. ``delay_exit``: the sender may leave slow
    start before a loss (CUBIC's HyStart); Linux's Reno has no such exit, its slow start
    lasts until the first loss however flat the window stays."""
    mss = tr.mss
    ends, lasts = burst_ends(tr), last_sends(tr)
    starts = {e.first_index: e for e in tr.events}
    exits = {e.end_index: e for e in tr.events if e.end_index is not None}
    est = INITIAL_WINDOW * mss
    ssthresh: int | None = None
    hystart = False
    prev_iv: int | None = None
    limited = "cwnd"
    grown_at = 0              # segment index where slow start last grew the estimate
    acked_flat = 0            # bytes acked since, while window-limited
    ref_i, ref_est, acked_since = 0, est, 0   # where the last growth check began, the window then, bytes acked since
    rows: list[list] = []     # [cwnd, ssthresh, phase, limited, event]
    prev_state = OPEN
    for i in range(len(tr.pipe)):
        state = tr.state[i]
        event = ""
        ev = starts.get(i)
        if ev is not None:
            event = "rto" if ev.kind == "rto" else ("ecn" if ev.kind == "ecn" else "fast-retransmit")
            if prev_state == OPEN or ev.kind != "rto":
                ssthresh = max(int(beta * est), 2 * mss)
            if ev.kind == "rto":
                est = mss
        elif i in exits:
            event = "recovery-end"
            if exits[i].kind != "rto" and ssthresh is not None:
                est = ssthresh
        iv = tr.interval[i]
        if iv != prev_iv:
            flight = ends[iv]
            recovering = state != OPEN
            limited = limit_of(tr, i, lasts[iv], recovering, flight, est)
            if recovering:
                est = max(flight, mss)
            elif limited == "cwnd":
                exit_at = None
                if flight > est:
                    est, grown_at, acked_flat = flight, i, 0
                elif ssthresh is None and iv >= 0 and delay_exit:
                    acked_flat += tr.acked[iv]
                    if acked_flat >= max(est // 4, 3 * mss):   # slow start stopped growing
                        exit_at, ssthresh = grown_at, est
                if ssthresh is None and iv >= 0 and delay_exit:
                    # slow start grows the window by what each ACK acknowledges; a window
                    # growing by less than a quarter of that over half a window's ACKs
                    # left it (HyStart) where the slow growth began
                    acked_since += tr.acked[iv]
                    if acked_since >= max(ref_est // 2, 4 * mss):
                        if est - ref_est < acked_since // 4:
                            exit_at, ssthresh = ref_i, ref_est
                        ref_i, ref_est, acked_since = i, est, 0
                if exit_at is not None:
                    hystart = True
                    for row in rows[exit_at + 1:]:
                        if row[2] == "slow-start":
                            row[2] = "congestion-avoidance"
                    if exit_at + 1 < len(rows):
                        rows[exit_at + 1][4] = "slow-start-exit"
                    else:
                        event = "slow-start-exit"
            prev_iv = iv
        est = max(est, tr.pipe[i])
        if state == OPEN:
            phase = "slow-start" if ssthresh is None or est < ssthresh else "congestion-avoidance"
            if not event and rows and rows[-1][2] != phase:
                event = "ssthresh-reached"
        else:
            phase = state
        rows.append([est, ssthresh, phase, limited, event or "start"])
        prev_state = state
    return rows, hystart


def _emit(model: CongestionModel, tr: FlightTrace, rows: list[list]) -> None:
    model.segments.clear()
    model.changes.clear()
    for i, (cwnd, ssthresh, phase, limited, event) in enumerate(rows):
        s = tr.report.sent[i]
        if not model.segments or model.segments[-1].phase != phase:
            model.changes.append(PhaseChange(i, phase, event if model.segments else "start"))
        model.segments.append(SegmentEstimate(s.frame, s.ts_ns, int(cwnd), ssthresh, phase, limited, tr.pipe[i]))


def _receiver_limited(limited_by: list[str]) -> float:
    """The share of data segments the receiver's window limited."""
    return sum(limit in ("rwnd", "zero-window") for limit in limited_by) / len(limited_by)


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
        rows, hystart = _loss_rows(tr, BETA_CUBIC)
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
        full = flight_trace(report_of(dc, sender, receiver), fc)
        rows, hystart = _loss_rows(full, BETA_CUBIC)
        return _slow_start_evidence(full, rows, hystart)

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
    rows, hystart = _loss_rows(tr, BETA_CUBIC)
    _emit(probe, tr, rows)
    ident = identify_with(tr, lambda: _slow_start_evidence(tr, rows, hystart))
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
