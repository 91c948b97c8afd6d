"""The sender's flight, segment by segment, as its kernel counts it: the first pass of
the congestion model (:mod:`pcapkit.tcpflow.ccmodel`).

From one direction's trace (:func:`pcapkit.tcpflow.congestion.analyse_direction`) this
pass replays a sender's scoreboard in capture order -- the sender-side view, where an
ACK is seen when the sender's kernel processes it and a data segment when it leaves:

* ``snd_una`` / ``snd_nxt`` (relative sequence numbers);
* the SACKed ranges above ``snd_una`` (the receiver's SACK blocks, merged), or without
  SACK one MSS per duplicate ACK (Linux's "Reno SACK" emulation: a partial ACK in
  recovery removes the segments it covers but one);
* the bytes marked lost while recovering: in fast recovery every un-SACKed byte below
  the highest SACKed byte (at least the head segment, FACK-like: RACK marks those holes
  lost within a quarter RTT), after a retransmission timeout everything outstanding;
* the retransmitted bytes still outstanding.

The kernel's in-flight count (``tcp_packets_in_flight``: packets out - SACKed - lost +
retransmitted) after each data segment is ``pipe``; a sender limited by its window stops
sending when ``pipe`` reaches ``cwnd``, which is what Jaiswal et al. (2004) exploit.

Loss events (a congestion episode; its later retransmissions belong to it):

* **fast retransmit**: starts at the ACK after which the receiver holds DupThresh (3)
  segments above a hole -- the third duplicate ACK without SACK (RFC 5681), 3 segments'
  worth of SACKed data with it (RFC 6675; Linux's ``tcp_time_to_recover``) -- or at a
  retransmission while duplicate ACKs or SACK blocks say the receiver holds later data
  (Linux's RACK retransmits a quarter RTT after a later segment was SACKed). tshark's
  ``fast_retransmission`` flag is narrower: 2 duplicate ACKs, seq = the last ACK and
  20 ms since it (``tcp.analysis.*`` stay tshark's; this is the sender's state). The
  episode lasts until the ACK reaches ``snd_nxt`` at its start (``high_seq``, RFC 6582's
  "recover"); without SACK until an ACK goes *above* it, as Linux holds a NewReno
  recovery (and a ``cwr``) at ``snd_una == high_seq`` (``tcp_try_undo_recovery``).
* **RTO**: the head segment (seq = ``snd_una``) re-sent with no duplicate ACK or SACK
  after the sender heard nothing for at least Linux's minimum RTO (200 ms; tshark shows
  the delay as ``tcp.analysis.rto``). Also during a fast recovery (the retransmission
  itself was lost: the head re-sent again at least the minimum RTO plus a round trip
  after its last retransmission, however many duplicate ACKs came between -- the timer
  runs from the retransmission, not from the last ACK) and again at each back-off.
* a retransmission of the tail segment with no duplicate ACK and no timeout is a tail
  loss probe (RFC 8985), and one sent while the receiver's window is 0 a zero-window
  probe (RFC 9293 3.8.6.1): no episode.
* an ACK with ECE (not on a SYN) starts a congestion window reduction (``cwr``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pcapkit.tcpflow.cckernel import DUP_THRESH, RTO_MIN_NS
from pcapkit.tcpflow.ccstructs import MAX_RANGES
from pcapkit.tcpflow.ccwindow import LIMITS, limit_index
from pcapkit.tcpflow.congestion import CongestionReport, DirectionColumns

__all__ = ["DUP_THRESH", "MAX_RANGES", "RTO_MIN_NS", "FlightColumns", "FlightTrace", "LossEvent", "burst_ends",
           "flight_trace", "last_sends", "limit_of", "loss_events", "replay", "trace_flight"]
OPEN, FAST_RECOVERY, RTO_RECOVERY, CWR = "open", "fast-recovery", "rto-recovery", "cwr"


@dataclass(frozen=True, slots=True)
class LossEvent:
    """One congestion episode: where it starts (the first retransmission or the ECE ACK),
    its kind (``fast-retransmit``, ``rto``, ``ecn``), ``high_seq`` (snd_nxt at its start),
    the index of the first data segment sent in it and the index of the first one sent
    after it ended (None: it never ended in the capture)."""

    frame: int
    ts_ns: int
    kind: str
    high_seq: int
    first_index: int
    end_index: int | None
    end_ns: int | None


@dataclass(slots=True)
class FlightTrace:
    """Per data segment (index ``i`` of ``report.sent``): the ACK interval it was sent in
    (the index of the last ACK before it in ``report.acks``, -1 before any), the pipe after
    sending it, the receiver window's right edge then, the loss state it was sent in and
    the bytes newly acknowledged by the ACK opening its interval."""

    report: CongestionReport
    mss: int
    interval: list[int] = field(default_factory=list)
    pipe: list[int] = field(default_factory=list)
    window: list[int] = field(default_factory=list)       # receiver window (scaled), -1 unknown
    wnd_edge: list[int] = field(default_factory=list)     # snd_una + window when sent, -1 unknown
    nxt: list[int] = field(default_factory=list)          # snd_nxt after sending
    state: list[str] = field(default_factory=list)
    acked: list[int] = field(default_factory=list)        # per ACK: bytes it newly acknowledged
    delivered: list[int] = field(default_factory=list)    # per ACK: bytes newly acked or SACKed
    events: list[LossEvent] = field(default_factory=list)
    tail_probes: int = 0
    window_probes: int = 0
    uncaptured: int = 0          # bytes the receiver acknowledged that no captured segment carried
    columns: FlightColumns | None = None   # the same as arrays (what the identification reads)


def _seen(starts: np.ndarray, lengths: np.ndarray, lo: int, hi: int) -> int:
    """Bytes of [lo, hi) that some segment (``starts``, ``lengths``) carried: the segments
    sorted by their start, each adds what it reaches past the furthest end before it
    (clipped to [lo, hi)), over the whole array at once."""
    if not starts.size:
        return 0
    ends = starts + lengths
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], np.minimum(ends[order], hi)
    reach = np.maximum.accumulate(np.concatenate(([lo], ends[:-1])))
    reach = np.maximum(reach, lo)
    return int(np.clip(ends - np.maximum(starts, reach), 0, None).sum())


def _effective_mss(lengths: np.ndarray, mss: int) -> int:
    """The segment size the sender fills (the SYN's MSS less the options every segment
    carries, as Linux's mss_cache): the commonest data length up to the MSS (of the first
    2000 segments; the longer one of equally common lengths)."""
    first = lengths[:2000]
    counts = np.bincount(first[(first > 0) & (first <= mss)])  # (per length: a few thousand at most)
    if not counts.any():
        return mss
    common = int(np.flatnonzero(counts == counts.max())[-1])
    # small writes (a request, a control message) do not fill segments: then the MSS
    return common if common >= mss - 60 else mss


@dataclass(slots=True)
class FlightColumns:
    """:func:`replay` as arrays: per data segment ``flight`` (rows of
    :data:`~pcapkit.tcpflow.cckernel.FLIGHT_FIELDS`, the state as its index in
    ``STATE_NAMES``), per ACK ``acked`` (``ACKED_FIELDS``), ``events`` (``EVENT_FIELDS``,
    -1 where an episode never ended), and the inputs the identification reads."""

    mss: int
    min_rtt_ns: int | None
    vantage: str
    sent: np.ndarray          # the direction's rows (cckernel.SENT_FIELDS)
    acks: np.ndarray          # (cckernel.ACK_FIELDS)
    ack_ts: np.ndarray
    rtt: np.ndarray           # (frame, ts, rtt) samples
    flight: np.ndarray
    acked: np.ndarray
    events: np.ndarray
    tail_probes: int = 0
    window_probes: int = 0
    uncaptured: int = 0
    compiled: bool | None = None   # the backend of the passes over these columns (None: the default's)


def replay(dc: DirectionColumns, acks_before: list[int] | None = None, vantage: str = "sender", *,
           compiled: bool | None = None) -> FlightColumns:
    """Replay the sender's scoreboard over ``dc`` (see the module doc); ``acks_before``:
    the ACKs the sender had processed when it sent each segment (None: the capture's order)."""
    from pcapkit.tcpflow import cckernel as k
    from pcapkit.tcpflow import jit

    compiled = jit.use_compiled(compiled)
    sent, acks = dc.sent, dc.acks
    n, m = sent.shape[0], acks.shape[0]
    mss = _effective_mss(sent[:, 3], dc.mss)
    flight = np.zeros((n, len(k.FLIGHT_FIELDS)), np.int64)
    acked = np.zeros((m, len(k.ACKED_FIELDS)), np.int64)
    events = np.zeros((n + m + 1, len(k.EVENT_FIELDS)), np.int64)
    ranges = [np.zeros((MAX_RANGES + 2, 2), np.int64) for _ in range(3)]
    info = np.zeros(3, np.int64)
    columns = [sent[:, 0], sent[:, 1], sent[:, 2], sent[:, 3], acks[:, 0], acks[:, 1], acks[:, 2], acks[:, 3],
               acks[:, 4], acks[:, 5], acks[:, 7], acks[:, 8]]
    columns = [np.ascontiguousarray(c) for c in columns] if compiled else [c.tolist() for c in columns]
    before = np.asarray(acks_before if acks_before is not None else [], np.int64)
    k.kernel(k.replay_flight, compiled)(*columns, dc.sacks, before if compiled else before.tolist(),
                                      acks_before is None, mss, dc.min_rtt_ns or 0, flight, acked, events,
                                      *ranges, info)
    fc = FlightColumns(mss, dc.min_rtt_ns, vantage, sent, acks, np.ascontiguousarray(acks[:, 1]), dc.rtt, flight, acked,
                       events[:info[k.F_EVENTS]].copy(), int(info[k.F_TAIL_PROBES]), int(info[k.F_WINDOW_PROBES]),
                       compiled=compiled)
    # the receiver acknowledged sequence space no captured segment carried: a capture gap
    top = max(int(acks[:, 2].max()), 0) if m else 0
    first_seq = int(sent[0, 2]) if n else 1
    if top > first_seq:
        fc.uncaptured = (top - first_seq) - _seen(sent[:, 2], sent[:, 3], first_seq, top)
    return fc


def flight_trace(report: CongestionReport, fc: FlightColumns) -> FlightTrace:
    """The :class:`FlightTrace` (Python values per segment) of ``fc``, replayed over ``report``."""
    from pcapkit.tcpflow import cckernel as k

    tr = FlightTrace(report, fc.mss, columns=fc)
    tr.interval, tr.pipe, tr.window, tr.wnd_edge, tr.nxt = (fc.flight[:, c].tolist() for c in range(5))
    names = k.STATE_NAMES
    tr.state = [names[c] for c in fc.flight[:, 5].tolist()]
    tr.acked, tr.delivered = fc.acked[:, 0].tolist(), fc.acked[:, 1].tolist()
    tr.events = loss_events(fc)
    tr.tail_probes, tr.window_probes, tr.uncaptured = fc.tail_probes, fc.window_probes, fc.uncaptured
    return tr


def loss_events(fc: FlightColumns) -> list[LossEvent]:
    """The loss events of ``fc`` as :class:`LossEvent` values (a few per loss, not per segment)."""
    from pcapkit.tcpflow.ccidentpasses import EVENT_KINDS

    return [LossEvent(f, t, EVENT_KINDS[kind], high, first, None if end < 0 else end, None if end < 0 else end_ns)
            for f, t, kind, high, first, end, end_ns in fc.events.tolist()]


def burst_ends(tr: FlightTrace) -> dict[int, int]:
    """The largest flight of each ACK interval (its last send's)."""
    ends: dict[int, int] = {}
    for iv, p in zip(tr.interval, tr.pipe, strict=True):
        if p > ends.get(iv, -1):
            ends[iv] = p
    return ends


def last_sends(tr: FlightTrace) -> dict[int, int]:
    """The index of the last data segment of each ACK interval."""
    return {iv: i for i, iv in enumerate(tr.interval)}


def limit_of(tr: FlightTrace, i: int, last: int, recovering: bool, flight: int, est: int) -> str:
    """What limits the sends of the interval from segment ``i`` to segment ``last``
    (``flight``: its largest flight, ``est``: the window estimate), see
    :mod:`pcapkit.tcpflow.ccmodel`. The receiver's window is judged where the interval's
    sends stopped (its last segment), not where the ACK opening it moved the window's edge:
    a sender the receiver's window holds back fills it up to less than one MSS (on two
    generated Reno flows the receiver's window held back, 95 % of the intervals the kernel
    showed not window-limited stopped within 1 MSS of the edge; on each of 15 flows, 95 %
    of those it showed window-limited stopped 3.8 MSS or more below it). One rule with the
    compiled window pass: :func:`pcapkit.tcpflow.ccwindow.limit_index`."""
    return LIMITS[limit_index(tr.window, tr.wnd_edge, tr.nxt, tr.mss, i, last, recovering, flight, est)]


def trace_flight(report: CongestionReport) -> FlightTrace:
    """Replay the sender's scoreboard over ``report`` (see the module doc)."""
    from pcapkit.tcpflow.congestion import columns_of

    return flight_trace(report, replay(columns_of(report), report.acks_before, report.vantage))
