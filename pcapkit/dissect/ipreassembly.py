"""IPv4 / IPv6 fragment reassembly across frames (sans-I/O, time from packets only).

Fragments are keyed like Wireshark: (version, src, dst, id, protocol) for IPv4 and
(version, src, dst, id) for IPv6. A datagram completes when its last fragment (MF=0)
has been seen and the fragments cover every byte from 0 to its end; the frame that
completes it gets the reassembly fields (ip.fragment, ip.fragment.count,
ip.reassembled.length, ...) and the whole datagram is dissected further.

Overlaps are allowed and laid out as Wireshark does: fragments in offset order, only
bytes past what is already placed are copied (the lower offset wins); a fragment that
starts inside placed data is flagged ``*.fragment.overlap`` (``.conflict`` when its bytes
differ) and listed as ``*.fragment.error`` instead of ``*.fragment``; one running past
the datagram's end is ``toolongfragment``; a second last fragment with a different end
is flagged ``multipletails``. Limits: entries older than ``timeout_ns``
(by capture time) are dropped, and so are the oldest ones when buffered bytes would
exceed ``max_bytes``; each drop leaves a NOTE finding on the frame that caused it.

The columnar paths add runs of fragments that cannot complete a datagram in bulk
(:meth:`IPReassembler.add_pending_batch`, kept in arrays by
:mod:`pcapkit.dissect.fragment_bulk`): the same state as adding them one by one.
"""

from __future__ import annotations

import heapq
import struct
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pcapkit.dissect.base import FindingKind, Layer
from pcapkit.fields import ipv4_text
from pcapkit.proto.ipv4 import FRAGMENT_UNIT

if TYPE_CHECKING:
    import numpy as np

    from pcapkit.dissect.fragment_bulk import BulkStore, FragmentRows

MAX_DATAGRAM = 65535 + 8  # IPv4 limit; IPv6 without jumbograms is the same order


@dataclass(slots=True)
class _Fragment:
    frame: int
    offset: int
    data: bytes
    more: bool


@dataclass(slots=True)
class _Datagram:
    first_ts: int
    fragments: list[_Fragment] = field(default_factory=list)
    total: int | None = None
    multipletails: bool = False
    toolong: bool = False
    size: int = 0
    # the byte ranges the fragments cover, merged: starts and ends, sorted (a fragment
    # costs O(log n) to add; the datagram is laid out only once they cover it)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)

    def cover(self, lo: int, hi: int) -> None:
        """Add [lo, hi) to the covered ranges, merging what it touches."""
        if hi <= lo:
            return
        i = bisect_left(self.ends, lo)     # first range that ends at or after lo
        j = bisect_right(self.starts, hi)  # ranges before j start at or before hi
        if i < j:
            lo = min(lo, self.starts[i])
            hi = max(hi, self.ends[j - 1])
        self.starts[i:j] = [lo]
        self.ends[i:j] = [hi]

    def covers(self, total: int) -> bool:
        return len(self.starts) == 1 and self.starts[0] == 0 and self.ends[0] >= total

    def would_cover(self, lo: int, hi: int, total: int) -> bool:
        """Whether adding [lo, hi) would make the ranges cover [0, total) (nothing changes)."""
        starts, ends = self.starts, self.ends
        if hi <= lo:
            return self.covers(total)
        if not starts:
            return lo == 0 and hi >= total
        # the merged range replaces ranges i..j-1; one range is left only if it takes all
        if bisect_left(ends, lo) != 0 or bisect_right(starts, hi) != len(starts):
            return False
        return min(lo, starts[0]) == 0 and max(hi, ends[-1]) >= total


class IPReassembler:
    """Reassemble IP datagrams from fragments in file order."""

    def __init__(self, *, max_bytes: int = 16 * 1024 * 1024, timeout_ns: int = 60_000_000_000) -> None:
        self.max_bytes = max_bytes
        self.timeout_ns = timeout_ns
        # a key's datagram, or the id of its entry in the bulk store (one dict for both:
        # its insertion order is the order the byte limit drops them in)
        self._pending: dict[tuple[Any, ...], _Datagram | int] = {}
        self._bulk: BulkStore | None = None
        # (first time, serial, key, datagram) of every datagram added, oldest first; entries
        # of datagrams already gone are skipped when they reach the top
        self._by_age: list[tuple[int, int, tuple[Any, ...], _Datagram]] = []
        self._serial = 0
        self._bytes = 0
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._pending)

    def add(self, info: tuple[Any, ...], payload: bytes, frame_number: int, ts_ns: int,
            layer: Layer) -> bytes | None:
        """Add one fragment; return the whole datagram if this fragment completes it.

        ``info`` = (version, src, dst, id, proto, byte_offset, more_fragments, length).
        """
        version, src, dst, ident, proto, offset, more, length = info
        prefix = "ip" if version == 4 else "ipv6"
        key: tuple[Any, ...] = (version, src, dst, ident, proto) if version == 4 else (version, src, dst, ident)
        self._expire(ts_ns, layer)
        data = bytes(payload[:length])
        dgram = self._pending.get(key)
        if isinstance(dgram, int):
            dgram = self._promote(key, dgram)
        elif dgram is None:
            dgram = _Datagram(first_ts=ts_ns)
            self._pending[key] = dgram
            heapq.heappush(self._by_age, (ts_ns, self._serial, key, dgram))
            self._serial += 1
        end = offset + len(data)
        if end > MAX_DATAGRAM:
            dgram.toolong = True
            layer.malformed(layer.offset, f"fragment ends at {end}, past the largest datagram")
            return None
        dgram.cover(offset, end)
        if not more:
            if dgram.total is not None and dgram.total != end:
                dgram.multipletails = True
            dgram.total = end if dgram.total is None else max(dgram.total, end)
        dgram.fragments.append(_Fragment(frame_number, offset, data, more))
        dgram.size += len(data)
        self._bytes += len(data)
        self._limit(key, layer)
        if dgram.total is None or key not in self._pending or not dgram.covers(dgram.total):
            return None
        done = self._assemble(dgram)
        if done is None:
            return None
        whole, flags = done
        del self._pending[key]
        self._bytes -= dgram.size
        fragments, dgram.fragments = dgram.fragments, []  # (its age-heap entry may outlive it)
        ordered = sorted(fragments, key=lambda f: f.offset)  # stable: arrival order on ties
        # tshark lists clean fragments as *.fragment and flagged ones as *.fragment.error, each
        # in offset order, with the flags of each flagged fragment after it
        for frag in ordered:
            if id(frag) not in flags:
                layer.add(f"{prefix}.fragment", frag.frame)
        for frag in ordered:
            overlap, conflict, toolong = flags.get(id(frag), (False, False, False))
            if overlap:
                layer.add(f"{prefix}.fragment.overlap", True)
            if conflict:
                layer.add(f"{prefix}.fragment.overlap.conflict", True)
            if toolong:
                layer.add(f"{prefix}.fragment.toolongfragment", True)
        if dgram.multipletails:
            layer.add(f"{prefix}.fragment.multipletails", True)
        for frag in ordered:
            if id(frag) in flags:
                layer.add(f"{prefix}.fragment.error", frag.frame)
        layer.add(f"{prefix}.fragment.count", len(ordered))
        layer.add(f"{prefix}.reassembled.length", len(whole))
        if version == 4:  # ipv6.fragments is a label (FT_NONE) in tshark, not the bytes
            layer.add(f"{prefix}.fragments", whole)
        layer.add(f"{prefix}.reassembled.data", whole)
        return whole

    def add_if_incomplete(self, info: tuple[Any, ...], payload: bytes, frame_number: int, ts_ns: int) -> bool:
        """Add a fragment that cannot complete its datagram, with the same effect on the
        pending datagrams as :meth:`add` (its findings are not kept), and return True;
        return False, changing nothing, when it might complete one: the caller then
        dissects that frame in full (:meth:`add` through the dissectors).

        The columnar paths use this to skip the per-packet dissection of fragments that
        stay pending (a flood of never-completing fragments costs the bookkeeping only)."""
        version, src, dst, ident, proto, offset, more, length = info
        key: tuple[Any, ...] = (version, src, dst, ident, proto) if version == 4 else (version, src, dst, ident)
        end = offset + min(len(payload), length)
        if end > MAX_DATAGRAM:
            return False  # flagged malformed by the dissector: its path
        dgram = self._pending.get(key)
        if isinstance(dgram, int):
            dgram = self._promote(key, dgram)
        if dgram is not None:
            total = end if not more else dgram.total
            if not more and dgram.total is not None:
                total = max(dgram.total, end)
            if total is not None and dgram.would_cover(offset, end, total):
                return False
        elif not more and offset == 0:
            return False  # (not a fragment at all)
        self.add(info, payload, frame_number, ts_ns, Layer("ip", 0))
        return True

    @staticmethod
    def _assemble(dgram: _Datagram) -> tuple[bytes, dict[int, tuple[bool, bool, bool]]] | None:
        """The datagram if the fragments cover it, and per-fragment (overlap, conflict, too long)
        flags. As Wireshark: fragments are laid in offset order (arrival order on ties) and
        only bytes past what is already placed are copied, so on overlap the fragment with
        the lower offset wins."""
        total = dgram.total
        assert total is not None
        ordered = sorted(dgram.fragments, key=lambda f: f.offset)
        pos = 0
        for frag in ordered:  # coverage first: a gap means not yet complete
            if frag.offset > pos:
                return None
            pos = max(pos, frag.offset + len(frag.data))
        if pos < total:
            return None
        buf = bytearray(total)
        flags: dict[int, tuple[bool, bool, bool]] = {}
        placed = 0
        for frag in ordered:
            end = frag.offset + len(frag.data)
            toolong = end > total
            overlap = conflict = False
            if frag.offset < placed:
                overlap = True
                hi = min(placed, end, total)
                if hi > frag.offset and buf[frag.offset:hi] != frag.data[:hi - frag.offset]:
                    conflict = True
            if end > placed:
                start = max(placed, frag.offset)
                stop = min(end, total)
                if stop > start:
                    buf[start:stop] = frag.data[start - frag.offset:stop - frag.offset]
                placed = max(placed, min(end, total))
            if overlap or toolong:
                flags[id(frag)] = (overlap, conflict, toolong)
        return bytes(buf), flags

    def add_pending_batch(self, rows: FragmentRows, lo: int, hi: int) -> int:
        """Add fragments ``lo:hi`` of ``rows`` (in file order, each with more fragments to
        follow and ending within the largest datagram, so none completes a datagram) with
        the effect :meth:`add` has on each, timeouts included, up to the first one that
        needs more: whose key is already pending (or timed out since it was added), or that
        takes the buffered bytes past the limit. Returns where it stopped; the caller gives
        that fragment to the per-fragment path, then calls again from the next."""
        start = lo
        while start < hi:
            start, more = self._add_run(rows, start, hi)
            if more:
                return start
        return hi

    def _add_run(self, rows: FragmentRows, lo: int, hi: int) -> tuple[int, bool]:
        """:meth:`add_pending_batch` up to where time goes back (the searches below need
        it sorted): (where it stopped, whether the fragment there needs the per-fragment path)."""
        import numpy as np

        from pcapkit.dissect.fragment_bulk import BulkStore, key_codes

        pending = self._pending
        timeout = self.timeout_ns
        cut, event = hi - lo, False
        if pending:
            met = np.flatnonzero(np.fromiter(map(pending.__contains__, rows.keys[lo:hi]), dtype=bool, count=hi - lo))
            if met.size:
                cut, event = int(met[0]), True
        back = np.flatnonzero(np.diff(rows.ts_ns[lo:lo + cut]) < 0)
        if back.size:
            cut, event = int(back[0]) + 1, False
        if cut == 0:
            return lo, True
        idx = np.arange(lo, lo + cut, dtype=np.int64)
        ts = rows.ts_ns[idx]
        codes, first = key_codes(rows, idx)
        # where each new datagram times out (a position after the prefix: it does not)
        ends = np.searchsorted(ts, ts[first] + timeout, side="right")
        again = np.flatnonzero(np.arange(cut) >= ends[codes])  # its key comes back after that
        if again.size:
            cut, event = int(again[0]), True
        # datagrams pending before that time out in the prefix, taken off the age orders
        objects, blocks = self._take_due(int(ts[cut - 1]) - timeout) if cut else ([], [])
        old_ts = np.array([item[0] for item in objects] + [int(t) for b in blocks for t in b[2]], dtype=np.int64)
        old_size = np.array([item[3].size for item in objects] + [int(z) for b in blocks for z in b[5]],
                            dtype=np.int64)
        old_live = np.array([True] * len(objects) + [pending.get(k) == e for b in blocks
                                                     for k, e in zip(b[3], b[4], strict=True)], dtype=bool)
        old_ends = np.searchsorted(ts, old_ts + timeout, side="right")
        length = rows.length[idx]
        drops = np.zeros(cut + 2, dtype=np.int64)
        np.add.at(drops, np.minimum(old_ends, cut + 1)[old_live], old_size[old_live])
        made = int(np.searchsorted(first, cut)) if cut else 0
        new_size = np.bincount(codes[:cut], weights=length[:cut], minlength=made).astype(np.int64)[:made]
        np.add.at(drops, np.minimum(ends[:made], cut + 1), new_size)
        held = self._bytes + np.cumsum(length[:cut]) - np.cumsum(drops[:cut])
        over = np.flatnonzero(held > self.max_bytes)
        if over.size:
            cut, event = int(over[0]), True
            made = int(np.searchsorted(first, cut))
        # apply the prefix: the old datagrams it times out go, the new ones that outlive it stay
        for item in objects:
            if int(np.searchsorted(ts[:cut], item[0] + timeout, side="right")) < cut:
                self._drop(item[2])
            else:
                heapq.heappush(self._by_age, item)
        for block_no, age_lo, first_ts, keys, ids, _ in blocks:
            gone = np.searchsorted(ts[:cut], first_ts + timeout, side="right") < cut  # a prefix (sorted)
            n_gone = int(gone.sum())
            for key, entry in zip(keys[:n_gone], ids[:n_gone], strict=True):
                if pending.get(key) == entry:
                    self._drop(key)
            assert self._bulk is not None
            self._bulk.settle(block_no, age_lo + n_gone)
        if cut == 0:
            return lo, event
        stays = ends[:made] >= cut
        self.dropped += int(made - stays.sum())
        serials = self._serial + np.arange(made, dtype=np.int64)
        self._serial += made
        keep = stays[codes[:cut]]
        if keep.any():
            if self._bulk is None:
                self._bulk = BulkStore()
            new_keys, ids, added = self._bulk.add(rows, idx[:cut][keep], serials[stays])
            pending.update(zip(new_keys, ids, strict=True))
            self._bytes += added
        return lo + cut, event

    def _take_due(self, before: int) -> tuple[list[Any], list[Any]]:
        """The pending datagrams first seen before ``before``, taken off the age orders:
        the heap's items (live ones only) and the bulk store's slices (see BulkStore.take_due)."""
        heap = self._by_age
        objects = []
        while heap and heap[0][0] < before:
            item = heapq.heappop(heap)
            if self._pending.get(item[2]) is item[3]:
                objects.append(item)
        return objects, (self._bulk.take_due(before) if self._bulk else [])

    def _promote(self, key: tuple[Any, ...], entry: int) -> _Datagram:
        """The bulk store's entry ``entry`` as a datagram object, in its place."""
        assert self._bulk is not None
        bulk = self._bulk
        first_ts, serial = bulk.first_ts_serial(entry)
        dgram = _Datagram(first_ts=first_ts, size=bulk.size(entry))
        for frame, offset, data in bulk.fragments(entry):
            dgram.fragments.append(_Fragment(frame, offset, data, True))
            dgram.cover(offset, offset + len(data))
        bulk.release(entry)
        self._pending[key] = dgram  # (an existing key: its place in the order stays)
        heapq.heappush(self._by_age, (first_ts, serial, key, dgram))
        return dgram

    def _expire(self, ts_ns: int, layer: Layer) -> None:
        """Drop the datagrams whose first fragment is older than the timeout, oldest first
        (O(log n) per datagram dropped, nothing when none is due)."""
        heap = self._by_age
        bulk = self._bulk
        pending = self._pending
        while True:
            top = bulk.oldest() if bulk else None
            if heap and (top is None or heap[0][:2] < top):
                if ts_ns - heap[0][0] <= self.timeout_ns:
                    break
                _, _, key, dgram = heapq.heappop(heap)
                if pending.get(key) is not dgram:
                    continue  # completed or dropped already
            elif top is not None and bulk is not None:
                if ts_ns - top[0] <= self.timeout_ns:
                    break
                key, entry = bulk.pop_oldest()
                if pending.get(key) != entry:
                    continue  # dropped already, or now a datagram object
            else:
                break
            self._drop(key)
            layer.finding(FindingKind.NOTE, layer.offset,
                          f"fragments of datagram id {key[3]} timed out unassembled")

    def _limit(self, current: tuple[Any, ...], layer: Layer) -> None:
        while self._bytes > self.max_bytes and self._pending:
            oldest = next(iter(self._pending))
            self._drop(oldest)
            layer.finding(FindingKind.NOTE, layer.offset,
                          f"reassembly limit of {self.max_bytes} bytes reached: dropped datagram id {oldest[3]}")
            if oldest == current:
                break

    def _drop(self, key: tuple[Any, ...]) -> None:
        dgram = self._pending.pop(key)
        if isinstance(dgram, int):
            assert self._bulk is not None
            self._bytes -= self._bulk.size(dgram)
            self._bulk.release(dgram)
        else:
            self._bytes -= dgram.size
            dgram.fragments = []
        self.dropped += 1


_IPV4_FIXED = struct.Struct("!BxHHHxB2x4s4s")  # version/IHL, total length, id, flags/offset, protocol, addresses
_MF = 0x2000
_OFFSET_BITS = 0x1FFF


def ipv4_fragment(data: bytes | memoryview | np.ndarray, ip_offset: int) -> tuple[tuple[Any, ...], bytes]:
    """(the reassembler's ``info``, the payload) of an IPv4 fragment captured whole at
    ``ip_offset`` of ``data`` (header length and total length consistent, the datagram's
    bytes all captured), as :mod:`pcapkit.dissect.ipv4` gives them to :meth:`IPReassembler.add`."""
    b0, total, ident, ff, proto, src, dst = _IPV4_FIXED.unpack_from(data, ip_offset)  # type: ignore[arg-type]
    hdr_len = (b0 & 0x0F) * 4
    info = (4, _text(src), _text(dst), ident, proto, (ff & _OFFSET_BITS) * FRAGMENT_UNIT,
            bool(ff & _MF), total - hdr_len)
    return info, bytes(data[ip_offset + hdr_len:ip_offset + total])


_TEXTS: dict[bytes, str] = {}  # a flood of fragments repeats a few addresses


def _text(raw: bytes) -> str:
    text = _TEXTS.get(raw)
    if text is None:
        if len(_TEXTS) >= 1 << 16:
            _TEXTS.clear()
        text = _TEXTS[raw] = ipv4_text(raw)
    return text
