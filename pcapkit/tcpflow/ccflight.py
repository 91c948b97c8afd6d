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

from pcapkit.tcpflow.congestion import CongestionReport, SentSegment

# Linux's minimum retransmission timeout; a little less, for timer slack in the capture
RTO_MIN_NS = 190_000_000

MAX_RANGES = 64
DUP_THRESH = 3               # RFC 5681's duplicate-ACK threshold (Linux's initial tp->reordering)
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


def _add(ranges: list[list[int]], lo: int, hi: int) -> None:
    """Add [lo, hi) to sorted, disjoint ``ranges`` (merging). At most MAX_RANGES are kept
    (the lowest go first): a scoreboard of thousands of holes (hostile or broken
    traffic) would make every segment cost thousands of steps."""
    if hi <= lo:
        return
    if not ranges or lo > ranges[-1][1]:
        ranges.append([lo, hi])
        if len(ranges) > MAX_RANGES:
            del ranges[0]
        return
    if lo >= ranges[-1][0]:
        ranges[-1][1] = max(ranges[-1][1], hi)
        return
    out: list[list[int]] = []
    placed = False
    for r in ranges:
        if r[1] < lo:
            out.append(r)
        elif hi < r[0]:
            if not placed:
                out.append([lo, hi])
                placed = True
            out.append(r)
        else:
            lo, hi = min(lo, r[0]), max(hi, r[1])
    if not placed:
        out.append([lo, hi])
    ranges[:] = out[-MAX_RANGES:]


def _trim(ranges: list[list[int]], una: int) -> None:
    while ranges and ranges[0][1] <= una:
        ranges.pop(0)
    if ranges and ranges[0][0] < una:
        ranges[0][0] = una


def _inside(ranges: list[list[int]], lo: int, hi: int) -> int:
    """Bytes of ``ranges`` inside [lo, hi)."""
    if not ranges:
        return 0
    return sum(max(0, min(b, hi) - max(a, lo)) for a, b in ranges if b > lo and a < hi)


def _total(ranges: list[list[int]]) -> int:
    """Bytes of ``ranges``."""
    return sum(b - a for a, b in ranges) if ranges else 0


def _seen(sent: list[SentSegment], lo: int, hi: int) -> int:
    """Bytes of [lo, hi) that some segment of ``sent`` carried: the segments sorted by
    their start, each adds what it reaches past the furthest end before it (clipped to
    [lo, hi)), over the whole array at once."""
    import numpy as np

    if not sent:
        return 0
    starts = np.fromiter((s.seq for s in sent), dtype=np.int64, count=len(sent))
    ends = starts + np.fromiter((s.length for s in sent), dtype=np.int64, count=len(sent))
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], np.minimum(ends[order], hi)
    reach = np.maximum.accumulate(np.concatenate(([lo], ends[:-1])))
    reach = np.maximum(reach, lo)
    return int(np.clip(ends - np.maximum(starts, reach), 0, None).sum())


def _effective_mss(report: CongestionReport) -> int:
    """The segment size the sender fills (the SYN's MSS less the options every segment
    carries, as Linux's mss_cache): the commonest data length up to the MSS."""
    counts: dict[int, int] = {}
    for s in report.sent[:2000]:
        if 0 < s.length <= report.mss:
            counts[s.length] = counts.get(s.length, 0) + 1
    common = max(counts, key=lambda k: (counts[k], k)) if counts else report.mss
    # small writes (a request, a control message) do not fill segments: then the MSS
    return common if common >= report.mss - 60 else report.mss


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
    of those it showed window-limited stopped 3.8 MSS or more below it)."""
    if tr.window[i] == 0:
        return "zero-window"
    if tr.wnd_edge[last] >= 0 and tr.nxt[last] >= tr.wnd_edge[last] - tr.mss:
        return "rwnd"
    if recovering or flight >= est - tr.mss:
        return "cwnd"
    return "application"


def trace_flight(report: CongestionReport) -> FlightTrace:
    """Replay the sender's scoreboard over ``report`` (see the module doc)."""
    mss = _effective_mss(report)
    tr = FlightTrace(report, mss)
    sent, acks = report.sent, report.acks
    una = nxt = sent[0].seq if sent else 1
    sacked: list[list[int]] = []
    retx: list[list[int]] = []       # retransmitted ranges not yet acknowledged
    dupacks = 0
    state, high_seq, lost_edge = OPEN, 0, 0
    event_start: tuple[int, int, str, int, int] | None = None
    last_ack_ts: int | None = None
    window = -1
    ai = 0
    # a receiver that never SACKs: the sender runs NewReno (Linux's tcp_is_reno)
    sack_used = any(a.sacks for a in acks)
    # the head segment's last retransmission (seq, time): re-sent again after at least the
    # minimum RTO plus a round trip, only the timer can have sent it (RACK re-sends a lost
    # retransmission a round trip and a quarter after it, and only with SACK)
    head_retx: tuple[int, int] | None = None
    rearmed_rto_ns = RTO_MIN_NS + (report.min_rtt_ns or 0)
    # which ACKs the sender had processed before each segment: the capture's order, or
    # (a capture at the receiver) the sender's, reconstructed by ccvantage
    processed_before = report.acks_before

    def pipe_now() -> int:
        if state == RTO_RECOVERY:
            lost = (lost_edge - una) - _inside(sacked, una, lost_edge) if lost_edge > una else 0
        elif state == FAST_RECOVERY:
            if sacked:
                edge = max(sacked[-1][0], una + mss)
                lost = (edge - una) - _inside(sacked, una, edge)
            else:
                lost = min(mss, nxt - una)
        else:
            lost = 0
        if sacked:
            held = _total(sacked)
        else:
            beyond_head = nxt - una - mss
            held = dupacks * mss if dupacks * mss < beyond_head else (beyond_head if beyond_head > 0 else 0)
        pipe = (nxt - una) - held - (lost if lost > 0 else 0) + (_inside(retx, una, nxt) if retx else 0)
        return pipe if pipe > 0 else 0

    def close_event(index: int, ts: int) -> None:
        nonlocal event_start
        if event_start is not None:
            frame, ts0, kind, high, first = event_start
            tr.events.append(LossEvent(frame, ts0, kind, high, first, index, ts))
            event_start = None

    def open_event(frame: int, ts: int, kind: str, first: int) -> None:
        nonlocal event_start
        close_event(first, ts)
        event_start = (frame, ts, kind, nxt, first)

    for i, s in enumerate(sent):
        # the ACKs the sender processed before this segment left
        while ai < len(acks) and (acks[ai].frame < s.frame if processed_before is None else ai < processed_before[i]):
            a = acks[ai]
            newly = a.ack - una if a.ack > una else 0
            # delivered by this ACK: what it newly covers that was not SACKed before,
            # plus what it newly SACKs (Linux's acked_sacked; BBR grows by it)
            newly_sacked = _inside(sacked, una, a.ack) if newly and sacked else 0
            before = _total(sacked) - newly_sacked
            fresh = newly - newly_sacked
            if a.ack > una:
                # without SACK, a partial ACK in recovery takes the segments it covers off
                # the duplicate-ACK count (Linux's tcp_remove_reno_sacks), else it resets
                covered = -(-(a.ack - una) // mss)
                dupacks = max(dupacks - max(covered - 1, 0), 0) if state != OPEN else 0
                una = a.ack
                _trim(sacked, una)
                _trim(retx, una)
            elif a.duplicate and nxt > una:
                dupacks += 1
            for lo, hi in a.sacks:
                if hi > una and hi - lo < 1 << 30:
                    _add(sacked, max(lo, una), hi)
            tr.acked.append(newly)
            tr.delivered.append(fresh + max(_total(sacked) - before, 0) if a.sacks else fresh)
            window = a.window
            last_ack_ts = a.ts_ns
            if state in (FAST_RECOVERY, RTO_RECOVERY, CWR) and una >= high_seq and (
                    una > high_seq or (sack_used and state != CWR)):
                # a recovery ends when the ACK reaches high_seq; without SACK (and in CWR)
                # Linux holds the state until an ACK goes above it (tcp_try_undo_recovery:
                # RFC 6582's guard against false fast retransmits)
                state, dupacks = OPEN, 0     # (tcp_reset_reno_sack)
                close_event(i, a.ts_ns)
            held = _total(sacked) if sacked else dupacks * mss
            if state in (OPEN, CWR) and nxt > una and held >= DUP_THRESH * mss and (a.duplicate or a.sacks):
                # the receiver holds DupThresh segments above a hole: recovery starts at
                # this ACK (RFC 6675; Linux's tcp_time_to_recover), the retransmission
                # follows when the hole is marked lost
                state, high_seq = FAST_RECOVERY, nxt
                open_event(a.frame, a.ts_ns, "fast-retransmit", i)
            if a.ece and state == OPEN:
                state, high_seq = CWR, nxt
                open_event(a.frame, a.ts_ns, "ecn", i)
            ai += 1
        end = s.seq + s.length
        if s.seq < nxt and window == 0:
            tr.window_probes += 1   # a zero-window probe re-sending a byte: no loss
        elif s.seq < nxt:       # re-sends sequence space already sent
            # the silence before it: since the last ACK or the last segment sent
            quiet_since = max(last_ack_ts or 0, sent[i - 1].ts_ns if i else 0)
            gap = s.ts_ns - quiet_since
            heard_more = dupacks > 0 or bool(sacked)
            # a fast retransmit follows the ACK that triggered it; only a timer re-sends
            # the head after a silence as long as the minimum RTO
            timeout = s.seq <= una and (gap >= RTO_MIN_NS or (
                head_retx is not None and head_retx[0] == s.seq and s.ts_ns - head_retx[1] >= rearmed_rto_ns))
            if s.seq <= una:
                head_retx = (s.seq, s.ts_ns)
            if timeout:
                state, high_seq, lost_edge = RTO_RECOVERY, nxt, nxt
                retx.clear()
                open_event(s.frame, s.ts_ns, "rto", i)
            elif state in (OPEN, CWR) and (heard_more or end < nxt):
                state, high_seq = FAST_RECOVERY, nxt
                open_event(s.frame, s.ts_ns, "fast-retransmit", i)
            elif state == OPEN:
                tr.tail_probes += 1
            _add(retx, s.seq, min(end, nxt))
        if end > nxt:
            nxt = end
        tr.interval.append(ai - 1)
        tr.pipe.append(pipe_now())
        tr.window.append(window)
        tr.wnd_edge.append(una + window if window >= 0 else -1)
        tr.nxt.append(nxt)
        tr.state.append(state)
    for a in acks[ai:]:
        tr.acked.append(max(a.ack - una, 0))
        tr.delivered.append(max(a.ack - una, 0))
        if a.ack > una:
            una = a.ack
            if state != OPEN and (una > high_seq or (una == high_seq and sack_used and state != CWR)):
                state = OPEN
                close_event(len(sent), a.ts_ns)
    if event_start is not None:
        frame, ts0, kind, high, first = event_start
        tr.events.append(LossEvent(frame, ts0, kind, high, first, None, None))
    # the receiver acknowledged sequence space no captured segment carried: a capture gap
    top = max((a.ack for a in acks), default=0)
    first_seq = sent[0].seq if sent else 1
    if top > first_seq:
        tr.uncaptured = (top - first_seq) - _seen(sent, first_seq, top)
    return tr
