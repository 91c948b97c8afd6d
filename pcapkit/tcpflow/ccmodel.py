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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from pcapkit.tcpflow.ccflight import (
    FlightTrace,
    LossEvent,
    flight_trace,
    loss_events,
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
#: every phase, the loss-based ones first (a window pass' phase index is its index here)
PHASES: tuple[str, ...] = tuple(dict.fromkeys(LOSS_PHASES + BBR_PHASES))
#: what makes the phase change (every change of a segment's phase names one of these)
EVENTS = ("start", "fast-retransmit", "rto", "ecn", "recovery-end", "ssthresh-reached", "slow-start-exit",
          "full-bandwidth", "drained", "probe-rtt", "probe-rtt-end")
# the columns of ModelColumns.rows
CWND, SSTHRESH, PHASE, LIMITED_BY, EVENT = range(5)


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


class _LossCounts:
    """The loss counts of a model's ``events`` (:class:`CongestionModel`, :class:`ModelColumns`)."""

    __slots__ = ()
    events: list[LossEvent]

    @property
    def fast_retransmits(self) -> int:
        return sum(e.kind == "fast-retransmit" for e in self.events)

    @property
    def rtos(self) -> int:
        return sum(e.kind == "rto" for e in self.events)

    @property
    def loss_events(self) -> int:
        return self.fast_retransmits + self.rtos


@dataclass(slots=True)
class CongestionModel(_LossCounts):
    report: CongestionReport
    mss: int
    identification: Identification
    segments: list[SegmentEstimate] = field(default_factory=list)
    changes: list[PhaseChange] = field(default_factory=list)
    events: list[LossEvent] = field(default_factory=list)

    @property
    def algorithm(self) -> str:
        return self.identification.algorithm


@dataclass(slots=True)
class ModelColumns(_LossCounts):
    """:class:`CongestionModel` as arrays, one row per data segment: its ``frame``,
    ``ts_ns``, the ``pipe`` after it and ``rows`` of [cwnd, ssthresh (-1: unset), phase
    (index in PHASES), limited_by (index in LIMITS), event (index in EVENTS)] (the columns
    CWND, SSTHRESH, PHASE, LIMITED_BY, EVENT); its loss ``events`` (not ECN) and the
    ``vantage`` of the capture. A report of a million segments reads these, not a million
    :class:`SegmentEstimate` values."""

    identification: Identification
    mss: int
    vantage: str
    frame: np.ndarray
    ts_ns: np.ndarray
    pipe: np.ndarray
    rows: np.ndarray
    events: list[LossEvent]


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
    compiled = jit.use_compiled(fc.compiled)
    columns = [np.ascontiguousarray(fc.flight[:, c]) for c in range(6)] + [np.ascontiguousarray(fc.acked[:, 0])]
    rows = np.zeros((n, 5), np.int64)
    scratch = [np.full(m + 1, -1, np.int64), np.full(m + 1, -1, np.int64), np.full(n + 1, -1, np.int64),
               np.full(n + 1, -1, np.int64)]
    hystart = k.kernel(k.window_rows, compiled)(*(columns if compiled else [c.tolist() for c in columns]),
                                                fc.events, fc.events.shape[0], fc.mss, float(beta), delay_exit,
                                                *scratch, rows)
    return rows, bool(hystart)


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
    from pcapkit.tcpflow.ccvantage import sender_view

    report = sender_view(report)
    tr = trace_flight(report)
    return model_values(report, _model_columns(tr, lambda: tr))


def model_columns(dc: DirectionColumns, sender: tuple[str, int], receiver: tuple[str, int], *,
                  compiled: bool | None = None) -> ModelColumns:
    """:func:`model_direction` of a direction scanned as columns
    (:func:`pcapkit.tcpflow.congestion.scan_table`), as :class:`ModelColumns`: arrays
    from the scan to the answer; Python values per segment are made only for a BBR sender
    (its pass reads lists) or a capture taken at the receiver (:mod:`pcapkit.tcpflow.ccvantage`).
    ``compiled``: the backend (None: the default)."""
    from pcapkit.tcpflow.ccvantage import SENDER, handshake_rtt_ns, sender_view

    head = dc.handshake(sender, receiver)
    found = handshake_rtt_ns(head)
    if found is not None and found[0] != SENDER and dc.sent.shape[0]:
        tr = trace_flight(sender_view(report_of(dc, sender, receiver)))
        return _model_columns(tr, lambda: tr)
    fc = replay(dc, compiled=compiled)
    tr = FlightTrace(head, fc.mss, uncaptured=fc.uncaptured, columns=fc)
    return _model_columns(tr, lambda: flight_trace(report_of(dc, sender, receiver), fc))


def _model_columns(tr: FlightTrace, full_trace: Callable[[], FlightTrace]) -> ModelColumns:
    """The model of ``tr``'s sender; its passes read ``tr.columns``, and BBR's the lists of
    ``full_trace()`` (``tr`` with its Python values per segment)."""
    from pcapkit.tcpflow.ccbbr import bbr_rows

    fc = tr.columns
    assert fc is not None, "a FlightTrace from trace_flight or flight_trace"
    frame, ts_ns, pipe = (np.ascontiguousarray(c) for c in (fc.sent[:, 0], fc.sent[:, 1], fc.flight[:, 1]))
    if not fc.sent.shape[0]:
        return ModelColumns(identify(tr, False, 0.0), tr.mss, fc.vantage, frame, ts_ns, pipe,
                            np.zeros((0, 5), np.int64), [])
    window, hystart = _window_pass(tr, BETA_CUBIC)
    ident = identify_with(tr, lambda: _slow_start_evidence(tr, window, hystart))
    if ident.algorithm == "bbr":
        rows = _named_rows(bbr_rows(full_trace()))
    elif ident.algorithm == "reno" or ident.beta != BETA_CUBIC:
        rows = _window_pass(tr, ident.beta, delay_exit=ident.algorithm != "reno")[0]
    else:
        rows = window  # (CUBIC's and an unknown sender's window pass is the one just run)
    return ModelColumns(ident, tr.mss, fc.vantage, frame, ts_ns, pipe, rows,
                        [e for e in loss_events(fc) if e.kind != "ecn"])


def _named_rows(rows: list[list]) -> np.ndarray:
    """[cwnd, ssthresh (None: unset), phase, limited_by, event] (names) as ModelColumns' rows."""
    phase, limit, event = ({name: i for i, name in enumerate(names)} for names in (PHASES, LIMITS, EVENTS))
    out = [(cwnd, -1 if ssthresh is None else ssthresh, phase[p], limit[lim], event[e])
           for cwnd, ssthresh, p, lim, e in rows]
    return np.array(out, dtype=np.int64).reshape(len(out), 5)


def model_values(report: CongestionReport, mc: ModelColumns) -> CongestionModel:
    """The :class:`CongestionModel` of ``mc`` (``report``: the direction as its sender met it):
    a :class:`SegmentEstimate` per data segment and a :class:`PhaseChange` where the phase
    changes (the first segment's event is ``start``)."""
    rows = mc.rows
    phases = np.array(PHASES, dtype=object)[rows[:, PHASE]].tolist()
    limits = np.array(LIMITS, dtype=object)[rows[:, LIMITED_BY]].tolist()
    ssthresh = [None if v < 0 else v for v in rows[:, SSTHRESH].tolist()]
    segments = list(map(SegmentEstimate, mc.frame.tolist(), mc.ts_ns.tolist(), rows[:, CWND].tolist(), ssthresh,
                        phases, limits, mc.pipe.tolist()))
    changed = np.flatnonzero(np.r_[True, rows[1:, PHASE] != rows[:-1, PHASE]]) if len(rows) else np.zeros(0, int)
    changes = [PhaseChange(i, phases[i], EVENTS[rows[i, EVENT]] if i else "start") for i in changed.tolist()]
    return CongestionModel(report, mc.mss, mc.identification, segments, changes, mc.events)


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
