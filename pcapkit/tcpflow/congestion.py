"""Congestion-control view of one direction of a TCP connection, from the trace alone.

What is measured (all times integer ns, sequence numbers relative to the first one):

* **bytes in flight** after each data segment = highest sequence sent - highest ACK
  received (the sender's outstanding data; tshark's ``tcp.analysis.bytes_in_flight``
  without the SACK correction). Its envelope is the usual estimate of ``cwnd``.
* **RTT**: Karn's-rule samples (an ACK exactly ending a segment sent once, as tcptrace
  takes them); ``min_rtt`` is their minimum.
* **flights** ("fleets"): runs of data segments sent back-to-back. A new flight starts
  when the gap since the previous data segment exceeds ``max(min_rtt / 4, 1 ms)``, or
  when the flight has lasted one ``min_rtt`` (a continuously sending, ACK-clocked
  sender is cut into one flight per round trip).
  Each flight has its bytes, segments, the bytes in flight at its end and the
  ``period`` to the next flight (about one RTT while the sender is ACK-clocked).
* **loss episodes**: a data segment that re-sends sequence space already sent. It is a
  **fast retransmission** when at least 3 duplicate ACKs (same ACK, no data) for its
  sequence number arrived since the first ACK with that value, else a **timeout**;
  ``rto`` is the time since the oldest unacknowledged segment was first sent (as
  tshark's ``tcp.analysis.rto``). Note: tshark calls a retransmission "fast" after 2
  duplicate ACKs within 20 ms; this module follows RFC 5681's 3.
  Recovery ends when the ACK passes the highest sequence sent at the loss.

The phases, cwnd and algorithm of the sender are the congestion model's
(:mod:`pcapkit.tcpflow.ccmodel`), which reads this view; the flights stay here because the
Kurose & Ross lab asks for them (fleets and their period).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from pcapkit.tcpflow.segment import Segment

if TYPE_CHECKING:
    from pcapkit.tcpflow.segments import SegmentTable


class SentSegment(NamedTuple):
    """One data segment the sender sent (a named tuple: one is built per segment, and a
    tuple is built several times faster than a frozen dataclass)."""

    frame: int
    ts_ns: int
    seq: int            # relative to the sender's first sequence number (SYN = 0)
    length: int
    bytes_in_flight: int
    retransmission: bool
    window: int         # receiver's last advertised window (scaled) when sent, -1 unknown
    ts_ecr: int | None = None   # the timestamp option's echo (the receiver's TSval it last had)


class AckEvent(NamedTuple):
    """One ACK the receiver sent (a named tuple, as :class:`SentSegment`)."""

    frame: int
    ts_ns: int
    ack: int            # relative
    window: int         # scaled
    duplicate: bool
    sacks: tuple[tuple[int, int], ...] = ()  # SACK blocks (relative [left, right)), as sent
    ece: bool = False   # the receiver echoes a congestion mark (ECN)
    ts_val: int | None = None   # the timestamp option's value


@dataclass(frozen=True, slots=True)
class LossEpisode:
    frame: int
    ts_ns: int
    seq: int
    kind: str           # "fast-retransmit" | "timeout"
    dupacks: int
    rto_ns: int
    recovered_ns: int | None


@dataclass(slots=True)
class Flight:
    start_ns: int
    end_ns: int
    first_frame: int
    segments: int = 0
    bytes: int = 0
    bytes_in_flight: int = 0      # after the flight's last segment
    idle_before: bool = False     # nothing was in flight when it started
    retransmissions: int = 0
    window: int = -1
    period_ns: int | None = None


@dataclass(slots=True)
class CongestionReport:
    sender: tuple[str, int]
    receiver: tuple[str, int]
    mss: int
    min_rtt_ns: int | None
    rtt_samples: list[tuple[int, int, int]] = field(default_factory=list)  # (ack frame, ts, rtt)
    sent: list[SentSegment] = field(default_factory=list)
    acks: list[AckEvent] = field(default_factory=list)
    losses: list[LossEpisode] = field(default_factory=list)
    flights: list[Flight] = field(default_factory=list)
    # the handshake as captured (None: not seen): when the sender's and the receiver's
    # SYN (or SYN-ACK) and the first ACK after them went by; where the capture was taken
    # follows from it (:mod:`pcapkit.tcpflow.ccvantage`)
    sender_syn_ns: int | None = None
    receiver_syn_ns: int | None = None
    handshake_ack_ns: int | None = None
    sender_opened: bool = True
    # the number of ACKs (of ``acks``) the sender had processed when it sent each data
    # segment, where the capture order does not tell (a capture at the receiver); None:
    # the capture order (the ACKs captured before the segment)
    acks_before: list[int] | None = None
    vantage: str = "sender"


def analyse_direction(segs: Iterable[Segment], sender: tuple[str, int],
                      receiver: tuple[str, int], *, flights: bool = True) -> CongestionReport:
    """Congestion view of the data ``sender`` sends to ``receiver`` (segments of one
    connection, in capture order). ``flights=False`` leaves ``flights`` empty (the
    congestion model does not read them)."""
    rep = report_of(scan_segments(list(segs), sender, receiver), sender, receiver)
    if flights:
        _flights(rep)
    return rep


@dataclass(slots=True)
class DirectionColumns:
    """One direction's trace as columns (:func:`pcapkit.tcpflow.cckernel.scan_direction`'s
    output): rows of ``sent`` (:data:`~pcapkit.tcpflow.cckernel.SENT_FIELDS`), ``acks``
    (``ACK_FIELDS``; their SACK blocks are rows of ``sacks``, relative [left, right)),
    ``rtt`` (``RTT_FIELDS``: Karn's samples) and ``losses`` (``LOSS_FIELDS``); -1 where a
    value is absent. What :class:`CongestionReport` holds as Python objects."""

    sent: np.ndarray
    acks: np.ndarray
    sacks: np.ndarray
    rtt: np.ndarray
    losses: np.ndarray
    mss: int
    min_rtt_ns: int | None
    sender_syn_ns: int | None
    receiver_syn_ns: int | None
    handshake_ack_ns: int | None
    sender_opened: bool

    def handshake(self, sender: tuple[str, int], receiver: tuple[str, int]) -> CongestionReport:
        """A report with the handshake's facts and none of the rows (what tells the vantage)."""
        return CongestionReport(sender, receiver, self.mss, self.min_rtt_ns, sender_syn_ns=self.sender_syn_ns,
                                receiver_syn_ns=self.receiver_syn_ns, handshake_ack_ns=self.handshake_ack_ns,
                                sender_opened=self.sender_opened)


def scan_table(table: SegmentTable, sender: tuple[int, int], receiver: tuple[int, int],
               rows: np.ndarray | None = None, *, compiled: bool | None = None) -> DirectionColumns:
    """:func:`analyse_direction` of the rows of ``table`` (one connection, in capture
    order; ``rows``: only those, sorted indices), ``sender`` and ``receiver`` as (address
    code, port), as columns. Only the columns the scan reads are gathered."""
    columns = [table.frame, table.ts_ns, table.src, table.sport, table.dst, table.dport, table.seq, table.ack,
               table.flags, table.window, table.seglen, table.mss, table.wscale, table.tsval, table.tsecr,
               table.sack_n, table.sack_rows()]
    if rows is not None:
        columns = [c[rows] for c in columns]
    return _scan(columns, table.sack_l, table.sack_r, sender, receiver, compiled)


def scan_segments(segs: list[Segment], sender: tuple[str, int], receiver: tuple[str, int], *,
                  compiled: bool | None = None) -> DirectionColumns:
    """:func:`scan_table` of segments given as :class:`Segment` values."""
    codes: dict[str, int] = {}
    src = [codes.setdefault(s.src, len(codes)) for s in segs]
    dst = [codes.setdefault(s.dst, len(codes)) for s in segs]

    def ints(values: Iterable[int | None]) -> np.ndarray:
        return np.fromiter((-1 if v is None else v for v in values), dtype=np.int64, count=len(segs))

    width = max((len(s.sack_blocks) for s in segs), default=0)
    with_sack = [s.sack_blocks for s in segs if s.sack_blocks]
    sack_l = np.zeros((len(with_sack), max(width, 1)), np.int64)
    sack_r = np.zeros_like(sack_l)
    for row, blocks in enumerate(with_sack):
        for b, (left, right) in enumerate(blocks):
            sack_l[row, b], sack_r[row, b] = left, right
    sack_n = ints(len(s.sack_blocks) for s in segs)
    columns = [ints(s.frame_number for s in segs), ints(s.ts_ns for s in segs), np.asarray(src, np.int64),
               ints(s.sport for s in segs), np.asarray(dst, np.int64), ints(s.dport for s in segs),
               ints(s.seq for s in segs), ints(s.ack for s in segs), ints(s.flags for s in segs),
               ints(s.window for s in segs), ints(s.seglen for s in segs), ints(s.mss for s in segs),
               ints(s.wscale for s in segs), ints(s.ts_val for s in segs), ints(s.ts_ecr for s in segs), sack_n,
               np.cumsum(sack_n > 0) - 1]
    s_code, r_code = codes.get(sender[0], -2), codes.get(receiver[0], -3)
    return _scan(columns, sack_l, sack_r, (s_code, sender[1]), (r_code, receiver[1]), compiled)


def _scan(columns: list[np.ndarray], sack_l: np.ndarray, sack_r: np.ndarray, sender: tuple[int, int],
          receiver: tuple[int, int], compiled: bool | None) -> DirectionColumns:
    from pcapkit.tcpflow import cckernel as k
    from pcapkit.tcpflow import jit

    compiled = jit.use_compiled(compiled)
    n = int(columns[0].shape[0])
    z = np.int64
    sent, acks = np.zeros((n, len(k.SENT_FIELDS)), z), np.zeros((n, len(k.ACK_FIELDS)), z)
    sacks = np.zeros((n * sack_l.shape[1] if sack_l.size else 0, 2), z)
    rtt, losses = np.zeros((n, len(k.RTT_FIELDS)), z), np.zeros((n, len(k.LOSS_FIELDS)), z)
    karn, heap = np.zeros((n + 1, 3), z), np.zeros((n + 1, 2), z)
    firsts, seen = np.zeros(n + 1, z), np.zeros(1 << max(int(2 * n + 2).bit_length(), 4), z)
    info = np.zeros(k.INFO_SIZE, z)
    args = columns if compiled else [c.tolist() for c in columns]
    k.kernel(k.scan_direction, compiled)(*args, sack_l, sack_r, int(sack_l.shape[1]), int(sender[0]), int(sender[1]),
                                    int(receiver[0]), int(receiver[1]), sent, acks, sacks, rtt, losses, karn,
                                    heap, firsts, seen, info)
    del karn, heap, firsts, seen
    rtt = rtt[:info[k.I_RTT]].copy()

    def time(value: int) -> int | None:
        return None if value < 0 else int(value)

    return DirectionColumns(sent[:info[k.I_SENT]].copy(), acks[:info[k.I_ACKS]].copy(),
                            sacks[:info[k.I_SACKS]].copy(), rtt, losses[:info[k.I_LOSSES]].copy(),
                            int(info[k.I_MSS]) or 1460, int(rtt[:, 2].min()) if len(rtt) else None,
                            time(info[k.I_SENDER_SYN]), time(info[k.I_RECEIVER_SYN]),
                            time(info[k.I_HANDSHAKE_ACK]), bool(info[k.I_SENDER_OPENED]))


def report_of(dc: DirectionColumns, sender: tuple[str, int], receiver: tuple[str, int]) -> CongestionReport:
    """The :class:`CongestionReport` of ``dc`` (one Python value per segment, ACK, loss)."""
    rep = dc.handshake(sender, receiver)
    rep.rtt_samples = [(f, t, r) for f, t, r in dc.rtt.tolist()]
    rep.sent = [SentSegment(f, t, s, ln, b, bool(r), w, None if e < 0 else e)
                for f, t, s, ln, b, r, w, e in dc.sent.tolist()]
    sacks = [tuple(b) for b in dc.sacks.tolist()]
    rep.acks = [AckEvent(f, t, a, w, bool(d), tuple(sacks[first:first + count]) if count else (), bool(e),
                         None if v < 0 else v)
                for f, t, a, w, d, e, v, first, count in dc.acks.tolist()]
    rep.losses = [LossEpisode(f, t, s, "timeout" if timeout else "fast-retransmit", d, rto,
                              None if rec < 0 else rec)
                  for f, t, s, timeout, d, rto, rec in dc.losses.tolist()]
    return rep


def columns_of(rep: CongestionReport) -> DirectionColumns:
    """The :class:`DirectionColumns` of ``rep`` (:func:`report_of` backwards)."""
    def rows(values: Sequence[Sequence[int]], width: int) -> np.ndarray:
        return np.array(values, dtype=np.int64).reshape(len(values), width)

    sent = rows([(s.frame, s.ts_ns, s.seq, s.length, s.bytes_in_flight, s.retransmission, s.window,
                  -1 if s.ts_ecr is None else s.ts_ecr) for s in rep.sent], 8)
    sacks: list[tuple[int, int]] = []
    acks = []
    for a in rep.acks:
        acks.append((a.frame, a.ts_ns, a.ack, a.window, a.duplicate, a.ece, -1 if a.ts_val is None else a.ts_val,
                     len(sacks), len(a.sacks)))
        sacks.extend(a.sacks)
    losses = rows([(e.frame, e.ts_ns, e.seq, e.kind == "timeout", e.dupacks, e.rto_ns,
                    -1 if e.recovered_ns is None else e.recovered_ns) for e in rep.losses], 7)
    return DirectionColumns(sent, rows(acks, 9), rows(sacks, 2), rows(rep.rtt_samples, 3), losses, rep.mss,
                            rep.min_rtt_ns, rep.sender_syn_ns, rep.receiver_syn_ns, rep.handshake_ack_ns,
                            rep.sender_opened)


def _flights(rep: CongestionReport) -> None:
    min_rtt = rep.min_rtt_ns or 0
    gap = max(min_rtt // 4, 1_000_000)
    flights: list[Flight] = []
    prev_ts: int | None = None
    for s in rep.sent:
        if prev_ts is None or s.ts_ns - prev_ts > gap or (min_rtt and s.ts_ns - flights[-1].start_ns >= min_rtt):
            flights.append(Flight(s.ts_ns, s.ts_ns, s.frame, idle_before=s.bytes_in_flight <= s.length))
        f = flights[-1]
        f.end_ns = s.ts_ns
        f.segments += 1
        f.bytes += s.length
        f.bytes_in_flight = s.bytes_in_flight
        f.window = s.window
        f.retransmissions += s.retransmission
        prev_ts = s.ts_ns
    for a, b in itertools.pairwise(flights):
        a.period_ns = b.start_ns - a.start_ns
    rep.flights = flights


def largest_transfer(segs: list[Segment]) -> tuple[tuple[str, int], tuple[str, int]] | None:
    """(sender, receiver) of the direction that carried the most payload bytes."""
    totals: dict[tuple[tuple[str, int], tuple[str, int]], int] = {}
    for s in segs:
        if s.seglen > 0:
            key = ((s.src, s.sport), (s.dst, s.dport))
            totals[key] = totals.get(key, 0) + s.seglen
    if not totals:
        return None
    return max(totals.items(), key=lambda kv: kv[1])[0]
