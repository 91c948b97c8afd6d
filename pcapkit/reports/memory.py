"""Give freed memory back to the system between the stages of a big report.

A report over a million flows frees a few hundred MB of intermediate arrays (a segment
table, an analysis, a model's records) before building the next stage. glibc keeps
most of what numpy frees in its heap (arrays of a few MB fall under its adaptive mmap
threshold after the first big free), so without a trim the resident size of each stage
stacks on the last one's; ``malloc_trim(0)`` hands those free pages back. Elsewhere (no
glibc) it does nothing. pandas' Arrow-backed string columns live in pyarrow's own memory
pool (mimalloc or jemalloc), which keeps what they free as well: it is asked to let go too
(a million flows: 110 MB).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
import sys
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # (not glibc: musl, macOS)
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_memory(collect: bool = False) -> None:
    """Return the free pages of the C heap to the system (after big arrays were let go);
    ``collect``: run the cycle collector first (objects freed only by it)."""
    if collect:
        gc.collect()
    arrow = sys.modules.get("pyarrow")  # (never imported for this: only a pool that was used has pages)
    if arrow is not None:
        arrow.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)

