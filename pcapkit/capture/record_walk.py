"""The record walks behind :mod:`pcapkit.capture.batch`: a tight sequential loop over
one chunk that writes each record's offset, lengths and raw time into preallocated
numpy arrays, for pcap records and for runs of pcapng Enhanced Packet Blocks.

Compiled with numba when it is installed (``cache=True``); otherwise a ``struct`` loop
gives the same answer (``use_numba=False`` picks it, for tests and comparisons).
"""

from __future__ import annotations

import struct
import types
from typing import Any

import numpy as np


def pcap_record(buf: np.ndarray, pos: Any, big: bool, hdrlen: int, swap: int,
                limit: int) -> tuple[Any, Any, Any, Any, int]:
    """The pcap record header at ``pos``: (seconds, fraction, caplen, wirelen, status);
    status 0: a whole record, 1: its caplen is over ``limit``, 2: the buffer ends inside it
    (in the numba subset: :func:`pcapkit.columnar.fastpath`'s walk calls it too)."""
    end = buf.shape[0]
    if pos + hdrlen > end:
        return 0, 0, 0, 0, 2
    if big:
        a = (np.int64(buf[pos]) << 24) | (np.int64(buf[pos + 1]) << 16) | (np.int64(buf[pos + 2]) << 8) | np.int64(buf[pos + 3])
        b = (np.int64(buf[pos + 4]) << 24) | (np.int64(buf[pos + 5]) << 16) | (np.int64(buf[pos + 6]) << 8) | np.int64(buf[pos + 7])
        c = (np.int64(buf[pos + 8]) << 24) | (np.int64(buf[pos + 9]) << 16) | (np.int64(buf[pos + 10]) << 8) | np.int64(buf[pos + 11])
        d = (np.int64(buf[pos + 12]) << 24) | (np.int64(buf[pos + 13]) << 16) | (np.int64(buf[pos + 14]) << 8) | np.int64(buf[pos + 15])
    else:
        a = np.int64(buf[pos]) | (np.int64(buf[pos + 1]) << 8) | (np.int64(buf[pos + 2]) << 16) | (np.int64(buf[pos + 3]) << 24)
        b = np.int64(buf[pos + 4]) | (np.int64(buf[pos + 5]) << 8) | (np.int64(buf[pos + 6]) << 16) | (np.int64(buf[pos + 7]) << 24)
        c = np.int64(buf[pos + 8]) | (np.int64(buf[pos + 9]) << 8) | (np.int64(buf[pos + 10]) << 16) | (np.int64(buf[pos + 11]) << 24)
        d = np.int64(buf[pos + 12]) | (np.int64(buf[pos + 13]) << 8) | (np.int64(buf[pos + 14]) << 16) | (np.int64(buf[pos + 15]) << 24)
    if swap == 1 or (swap == 2 and c > d):
        c, d = d, c
    if c > limit:
        return a, b, c, d, 1
    if pos + hdrlen + c > end:
        return a, b, c, d, 2
    return a, b, c, d, 0


def _walk_pcap_np(buf: np.ndarray, pos: Any, big: bool, hdrlen: int, swap: int, limit: int,
                  max_n: int, off: np.ndarray, sec: np.ndarray, frac: np.ndarray,
                  cap: np.ndarray, wlen: np.ndarray) -> tuple[int, int, int]:
    """Walk pcap records from ``pos``; returns (count, next pos, status).
    status 0: stopped at the end of complete records or max_n; 1: the record at pos has
    a caplen over ``limit``. ``swap``: 0 lengths as written, 1 incl/orig swapped, 2
    swapped where incl > orig (pcap 2.3)."""
    n = 0
    while n < max_n:
        a, b, c, d, status = pcap_record(buf, pos, big, hdrlen, swap, limit)
        if status == 1:
            return n, pos, 1
        if status == 2:
            break
        off[n] = pos + hdrlen
        sec[n] = a
        frac[n] = b
        cap[n] = c
        wlen[n] = d
        n += 1
        pos += hdrlen + c
    return n, pos, 0


def _walk_pcap_struct(buf: np.ndarray, pos: int, big: bool, hdrlen: int, swap: int, limit: int,
                      max_n: int, off: np.ndarray, sec: np.ndarray, frac: np.ndarray,
                      cap: np.ndarray, wlen: np.ndarray) -> tuple[int, int, int]:
    mv = memoryview(buf)  # type: ignore[arg-type]
    unpack = struct.Struct(">IIII" if big else "<IIII").unpack_from
    end = buf.shape[0]
    n = 0
    offs: list[int] = []
    rows: list[tuple[int, int, int, int]] = []
    status = 0
    while n < max_n and pos + hdrlen <= end:
        a, b, c, d = unpack(mv, pos)
        if swap == 1 or (swap == 2 and c > d):
            c, d = d, c
        if c > limit:
            status = 1
            break
        if pos + hdrlen + c > end:
            break
        offs.append(pos + hdrlen)
        rows.append((a, b, c, d))
        n += 1
        pos += hdrlen + c
    if n:
        off[:n] = offs
        arr = np.array(rows, dtype=np.int64)
        sec[:n] = arr[:, 0]
        frac[:n] = arr[:, 1]
        cap[:n] = arr[:, 2]
        wlen[:n] = arr[:, 3]
    return n, pos, status


def _walk_epb_np(buf: np.ndarray, pos: int, big: bool, max_n: int, off: np.ndarray,
                 iface: np.ndarray, tsraw: np.ndarray, cap: np.ndarray,
                 wlen: np.ndarray) -> tuple[int, int, int]:
    """Walk consecutive pcapng Enhanced Packet Blocks from ``pos``; stops at any other
    block (status 0), at an incomplete block (status 0) or a bad EPB (status 1)."""
    end = buf.shape[0]
    n = 0
    v = np.zeros(7, dtype=np.int64)
    while n < max_n and pos + 28 <= end:
        for k in range(7):
            p = pos + 4 * k
            if big:
                v[k] = (np.int64(buf[p]) << 24) | (np.int64(buf[p + 1]) << 16) | (np.int64(buf[p + 2]) << 8) | np.int64(buf[p + 3])
            else:
                v[k] = np.int64(buf[p]) | (np.int64(buf[p + 1]) << 8) | (np.int64(buf[p + 2]) << 16) | (np.int64(buf[p + 3]) << 24)
        if v[0] != 6:
            break
        blen = v[1]
        if pos + blen > end:
            break
        c = v[5]
        if blen < 32 or blen % 4 != 0 or c > blen - 32:
            return n, pos, 1
        off[n] = pos + 28
        iface[n] = v[2]
        tsraw[n] = (v[3] << 32) | v[4]
        cap[n] = c
        wlen[n] = v[6]
        n += 1
        pos += blen
    return n, pos, 0


def _walk_epb_struct(buf: np.ndarray, pos: int, big: bool, max_n: int, off: np.ndarray,
                     iface: np.ndarray, tsraw: np.ndarray, cap: np.ndarray,
                     wlen: np.ndarray) -> tuple[int, int, int]:
    mv = memoryview(buf)  # type: ignore[arg-type]
    unpack = struct.Struct(">7I" if big else "<7I").unpack_from
    end = buf.shape[0]
    n = 0
    status = 0
    while n < max_n and pos + 28 <= end:
        btype, blen, ifc, hi, lo, c, w = unpack(mv, pos)
        if btype != 6 or pos + blen > end:
            break
        if blen < 32 or blen % 4 != 0 or c > blen - 32:
            status = 1
            break
        off[n] = pos + 28
        iface[n] = ifc
        tsraw[n] = (hi << 32) | lo if hi < 0x80000000 else ((hi << 32) | lo) - (1 << 64)
        cap[n] = c
        wlen[n] = w
        n += 1
        pos += blen
    return n, pos, status


def _compile() -> tuple[Any, Any, bool]:
    from pcapkit.capture.compiled import numba_module

    try:
        numba = numba_module()
    except ImportError:
        return _walk_pcap_struct, _walk_epb_struct, False
    jit = numba.njit(cache=True, nogil=True)
    record = jit(pcap_record)
    pcap = jit(types.FunctionType(_walk_pcap_np.__code__, dict(_walk_pcap_np.__globals__, pcap_record=record),
                                  _walk_pcap_np.__name__))
    epb = numba.njit(cache=True, nogil=True)(_walk_epb_np)
    return pcap, epb, True


_KERNELS: tuple[Any, Any, bool] | None = None


def kernels(use_numba: bool | None = None) -> tuple[Any, Any]:
    """(pcap walk, EPB walk): the numba ones when numba is importable and allowed."""
    global _KERNELS
    from pcapkit.capture import compiled

    if use_numba is False or (use_numba is None and compiled.small_input()):
        return _walk_pcap_struct, _walk_epb_struct
    if _KERNELS is None:
        _KERNELS = _compile()
    return _KERNELS[0], _KERNELS[1]


def have_numba() -> bool:
    if _KERNELS is None:
        kernels()
    assert _KERNELS is not None
    return _KERNELS[2]
