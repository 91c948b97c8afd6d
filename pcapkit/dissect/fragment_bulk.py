"""Pending IPv4 fragments kept in arrays: a flood of fragments that cannot complete a
datagram costs numpy work per batch, not Python objects per fragment.

:class:`FragmentRows` holds the IPv4 headers of many fragments (read with numpy from a
record batch); :meth:`pcapkit.dissect.ipreassembly.IPReassembler.add_pending_batch` adds
runs of them at once, each new datagram a :class:`BulkStore` entry (its fragments in one
block of arrays shared by the datagrams added together). The reassembler's dictionary of
pending datagrams maps such a key to the entry's id (an int) instead of a datagram object,
in the same insertion order, so the byte limit still drops the oldest datagram first. An
entry becomes a datagram object (:meth:`BulkStore.fragments`) the moment the per-fragment
path meets its key again; expiry takes entries oldest first, as the reassembler's own heap.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pcapkit.fields import ipv4_text

I64 = np.int64
_BLOCK_SHIFT = 32  # an entry's id: block number << 32 | index in the block
_INDEX_MASK = (1 << _BLOCK_SHIFT) - 1


@dataclass
class FragmentRows:
    """IPv4 fragments (captured whole) of one record batch, in file order: header facts
    as arrays; ``data_start`` indexes ``buf`` (the payload's first byte)."""

    buf: np.ndarray
    frame: np.ndarray
    ts_ns: np.ndarray
    src: np.ndarray        # int64 of the address's 4 bytes
    dst: np.ndarray
    ident: np.ndarray
    proto: np.ndarray
    offset: np.ndarray     # in bytes
    more: np.ndarray       # bool: more fragments follow
    length: np.ndarray     # payload bytes (total length minus header length)
    data_start: np.ndarray
    _keys: list[tuple[Any, ...]] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.frame.shape[0])

    @property
    def keys(self) -> list[tuple[Any, ...]]:
        """The reassembler's keys, (4, src text, dst text, id, protocol), of every row."""
        if self._keys is None:
            self._keys = list(zip([4] * len(self), _texts(self.src), _texts(self.dst), self.ident.tolist(),
                                  self.proto.tolist(), strict=True))
        return self._keys


def _texts(addresses: np.ndarray) -> list[str]:
    """Dotted quads of int addresses, each distinct one made once."""
    uniq, inverse = np.unique(addresses, return_inverse=True)
    texts = np.array([ipv4_text(int(a).to_bytes(4, "big")) for a in uniq.tolist()], dtype=object)
    out: list[str] = texts[inverse.reshape(-1)].tolist()
    return out


def ipv4_fragment_rows(buf: np.ndarray, ip_start: np.ndarray, frame: np.ndarray, ts_ns: np.ndarray) -> FragmentRows:
    """:class:`FragmentRows` of IPv4 headers at ``ip_start`` (absolute offsets in ``buf``),
    each consistent and captured with its whole datagram (the columnar decoder's
    ``FRAGMENT_IP_OFFSET`` rows)."""
    start = ip_start.astype(I64)

    def u8(k: int) -> np.ndarray:
        return buf[start + k].astype(I64)

    def u16(k: int) -> np.ndarray:
        return (u8(k) << 8) | u8(k + 1)

    def u32(k: int) -> np.ndarray:
        return (u16(k) << 16) | u16(k + 2)

    hdr_len = (u8(0) & 0x0F) * 4
    ff = u16(6)
    return FragmentRows(buf=buf, frame=frame.astype(I64), ts_ns=ts_ns.astype(I64), src=u32(12), dst=u32(16),
                        ident=u16(4), proto=u8(9), offset=(ff & 0x1FFF) * 8, more=(ff & 0x2000) != 0,
                        length=u16(2) - hdr_len, data_start=start + hdr_len)


@dataclass
class _Block:
    """Datagrams added together: per entry its key, first time, serial, size and the range
    of its fragments (arrival order) in the fragment arrays; the payloads in one buffer."""

    keys: list[tuple[Any, ...]]
    first_ts: np.ndarray
    serial: np.ndarray
    size: np.ndarray
    frag_lo: np.ndarray
    frag_hi: np.ndarray
    frame: np.ndarray
    offset: np.ndarray
    data_lo: np.ndarray
    data_hi: np.ndarray
    data: bytes
    age: np.ndarray        # entries by (first time, serial): the order they expire in
    age_ts: np.ndarray     # their first times, in that order
    alive: int
    next_age: int = 0


class BulkStore:
    """The entries of :meth:`IPReassembler.add_pending_batch`, by id."""

    def __init__(self) -> None:
        self._blocks: dict[int, _Block] = {}
        self._next_block = 0
        # (first time, serial, block) of each block's oldest entry not yet expired
        self._by_age: list[tuple[int, int, int]] = []

    def __bool__(self) -> bool:
        return bool(self._blocks)

    def add(self, rows: FragmentRows, idx: np.ndarray, serials: np.ndarray) -> tuple[list[tuple[Any, ...]], list[int],
                                                                                   int]:
        """Store fragments ``idx`` of ``rows`` (ascending; their keys pending nowhere else),
        one entry per distinct key, in order of first appearance, with ``serials``.
        Returns (the new keys, their ids, the bytes added)."""
        keys = rows.keys
        codes, first = key_codes(rows, idx)
        k = first.shape[0]
        length = rows.length[idx]
        order = np.argsort(codes, kind="stable")  # fragments by entry, arrival order within
        counts = np.bincount(codes, minlength=k)
        frag_hi = np.cumsum(counts)
        frag_lo = frag_hi - counts
        size = np.bincount(codes, weights=length, minlength=k).astype(I64)
        flen = length[order]
        data_hi = np.cumsum(flen)
        data_lo = data_hi - flen
        src = rows.data_start[idx][order]
        total = int(data_hi[-1]) if data_hi.size else 0
        gather = np.repeat(src - data_lo, flen) + np.arange(total, dtype=I64)
        first_ts = rows.ts_ns[idx[first]]
        block_no = self._next_block
        self._next_block += 1
        new_keys = [keys[i] for i in idx[first].tolist()]
        age = np.lexsort((serials, first_ts))
        block = _Block(keys=new_keys, first_ts=first_ts, serial=serials, size=size, frag_lo=frag_lo,
                       frag_hi=frag_hi, frame=rows.frame[idx][order], offset=rows.offset[idx][order],
                       data_lo=data_lo, data_hi=data_hi, data=rows.buf[gather].tobytes(),
                       age=age, age_ts=first_ts[age], alive=k)
        self._blocks[block_no] = block
        self._push_age(block_no, block)
        ids = ((block_no << _BLOCK_SHIFT) + np.arange(k, dtype=I64)).tolist()
        return new_keys, ids, int(size.sum())

    def _push_age(self, block_no: int, block: _Block) -> None:
        if block.next_age < block.age.shape[0]:
            i = int(block.age[block.next_age])
            heapq.heappush(self._by_age, (int(block.first_ts[i]), int(block.serial[i]), block_no))

    def oldest(self) -> tuple[int, int] | None:
        """(first time, serial) of the oldest entry that may still be pending."""
        while self._by_age:
            first_ts, serial, block_no = self._by_age[0]
            if block_no in self._blocks:
                return first_ts, serial
            heapq.heappop(self._by_age)  # a block whose entries are all gone
        return None

    def pop_oldest(self) -> tuple[tuple[Any, ...], int]:
        """(key, id) of the entry :meth:`oldest` names, taken off the age order (the caller
        drops it if its key still maps to that id)."""
        _, _, block_no = heapq.heappop(self._by_age)
        block = self._blocks[block_no]
        i = int(block.age[block.next_age])
        block.next_age += 1
        self._push_age(block_no, block)
        return block.keys[i], (block_no << _BLOCK_SHIFT) | i

    def take_due(self, before: int) -> list[tuple[int, int, np.ndarray, list[tuple[Any, ...]], list[int],
                                                   np.ndarray]]:
        """The entries whose first time is before ``before``, block by block, taken off the
        age order until :meth:`settle` puts back what is left: (block, where the slice
        starts in its age order, first times, keys, ids, sizes), oldest first in each
        (entries already gone included: the caller checks its dictionary)."""
        out = []
        while self._by_age and self._by_age[0][0] < before:
            _, _, block_no = heapq.heappop(self._by_age)
            block = self._blocks.get(block_no)
            if block is None:
                continue
            lo = block.next_age
            hi = lo + int(np.searchsorted(block.age_ts[lo:], before, side="left"))
            at = block.age[lo:hi]
            out.append((block_no, lo, block.age_ts[lo:hi], [block.keys[i] for i in at.tolist()],
                        ((block_no << _BLOCK_SHIFT) + at).tolist(), block.size[at]))
        return out

    def settle(self, block_no: int, next_age: int) -> None:
        """A block :meth:`take_due` took: its entries before ``next_age`` (in age order) are gone."""
        block = self._blocks.get(block_no)
        if block is not None:
            block.next_age = next_age
            self._push_age(block_no, block)

    def size(self, entry: int) -> int:
        block = self._blocks[entry >> _BLOCK_SHIFT]
        return int(block.size[entry & _INDEX_MASK])

    def first_ts_serial(self, entry: int) -> tuple[int, int]:
        block = self._blocks[entry >> _BLOCK_SHIFT]
        i = entry & _INDEX_MASK
        return int(block.first_ts[i]), int(block.serial[i])

    def fragments(self, entry: int) -> list[tuple[int, int, bytes]]:
        """(frame, offset, payload) of the entry's fragments in arrival order (all with
        more fragments to follow)."""
        block = self._blocks[entry >> _BLOCK_SHIFT]
        i = entry & _INDEX_MASK
        lo, hi = int(block.frag_lo[i]), int(block.frag_hi[i])
        data = block.data
        return [(f, o, data[a:b]) for f, o, a, b in zip(block.frame[lo:hi].tolist(), block.offset[lo:hi].tolist(),
                                                         block.data_lo[lo:hi].tolist(),
                                                         block.data_hi[lo:hi].tolist(), strict=True)]

    def release(self, entry: int) -> None:
        """The entry left the store (dropped, or now a datagram object)."""
        block_no = entry >> _BLOCK_SHIFT
        block = self._blocks[block_no]
        block.alive -= 1
        if block.alive == 0:
            del self._blocks[block_no]  # (its age-heap entry is skipped when it comes up)


def key_codes(rows: FragmentRows, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per fragment ``idx`` (ascending), the number of its key in order of first
    appearance; and where (in ``idx``) each key first appears."""
    import pandas as pd

    pair, _ = pd.factorize((rows.src[idx] << 32) | rows.dst[idx])
    key = (pair.astype(I64) << 24) | (rows.ident[idx] << 8) | rows.proto[idx]
    codes, uniq = pd.factorize(key)
    codes = codes.astype(I64, copy=False)
    # keys are numbered as they first appear: a position is a first one where its code
    # exceeds every code before it
    is_first = np.ones(codes.shape[0], dtype=bool)
    is_first[1:] = codes[1:] > np.maximum.accumulate(codes)[:-1]
    first = np.flatnonzero(is_first)
    assert first.shape[0] == len(uniq)
    return codes, first
