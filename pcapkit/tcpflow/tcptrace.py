"""tcptrace-style per-connection statistics (``tcptrace -l -r -n``), computed the way
tcptrace 6.6.7 computes them.

This is a faithful model of tcptrace's ``dotrace()`` (trace.c) and its
retransmission/RTT bookkeeping (rexmit.c), so the numbers agree with the tool,
including its quirks:

* Time is in whole microseconds (libpcap hands tcptrace ``struct timeval``), so
  nanosecond timestamps are truncated to microseconds first.
* Connections are keyed by the address/port pair; a reused pair starts a new
  connection after 240 s idle, or on a SYN after FIN/RST whose sequence number lies
  outside the old window, or on a SYN whose ISN differs from an earlier SYN.
* A *retransmission* is any segment overlapping sequence space already seen in that
  direction (SYN and FIN count as one byte each); tcptrace keeps the seen ranges
  per 2^30 "quadrant" of sequence space. Data sent while the peer's last advertised
  window was zero is a *zero-window probe* instead, and is not checked.
* RTT samples follow Karn's rule: an ACK exactly one past a segment's last byte gives
  a sample only if the segment was sent once (else it is an "ambiguous ACK") and no
  earlier segment covered by the same ACK was sent after it (else a "post-loss ack").
* "RTT full_sz" keeps samples of the largest segment size seen; tcptrace's size of a
  one-byte segment (a SYN, a FIN) is computed as 2^32, so SYN/FIN samples win there,
  exactly as in tcptrace's output.
* Averages divide by ``count + 0.0001`` and standard deviations are 0 for n <= 2,
  as tcptrace prints them.
* Data lengths come from the IP length field; "truncated data" counts payload bytes
  beyond what libpcap delivers, which is cut to the pcap file's snapshot length.
* A window-scale option above 14 is ignored (the side then did not "request" scaling).

Behaviour of the installed 6.6.7 binary that differs from the published sources and
was established by comparing with its output on the corpus:

* a *duplicate ACK* needs no data, the same ACK number and the same window as the
  sender's previous ACK, and an acknowledged range longer than one sequence number
  (a repeated ACK of a lone SYN or FIN is not counted); a *triple dupack* is the 3rd
  duplicate of one ACK value. (Off by one in 7 of ~500 corpus directions.)
* "avg win adv" divides the windows summed since scaling took effect by the packets
  sent since then when both directions have sent a scaled window, else by all
  packets sent.

Use :func:`tcptrace_stats` for a DataFrame (one row per connection direction) or
:func:`analyze` for the raw per-connection records.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.tcpflow.segment import ACK, FIN, PSH, RST, SYN, URG, Segment
from pcapkit.tcpflow.segments import SegmentTable, Source, segment_table
from pcapkit.tcpflow.seq import MASK, seq_add, seq_gt, seq_lt, seq_sub

if TYPE_CHECKING:
    import pandas as pd

QUADSIZE = 1 << 30
MAX_32 = 1 << 32
SEGS_TO_REMEMBER = 8
NONREAL_LIVE_CONN_INTERVAL = 4 * 60  # seconds


def _elapsed(t1: int, t2: int) -> float:
    """tcptrace's elapsed(): microseconds from t1 to t2, 0 when t2 < t1."""
    return 0.0 if t2 < t1 else float(t2 - t1)


# ---------------------------------------------------------------------------
# sequence space bookkeeping (rexmit.c)


@dataclass(slots=True)
class _Seg:
    first: int
    last: int
    time: int
    retrans: int = 0
    acked: int = 0
    dupacks: int = 0


@dataclass(eq=False, slots=True)
class _Quad:
    segs: list[_Seg] = field(default_factory=list)
    prev: _Quad | None = None
    next: _Quad | None = None


def _quadnum(seq: int) -> int:
    return (seq & MASK) >> 30


@dataclass(slots=True)
class Direction:
    """One direction's counters; field names follow tcptrace's ``tcb``."""

    host: str = ""
    port: int = 0
    packets: int = 0
    ack_pkts: int = 0
    pureack_pkts: int = 0
    num_sacks: int = 0
    num_dsacks: int = 0
    max_sack_blocks: int = 0
    unique_bytes: int = 0
    data_pkts: int = 0
    data_bytes: int = 0
    rexmit_pkts: int = 0
    rexmit_bytes: int = 0
    num_zwnd_probes: int = 0
    zwnd_probe_bytes: int = 0
    out_order_pkts: int = 0
    data_pkts_push: int = 0
    syn_count: int = 0
    fin_count: int = 0
    reset_count: int = 0
    f1323_ws: bool = False
    f1323_ts: bool = False
    window_scale: int = 0
    fsack_req: bool = False
    sacks_sent: int = 0
    urg_data_pkts: int = 0
    urg_data_bytes: int = 0
    mss: int = 0
    max_seg_size: int = 0
    min_seg_size: int = 0
    win_max: int = 0
    win_min: int = 0
    win_zero_ct: int = 0
    win_tot: int = 0
    win_last: int = 0
    window_stats_updated_for_scaling: bool = False
    win_scaled_pkts: int = 0
    owin_max: int = 0
    owin_min: int = 0
    owin_tot: int = 0
    owin_count: int = 0
    owin_wavg: int = 0
    prev_owin_time: int = 0
    prev_owin: int = 0
    initialwin_bytes: int = 0
    initialwin_segs: int = 0
    data_acked: bool = False
    syn: int = 0
    fin: int = 0
    ack: int = 0
    windowend: int = 0
    seq: int = 0
    min_seq: int = 0
    max_seq: int = 0
    latest_seq: int = 0
    seq_wrap_count: int = 0
    quads_seen: list[bool] = field(default_factory=lambda: [False] * 4)
    trunc_bytes: int = 0
    trunc_segs: int = 0
    first_data_time: int = 0
    last_data_time: int = 0
    last_time: int = 0
    time: int = -1           # time of the last ACK sent (-1: none)
    idle_max: float = 0.0
    num_hardware_dups: int = 0
    hw_dups: list[tuple[int, int]] = field(default_factory=lambda: [(0, 0)] * SEGS_TO_REMEMBER)
    hw_dups_ix: int = 0
    # RTT (microseconds)
    rtt_last: float = 0.0
    rtt_min: int = 0
    rtt_max: int = 0
    rtt_sum: float = 0.0
    rtt_sum2: float = 0.0
    rtt_count: int = 0
    rtt_min_last: int = 0
    rtt_max_last: int = 0
    rtt_sum_last: float = 0.0
    rtt_sum2_last: float = 0.0
    rtt_count_last: int = 0
    rtt_full_size: int = 0
    rtt_full_min: int = 0
    rtt_full_max: int = 0
    rtt_full_sum: float = 0.0
    rtt_full_sum2: float = 0.0
    rtt_full_count: int = 0
    rtt_3WHS: int = 0
    rtt_amback: int = 0
    rtt_cumack: int = 0
    rtt_nosample: int = 0
    rtt_dupack: int = 0
    rtt_triple_dupack: int = 0
    retr_max: int = 0
    retr_min_tm: int = 0
    retr_max_tm: int = 0
    retr_tm_sum: float = 0.0
    retr_tm_sum2: float = 0.0
    retr_tm_count: int = 0
    quads: list[_Quad | None] = field(default_factory=lambda: [None] * 4)
    # per-segment annotations (frame -> "R" retransmission / "O" out of order / "P" probe)
    marks: dict[int, str] = field(default_factory=dict)
    rtt_samples: list[tuple[int, int, float]] = field(default_factory=list)  # (frame, ts_us, rtt_us)

    # -- sequence space -------------------------------------------------------
    def _whichquad(self, seq: int) -> _Quad:
        qix = _quadnum(seq)
        q = self.quads[qix]
        if q is not None and q.next is not None and q.prev is not None:
            return q
        nxt, opp, prv = (qix + 1) % 4, (qix + 2) % 4, (qix + 3) % 4
        for ix in (qix, nxt, prv):
            if self.quads[ix] is None:
                self.quads[ix] = _Quad()
        self.quads[opp] = None
        q, qn, qp = self.quads[qix], self.quads[nxt], self.quads[prv]
        assert q is not None and qn is not None and qp is not None
        q.prev, q.next = qp, qn
        qn.prev, qp.next = q, q
        qn.next = None
        qp.prev = None
        return q

    def _rtt_retrans(self, pseg: _Seg, now: int) -> None:
        if not pseg.acked:
            etime = _elapsed(pseg.time, now)
            self.retr_max = max(self.retr_max, pseg.retrans)
            if etime > self.retr_max_tm:
                self.retr_max_tm = int(etime)
            if self.retr_min_tm == 0 or etime < self.retr_min_tm:
                self.retr_min_tm = int(etime)
            self.retr_tm_sum += etime
            self.retr_tm_sum2 += etime * etime
            self.retr_tm_count += 1
        pseg.time = now

    def _addseg(self, quad: _Quad, first: int, length: int, now: int) -> tuple[int, bool]:
        last = (first + length - 1) & MASK
        rexlen = 0
        split = False
        ooo = False
        segs = quad.segs
        i = len(segs) if segs and first > segs[-1].last else 0
        while i < len(segs):
            pseg = segs[i]
            if first > pseg.last:
                i += 1
                continue
            if first < pseg.first:
                if last < pseg.last:
                    ooo = True
                new = _Seg(first, (first + length - 1) & MASK, now)
                segs.insert(i, new)
                i += 1
                if last < pseg.first:
                    return rexlen, ooo
                new.last = (pseg.first - 1) & MASK
                first = pseg.first
                length = (last - first + 1) & MASK
            if first >= pseg.first:
                pseg.retrans += 1
                if not split:
                    self._rtt_retrans(pseg, now)
                if last <= pseg.last:
                    return rexlen + length, ooo
                split = True
                rexlen += pseg.last - first + 1
                first = (pseg.last + 1) & MASK
                length = (last - first + 1) & MASK
            i += 1
        segs.append(_Seg(first, (first + length - 1) & MASK, now))
        return rexlen, ooo

    def rexmit(self, seq: int, length: int, now: int) -> tuple[int, bool]:
        """Record ``length`` sequence numbers from ``seq``: (bytes already seen, out of order)."""
        seq &= MASK
        seq_last = (seq + length - 1) & MASK
        pquad = self._whichquad(seq)
        if _quadnum(seq) != _quadnum(seq_last):
            q = _quadnum(seq)
            len1 = ((q + 1) * QUADSIZE - 1) - seq + 1
            r1, o1 = self._addseg(pquad, seq, len1, now)
            assert pquad.next is not None
            r2, o2 = self._addseg(pquad.next, _quadnum(seq_last) * QUADSIZE, length - len1, now)
            return r1 + r2, o1 or o2
        return self._addseg(pquad, seq, length, now)

    @staticmethod
    def _collapse(quad: _Quad) -> None:
        segs = quad.segs
        i = 0
        while i + 1 < len(segs):
            a = segs[i]
            if not a.acked:
                break
            b = segs[i + 1]
            if b.acked and ((a.last + 1) & MASK) == b.first:
                a.last = b.last
                a.acked = b.acked
                if b.time > a.time:
                    a.time = b.time
                del segs[i + 1]
                continue
            i += 1

    def _rtt_ackin(self, pseg: _Seg, rexmit_prev: bool, now: int, frame: int) -> None:
        etime = _elapsed(pseg.time, now)
        if rexmit_prev:
            self.rtt_last = 0.0
            self.rtt_nosample += 1
        elif pseg.retrans == 0:
            self.rtt_last = etime
            if self.rtt_min == 0 or self.rtt_min > etime:
                self.rtt_min = int(etime)
            if self.rtt_max < etime:
                self.rtt_max = int(etime)
            self.rtt_sum += etime
            self.rtt_sum2 += etime * etime
            self.rtt_count += 1
            self.rtt_samples.append((frame, now, etime))
            if pseg.last > pseg.first:
                size = pseg.last - pseg.first + 1
            else:  # tcptrace's formula; gives 2^32 for one-byte segments
                size = (MAX_32 - pseg.first) + pseg.last
            if not self.rtt_full_size or self.rtt_full_size < size:
                self.rtt_full_size = size
                self.rtt_full_min = self.rtt_full_max = int(etime)
                self.rtt_full_sum = etime
                self.rtt_full_sum2 = etime * etime
                self.rtt_full_count = 1
            elif self.rtt_full_size == size:
                self.rtt_full_count += 1
                if self.rtt_full_min == 0 or self.rtt_full_min > etime:
                    self.rtt_full_min = int(etime)
                if self.rtt_full_max < etime:
                    self.rtt_full_max = int(etime)
                self.rtt_full_sum += etime
                self.rtt_full_sum2 += etime * etime
        else:
            if self.rtt_min_last == 0 or self.rtt_min_last > etime:
                self.rtt_min_last = int(etime)
            if self.rtt_max_last < etime:
                self.rtt_max_last = int(etime)
            self.rtt_sum_last += etime
            self.rtt_sum2_last += etime * etime
            self.rtt_count_last += 1
            self.rtt_amback += 1
            self.rtt_last = 0.0

    def ack_in(self, ack: int, dup_candidate: bool, now: int, frame: int) -> None:
        """An ACK for this direction's data arrived (tcptrace's ack_in()); ``eff_win`` is
        the ACK's window, ``peer_win`` the previous window of the ACK's sender."""
        ack &= MASK
        pquad = self._whichquad(ack)
        prev = pquad.prev
        assert prev is not None
        changed = False
        last_xmit = 0
        for pseg in prev.segs:
            if not pseg.acked:
                pseg.acked += 1
                changed = True
                self.rtt_cumack += 1
                if pseg.time > last_xmit:
                    last_xmit = pseg.time
        if changed:
            self._collapse(prev)
        changed = False
        for pseg in pquad.segs:
            if ack <= pseg.first:
                break
            if pseg.time > last_xmit:
                last_xmit = pseg.time
            if pseg.acked:
                if (ack == ((pseg.last + 1) & MASK) and dup_candidate
                        and pseg.first != pseg.last):
                    self.rtt_dupack += 1
                    pseg.acked += 1
                    if pseg.acked == 4:
                        self.rtt_triple_dupack += 1
                continue
            pseg.acked += 1
            changed = True
            if ack == ((pseg.last + 1) & MASK):
                self._rtt_ackin(pseg, last_xmit > pseg.time, now, frame)
            else:
                self.rtt_cumack += 1
        if changed:
            self._collapse(pquad)


@dataclass(slots=True)
class Connection:
    """One tcptrace connection: a2b is the direction of its first packet."""

    number: int                  # 1-based, tcptrace's connection number
    a2b: Direction
    b2a: Direction
    first_time: int = 0          # microseconds
    last_time: int = 0
    packets: int = 0
    inactive: bool = False
    first_frame: int = 0
    frames: list[int] = field(default_factory=list)

    def syn_count(self) -> int:
        return (self.a2b.syn_count >= 1) + (self.b2a.syn_count >= 1)

    def fin_count(self) -> int:
        return (self.a2b.fin_count >= 1) + (self.b2a.fin_count >= 1)

    def complete(self) -> bool:
        return self.syn_count() >= 2 and self.fin_count() >= 2

    def reset(self) -> bool:
        return self.a2b.reset_count + self.b2a.reset_count != 0


# ---------------------------------------------------------------------------
# what tcptrace reads of a packet that tshark does not: lengths from the IP header alone


def tcptrace_lengths(table: SegmentTable) -> tuple[np.ndarray, np.ndarray]:
    """(data length, captured data bytes) of each segment as tcptrace measures them.

    tcptrace takes the data length from the IP length field alone (IPv4 total length
    minus the IP and TCP header lengths; for IPv6 the payload length minus the TCP
    header when TCP follows the fixed header), even when the frame is shorter; a zero
    IPv4 length (TSO) leaves tshark's length. Captured bytes are cut to the pcap
    header's snapshot length, as libpcap hands them to tcptrace."""
    seglen = np.maximum(table.seglen, 0)
    v4 = table.ip_version == 4
    from_ip = np.where(v4, table.ip_len - table.ip_hdr_len - table.hdr_len, table.ip_len - table.hdr_len)
    use_ip = np.where(v4, table.ip_len != 0, table.ip_hdr_len == 40)
    dlen = np.where(use_ip, np.maximum(from_ip, 0), seglen)
    caplen = table.caplen if table.snaplen is None else np.minimum(table.caplen, table.snaplen)
    captured = np.clip(np.minimum(dlen, caplen - table.tcp_offset - table.hdr_len), 0, None)
    return dlen, captured


# ---------------------------------------------------------------------------
# the per-packet analysis (trace.c dotrace)


class TcptraceAnalyzer:
    """Feed segments (in file order) with :meth:`feed`; read :attr:`connections`."""

    def __init__(self) -> None:
        self.connections: list[Connection] = []
        self._active: dict[tuple[str, int, str, int], Connection] = {}

    def _find(self, seg: Segment, now: int) -> tuple[Connection, bool]:
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        rkey = (seg.dst, seg.dport, seg.src, seg.sport)
        conn = self._active.get(key)
        a2b = True
        if conn is None:
            conn = self._active.get(rkey)
            a2b = False
        if conn is not None:
            this, other = (conn.a2b, conn.b2a) if a2b else (conn.b2a, conn.a2b)
            syn = bool(seg.flags & SYN)
            if (_elapsed(conn.last_time, now) / 1000000 > NONREAL_LIVE_CONN_INTERVAL
                    or (syn and (this.fin_count >= 1 or other.fin_count >= 1
                                 or this.reset_count >= 1 or other.reset_count >= 1)
                        and (seq_gt(seg.seq, other.windowend) or seq_lt(seg.seq, this.syn)))
                    or (syn and this.syn_count > 1 and this.syn != seg.seq)):
                conn.inactive = True
                conn = None
        if conn is None:
            conn = Connection(len(self.connections) + 1,
                              Direction(seg.src, seg.sport), Direction(seg.dst, seg.dport))
            conn.first_frame = seg.frame_number
            self.connections.append(conn)
            a, b = (seg.src, seg.sport), (seg.dst, seg.dport)
            self._active.pop((b[0], b[1], a[0], a[1]), None)
            self._active[(a[0], a[1], b[0], b[1])] = conn
            a2b = True
        return conn, a2b

    def feed(self, seg: Segment, ip_id: int = 0, urp: int = 0) -> None:
        now = seg.ts_ns // 1000
        conn, a2b = self._find(seg, now)
        this, other = (conn.a2b, conn.b2a) if a2b else (conn.b2a, conn.a2b)
        flags = seg.flags
        syn, fin, rst, ackf = flags & SYN, flags & FIN, flags & RST, flags & ACK
        conn.frames.append(seg.frame_number)
        if conn.first_time == 0:
            conn.first_time = now
        conn.last_time = now
        if syn:
            this.syn_count += 1
        if rst:
            this.reset_count += 1
        if fin:
            this.fin_count += 1

        if ackf or syn:
            eff_win = seg.window
            if this.f1323_ws and other.f1323_ws and not syn:
                eff_win <<= this.window_scale
        else:
            eff_win = 0

        if this.last_time != 0:
            itime = _elapsed(this.last_time, now)
            if itime > this.idle_max:
                this.idle_max = itime
        this.last_time = now

        dlen = seg.seglen
        start = seg.seq
        end = start + dlen  # tcptrace keeps this unwrapped (u_long)

        # sequence-space wrap accounting (for the stream length)
        q = this.quads_seen
        if all(q):
            sq = _quadnum(this.syn)
            if end <= MASK and _quadnum(end) == sq and end >= this.syn:
                this.seq_wrap_count += 1
                this.quads_seen = [False] * 4
        for x in (start, end):
            if x <= MASK:
                this.quads_seen[_quadnum(x)] = True

        if syn:
            this.syn = start
            other.ack = start
        if fin:
            this.fin = seq_add(start, dlen)
        if ackf:
            this.windowend = seq_add(seg.ack, eff_win)

        # options
        if seg.mss is not None:
            this.mss = seg.mss
        if seg.wscale is not None and seg.wscale <= 14:
            this.window_scale = seg.wscale
            this.f1323_ws = True
        if seg.ts_val is not None:
            this.f1323_ts = True
        if not syn and (not this.f1323_ws or not other.f1323_ws):
            this.window_scale = other.window_scale = 0
        if seg.sack_permitted:
            this.fsack_req = True
        nsacks = len(seg.sack_blocks)
        if nsacks > 0:
            this.sacks_sent += 1

        if dlen > 0:
            this.data_pkts += 1
            if flags & PSH:
                this.data_pkts_push += 1
            this.data_bytes += dlen
            if flags & URG:
                this.urg_data_pkts += 1
                this.urg_data_bytes += urp
            if dlen > this.max_seg_size:
                this.max_seg_size = dlen
            if this.min_seg_size == 0 or dlen < this.min_seg_size:
                this.min_seg_size = dlen
            if this.first_data_time == 0:
                this.first_data_time = now
            this.last_data_time = now

        conn.packets += 1
        this.packets += 1
        if this.window_stats_updated_for_scaling:
            this.win_scaled_pkts += 1
        if this.min_seq == 0 and start != 0:
            this.min_seq = start
            this.max_seq = end & MASK
        if seq_gt(end, this.max_seq):
            this.max_seq = end & MASK
        this.latest_seq = end & MASK

        if seg.ip_version == 4:
            hit = False
            for hseq, hid in this.hw_dups:
                if hseq == start and hid == ip_id and hseq != 0 and hid != 0:
                    this.num_hardware_dups += 1
                    hit = True
                    break
            if not hit:
                this.hw_dups[this.hw_dups_ix] = (start, ip_id)
                this.hw_dups_ix = (this.hw_dups_ix + 1) % SEGS_TO_REMEMBER

        if dlen > 0:
            missing = dlen - min(dlen, seg.captured_payload)
            if missing > 0:
                this.trunc_bytes += missing
                this.trunc_segs += 1

        # retransmissions
        probe = out_order = False
        retrans_num_bytes = 0
        if syn or fin or dlen > 0:
            length = dlen + (1 if syn else 0) + (1 if fin else 0)
            retrans_cnt = 0
            if other.win_last == 0 and other.packets > 0:
                probe = True
                this.num_zwnd_probes += 1
                this.zwnd_probe_bytes += dlen
                this.marks[seg.frame_number] = "P"
            else:
                retrans_cnt, out_order = this.rexmit(start, length, now)
                retrans_num_bytes = retrans_cnt
            if out_order:
                this.out_order_pkts += 1
                this.marks[seg.frame_number] = "O"
            if syn:
                length -= 1
                if this.syn_count > 1:
                    retrans_cnt -= 1
            if fin:
                length -= 1
                if this.fin_count > 1:
                    retrans_cnt -= 1
            if not probe and retrans_cnt < length:
                this.unique_bytes += length - retrans_cnt

        if ackf:
            # a duplicate ACK carries no data and repeats the sender's last ACK and window
            dup = dlen == 0 and eff_win == this.win_last and (seg.ack & MASK) == this.ack
            other.ack_in(seg.ack, dup, now, seg.frame_number)
            if (seg.ack & MASK) == seq_add(other.syn, 1) and other.syn_count == 1:
                other.rtt_3WHS = int(other.rtt_last)

        retrans = False
        if retrans_num_bytes > 0:
            retrans = True
            this.rexmit_pkts += 1
            this.rexmit_bytes += retrans_num_bytes
            this.marks[seg.frame_number] = "R"
        else:
            this.seq = end & MASK

        if rst:
            if ackf:
                this.ack_pkts += 1
            return

        this.win_last = eff_win
        if ackf or syn:
            if eff_win > this.win_max:
                this.win_max = eff_win
            if (eff_win > 0 and this.f1323_ws and other.f1323_ws and not syn
                    and not this.window_stats_updated_for_scaling):
                this.window_stats_updated_for_scaling = True
                this.win_min = this.win_max = eff_win
                this.win_tot = 0
                this.win_scaled_pkts = 1
            elif eff_win > 0 and (this.win_min == 0 or eff_win < this.win_min):
                this.win_min = eff_win
            this.win_tot += eff_win

        if ackf:
            if eff_win == 0:
                this.win_zero_ct += 1
            this.ack_pkts += 1
            if dlen == 0 and not syn and not fin:
                this.pureack_pkts += 1
            if nsacks > 0:
                this.num_sacks += 1
                this.max_sack_blocks = max(this.max_sack_blocks, nsacks)
                b = seg.sack_blocks
                ackv = seg.ack & MASK
                # D-SACK (RFC 2883): first block below the ACK, inside or overlapping the second
                inside = nsacks > 1 and b[0][1] <= b[1][1] and b[0][0] >= b[1][0]
                overlap = nsacks > 1 and ((b[0][0] <= b[1][0] < b[0][1])
                                          or (b[0][1] >= b[1][1] > b[0][0]))
                if b[0][1] <= ackv or inside or overlap:
                    this.num_dsacks += 1
            this.time = now
            this.ack = seg.ack & MASK

        if not other.data_acked and ackf and seq_add(other.syn, 1) != (seg.ack & MASK):
            other.data_acked = True
        if dlen > 0 and not this.data_acked and not retrans:
            this.initialwin_bytes += dlen
            this.initialwin_segs += 1

        if not syn and not out_order and not retrans:
            owin = end - start if other.ack == 0 else seq_sub(end, other.ack - 1)
            if owin > this.owin_max:
                this.owin_max = owin
            if owin > 0 and (this.owin_min == 0 or owin < this.owin_min):
                this.owin_min = owin
            this.owin_tot += owin
            this.owin_count += 1
            # time-weighted average (tcptrace weights each sample by how long it held)
            if this.prev_owin_time // 1000000 == 0:
                this.prev_owin_time = this.last_time
                this.prev_owin = owin
            else:
                secs = _elapsed(this.prev_owin_time, conn.last_time) / 1000000
                this.owin_wavg += int(this.prev_owin * secs)
                this.prev_owin_time = this.last_time
                this.prev_owin = owin

    def finish(self, end_time: int) -> None:
        """Complete idle times of connections still open at the end of the trace."""
        for conn in self.connections:
            if conn.fin_count() >= 2 or conn.reset():
                continue
            for d in (conn.a2b, conn.b2a):
                if d.last_time != 0:
                    itime = _elapsed(d.last_time, end_time)
                    if itime > d.idle_max:
                        d.idle_max = itime


def analyze(source: Source | SegmentTable) -> list[Connection]:
    """Run the tcptrace model over every TCP segment tcptrace sees in a capture (a file,
    frames, or a segment table already read): no IP reassembly, nothing inside IP-in-IP."""
    table = source if isinstance(source, SegmentTable) else segment_table(source)
    view = table.tcptrace_view()
    dlen, captured = tcptrace_lengths(view)
    an = TcptraceAnalyzer()
    feed = an.feed
    for seg, d, c, ip_id, urp in zip(view.segments(), dlen.tolist(), captured.tolist(), view.ip_id.tolist(),
                                     view.urgent.tolist(), strict=True):
        if d != seg.seglen or c != seg.captured_payload:
            seg = seg._replace(seglen=d, captured_payload=c)
        feed(seg, ip_id, urp)
    an.finish(table.last_ts_ns // 1000)  # tcptrace's clock: the last packet read, of any kind
    return an.connections


# ---------------------------------------------------------------------------
# derived values, as tcptrace prints them


def _average(total: float, count: int) -> float:
    return total / (count + 0.0001)


def _stdev(total: float, total2: float, n: int) -> float:
    if n <= 2:
        return 0.0
    term = (total2 - (total * total) / n) / (n - 1)
    return math.sqrt(term) if term > 0 else 0.0


def _stream_length(d: Direction) -> int | None:
    if not (d.syn_count > 0 and d.fin_count > 0):
        return None
    last = d.latest_seq if d.reset_count > 0 else d.fin
    if d.seq_wrap_count > 0:
        if last > d.syn:
            return last + MAX_32 * d.seq_wrap_count - d.syn - 1
        return last + MAX_32 * (d.seq_wrap_count + 1) - d.syn - 1
    if last > d.syn:
        return last - d.syn - 1
    return MAX_32 + last - d.syn - 1


def _avg_win(conn: Connection, d: Direction) -> int:
    # tcptrace divides by the packets sent since scaling took effect when both
    # directions have sent a scaled window, else by all packets sent
    if conn.a2b.window_stats_updated_for_scaling and conn.b2a.window_stats_updated_for_scaling:
        return d.win_tot // d.win_scaled_pkts
    return d.win_tot // d.packets if d.packets else 0


def direction_stats(conn: Connection, d: Direction) -> dict[str, Any]:
    """The values of one column of ``tcptrace -l -r``, as numbers (times in ms / s)."""
    etime = _elapsed(conn.first_time, conn.last_time)
    stream = _stream_length(d)
    secs = etime / 1000000.0
    return {
        "total packets": d.packets,
        "resets sent": d.reset_count,
        "ack pkts sent": d.ack_pkts,
        "pure acks sent": d.pureack_pkts,
        "sack pkts sent": d.num_sacks,
        "dsack pkts sent": d.num_dsacks,
        "max sack blks/ack": d.max_sack_blocks,
        "unique bytes sent": d.unique_bytes,
        "actual data pkts": d.data_pkts,
        "actual data bytes": d.data_bytes,
        "rexmt data pkts": d.rexmit_pkts,
        "rexmt data bytes": d.rexmit_bytes,
        "zwnd probe pkts": d.num_zwnd_probes,
        "zwnd probe bytes": d.zwnd_probe_bytes,
        "outoforder pkts": d.out_order_pkts,
        "pushed data pkts": d.data_pkts_push,
        "SYN pkts sent": d.syn_count,
        "FIN pkts sent": d.fin_count,
        "req 1323 ws": d.f1323_ws,
        "req 1323 ts": d.f1323_ts,
        "adv wind scale": d.window_scale,
        "req sack": d.fsack_req,
        "sacks sent": d.sacks_sent,
        "urgent data pkts": d.urg_data_pkts,
        "urgent data bytes": d.urg_data_bytes,
        "mss requested": d.mss,
        "max segm size": d.max_seg_size,
        "min segm size": d.min_seg_size,
        "avg segm size": int(d.data_bytes / (d.data_pkts + 0.001)),
        "max win adv": d.win_max,
        "min win adv": d.win_min,
        "zero win adv": d.win_zero_ct,
        "avg win adv": _avg_win(conn, d),
        "max owin": d.owin_max,
        "min non-zero owin": d.owin_min,
        "avg owin": 0 if d.owin_count == 0 else d.owin_tot // d.owin_count,
        "wavg owin": None if etime == 0.0 else int(d.owin_wavg / (etime / 1000000)),
        "initial window bytes": d.initialwin_bytes,
        "initial window pkts": d.initialwin_segs,
        "ttl stream length": stream,
        "missed data": None if stream is None else stream - d.unique_bytes,
        "truncated data": d.trunc_bytes,
        "truncated packets": d.trunc_segs,
        "data xmit time": _elapsed(d.first_data_time, d.last_data_time) / 1000000.0,
        "idletime max": None if d.last_time == 0 else d.idle_max / 1000.0,
        "hardware dups": d.num_hardware_dups,
        "throughput": None if secs == 0.0 else d.unique_bytes / secs,
        "RTT samples": d.rtt_count,
        "RTT min": d.rtt_min / 1000.0,
        "RTT max": d.rtt_max / 1000.0,
        "RTT avg": _average(d.rtt_sum, d.rtt_count) / 1000.0,
        "RTT stdev": _stdev(d.rtt_sum, d.rtt_sum2, d.rtt_count) / 1000.0,
        "RTT from 3WHS": d.rtt_3WHS / 1000.0,
        "RTT full_sz smpls": d.rtt_full_count,
        "RTT full_sz min": d.rtt_full_min / 1000.0,
        "RTT full_sz max": d.rtt_full_max / 1000.0,
        "RTT full_sz avg": _average(d.rtt_full_sum, d.rtt_full_count) / 1000.0,
        "RTT full_sz stdev": _stdev(d.rtt_full_sum, d.rtt_full_sum2, d.rtt_full_count) / 1000.0,
        "post-loss acks": d.rtt_nosample,
        "ambiguous acks": d.rtt_amback,
        "RTT min (last)": d.rtt_min_last / 1000.0,
        "RTT max (last)": d.rtt_max_last / 1000.0,
        "RTT avg (last)": _average(d.rtt_sum_last, d.rtt_count_last) / 1000.0,
        "RTT sdv (last)": _stdev(d.rtt_sum_last, d.rtt_sum2_last, d.rtt_count_last) / 1000.0,
        "segs cum acked": d.rtt_cumack,
        "duplicate acks": d.rtt_dupack,
        "triple dupacks": d.rtt_triple_dupack,
        "max # retrans": d.retr_max,
        "min retr time": d.retr_min_tm / 1000.0,
        "max retr time": d.retr_max_tm / 1000.0,
        "avg retr time": _average(d.retr_tm_sum, d.retr_tm_count) / 1000.0,
        "sdv retr time": _stdev(d.retr_tm_sum, d.retr_tm_sum2, d.retr_tm_count) / 1000.0,
    }


# column name in the DataFrame for each statistic (snake case, units in the name)
_COLUMN = {
    "data xmit time": "data_xmit_time_s", "idletime max": "idletime_max_ms",
    "throughput": "throughput_Bps", "max # retrans": "max_retrans",
    "max sack blks/ack": "max_sack_blks_per_ack",
}


def _column(label: str) -> str:
    if label in _COLUMN:
        return _COLUMN[label]
    name = label.replace("(last)", "last").replace("/", "_").replace("#", "n").replace("-", "_")
    name = "_".join(name.split())
    if (label.startswith("RTT") and label not in ("RTT samples", "RTT full_sz smpls")) \
            or label.endswith("retr time"):
        name += "_ms"
    return name


def tcptrace_stats(source: Source | SegmentTable) -> pd.DataFrame:
    """One row per connection and direction with tcptrace's long (-l -r) statistics.

    Columns: conn (tcptrace's 1-based number), direction ("a2b"/"b2a"), src, sport,
    dst, dport, first/last (datetime64[ns] of the connection's first/last packet),
    complete, reset, then the statistics (RTT values in ms, as tcptrace prints them).
    """
    import pandas as pd

    table = source if isinstance(source, SegmentTable) else segment_table(source)
    rows: list[dict[str, Any]] = []
    for conn in analyze(table):
        for name, d, o in (("a2b", conn.a2b, conn.b2a), ("b2a", conn.b2a, conn.a2b)):
            row: dict[str, Any] = {
                "conn": conn.number, "direction": name, "src": d.host, "sport": d.port,
                "dst": o.host, "dport": o.port,
                "first": pd.Timestamp(conn.first_time * 1000, unit="ns"),
                "last": pd.Timestamp(conn.last_time * 1000, unit="ns"),
                "complete": conn.complete(), "reset": conn.reset(),
            }
            for label, value in direction_stats(conn, d).items():
                row[_column(label)] = value
            rows.append(row)
    df = pd.DataFrame(rows)
    if table.error is not None:
        df.attrs["pcapkit.error"] = str(table.error)
    if not df.empty:
        df["first"] = df["first"].astype("datetime64[ns]")
        df["last"] = df["last"].astype("datetime64[ns]")
    return df
