"""Small structures in int64 arrays for the congestion model's compiled passes
(:mod:`pcapkit.tcpflow.cckernel`), in the subset of Python numba compiles: a binary
search with Python's steps, a sorted run of outstanding segment ends (Karn's rule), an
open-addressing set, a binary heap of (time, sequence) pairs, and scoreboards of byte
ranges (sorted, disjoint, at most MAX_RANGES: the lowest go first).
"""

from __future__ import annotations

from typing import Any

MAX_RANGES = 64
KEY_OFFSET = 1 << 40         # added to a key of the set (relative sequence numbers are > -2^32)


def bisect_left(a: Any, x: int, lo: int, hi: int) -> int:
    """Python's bisect.bisect_left (the same steps: equal answers on unsorted input too)."""
    while lo < hi:
        mid = (lo + hi) // 2
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _ends_right(karn: Any, head: int, tail: int, x: int) -> int:
    """bisect_right of ``x`` in the outstanding ends karn[head:tail, 0]."""
    lo, hi = head, tail
    while lo < hi:
        mid = (lo + hi) // 2
        if x < karn[mid, 0]:
            hi = mid
        else:
            lo = mid + 1
    return lo


def _outstanding(karn: Any, head: int, tail: int, end: int, ts: int, retrans: int) -> int:
    """Record a segment ending at ``end`` as outstanding (the last send of an end wins):
    the sorted run karn[head:tail] of (end, send time, re-sent); returns the new tail."""
    pos = _ends_right(karn, head, tail, end)
    if pos > head and karn[pos - 1, 0] == end:
        karn[pos - 1, 1] = ts
        karn[pos - 1, 2] = retrans
        return tail
    k = tail
    while k > pos:
        karn[k, 0] = karn[k - 1, 0]
        karn[k, 1] = karn[k - 1, 1]
        karn[k, 2] = karn[k - 1, 2]
        k -= 1
    karn[pos, 0] = end
    karn[pos, 1] = ts
    karn[pos, 2] = retrans
    return tail + 1


def _seen_add(table: Any, key: int) -> bool:
    """Add ``key`` (> -KEY_OFFSET) to the open-addressing set ``table`` (zeros: empty, so a
    new table costs no memory until written); False when it was there."""
    stored = key + KEY_OFFSET
    mask = table.shape[0] - 1
    # (murmur3's finaliser: keys a segment size apart spread over the table; in Python
    # the product is not cut to 64 bits, which only changes where a key lands)
    mixed = (key ^ (key >> 33)) * -49064778989728563
    slot = (mixed ^ (mixed >> 33)) & mask
    while table[slot] != 0:
        if table[slot] == stored:
            return False
        slot = (slot + 1) & mask
    table[slot] = stored
    return True


def _sorted_has(values: Any, count: int, x: int) -> bool:
    """``x`` is one of the sorted values[:count]."""
    k = bisect_left(values, x, 0, count)
    return k < count and values[k] == x


def _heap_less(heap: Any, a: int, b: int) -> bool:
    return heap[a, 0] < heap[b, 0] or (heap[a, 0] == heap[b, 0] and heap[a, 1] < heap[b, 1])


def _heap_swap(heap: Any, a: int, b: int) -> None:
    t0, t1 = heap[a, 0], heap[a, 1]
    heap[a, 0], heap[a, 1] = heap[b, 0], heap[b, 1]
    heap[b, 0], heap[b, 1] = t0, t1


def _heap_push(heap: Any, size: int, ts: int, last: int) -> int:
    heap[size, 0] = ts
    heap[size, 1] = last
    k = size
    while k > 0:
        parent = (k - 1) // 2
        if not _heap_less(heap, k, parent):
            break
        _heap_swap(heap, k, parent)
        k = parent
    return size + 1


def _heap_pop(heap: Any, size: int) -> int:
    size -= 1
    heap[0, 0], heap[0, 1] = heap[size, 0], heap[size, 1]
    k = 0
    while True:
        left, right, low = 2 * k + 1, 2 * k + 2, k
        if left < size and _heap_less(heap, left, low):
            low = left
        if right < size and _heap_less(heap, right, low):
            low = right
        if low == k:
            return size
        _heap_swap(heap, k, low)
        k = low


def range_add(ranges: Any, count: int, lo: int, hi: int, tmp: Any) -> int:
    """Add [lo, hi) to the sorted, disjoint ranges[:count] (merging); returns the new count.
    At most MAX_RANGES are kept (the lowest go first): a scoreboard of thousands of holes
    (hostile or broken traffic) would make every segment cost thousands of steps."""
    if hi <= lo:
        return count
    if count == 0 or lo > ranges[count - 1, 1]:
        ranges[count, 0] = lo
        ranges[count, 1] = hi
        count += 1
        if count > MAX_RANGES:
            for k in range(count - 1):
                ranges[k, 0] = ranges[k + 1, 0]
                ranges[k, 1] = ranges[k + 1, 1]
            count -= 1
        return count
    if lo >= ranges[count - 1, 0]:
        if hi > ranges[count - 1, 1]:
            ranges[count - 1, 1] = hi
        return count
    n = 0
    placed = False
    for k in range(count):
        a, b = ranges[k, 0], ranges[k, 1]
        if b < lo:
            tmp[n, 0] = a
            tmp[n, 1] = b
            n += 1
        elif hi < a:
            if not placed:
                tmp[n, 0] = lo
                tmp[n, 1] = hi
                n += 1
                placed = True
            tmp[n, 0] = a
            tmp[n, 1] = b
            n += 1
        else:
            lo = min(lo, a)
            hi = max(hi, b)
    if not placed:
        tmp[n, 0] = lo
        tmp[n, 1] = hi
        n += 1
    first = n - MAX_RANGES if n > MAX_RANGES else 0
    for k in range(first, n):
        ranges[k - first, 0] = tmp[k, 0]
        ranges[k - first, 1] = tmp[k, 1]
    return n - first


def range_trim(ranges: Any, count: int, una: int) -> int:
    """Drop what lies below ``una``; returns the new count."""
    drop = 0
    while drop < count and ranges[drop, 1] <= una:
        drop += 1
    if drop:
        for k in range(count - drop):
            ranges[k, 0] = ranges[k + drop, 0]
            ranges[k, 1] = ranges[k + drop, 1]
        count -= drop
    if count and ranges[0, 0] < una:
        ranges[0, 0] = una
    return count


def range_inside(ranges: Any, count: int, lo: int, hi: int) -> int:
    """Bytes of ranges[:count] inside [lo, hi)."""
    total = 0
    for k in range(count):
        a, b = ranges[k, 0], ranges[k, 1]
        if b > lo and a < hi:
            part = min(b, hi) - max(a, lo)
            if part > 0:
                total += part
    return total


def range_total(ranges: Any, count: int) -> int:
    total = 0
    for k in range(count):
        total += ranges[k, 1] - ranges[k, 0]
    return total


