"""Sans-I/O TCP stream reassembly, one instance per direction.

::

    r = StreamReassembler()
    for seg in segments_of_one_direction:
        for event in r.feed(seg.seq, seg.payload, seg.flags, seg.frame_number, seg.ts_ns):
            ...                      # Data / Gap / Retransmission / LimitReached / Fin
    for event in r.flush():          # end of capture: deliver what is still buffered
        ...

The reassembler turns segments (raw 32-bit sequence numbers, payload bytes, TCP
flags) into the in-order byte stream. Positions in the stream are *stream offsets*:
0 is the first byte after the SYN (or the first byte seen when the capture started
mid-connection); they grow without bound, so sequence wrap-around at 2^32 is
invisible to the user. Sequence arithmetic goes through :mod:`pcapkit.proto.seq`.

- in-order bytes are delivered at once as :class:`Data` (with the frame they came from);
- bytes already delivered (retransmissions, overlaps) are reported as
  :class:`Retransmission` and never delivered twice; when the retransmitted bytes
  differ from the delivered ones, ``conflict`` is set (the first copy wins, as in
  Wireshark's and Zeek's default policy);
- out-of-order segments are buffered until the hole before them is filled; if the
  buffered bytes exceed ``max_buffered`` the reassembler gives up waiting:
  :class:`LimitReached`, then :class:`Gap` for the missing bytes, then the data;
- at :meth:`flush` (end of capture) remaining holes are reported as :class:`Gap` and
  the buffered data after them delivered;
- FIN: :class:`Fin` once every byte before the FIN has been delivered; later data is
  ignored (reported as :class:`DataAfterFin`).

Events are frozen dataclasses; there is no I/O and no clock (time comes from packets).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pcapkit.proto.seq import seq_add, seq_diff

FIN, SYN, RST = 0x001, 0x002, 0x004

DEFAULT_MAX_BUFFERED = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Data:
    """In-order bytes ``data`` at stream offset ``offset``, carried by ``frame_number``."""

    offset: int
    data: bytes
    frame_number: int
    ts_ns: int


@dataclass(frozen=True, slots=True)
class Gap:
    """``length`` bytes at stream ``offset`` were never seen (lost or not captured)."""

    offset: int
    length: int
    frame_number: int   # the frame whose arrival (or the flush) declared the gap


@dataclass(frozen=True, slots=True)
class Retransmission:
    """``length`` bytes at ``offset`` in ``frame_number`` had already been delivered
    (or buffered); ``conflict`` when their content differs from the first copy."""

    offset: int
    length: int
    frame_number: int
    conflict: bool = False


@dataclass(frozen=True, slots=True)
class LimitReached:
    """Buffered out-of-order bytes exceeded ``limit``; the reassembler skipped the hole."""

    buffered: int
    limit: int
    frame_number: int


@dataclass(frozen=True, slots=True)
class Fin:
    """Every byte before the FIN (stream ``offset``) has been delivered."""

    offset: int
    frame_number: int


@dataclass(frozen=True, slots=True)
class DataAfterFin:
    """``length`` bytes beyond the FIN (ignored)."""

    offset: int
    length: int
    frame_number: int


Event = Data | Gap | Retransmission | LimitReached | Fin | DataAfterFin


@dataclass(slots=True)
class _Pending:
    data: bytes
    frame_number: int
    ts_ns: int


@dataclass(slots=True)
class StreamReassembler:
    """Reassembles one direction of a TCP connection.

    max_buffered: most out-of-order bytes kept waiting for a hole to be filled.
    reorder:      True (default) buffers out-of-order segments until the hole before
                  them is filled; False declares the hole a :class:`Gap` at once and
                  delivers the segment (tshark's default, ``tcp.reassemble_out_of_order``
                  off); bytes arriving later for the hole count as retransmitted.
    conflict_window: how many recently delivered bytes (up to twice this) are kept to
                  tell whether a retransmission carries different bytes (``conflict``);
                  0 keeps none (``conflict`` is then only set against buffered data).
    """

    max_buffered: int = DEFAULT_MAX_BUFFERED
    reorder: bool = True               # False: never wait for a hole (Wireshark's default)
    conflict_window: int = 65536       # delivered bytes kept to compare retransmissions with
    base: int | None = None            # sequence number of stream offset 0
    next_offset: int = 0               # next stream offset expected
    fin_offset: int | None = None
    fin_frame: int = 0
    fin_delivered: bool = False
    delivered_bytes: int = 0
    missing_bytes: int = 0
    retransmitted_bytes: int = 0
    _pending: dict[int, _Pending] = field(default_factory=dict)
    _pending_bytes: int = 0
    _recent: bytearray = field(default_factory=bytearray)   # tail of delivered data, to detect conflicts
    _recent_start: int = 0

    @property
    def buffered_bytes(self) -> int:
        return self._pending_bytes

    def offset_of(self, seq: int) -> int:
        """Stream offset of the raw sequence number ``seq`` (the one nearest to the
        next expected byte, so wrap-around is transparent)."""
        assert self.base is not None
        expected = seq_add(self.base, self.next_offset)
        return self.next_offset + seq_diff(seq, expected)

    def feed(self, seq: int, payload: bytes, flags: int, frame_number: int, ts_ns: int = 0) -> list[Event]:
        """One segment of this direction; returns the events it caused, in order."""
        events: list[Event] = []
        if flags & SYN:
            if self.base is None or (self.next_offset == 0 and not self._pending):
                self.base = seq_add(seq, 1)
            seq = seq_add(seq, 1)       # payload on a SYN starts after it
        elif self.base is None:
            self.base = seq & 0xFFFFFFFF
        offset = self.offset_of(seq)
        end = offset + len(payload)
        if flags & FIN and self.fin_offset is None:
            self.fin_offset = end
            self.fin_frame = frame_number
        if payload:
            self._accept(offset, bytes(payload), frame_number, ts_ns, events)
        self._check_fin(events)
        return events

    def flush(self, frame_number: int = 0) -> list[Event]:
        """End of the capture: report holes as gaps and deliver everything buffered."""
        events: list[Event] = []
        while self._pending:
            first = min(self._pending)
            if first > self.next_offset:
                self._gap(first - self.next_offset, frame_number, events)
            self._drain(events)
        self._check_fin(events)
        return events

    # -- internals -------------------------------------------------------------------

    def _accept(self, offset: int, payload: bytes, frame_number: int, ts_ns: int, events: list[Event]) -> None:
        if self.fin_offset is not None and offset + len(payload) > self.fin_offset:
            cut = max(0, self.fin_offset - offset)
            events.append(DataAfterFin(offset + cut, len(payload) - cut, frame_number))
            payload = payload[:cut]
            if not payload:
                return
        end = offset + len(payload)
        if offset < self.next_offset:
            old = min(end, self.next_offset) - offset
            self._retransmitted(offset, payload[:old], frame_number, events)
            payload = payload[old:]
            offset += old
            if not payload:
                return
        if offset == self.next_offset:
            self._deliver(offset, payload, frame_number, ts_ns, events)
            self._drain(events)
            return
        if not self.reorder:
            self._gap(offset - self.next_offset, frame_number, events)
            self._deliver(offset, payload, frame_number, ts_ns, events)
            return
        # out of order: keep it until the hole is filled
        held = self._pending.get(offset)
        if held is not None:
            if len(held.data) >= len(payload):
                self._retransmitted(offset, payload, frame_number, events, held.data)
                return
            self._retransmitted(offset, payload[: len(held.data)], frame_number, events, held.data)
            self._pending_bytes -= len(held.data)
        self._pending[offset] = _Pending(payload, frame_number, ts_ns)
        self._pending_bytes += len(payload)
        if self._pending_bytes > self.max_buffered:
            events.append(LimitReached(self._pending_bytes, self.max_buffered, frame_number))
            first = min(self._pending)
            self._gap(first - self.next_offset, frame_number, events)
            self._drain(events)

    def _drain(self, events: list[Event]) -> None:
        """Deliver buffered segments that now start at or before the next offset."""
        while self._pending:
            first = min(self._pending)
            if first > self.next_offset:
                return
            seg = self._pending.pop(first)
            self._pending_bytes -= len(seg.data)
            data = seg.data
            old = min(len(data), self.next_offset - first)
            if old:
                self._retransmitted(first, data[:old], seg.frame_number, events)
                data = data[old:]
            if data:
                self._deliver(self.next_offset, data, seg.frame_number, seg.ts_ns, events)

    def _deliver(self, offset: int, data: bytes, frame_number: int, ts_ns: int, events: list[Event]) -> None:
        events.append(Data(offset, data, frame_number, ts_ns))
        self.next_offset = offset + len(data)
        self.delivered_bytes += len(data)
        if self.conflict_window <= 0:
            self._recent_start = self.next_offset
            return
        self._recent += data
        if len(self._recent) > 2 * self.conflict_window:
            drop = len(self._recent) - self.conflict_window
            del self._recent[:drop]
            self._recent_start += drop

    def _gap(self, length: int, frame_number: int, events: list[Event]) -> None:
        if length <= 0:
            return
        events.append(Gap(self.next_offset, length, frame_number))
        self.missing_bytes += length
        self.next_offset += length
        self._recent.clear()
        self._recent_start = self.next_offset

    def _retransmitted(self, offset: int, data: bytes, frame_number: int, events: list[Event],
                       first_copy: bytes | None = None) -> None:
        if not data:
            return
        if first_copy is None:
            lo = offset - self._recent_start
            if lo >= 0 and lo + len(data) <= len(self._recent):
                first_copy = bytes(self._recent[lo:lo + len(data)])
        conflict = first_copy is not None and first_copy[: len(data)] != data
        events.append(Retransmission(offset, len(data), frame_number, conflict))
        self.retransmitted_bytes += len(data)

    def _check_fin(self, events: list[Event]) -> None:
        if (self.fin_offset is not None and not self.fin_delivered
                and self.next_offset >= self.fin_offset):
            self.fin_delivered = True
            events.append(Fin(self.fin_offset, self.fin_frame))


def reassemble(segments: list[tuple[int, bytes, int, int]], *, max_buffered: int = DEFAULT_MAX_BUFFERED,
               reorder: bool = True) -> list[Event]:
    """Convenience: feed (seq, payload, flags, frame_number) tuples, then flush."""
    r = StreamReassembler(max_buffered=max_buffered, reorder=reorder)
    events: list[Event] = []
    for seq, payload, flags, frame_number in segments:
        events += r.feed(seq, payload, flags, frame_number)
    events += r.flush()
    return events
