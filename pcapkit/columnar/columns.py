"""The containers of the columnar decoder: :class:`Columns` (values plus a validity mask per
column, and the rows left to the per-packet path) and :class:`Batch` (a record batch's
bytes, with the gather of header bytes into ``(rows, width)`` matrices); the compiled TCP
option walk (:func:`option_walk`)."""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import numpy as np

from pcapkit.capture.batch import RecordBatch
from pcapkit.capture.compiled import compiled_kernels
from pcapkit.columnar import dtypes
from pcapkit.columnar.rows import gather_rows, head_rows
from pcapkit.proto import tcp_options
from pcapkit.proto.spec import Header


def passes(header: Header, values: dict[str, np.ndarray], checks: str = "valid") -> np.ndarray:
    """Rows for which every check of ``header.valid`` holds (``checks="slow"``: rows for
    which any slow-path condition holds)."""
    n = next(iter(values.values())).shape[0]
    if checks == "valid":
        ok = np.ones(n, dtype=bool)
        for check in header.valid:
            ok &= check(values)
        return ok
    hit = np.zeros(n, dtype=bool)
    for check in header.slow:
        hit |= check(values)
    return hit


# UDP ports whose payload tshark dissects into IP / Ethernet again (tunnels)
TUNNEL_UDP_PORTS = frozenset({4789, 6081, 2152, 3544, 1701, 4500, 4341, 5246, 5247, 8472, 1293,
                              6633, 6653, 4754, 5555, 2123, 3386, 6635})  # 6635: MPLS in UDP
# internal columns for the segment source (not part of the packets table): where the TCP
# header starts in the frame, and the transport protocol after IPv6 extension headers
TCP_OFFSET = "pcapkit.tcp_offset"
TRANSPORT_PROTO = "pcapkit.transport_proto"
# internal column: where the IPv4 header starts, on rows marked only because they are a
# fragment captured whole (the link and IP columns are complete; the per-packet paths need
# only the reassembly bookkeeping unless the fragment completes a datagram)
FRAGMENT_IP_OFFSET = "pcapkit.fragment_ip_offset"

_DTYPES: dict[str, Any] = {name: dtypes.numpy_dtype(spec) for name, spec in dtypes.specs().items()}


class Columns:
    """Accumulates columns for ``n`` rows: values plus a validity mask each."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.values: dict[str, np.ndarray] = {}
        self.valid: dict[str, np.ndarray] = {}
        self.fallback = np.zeros(n, dtype=bool)
        # read_packets(application=True): application column -> (rows, values) of the rows with one
        self.application: dict[str, tuple[list[int], list[Any]]] = {}

    def set(self, name: str, idx: np.ndarray, values: Any, dtype: Any = None) -> None:
        arr = self.values.get(name)
        dense = idx.shape[0] == self.n  # every row (row indices are always sorted and unique)
        if arr is None and dense and isinstance(values, np.ndarray) and values.shape == (self.n,):
            # first write covers every row: keep the values themselves (no fill, no copy)
            dt = _DTYPES.get(name, np.uint64) if dtype is None else dtype
            v = values.astype(dt, copy=False)
            if v.base is not None or not v.flags.c_contiguous:
                v = v.copy()  # never keep a view of a (larger) gather matrix alive
            self.values[name] = v
            self.valid[name] = np.ones(self.n, dtype=bool)
            return
        if arr is None:
            arr = np.zeros(self.n, dtype=_DTYPES.get(name, np.uint64) if dtype is None else dtype)
            self.values[name] = arr
            self.valid[name] = np.zeros(self.n, dtype=bool)
        valid = self.own_valid(name)
        if dense:
            arr[:] = values
            valid[:] = True
        else:
            arr[idx] = values
            valid[idx] = True

    def own_valid(self, name: str) -> np.ndarray:
        """The validity mask of ``name``, writable (a copy of a mask it shared with other
        columns: :mod:`pcapkit.columnar.fastpath` gives one mask to a layer's columns)."""
        valid = self.valid[name]
        if not valid.flags.writeable:
            valid = self.valid[name] = valid.copy()
        return valid

    def take(self, keep: np.ndarray) -> Columns:
        """The rows ``keep`` (a boolean mask) marks, as columns of their own: what decoding
        those records alone gives, without decoding them again. A read-only mask that
        columns share (see :meth:`own_valid`) stays one shared, read-only mask."""
        if self.application:
            raise ValueError("the application columns are not taken")  # (read_packets' own, never a segment source's)
        out = Columns(int(np.count_nonzero(keep)))
        out.values = {name: values[keep] for name, values in self.values.items()}
        shared: dict[int, np.ndarray] = {}
        for name, valid in self.valid.items():
            if valid.flags.writeable:
                out.valid[name] = valid[keep]
                continue
            taken = shared.get(id(valid))
            if taken is None:
                taken = shared[id(valid)] = valid[keep]
                taken.flags.writeable = False
            out.valid[name] = taken
        out.fallback = self.fallback[keep]
        return out

    def mark(self, idx: np.ndarray) -> None:
        self.fallback[idx] = True

    def mark_not(self, idx: np.ndarray, ok: np.ndarray) -> None:
        """Mark the rows ``idx`` where ``ok`` is False."""
        if not ok.all():
            self.fallback[idx[~ok]] = True


def frame_columns(rb: RecordBatch, out: Columns) -> None:
    """The ``frame.*`` columns the record batch itself gives."""
    all_idx = np.arange(len(rb), dtype=np.int64)
    out.set("frame.len", all_idx, rb.wirelen)
    out.set("frame.cap_len", all_idx, rb.caplen)
    if rb.pcapng:
        has_if = np.nonzero(rb.interface_id >= 0)[0]
        out.set("frame.interface_id", has_if, rb.interface_id[has_if])


class Batch:
    # bytes of each record copied up front (see head_rows): Ethernet + IPv4 + TCP with
    # options fit in the first 128 bytes of almost every frame
    HEAD_BYTES = 128

    def __init__(self, rb: RecordBatch, use_kernel: bool = True) -> None:
        self.buf = rb.buf
        self.base = rb.data_off
        self.cap = rb.caplen
        self.wire = rb.wirelen
        self._windows: dict[int, np.ndarray] = {}
        self.use_kernel = use_kernel and compiled_kernels()
        self._head: np.ndarray | None = None   # head_rows of the batch, flattened
        if self.use_kernel and len(rb) >= 64:  # (numba is imported only when the kernels run)
            head = head_rows(rb.buf, rb.data_off, rb.caplen, self.HEAD_BYTES)
            self._head = None if head is None else head.reshape(-1)

    def at(self, idx: np.ndarray, rel: np.ndarray, width: int | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """A byte buffer and the offsets in it of bytes [rel, rel+width) of each packet
        ``idx`` (the head matrix when every row's span lies in it, else the records)."""
        if self._head is not None and idx.size and int(np.max(rel + width)) <= self.HEAD_BYTES:
            return self._head, idx * self.HEAD_BYTES + rel
        return self.buf, self.base[idx] + rel

    def win(self, idx: np.ndarray, rel: np.ndarray, width: int) -> np.ndarray:
        """(len(idx), width) uint8 matrix of bytes [rel, rel+width) of each packet.
        Callers guarantee rel + width <= caplen."""
        if not self.use_kernel:
            start = self.base[idx] + rel
            # rows of a sliding-window view: one contiguous copy of ``width`` bytes per packet
            rows = self._windows.get(width)
            if rows is None:
                rows = np.lib.stride_tricks.sliding_window_view(self.buf, width)
                self._windows[width] = rows
            return rows[start]
        buf, start = self.at(idx, rel, width)
        return gather_rows(buf, start, width)


def select(mask: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """``arrays`` restricted to ``mask`` (no copy when every row passes)."""
    if mask.all():
        return arrays
    return tuple(a[mask] for a in arrays)


_WALK: Callable[..., None] | None = None


def option_walk(compiled: bool = True) -> Callable[..., None]:
    """:func:`pcapkit.proto.tcp_options.walk_options` compiled by numba (with the helpers it
    calls compiled too: the function is rebuilt over them), or interpreted when ``compiled``
    is False or numba is not installed."""
    global _WALK
    walk = tcp_options.walk_options
    if not compiled:
        return walk
    if _WALK is None:
        try:
            from pcapkit.capture.compiled import numba_module

            numba = numba_module()
        except ImportError:
            _WALK = walk
        else:
            jit = numba.njit(cache=True, nogil=True)
            scope = dict(walk.__globals__, option_at=jit(tcp_options.option_at), u32=jit(tcp_options.u32))
            _WALK = jit(types.FunctionType(walk.__code__, scope, walk.__name__))
    return _WALK
