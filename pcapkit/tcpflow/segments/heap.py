"""Keep glibc from holding freed column arrays in its heap.

Reading a segment table makes and frees arrays of a few MB per batch (decoded columns,
row pieces). glibc serves such sizes with ``mmap`` at first, but after the first one is
freed it raises its mmap threshold to that size (up to 32 MB), and from then on they
come from the heap, where a freed array stays resident until ``malloc_trim`` and blocks
the heap's top from shrinking. A fixed threshold (``mallopt(M_MMAP_THRESHOLD)``) turns
that adaptation off: every array of at least :data:`MMAP_THRESHOLD` bytes is mapped
and handed back to the system when freed. Measured on the 1M-packet benchmark capture,
``pcapkit flows`` peaks ~60 MB lower at the same CPU time (benchmarks/RESULTS-hostile.md).
Elsewhere (no glibc) nothing changes. ``MALLOC_MMAP_THRESHOLD_`` in the environment
(glibc's own setting) is left to win. A reader that keeps no table sets the opposite
for its time (:func:`batch_heap`).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
from collections.abc import Callable, Iterator
from typing import Any

MMAP_THRESHOLD = 1 << 20
TRIM_THRESHOLD = 128 << 10  # (glibc's default)
BATCH_MMAP_THRESHOLD = 32 << 20
BATCH_TRIM_THRESHOLD = 512 << 20
_M_TRIM_THRESHOLD = -1  # (glibc's malloc.h)
_M_MMAP_THRESHOLD = -3


def fix_mmap_threshold() -> bool:
    """Set glibc's mmap threshold to :data:`MMAP_THRESHOLD` (True if set)."""
    return _set(MMAP_THRESHOLD, TRIM_THRESHOLD)


@contextlib.contextmanager
def batch_heap() -> Iterator[None]:
    """For a reader that keeps no table, only the arrays of the batch at hand (the
    tcptrace model fed each batch as it is read): inside, arrays up to
    :data:`BATCH_MMAP_THRESHOLD` come from the heap and freed ones stay there for the next
    batch, instead of being mapped, zeroed by the kernel and unmapped again each time (on
    the million-packet benchmark capture, ``pcapkit tcptrace``: 0.11-0.17 system CPU
    seconds instead of 0.24-0.34, for 10 MB more RSS). After: what is free is handed
    back and the table reader's setting is restored."""
    _set(BATCH_MMAP_THRESHOLD, BATCH_TRIM_THRESHOLD)
    try:
        yield
    finally:
        if fix_mmap_threshold():
            trim = _libc_function("malloc_trim")
            if trim is not None:
                trim(0)


def _set(mmap_threshold: int, trim_threshold: int) -> bool:
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    mallopt = _libc_function("mallopt")
    if mallopt is None:  # (not glibc: musl, macOS)
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold))


@functools.cache
def _libc_function(name: str) -> Callable[..., Any] | None:
    """glibc's ``name`` (int arguments, int result), or None."""
    try:
        fn = getattr(ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6"), name)
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_int] if name == "mallopt" else [ctypes.c_size_t]
    fn.restype = ctypes.c_int
    return fn
