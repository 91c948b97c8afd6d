"""The sans-I/O TCP flow engine: tshark 4.0's per-frame TCP analysis.

Feed :class:`~pcapkit.tcpflow.segment.Segment` objects in file order to
:meth:`TcpEngine.feed`; each call returns one frozen :class:`FrameAnalysis` with the
values tshark prints for that frame (``tcp.stream``, relative ``tcp.seq``/``tcp.ack``/
``tcp.nxtseq``, ``tcp.window_size`` and the ``tcp.analysis.*`` fields). Time comes
only from the segments. The logic follows Wireshark's ``tcp_analyze_sequence_number()``
(epan/dissectors/packet-tcp.c, 4.0) step by step, see docs in
``reference/tcp-analysis.md``; every sequence comparison is modulo 2^32.

Limits: ``max_unacked`` (per direction, tshark's TCP_MAX_UNACKED_SEGMENTS = 10,000)
and ``max_conversations``. When a limit cuts the analysis the record says so
(``FrameAnalysis.limited``) and :attr:`TcpEngine.warnings` lists it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pcapkit.tcpflow.segment import ACK, FIN, PSH, RST, SYN, Segment

MASK = 0xFFFFFFFF
HALF = 0x80000000

# analysis flag bits (FrameAnalysis.flags)
A_RETRANSMISSION = 0x0001
A_FAST_RETRANSMISSION = 0x0002
A_SPURIOUS_RETRANSMISSION = 0x0004
A_OUT_OF_ORDER = 0x0008
A_LOST_SEGMENT = 0x0010
A_ACK_LOST_SEGMENT = 0x0020
A_DUPLICATE_ACK = 0x0040
A_ZERO_WINDOW = 0x0080
A_ZERO_WINDOW_PROBE = 0x0100
A_ZERO_WINDOW_PROBE_ACK = 0x0200
A_KEEP_ALIVE = 0x0400
A_KEEP_ALIVE_ACK = 0x0800
A_WINDOW_FULL = 0x1000
A_WINDOW_UPDATE = 0x2000
A_REUSED_PORTS = 0x4000

#: Wireshark field name of each flag bit (tcp.analysis.<name>)
FLAG_FIELDS: tuple[tuple[int, str], ...] = (
    (A_RETRANSMISSION, "tcp.analysis.retransmission"),
    (A_FAST_RETRANSMISSION, "tcp.analysis.fast_retransmission"),
    (A_SPURIOUS_RETRANSMISSION, "tcp.analysis.spurious_retransmission"),
    (A_OUT_OF_ORDER, "tcp.analysis.out_of_order"),
    (A_LOST_SEGMENT, "tcp.analysis.lost_segment"),
    (A_ACK_LOST_SEGMENT, "tcp.analysis.ack_lost_segment"),
    (A_DUPLICATE_ACK, "tcp.analysis.duplicate_ack"),
    (A_ZERO_WINDOW, "tcp.analysis.zero_window"),
    (A_ZERO_WINDOW_PROBE, "tcp.analysis.zero_window_probe"),
    (A_ZERO_WINDOW_PROBE_ACK, "tcp.analysis.zero_window_probe_ack"),
    (A_KEEP_ALIVE, "tcp.analysis.keep_alive"),
    (A_KEEP_ALIVE_ACK, "tcp.analysis.keep_alive_ack"),
    (A_WINDOW_FULL, "tcp.analysis.window_full"),
    (A_WINDOW_UPDATE, "tcp.analysis.window_update"),
    (A_REUSED_PORTS, "tcp.analysis.reused_ports"),
)

TCP_MAX_UNACKED_SEGMENTS = 10_000
SYNFIN = SYN | FIN
SYNFINRST = SYN | FIN | RST


@dataclass(frozen=True, slots=True)
class FrameAnalysis:
    """What tshark shows for one TCP frame. Times are integer nanoseconds.

    ``seq``/``ack``/``nxtseq`` are relative (tshark's defaults); ``ack`` is the
    relative value even when the ACK flag is clear (tshark prints it then too).
    ``window_size`` is the scaled window, ``scalefactor`` as tshark's
    ``tcp.window_size_scalefactor`` (-1 unknown, -2 no scaling, else 2^shift).
    ``acks_frame``/``ack_rtt``/``bytes_in_flight``/``push_bytes_sent``/
    ``initial_rtt`` are None when tshark does not print them.
    """

    segment: Segment
    stream: int
    seq: int
    ack: int
    nxtseq: int
    window_size: int
    scalefactor: int
    flags: int = 0
    acks_frame: int | None = None
    ack_rtt: int | None = None
    initial_rtt: int | None = None
    bytes_in_flight: int | None = None
    push_bytes_sent: int | None = None
    dupack_num: int | None = None
    dupack_frame: int | None = None
    rto: int | None = None
    rto_frame: int | None = None
    time_relative: int = 0
    time_delta: int = 0
    limited: bool = False
    short: bool = False

    def has(self, bit: int) -> bool:
        return bool(self.flags & bit)


class _Dir:
    """Per-direction state (Wireshark's tcp_flow_t + tcp_analyze_seq_flow_info_t)."""

    __slots__ = (
        "base_seq",
        "base_set",
        "dupacknum",
        "is_first_ack",
        "last_ts",
        "lastack",
        "lastacktime",
        "lastnondupack",
        "lastsegmentflags",
        "maxseqtobeacked",
        "nextseq",
        "nextseqframe",
        "nextseqtime",
        "ordered",
        "push_bytes_sent",
        "push_set_last",
        "sack",
        "segments",
        "valid_bif",
        "win_scale",
        "window",
    )

    def __init__(self) -> None:
        self.base_seq = 0
        self.base_set = False
        self.nextseq = 0
        self.nextseqframe = 0
        self.nextseqtime = 0
        self.maxseqtobeacked = 0
        self.lastack = 0
        self.lastacktime = 0
        self.window = 0xFFFFFFFF  # "not seen yet" (Wireshark initialises it to G_MAXUINT32)
        self.dupacknum = 0
        self.lastnondupack = 0
        # unacked segments, oldest first: [frame, seq, nextseq, ts]
        self.segments: list[list[int]] = []
        # True while every entry's seq and nextseq are >= the previous entry's (mod 2^32):
        # then the acked entries are a prefix and the list's ends give bytes in flight
        self.ordered = True
        self.win_scale = -1
        self.lastsegmentflags = 0
        self.valid_bif = True
        self.push_bytes_sent = 0
        self.push_set_last = False
        self.sack: tuple[tuple[int, int], ...] = ()
        self.is_first_ack = True
        self.last_ts = 0


class Conversation:
    """One TCP conversation (tshark's tcp.stream); ``a`` is the side that sent first."""

    __slots__ = (
        "a",
        "a_addr",
        "a_port",
        "b",
        "b_addr",
        "b_port",
        "first_frame",
        "first_ts",
        "last_ts",
        "reused_frame",
        "stream",
        "syn_seen",
        "ts_first_rtt",
        "ts_mru_syn",
    )

    def __init__(self, stream: int, seg: Segment) -> None:
        self.stream = stream
        self.a_addr, self.a_port, self.b_addr, self.b_port = seg.src, seg.sport, seg.dst, seg.dport
        self.a = _Dir()
        self.b = _Dir()
        self.ts_mru_syn = 0
        self.ts_first_rtt = 0
        self.first_ts = seg.ts_ns
        self.last_ts = seg.ts_ns
        self.first_frame = seg.frame_number
        self.syn_seen = False
        self.reused_frame = 0


class TcpEngine:
    """Incremental tshark-exact TCP analysis. ``feed`` one segment at a time, in order."""

    def __init__(self, max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
                 max_conversations: int | None = None) -> None:
        self.max_unacked = max_unacked
        self.max_conversations = max_conversations
        self.conversations: list[Conversation] = []
        self._by_key: dict[tuple[str, int, str, int], Conversation] = {}
        self.warnings: list[str] = []
        self._warned_unacked = False
        self.dropped_conversations = 0

    # -- conversation lookup -------------------------------------------------
    def _conversation(self, seg: Segment) -> Conversation | None:
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        conv = self._by_key.get(key)
        if conv is not None:
            flags = seg.flags
            if flags & SYN:
                fwd = conv.a if (conv.a_addr == seg.src and conv.a_port == seg.sport) else conv.b
                if fwd.base_set and seg.seq != fwd.base_seq:
                    if flags & ACK:
                        # a SYN-ACK with a new ISN: same stream, new base (tshark 4.0)
                        fwd.base_seq = seg.seq
                        conv.reused_frame = seg.frame_number
                    else:
                        conv = self._new(seg, key)
                        if conv is not None:
                            conv.reused_frame = seg.frame_number
            return conv
        return self._new(seg, key)

    def _new(self, seg: Segment, key: tuple[str, int, str, int]) -> Conversation | None:
        if self.max_conversations is not None and len(self.conversations) >= self.max_conversations:
            if not self.dropped_conversations:
                self.warnings.append(f"max_conversations={self.max_conversations} reached at frame "
                                     f"{seg.frame_number}: later conversations are not analysed")
            self.dropped_conversations += 1
            return None
        conv = Conversation(len(self.conversations), seg)
        self.conversations.append(conv)
        self._by_key[key] = conv
        self._by_key[(seg.dst, seg.dport, seg.src, seg.sport)] = conv
        return conv

    # -- the analysis ----------------------------------------------------------
    def feed(self, seg: Segment) -> FrameAnalysis | None:
        """Analyse one segment; None only when max_conversations cut it off."""
        conv = self._conversation(seg)
        if conv is None:
            return None
        # (a connection from an address:port to itself is one direction, as in tshark)
        if conv.a_addr == seg.src and conv.a_port == seg.sport:
            fwd, rev = conv.a, conv.b
        else:
            fwd, rev = conv.b, conv.a
        flags = seg.flags
        seq = seg.seq
        ack = seg.ack
        seglen = seg.seglen
        window = seg.window
        now = seg.ts_ns
        num = seg.frame_number
        if seglen < 0:  # "Short segment": tshark prints the raw header fields only
            return FrameAnalysis(seg, conv.stream, seq, ack, seq, window, -1, short=True)

        # relative sequence bases
        if not fwd.base_set:
            fwd.base_seq = seq if flags & SYN else (seq - 1) & MASK
            fwd.base_set = True
        if not rev.base_set and flags & ACK:
            rev.base_seq = (ack - 1) & MASK
            rev.base_set = True

        # window scaling (options of this SYN), then the scaled window
        if flags & SYN:
            conv.syn_seen = True
            if seg.wscale is not None:
                fwd.win_scale = min(seg.wscale, 14)
            if fwd.win_scale == -1:
                fwd.win_scale = -2
                rev.win_scale = -2
            elif flags & ACK and rev.win_scale == -2:
                fwd.win_scale = -2
            window_size = window
            scalefactor = 0
        else:
            ws = fwd.win_scale
            if ws >= 0:
                window_size = window << ws
                scalefactor = 1 << ws
            else:
                window_size = window
                scalefactor = ws

        # iRTT
        if flags & (SYN | ACK) == SYN:
            conv.ts_mru_syn = now
        elif flags & (SYN | ACK) == ACK and conv.ts_mru_syn and not conv.ts_first_rtt:
            conv.ts_first_rtt = now - conv.ts_mru_syn

        fnext = fwd.nextseq
        a = A_REUSED_PORTS if conv.reused_frame == num else 0
        ta = False  # whether tshark allocates its per-frame analysis record (then it prints iRTT)
        dupack_num = dupack_frame = rto = rto_frame = None
        goto_finished = False

        # 1. zero window probe
        if seglen == 1 and seq == fnext and rev.window == 0:
            a |= A_ZERO_WINDOW_PROBE
            goto_finished = True
        if not goto_finished:
            # 2. zero window
            if window == 0 and not flags & SYNFINRST:
                a |= A_ZERO_WINDOW
            # 3. lost segment
            if fnext and _gt(seq, fnext) and not flags & RST:
                a |= A_LOST_SEGMENT
                fwd.valid_bif = False
            # 4. keep alive
            if seglen <= 1 and seq == ((fnext - 1) & MASK) and not flags & SYNFINRST:
                a |= A_KEEP_ALIVE
            same = (seglen == 0 and seq == fnext and ack == fwd.lastack and not flags & SYNFINRST)
            # 5. window update
            if same and window and window != fwd.window:
                a |= A_WINDOW_UPDATE
            # 6. window full
            if seglen > 0 and rev.win_scale != -1 and not flags & SYNFINRST:
                shift = 0 if (rev.is_first_ack or rev.win_scale == -2) else rev.win_scale
                if ((seq + seglen) & MASK) == ((rev.lastack + (rev.window << shift)) & MASK):
                    a |= A_WINDOW_FULL
            # 7. keep-alive ack / zero window probe ack / duplicate ack
            if same and window == fwd.window:
                if window and rev.lastsegmentflags & A_KEEP_ALIVE:
                    a |= A_KEEP_ALIVE_ACK
                    goto_finished = True
                elif window == 0 and rev.lastsegmentflags & A_ZERO_WINDOW_PROBE:
                    a |= A_ZERO_WINDOW_PROBE_ACK
                    goto_finished = True
                elif window:
                    fwd.dupacknum += 1
                    a |= A_DUPLICATE_ACK
                    dupack_num = fwd.dupacknum
                    dupack_frame = fwd.lastnondupack
        # 8. finished_fwd: a new ack number resets the dup-ack counters
        if ack != fwd.lastack:
            fwd.lastnondupack = num
            fwd.dupacknum = 0

        # 9. ack lost segment
        if rev.maxseqtobeacked and flags & ACK and _gt(ack, rev.maxseqtobeacked):
            ta = True
            if _lt(rev.maxseqtobeacked, rev.nextseq):
                a |= A_ACK_LOST_SEGMENT
                rev.maxseqtobeacked = rev.nextseq
            elif rev.dupacknum == 0:
                a |= A_ACK_LOST_SEGMENT
                rev.dupacknum = -1

        # 10. retransmission family
        if (seglen > 0 or flags & SYNFIN) and not a & A_KEEP_ALIVE:
            not_adv = bool(fnext) and _lt(seq, fnext)
            if seglen > 1 and ((fnext - 1) & MASK) == seq:
                not_adv = False
            if seglen > 0 and rev.lastack and _le((seq + seglen) & MASK, rev.lastack):
                a |= A_SPURIOUS_RETRANSMISSION | A_RETRANSMISSION
            elif not_adv and (rev.dupacknum >= 2 or rev.dupacknum < 0) and rev.lastack == seq and \
                    0 <= now - rev.lastacktime < 20_000_000:  # (guint32 -1 counts as >= 2; guint64 time)
                a |= A_FAST_RETRANSMISSION | A_RETRANSMISSION
            else:
                thres = conv.ts_first_rtt or 3_000_000
                if not_adv and 0 <= now - fwd.nextseqtime < thres and \
                        fnext != ((seq + seglen + (1 if flags & SYNFIN else 0)) & MASK):
                    a |= A_OUT_OF_ORDER
                elif not_adv:
                    a |= A_RETRANSMISSION
                    if fwd.segments:  # the oldest unacknowledged segment
                        oldest = fwd.segments[0]
                        rto = now - oldest[3]
                        rto_frame = oldest[0]
                    else:
                        rto = now - fwd.nextseqtime
                        rto_frame = fwd.nextseqframe

        # 11. state update
        nextseq = (seq + seglen) & MASK
        limited = False
        if seglen or flags & SYNFIN:
            if flags & SYNFIN:
                nextseq = (nextseq + 1) & MASK
            fsegs = fwd.segments
            if len(fsegs) < self.max_unacked:
                if fsegs and fwd.ordered:
                    prev = fsegs[-1]
                    if ((seq - prev[1]) & MASK) >= HALF or ((nextseq - prev[2]) & MASK) >= HALF:
                        fwd.ordered = False
                fsegs.append([num, seq, nextseq, now])
            else:
                limited = True
                if not self._warned_unacked:
                    self._warned_unacked = True
                    self.warnings.append(f"max_unacked={self.max_unacked} unacknowledged segments reached in "
                                         f"tcp.stream {conv.stream} at frame {num}: later segments are not tracked")
        if not a & A_ZERO_WINDOW_PROBE:  # zero window probes do not advance nextseq
            if _gt(nextseq, fwd.nextseq) or not fwd.nextseq:
                fwd.nextseq = nextseq
                fwd.nextseqframe = num
                fwd.nextseqtime = now
            if seq == fwd.maxseqtobeacked or not fwd.maxseqtobeacked:
                fwd.maxseqtobeacked = fwd.nextseq
        fwd.window = window
        fwd.lastack = ack
        fwd.lastacktime = now
        fwd.lastsegmentflags = a
        if flags & ACK:
            if not flags & SYN:
                fwd.is_first_ack = False
            rev.valid_bif = True
        if seg.sack_blocks or flags & ACK:
            fwd.sack = seg.sack_blocks

        # 12. ack rtt / acks_frame: tshark walks rev's unacked list newest -> oldest and
        # the oldest exact match wins; segments ending at or before ack go, a segment
        # holding ack is trimmed to start there.
        acks_frame = ack_rtt = None
        segs = rev.segments
        if segs:
            if rev.ordered:
                # fast path: seq and nextseq non-decreasing -> acked entries are a prefix
                k = 0
                n = len(segs)
                while k < n:
                    u = segs[k]
                    d = (u[2] - ack) & MASK
                    if d == 0:
                        if acks_frame is None:
                            ta = True
                            acks_frame = u[0]
                            ack_rtt = now - u[3]
                    elif d < HALF:
                        break  # ends after ack
                    k += 1
                if k:
                    del segs[:k]
                for u in segs:
                    if 0 < ((ack - u[1]) & MASK) < HALF:
                        u[1] = ack  # ack inside the segment
                    else:
                        break
                if not segs:
                    rev.ordered = True
            else:
                i = len(segs) - 1
                while i >= 0:
                    u = segs[i]
                    d = (u[2] - ack) & MASK  # nextseq - ack
                    if d == 0:
                        ta = True
                        acks_frame = u[0]
                        ack_rtt = now - u[3]
                    elif d < HALF:  # nextseq > ack: keep, trimmed if ack is inside
                        if 0 < ((ack - u[1]) & MASK) < HALF:
                            u[1] = ack
                        i -= 1
                        continue
                    del segs[i]
                    i -= 1
                # the list may be in order again once the out-of-order entries are gone
                ordered = True
                for j in range(1, len(segs)):
                    a0, a1 = segs[j - 1], segs[j]
                    if ((a1[1] - a0[1]) & MASK) >= HALF or ((a1[2] - a0[2]) & MASK) >= HALF:
                        ordered = False
                        break
                rev.ordered = ordered

        # 13./14. bytes in flight, push bytes
        bif = push = None
        fsegs = fwd.segments
        if seglen and fsegs and fwd.valid_bif:
            ta = True
            base = fwd.base_seq
            if fwd.ordered:
                first = (fsegs[0][1] - base) & MASK
                last = (fsegs[-1][2] - base) & MASK
            else:
                first = (fsegs[-1][1] - base) & MASK
                last = (fsegs[-1][2] - base) & MASK
                for u in fsegs:
                    s = (u[1] - base) & MASK
                    e = (u[2] - base) & MASK
                    if e > last:
                        last = e
                    if s < first:
                        first = s
            in_flight = last - first
            for left, right in rev.sack[:3]:
                in_flight -= (right - left) & MASK
            if flags & SYNFIN:
                in_flight -= 1
            in_flight &= MASK
            if 0 < in_flight < 2_000_000_000:
                bif = in_flight
            if flags & PSH:
                fwd.push_bytes_sent = seglen if fwd.push_set_last else fwd.push_bytes_sent + seglen
                fwd.push_set_last = True
            elif fwd.push_set_last:
                fwd.push_bytes_sent = seglen
                fwd.push_set_last = False
            else:
                fwd.push_bytes_sent += seglen
            push = fwd.push_bytes_sent

        if ack_rtt == 0:  # tshark shows an RTT only when it is not zero
            ack_rtt = None
        if rto == 0:
            rto = rto_frame = None
        irtt = conv.ts_first_rtt if (ta or a) and conv.ts_first_rtt else None
        rel_ack = (ack - rev.base_seq) & MASK if flags & ACK else ack
        delta = now - conv.last_ts
        conv.last_ts = now
        return FrameAnalysis(seg, conv.stream, (seq - fwd.base_seq) & MASK, rel_ack,
                             (nextseq - fwd.base_seq) & MASK, window_size, scalefactor, a, acks_frame,
                             ack_rtt, irtt, bif, push, dupack_num, dupack_frame, rto, rto_frame,
                             now - conv.first_ts, delta, limited)


def _gt(a: int, b: int) -> bool:
    return 0 < ((a - b) & MASK) < HALF


def _lt(a: int, b: int) -> bool:
    return ((a - b) & MASK) >= HALF


def _le(a: int, b: int) -> bool:
    return ((b - a) & MASK) < HALF


def analyse(segments: Iterable[Segment], max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
            max_conversations: int | None = None) -> list[FrameAnalysis]:
    """Run the engine over an iterable of segments and collect every record."""
    eng = TcpEngine(max_unacked=max_unacked, max_conversations=max_conversations)
    feed = eng.feed
    out: list[FrameAnalysis] = []
    for seg in segments:
        rec = feed(seg)
        if rec is not None:
            out.append(rec)
    return out


def _secs(ns: int) -> str:
    sign = "-" if ns < 0 else ""
    q, r = divmod(abs(ns), 1_000_000_000)
    return f"{sign}{q}.{r:09d}"


def tshark_text(rec: FrameAnalysis) -> dict[str, str]:
    """The analysis of one frame as the text ``tshark -T fields`` prints, by field name
    (absent fields are missing)."""
    seg = rec.segment
    out = {
        "frame.number": str(seg.frame_number),
        "tcp.stream": str(rec.stream),
        "tcp.seq": str(rec.seq),
        "tcp.seq_raw": str(seg.seq),
        "tcp.ack": str(rec.ack),
        "tcp.ack_raw": str(seg.ack),
        "tcp.nxtseq": str(rec.nxtseq),
        "tcp.window_size_value": str(seg.window),
        "tcp.window_size": str(rec.window_size),
    }
    out["tcp.time_relative"] = _secs(rec.time_relative)  # (0 on short segments, as tshark)
    out["tcp.time_delta"] = _secs(rec.time_delta)
    if rec.short:
        del out["tcp.nxtseq"]
        return out
    out["tcp.len"] = str(seg.seglen)
    if not seg.flags & SYN:
        out["tcp.window_size_scalefactor"] = str(rec.scalefactor)

    a = rec.flags
    if a:
        for bit, name in FLAG_FIELDS:
            if a & bit:
                out[name] = "1,1" if bit == A_DUPLICATE_ACK else "1"
    if rec.dupack_num is not None:
        out["tcp.analysis.duplicate_ack_num"] = str(rec.dupack_num)
        out["tcp.analysis.duplicate_ack_frame"] = str(rec.dupack_frame)
    if rec.rto is not None:
        out["tcp.analysis.rto"] = _secs(rec.rto)
        out["tcp.analysis.rto_frame"] = str(rec.rto_frame)
    if rec.acks_frame is not None:
        out["tcp.analysis.acks_frame"] = str(rec.acks_frame)
    if rec.ack_rtt is not None:
        out["tcp.analysis.ack_rtt"] = _secs(rec.ack_rtt)
    if rec.initial_rtt is not None:
        out["tcp.analysis.initial_rtt"] = _secs(rec.initial_rtt)
    if rec.bytes_in_flight is not None:
        out["tcp.analysis.bytes_in_flight"] = str(rec.bytes_in_flight)
        if rec.push_bytes_sent is not None:
            out["tcp.analysis.push_bytes_sent"] = str(rec.push_bytes_sent)
    return out
