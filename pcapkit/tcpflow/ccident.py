"""Which congestion-control algorithm a sender runs, from its trace alone.

The evidence (what the published classifiers look at, reduced to what a rule can weigh):

* **the reduction at a loss** (Gordon 2019, Nebby 2024): after a fast recovery a
  loss-based sender leaves with ``cwnd = ssthresh = beta * cwnd_at_loss`` -- beta is 0.5
  for Reno (RFC 5681), 717/1024 = 0.7 for Linux's CUBIC (RFC 9438) -- while BBR keeps its
  window (packet conservation, then its previous cwnd). The ratio of the flight the
  sender keeps in the round trip after the recovery to the flight in the round trip
  before the loss estimates beta;
* **pacing** (DeePCCI 2019 learns it from inter-arrival times; Nebby from the sending
  rate's probe cycles): a window-based Linux sender without fq transmits as an ACK
  arrives (ACK clocking), BBR transmits at its pacing rate whatever the ACKs do -- the
  share of new data segments sent right after an ACK separates the two;
* **the slow-start exit** (Nebby's "window growth shape"): CUBIC's HyStart leaves slow
  start before any loss; Reno doubles until the first loss. With no loss at all, an
  ACK-clocked sender whose window still grew by an eighth or more in the round trip after
  the RTT rose past HyStart's delay threshold (the kernel's own rule, replayed on the
  trace's RTT samples: :func:`outlasted_hystart`) has no HyStart: Reno. On generated
  flows CUBIC grew by at most 6 % there, Reno by 14-76 % (less only where a loss came
  first), BBR by up to 36 % but paced (7-53 % ACK-clocked; the rule asks 60 %). It names
  two no-loss Reno senders the receiver's window held back (set 1301), which were
  ``unknown`` before;
* **how consistent the reductions are**: a loss-based sender's flight after every
  recovery is its beta times the flight before, give or take the growth of a round trip,
  so nearly all measured factors lie between 0.3 and 0.8 and almost none above. BBR's
  do not: it keeps its window (factors near or above 1), and without SACK its
  recoveries often end in a timeout (factors near 0), so a median of them can land on
  0.5 or 0.7 by chance. A sender whose factors are mostly outside that band is not
  loss-based, whatever their median; one whose factors nearly all lie in it is, even
  when its sends look paced; so is one whose every factor lies in it, from two on. The
  pacing evidence is a timing threshold, and a busy sender answers ACKs late: on flows
  generated on a loaded machine (benchmarks/congestion, set7) Reno and CUBIC sent only
  16-38 % of their segments within it, and two with two or three reductions, all in the
  band, were called paced. Over 246 generated flows no BBR sender showed two or more
  reductions all in the band (94 Reno/CUBIC senders did).

A direction with too little data, no round trip measured or a gap in the capture gets
``unknown`` with the reason; so does a loss-based sender that never reduced its window.

A capture taken at the receiver (:mod:`pcapkit.tcpflow.ccvantage`) cannot show pacing: the
segments arrive spaced by the bottleneck between, whatever the sender did. There the
reductions decide alone.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from pcapkit.tcpflow.ccflight import FlightColumns, FlightTrace

BETA_RENO, BETA_CUBIC = 0.5, 717 / 1024
MIN_SEGMENTS = 50           # fewer data segments than this say nothing about the algorithm
ACK_CLOCK_NS = 150_000      # a segment sent this soon after an ACK was released by it
PACED_SHARE = 0.4           # below this share of ACK-clocked segments, a sender paces
BBR_BETA = 0.8              # a sender keeping more than this of its flight through a recovery: BBR
PARTLY_PACED_SHARE = 0.6    # below this, erratic reductions name BBR (loss-based senders measured 0.39-0.9)
MD_BAND = (0.3, 0.8)        # the factors a multiplicative decrease (0.5 or 0.7) leaves, with a round trip's growth
MIN_BETAS = 3               # fewer measured reductions than this say nothing about their consistency
ERRATIC_SHARE = 0.5         # below this share of factors in MD_BAND, reductions are not a loss-based sender's
KEPT_SHARE = 0.3            # at least this share of factors above MD_BAND: the sender keeps its window (BBR)
CONSISTENT_SHARE = 0.75     # at least this share in MD_BAND (and few kept) outweighs pacing ...
CONSISTENT_BETAS = 5        # ... given this many measured reductions
UNANIMOUS_BETAS = 2         # this many reductions, every one in MD_BAND, outweigh any timing
# CUBIC's HyStart delay detection (Linux tcp_cubic.c): from a window of HYSTART_LOW_WINDOW
# segments on, the smallest of a round's first HYSTART_MIN_SAMPLES RTT samples above the
# minimum RTT by min RTT / 8, clamped to HYSTART_DELAY_NS, ends slow start
HYSTART_LOW_WINDOW = 16
HYSTART_MIN_SAMPLES = 8
HYSTART_DELAY_NS = (4_000_000, 16_000_000)
KEPT_GROWING = 0.125        # growth in a round trip: slow start's is 1, CUBIC's avoidance's < 1/16 from 16 segments on


@dataclass(frozen=True, slots=True)
class Identification:
    algorithm: str            # "reno", "cubic", "bbr" or "unknown"
    confidence: float         # 0..1
    reason: str | None        # why unknown (None otherwise)
    beta: float               # the reduction factor the model applies at a loss
    ack_clocked_share: float
    betas: tuple[float, ...]  # the reduction measured at each fast recovery


def min_rtt_ns(tr: FlightTrace) -> int | None:
    return tr.report.min_rtt_ns


def _clocked(fc: FlightColumns, end: int) -> tuple[int, int]:
    """(new data segments among the first ``end`` sent within ACK_CLOCK_NS of the last ACK
    before them, new data segments sent after some ACK)."""
    from pcapkit.tcpflow import cckernel as k
    from pcapkit.tcpflow import jit

    compiled = jit.use_compiled(fc.compiled)
    columns = [np.ascontiguousarray(fc.sent[:, 1]), np.ascontiguousarray(fc.sent[:, 5]), fc.ack_ts]
    out = np.array([0, 0, ACK_CLOCK_NS], np.int64)
    k.kernel(k.clocked_counts, compiled)(*(columns if compiled else [c.tolist() for c in columns]), end, out)
    return int(out[0]), int(out[1])


def _flight_columns(tr: FlightTrace) -> FlightColumns:
    assert tr.columns is not None, "a FlightTrace from trace_flight or flight_trace"
    return tr.columns


def ack_clocked_share(tr: FlightTrace) -> float:
    """The share of new data segments sent within ACK_CLOCK_NS of the last ACK."""
    fc = _flight_columns(tr)
    near, total = _clocked(fc, fc.sent.shape[0])
    return near / total if total else 1.0


def measured_betas(tr: FlightTrace) -> list[float]:
    """Per fast recovery: the flight the sender settled at / the flight before the loss.

    Linux's PRR (RFC 6937) brings the flight down to ``ssthresh`` within the recovery's
    first round trip and holds it there while it can, so ``ssthresh`` shows as

    * the largest flight in the round trip after the recovery -- the largest, not the
      median: a sender leaving a recovery with little in flight sends at most half its
      window per ACK (``tcp_cwnd_test``), and the flight climbs back to ``cwnd`` over
      that round trip;
    * when the recovery never ended in the capture, or the flight had drained inside it
      (below ccidentpasses.DRAINED_SHARE of the flight before the loss: NewReno without SACK repairs
      one hole per round trip, and behind the hole the receiver's window stalls the
      sender -- a queue overflow's burst of losses took seconds on generated flows): the
      first level the flight held for a (minimum) round trip inside it, searched from
      half a round trip (the queue's included: the RTT measured last before the loss)
      after its start, when PRR's descent is nearly over.
    """
    from pcapkit.tcpflow import cckernel as k
    from pcapkit.tcpflow import jit

    fc = _flight_columns(tr)
    compiled = jit.use_compiled(fc.compiled)
    columns = [np.ascontiguousarray(fc.sent[:, 1]), np.ascontiguousarray(fc.flight[:, 1])]
    samples = [np.ascontiguousarray(fc.rtt[:, 1]), np.ascontiguousarray(fc.rtt[:, 2])]
    if not compiled:
        columns, samples = [c.tolist() for c in columns], [c.tolist() for c in samples]
    out = np.zeros(fc.events.shape[0], np.float64)
    count = k.kernel(k.reductions, compiled)(*columns, fc.events, fc.events.shape[0], *samples,
                                                  max(fc.min_rtt_ns or 0, 1), fc.mss, out)
    return out[:count].tolist()


@dataclass(frozen=True, slots=True)
class ReductionShape:
    """How the measured reduction factors spread: the share inside MD_BAND and above it."""

    count: int
    in_band: float
    kept: float

    @property
    def erratic(self) -> bool:
        """Too many factors outside what a multiplicative decrease leaves."""
        return self.count >= MIN_BETAS and (self.in_band < ERRATIC_SHARE or self.kept >= KEPT_SHARE)

    @property
    def consistent(self) -> bool:
        """Enough factors, nearly all what a multiplicative decrease leaves."""
        return self.count >= CONSISTENT_BETAS and self.in_band >= CONSISTENT_SHARE and self.kept < KEPT_SHARE / 2


def reduction_shape(betas: tuple[float, ...]) -> ReductionShape:
    if not betas:
        return ReductionShape(0, 0.0, 0.0)
    lo, hi = MD_BAND
    return ReductionShape(len(betas), sum(lo <= b <= hi for b in betas) / len(betas),
                          sum(b > hi for b in betas) / len(betas))


def idle_share(tr: FlightTrace) -> float:
    """The share of data segments sent with nothing else in flight (the sender had been
    idle: an application writing now and then, not a bulk sender)."""
    fc = _flight_columns(tr)
    n = fc.sent.shape[0]
    return int(np.count_nonzero(fc.flight[:, 1] <= fc.sent[:, 3])) / n if n else 0.0


class SlowStartEvidence(NamedTuple):
    """What the window model (:mod:`pcapkit.tcpflow.ccmodel`) saw of slow start."""

    hystart_exit: bool            # slow start ended with no loss
    receiver_limited: float       # the share of data segments the receiver's window limited
    outlasted_hystart: bool = False   # see :func:`outlasted_hystart`


def outlasted_hystart(tr: FlightTrace, cwnd: np.ndarray, slow_start: np.ndarray) -> bool:
    """Slow start went on through a rise of the RTT at which CUBIC's HyStart leaves it.

    Per round (it ends when an ACK passes ``snd_nxt`` at its start), as Linux's HyStart:
    the smallest of the round's first HYSTART_MIN_SAMPLES RTT samples against the minimum
    RTT so far plus min RTT / 8 (clamped to 4-16 ms), from a window of 16 segments on, while
    the model (``cwnd``, ``slow_start``: its window and whether in slow start, per data
    segment) has the sender in slow start. At the first round past it a CUBIC sender sets
    ``ssthresh = cwnd`` and adds
    about a segment per round trip after it (under 1/16 of a window of 16 segments or
    more); slow start doubles the window per round trip. True when the window (the largest
    flight) still grew by at least KEPT_GROWING over the round trip after, and the sender
    was ACK-clocked until then (at least PACED_SHARE of its new segments: BBR's startup
    also grows through a queue, but paced)."""
    found = growth_after_hystart(tr, cwnd, slow_start)
    return found is not None and found[0] >= KEPT_GROWING and found[1] >= PACED_SHARE


def growth_after_hystart(tr: FlightTrace, cwnd: np.ndarray, slow_start: np.ndarray) -> tuple[float, float] | None:
    """(the window's growth over the round trip after HyStart's delay condition first held,
    as a share of the window then; the ACK-clocked share of the new segments until then),
    or None when it never held (see :func:`outlasted_hystart`)."""
    from pcapkit.tcpflow import cckernel as k
    from pcapkit.tcpflow import jit

    fc = _flight_columns(tr)
    acks = fc.acks
    m = acks.shape[0]
    # per ACK: the first segment sent after it, and its RTT sample (the last one taken at its frame)
    first_after = np.full(m, -1, np.int64)
    intervals, first = np.unique(fc.flight[:, 0], return_index=True)
    after_ack = intervals >= 0
    first_after[intervals[after_ack]] = first[after_ack]
    frames, at = np.unique(fc.rtt[::-1, 0], return_index=True)
    rtts = fc.rtt[::-1, 2][at]
    pos = np.minimum(np.searchsorted(frames, acks[:, 0]), max(frames.shape[0] - 1, 0))
    has_sample = (frames[pos] == acks[:, 0]) if frames.shape[0] else np.zeros(m, bool)
    sample = rtts[pos] if frames.shape[0] else np.zeros(m, np.int64)
    columns = [np.ascontiguousarray(acks[:, 2]), np.ascontiguousarray(acks[:, 1]), sample, has_sample,
               first_after, np.ascontiguousarray(fc.flight[:, 4]), np.ascontiguousarray(fc.sent[:, 1]),
               np.ascontiguousarray(cwnd, np.int64), np.ascontiguousarray(slow_start, np.bool_)]
    compiled = jit.use_compiled(fc.compiled)
    out = np.zeros(1, np.float64)
    lo, hi = HYSTART_DELAY_NS
    end = k.kernel(k.hystart_growth, compiled)(*(columns if compiled else [c.tolist() for c in columns]), fc.mss,
                                             HYSTART_LOW_WINDOW, HYSTART_MIN_SAMPLES, lo, hi, out)
    return None if end < 0 else (float(out[0]), _clocked_until(tr, end))


def _clocked_until(tr: FlightTrace, end: int) -> float:
    """The share of new data segments among the first ``end`` sent within ACK_CLOCK_NS of an ACK."""
    near, total = _clocked(_flight_columns(tr), end)
    return near / total if total else 0.0


def identify(tr: FlightTrace, hystart_exit: bool, receiver_limited: float,
             outlasted: bool = False) -> Identification:
    """The algorithm of the sender of ``tr`` (``hystart_exit``: the model saw slow start
    end with no loss; ``receiver_limited``: the share of data segments the receiver's
    window limited; ``outlasted``: :func:`outlasted_hystart`)."""
    return identify_with(tr, lambda: SlowStartEvidence(hystart_exit, receiver_limited, outlasted))


def identify_with(tr: FlightTrace, slow_start_evidence: Callable[[], SlowStartEvidence]) -> Identification:
    """:func:`identify`, with the :class:`SlowStartEvidence` asked of
    ``slow_start_evidence`` only when the answer depends on it (no fast recovery
    measured a reduction): it needs a pass of the window model, which a sender with
    measured reductions is spared."""
    n = _flight_columns(tr).sent.shape[0]
    clocked = ack_clocked_share(tr) if n else 1.0
    betas = tuple(measured_betas(tr)) if n else ()

    def unknown(reason: str) -> Identification:
        return Identification("unknown", 0.0, reason, BETA_CUBIC, clocked, betas)

    if n == 0:
        return unknown("no data segments")
    if n < MIN_SEGMENTS:
        return unknown(f"only {n} data segments (at least {MIN_SEGMENTS} are needed)")
    if tr.uncaptured:
        return unknown(f"a gap in the capture: the receiver acknowledged {tr.uncaptured} bytes "
                       "no captured segment carried")
    if tr.report.min_rtt_ns is None:
        return unknown("no round-trip time measured (no ACK ends a segment sent once)")
    beta = statistics.median(betas) if betas else None
    shape = reduction_shape(betas)
    if tr.report.vantage == "receiver":
        return _from_reductions(beta, shape, betas, clocked, slow_start_evidence)
    if beta is not None and shape.count >= UNANIMOUS_BETAS and shape.in_band == 1.0:
        return _loss_based(beta, betas, clocked, 0.95)
    if clocked < PACED_SHARE and beta is not None and not shape.consistent:
        # paced, and the reductions do not show a multiplicative decrease throughout: a
        # loss-based Linux sender is ACK-clocked
        return Identification("bbr", 0.9 if beta > (BETA_RENO + BETA_CUBIC) / 2 or shape.erratic else 0.7,
                              None, 1.0, clocked, betas)
    if clocked < PARTLY_PACED_SHARE and shape.erratic:
        # partly paced, and the factors are not a multiplicative decrease's: typical of BBR
        # without SACK, whose recoveries end in timeouts or keep the window
        return Identification("bbr", 0.7, None, 1.0, clocked, betas)
    if beta is not None and beta > BBR_BETA:
        conf = 0.9 if clocked < PACED_SHARE else 0.6
        return Identification("bbr", conf, None, 1.0, clocked, betas)
    if beta is not None:
        return _loss_based(beta, betas, clocked, 0.95)
    hystart_exit, receiver_limited, outlasted = slow_start_evidence()
    if outlasted and not hystart_exit and clocked >= PARTLY_PACED_SHARE:
        # an ACK-clocked slow start that outlasted HyStart's delay rise: no HyStart, Reno
        return Identification("reno", 0.6, None, BETA_RENO, clocked, betas)
    if receiver_limited > 0.3:
        return unknown(f"the receiver's window limited {receiver_limited:.0%} of the data segments "
                       "and no fast recovery shows the window reduction")
    idle = idle_share(tr)
    if idle > 0.05:
        return unknown(f"application-limited: {idle:.0%} of the data segments left an idle sender "
                       "and no fast recovery shows the window reduction")
    if clocked < PACED_SHARE:
        return Identification("bbr", 0.6, None, 1.0, clocked, betas)
    if hystart_exit:
        return Identification("cubic", 0.6, None, BETA_CUBIC, clocked, betas)
    return unknown("no fast recovery to measure the window reduction at, and slow start "
                   "never ended before a loss")


def _from_reductions(beta: float | None, shape: ReductionShape, betas: tuple[float, ...], clocked: float,
                     slow_start_evidence: Callable[[], SlowStartEvidence]) -> Identification:
    """:func:`identify` for a receiver-side capture: the reductions at a loss, no pacing."""
    if beta is not None and (beta > BBR_BETA or shape.erratic):
        return Identification("bbr", 0.7, None, 1.0, clocked, betas)
    if beta is not None:
        return _loss_based(beta, betas, clocked, 0.9)
    if slow_start_evidence()[0]:
        return Identification("cubic", 0.5, None, BETA_CUBIC, clocked, betas)
    return Identification("unknown", 0.0, "captured at the receiver, where pacing cannot be seen, and no fast "
                          "recovery shows the window reduction", BETA_CUBIC, clocked, betas)


def _loss_based(beta: float, betas: tuple[float, ...], clocked: float, ceiling: float) -> Identification:
    """Reno or CUBIC by the median reduction ``beta``; the confidence grows with its distance
    from the midpoint of 0.5 and 0.7 and with the number of reductions, up to ``ceiling``."""
    algo = "reno" if beta < (BETA_RENO + BETA_CUBIC) / 2 else "cubic"
    spread = abs(beta - (BETA_RENO + BETA_CUBIC) / 2) / ((BETA_CUBIC - BETA_RENO) / 2)
    conf = min(ceiling, ceiling - 0.45 + 0.3 * min(spread, 1.0) + 0.05 * min(len(betas), 3))
    return Identification(algo, round(conf, 2), None, BETA_RENO if algo == "reno" else BETA_CUBIC, clocked, betas)
