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
(glibc's own setting) is left to win.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

MMAP_THRESHOLD = 1 << 20
_M_MMAP_THRESHOLD = -3  # (glibc's malloc.h)


@functools.cache
def fix_mmap_threshold() -> bool:
    """Set glibc's mmap threshold to :data:`MMAP_THRESHOLD` once per process (True if set)."""
    if "MALLOC_MMAP_THRESHOLD_" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # (not glibc: musl, macOS)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))
