"""The sans-I/O TCP flow engine: tshark 4.0's per-frame TCP analysis, one segment at a time.

Feed :class:`~pcapkit.tcpflow.segment.Segment` objects in file order to
:meth:`TcpEngine.feed`; each call returns one frozen :class:`FrameAnalysis` with the
values tshark prints for that frame (``tcp.stream``, relative ``tcp.seq``/``tcp.ack``/
``tcp.nxtseq``, ``tcp.window_size`` and the ``tcp.analysis.*`` fields). Time comes
only from the segments. The analysis itself is :func:`pcapkit.tcpflow.analysis.step`,
the same code :func:`pcapkit.tcpflow.analysis.run` runs over whole columns (compiled by
numba, or interpreted with ``PCAPKIT_NO_NUMBA=1``); this module maps each segment's
endpoints to a conversation key and turns the step's outputs into a record.

Limits: ``max_unacked`` (per direction, tshark's TCP_MAX_UNACKED_SEGMENTS = 10,000)
and ``max_conversations``. When a limit cuts the analysis the record says so
(``FrameAnalysis.limited``) and :attr:`TcpEngine.warnings` lists it once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pcapkit.tcpflow import analysis
from pcapkit.tcpflow.analysis import TCP_MAX_UNACKED_SEGMENTS
from pcapkit.tcpflow.flags import (
    A_ACK_LOST_SEGMENT,
    A_DUPLICATE_ACK,
    A_FAST_RETRANSMISSION,
    A_KEEP_ALIVE,
    A_KEEP_ALIVE_ACK,
    A_LOST_SEGMENT,
    A_OUT_OF_ORDER,
    A_RETRANSMISSION,
    A_REUSED_PORTS,
    A_SPURIOUS_RETRANSMISSION,
    A_WINDOW_FULL,
    A_WINDOW_UPDATE,
    A_ZERO_WINDOW,
    A_ZERO_WINDOW_PROBE,
    A_ZERO_WINDOW_PROBE_ACK,
    FLAG_FIELDS,
    H_ACK_RTT,
    H_ACKS_FRAME,
    H_BIF,
    H_DUPACK,
    H_IRTT,
    H_LIMITED,
    H_PUSH,
    H_RTO,
    H_SHORT,
    SYN,
)
from pcapkit.tcpflow.segment import Segment

__all__ = [
    "A_ACK_LOST_SEGMENT", "A_DUPLICATE_ACK", "A_FAST_RETRANSMISSION", "A_KEEP_ALIVE", "A_KEEP_ALIVE_ACK",
    "A_LOST_SEGMENT", "A_OUT_OF_ORDER", "A_RETRANSMISSION", "A_REUSED_PORTS", "A_SPURIOUS_RETRANSMISSION",
    "A_WINDOW_FULL", "A_WINDOW_UPDATE", "A_ZERO_WINDOW", "A_ZERO_WINDOW_PROBE", "A_ZERO_WINDOW_PROBE_ACK",
    "FLAG_FIELDS", "TCP_MAX_UNACKED_SEGMENTS", "FrameAnalysis", "TcpEngine", "analyse", "tshark_text",
]


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


class TcpEngine:
    """Incremental tshark-exact TCP analysis. ``feed`` one segment at a time, in order.

    ``compiled``: run the compiled step (None: when numba is available and
    ``PCAPKIT_NO_NUMBA`` is unset) or the interpreted one; the answers are the same."""

    def __init__(self, max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
                 max_conversations: int | None = None, *, compiled: bool | None = None) -> None:
        self.max_unacked = max_unacked
        self.max_conversations = max_conversations
        self.dropped_conversations = 0
        be = analysis.backend(compiled)
        self._step = be.step
        self._grow = be.grow
        self._st, self._arena = be.new_state(16, 16, 64, max_unacked,
                                             -1 if max_conversations is None else max_conversations)
        self._out = be.alloc(analysis.NOUT)
        # (the compiled step fills a numpy array: read it back as Python ints in one call)
        self._outputs: Any = self._out.tolist if be.compiled else (lambda: self._out)
        # endpoint 4-tuple -> 2 * key + which endpoint of the key sent
        self._keys: dict[tuple[str, int, str, int], int] = {}
        self._nkeys = 0
        self._recycled = False  # (forget() gave a record back: record s is no longer stream s)

    @property
    def warnings(self) -> list[str]:
        """The limits that cut the analysis so far (each once)."""
        return analysis.limit_warnings(self._st, self.max_unacked, self.max_conversations)

    @property
    def stream_count(self) -> int:
        """Conversations so far (tcp.stream 0 .. stream_count - 1)."""
        return int(self._st[analysis.G_NCONV])

    def initial_rtt(self, stream: int) -> int | None:
        """The conversation's iRTT in ns (first ACK without SYN minus the latest SYN
        without ACK), None while unknown."""
        if not 0 <= stream < self.stream_count:
            raise IndexError(f"no tcp.stream {stream}")
        if self._recycled:
            raise RuntimeError("initial_rtt(stream) reads the records in stream order: not after forget()")
        return analysis.initial_rtt(self._st, stream) or None

    def forget(self, a: tuple[str, int], b: tuple[str, int]) -> None:
        """Give back the state of the conversation between endpoints ``a`` and ``b``
        (address, port): a live consumer that saw it end or go idle keeps memory flat.
        A later segment between them opens a new tcp.stream (tshark, holding every
        conversation, would continue the old one unless it is a new SYN)."""
        from pcapkit.tcpflow.analysis.state import G_KEYS, _free_conversation

        keydir = self._keys.pop((*a, *b), None)
        self._keys.pop((*b, *a), None)
        if keydir is None:
            return
        slot = int(self._st[G_KEYS]) + (keydir >> 1)
        record = int(self._st[slot]) - 1
        if record >= 0:
            _free_conversation(self._st, self._arena, record)
            self._st[slot] = 0
            self._recycled = True

    def feed(self, seg: Segment) -> FrameAnalysis | None:
        """Analyse one segment; None only when max_conversations cut it off."""
        keydir = self._keys.get((seg.src, seg.sport, seg.dst, seg.dport))
        if keydir is None:
            keydir = self._new_key(seg)
        blocks = seg.sack_blocks
        if blocks:
            st = self._st
            for j, (left, right) in enumerate(blocks[:3]):
                st[analysis.G_SACK + 2 * j] = left
                st[analysis.G_SACK + 2 * j + 1] = right
        if self._step(self._st, self._arena, self._out, 0, 1, seg.frame_number, seg.ts_ns, keydir, seg.flags,
                      seg.seq, seg.ack, seg.seglen, seg.window, -1 if seg.wscale is None else seg.wscale,
                      len(blocks)):
            self._st, self._arena = self._grow(self._st, self._arena, self._nkeys)
        (stream, seq, ack, nxtseq, window_size, scalefactor, a, acks_frame, ack_rtt, irtt, bif, push, dupack_num,
         dupack_frame, rto, rto_frame, time_relative, time_delta, have) = self._outputs()
        if stream < 0:
            self.dropped_conversations += 1
            return None
        if not have & ~(H_SHORT | H_LIMITED):  # (the usual case: no optional value)
            return FrameAnalysis(seg, stream, seq, ack, nxtseq, window_size, scalefactor, a, None, None, None,
                                 None, None, None, None, None, None, time_relative, time_delta,
                                 bool(have & H_LIMITED), bool(have & H_SHORT))
        return FrameAnalysis(
            seg, stream, seq, ack, nxtseq, window_size, scalefactor, a,
            acks_frame if have & H_ACKS_FRAME else None, ack_rtt if have & H_ACK_RTT else None,
            irtt if have & H_IRTT else None, bif if have & H_BIF else None, push if have & H_PUSH else None,
            dupack_num if have & H_DUPACK else None, dupack_frame if have & H_DUPACK else None,
            rto if have & H_RTO else None, rto_frame if have & H_RTO else None, time_relative, time_delta,
            bool(have & H_LIMITED), bool(have & H_SHORT))

    def _new_key(self, seg: Segment) -> int:
        """A key for the segment's endpoint pair (both directions), with room in the state."""
        k = self._nkeys
        self._nkeys = k + 1
        forward = (seg.src, seg.sport, seg.dst, seg.dport)
        self._keys[forward] = 2 * k
        backward = (seg.dst, seg.dport, seg.src, seg.sport)
        if backward != forward:
            self._keys[backward] = 2 * k + 1
        if self._nkeys > self._st[analysis.G_KCAP]:
            self._st, self._arena = self._grow(self._st, self._arena, self._nkeys)
        return 2 * k


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
