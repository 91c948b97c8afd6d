"""Fixed-width byte rows at record offsets: the primitive the columnar decoders read
header fields from (a batch's records are located by :mod:`pcapkit.capture.batch`)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _gather_rows_np(buf: np.ndarray, start: np.ndarray, width: int, out: np.ndarray) -> None:
    """out[i, :] = buf[start[i]:start[i] + width] (a compiled loop of small copies)."""
    for i in range(start.shape[0]):
        s = start[i]
        for k in range(width):
            out[i, k] = buf[s + k]


def _head_rows_np(buf: np.ndarray, start: np.ndarray, caplen: np.ndarray, out: np.ndarray) -> None:
    """out[i, :c] = the first c = min(caplen[i], width) bytes of record i; zeros after."""
    width = out.shape[1]
    for i in range(start.shape[0]):
        s = start[i]
        c = min(caplen[i], width)
        for k in range(c):
            out[i, k] = buf[s + k]
        for k in range(c, width):
            out[i, k] = 0


_GATHER: Any = None
_HEAD: Any = None


def gather_rows(buf: np.ndarray, start: np.ndarray, width: int) -> np.ndarray:
    """The (len(start), width) matrix of ``width`` bytes at each start: numba's loop when
    numba is installed, else rows of a sliding-window view (same result)."""
    global _GATHER
    if _GATHER is None:
        try:
            from pcapkit.capture.compiled import numba_module

            _GATHER = numba_module().njit(cache=True, nogil=True)(_gather_rows_np)
        except ImportError:
            _GATHER = False
    if _GATHER is False or start.shape[0] < 64:
        return np.lib.stride_tricks.sliding_window_view(buf, width)[start]
    out = np.empty((start.shape[0], width), dtype=np.uint8)
    _GATHER(buf, start, width, out)
    return out


def head_rows(buf: np.ndarray, start: np.ndarray, caplen: np.ndarray, width: int) -> np.ndarray | None:
    """The (len(start), width) matrix of the first ``width`` captured bytes of each record
    (zeros past the captured length), copied in one pass; None without numba. The header
    gathers then read this compact matrix instead of going back to the records: one cache
    miss per record instead of one per header."""
    global _HEAD
    if _HEAD is None:
        try:
            from pcapkit.capture.compiled import numba_module

            _HEAD = numba_module().njit(cache=True, nogil=True)(_head_rows_np)
        except ImportError:
            _HEAD = False
    if _HEAD is False:
        return None
    out = np.empty((start.shape[0], width), dtype=np.uint8)
    _HEAD(buf, start, caplen, out)
    return out
