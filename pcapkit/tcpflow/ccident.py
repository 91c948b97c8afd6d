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
  start before any loss; Reno doubles until the first loss.

A direction with too little data, no round trip measured or a gap in the capture gets
``unknown`` with the reason; so does a loss-based sender that never reduced its window.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left
from dataclasses import dataclass

from pcapkit.tcpflow.ccflight import FlightTrace

BETA_RENO, BETA_CUBIC = 0.5, 717 / 1024
MIN_SEGMENTS = 50           # fewer data segments than this say nothing about the algorithm
ACK_CLOCK_NS = 150_000      # a segment sent this soon after an ACK was released by it
PACED_SHARE = 0.4           # below this share of ACK-clocked segments, a sender paces
BBR_BETA = 0.8              # a sender keeping more than this of its flight through a recovery: BBR


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


def ack_clocked_share(tr: FlightTrace) -> float:
    """The share of new data segments sent within ACK_CLOCK_NS of the last ACK."""
    acks = [a.ts_ns for a in tr.report.acks]
    near = total = 0
    for s in tr.report.sent:
        if s.retransmission:
            continue
        k = bisect_left(acks, s.ts_ns)
        if k == 0:
            continue
        total += 1
        near += s.ts_ns - acks[k - 1] <= ACK_CLOCK_NS
    return near / total if total else 1.0


def measured_betas(tr: FlightTrace) -> list[float]:
    """Per ended fast recovery: flight kept one round trip after it / flight before it."""
    rtt = min_rtt_ns(tr) or 0
    sent = tr.report.sent
    ts = [s.ts_ns for s in sent]
    out: list[float] = []
    for ev in tr.events:
        if ev.kind != "fast-retransmit" or ev.end_index is None or ev.end_index >= len(sent):
            continue
        lo = bisect_left(ts, ev.ts_ns - max(rtt, 1))
        before = max(tr.pipe[lo:ev.first_index], default=0)
        hi = bisect_left(ts, sent[ev.end_index].ts_ns + max(rtt, 1))
        after = tr.pipe[ev.end_index:max(hi, ev.end_index + 1)]
        if before < 8 * tr.mss or not after:
            continue  # too small a window to read a factor from
        out.append(statistics.median(after) / before)
    return out


def idle_share(tr: FlightTrace) -> float:
    """The share of data segments sent with nothing else in flight (the sender had been
    idle: an application writing now and then, not a bulk sender)."""
    sent = tr.report.sent
    idle = sum(1 for s, p in zip(sent, tr.pipe, strict=True) if p <= s.length)
    return idle / len(sent) if sent else 0.0


def identify(tr: FlightTrace, hystart_exit: bool, receiver_limited: float) -> Identification:
    """The algorithm of the sender of ``tr`` (``hystart_exit``: the model saw slow start
    end with no loss; ``receiver_limited``: the share of data segments the receiver's
    window limited)."""
    n = len(tr.report.sent)
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
    if clocked < PACED_SHARE and beta is not None and beta > (BETA_RENO + BETA_CUBIC) / 2:
        # paced, and no halving at losses: a loss-based Linux sender is ACK-clocked
        return Identification("bbr", 0.9, None, 1.0, clocked, betas)
    if beta is not None and beta > BBR_BETA:
        conf = 0.9 if clocked < PACED_SHARE else 0.6
        return Identification("bbr", conf, None, 1.0, clocked, betas)
    if beta is not None:
        algo = "reno" if beta < (BETA_RENO + BETA_CUBIC) / 2 else "cubic"
        spread = abs(beta - (BETA_RENO + BETA_CUBIC) / 2) / ((BETA_CUBIC - BETA_RENO) / 2)
        conf = min(0.95, 0.5 + 0.3 * min(spread, 1.0) + 0.05 * min(len(betas), 3))
        return Identification(algo, round(conf, 2), None, BETA_RENO if algo == "reno" else BETA_CUBIC,
                              clocked, betas)
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
