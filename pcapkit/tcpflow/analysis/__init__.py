"""THE TCP analysis: tshark 4.0's per-frame ``tcp.analysis.*``, written once.

:func:`pcapkit.tcpflow.analysis.step.step` analyses one segment (the rules of
``reference/tcp-analysis.md``, in order) over the state laid out in
:mod:`pcapkit.tcpflow.analysis.state`. :func:`run` analyses whole columns (one entry per
TCP segment, in file order); :class:`pcapkit.tcpflow.engine.TcpEngine` feeds one segment
at a time. Both run the same code, in the subset of Python numba compiles (ints, flat
int64 buffers, no objects), through one of two backends (:func:`backend`):

- compiled (the default): ``numba.njit``, cached on disk;
- interpreted, over Python lists (about 3x faster than over numpy arrays, whose scalar
  boxing dominates): with ``PCAPKIT_NO_NUMBA=1``, ``compiled=False`` or without numba.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import numpy as np

from pcapkit.proto.seq import HELPERS
from pcapkit.tcpflow import backends
from pcapkit.tcpflow.analysis import state, step, unacked
from pcapkit.tcpflow.analysis.state import (
    G_KCAP,
    G_NCONV,
    G_RECYCLE,
    G_SACK,
    NOUT,
    OUTPUTS,
    TCP_MAX_UNACKED_SEGMENTS,
    alloc,
    initial_rtt,
    limit_warnings,
)

__all__ = [
    "G_KCAP", "G_NCONV", "G_SACK", "NOUT", "OUTPUTS", "TCP_MAX_UNACKED_SEGMENTS", "AnalysisResult", "Backend",
    "backend", "initial_rtt", "limit_warnings", "run",
]


# what backends.generate writes into the functions it makes
_EXPRESSIONS = (*HELPERS, state._arena_need)
_INLINE = (state._needs_room, state._clear_row, state._short_row, state._open_conversation, state._new_record,
           state._region_class, state._new_region, state._free_region, state._free_conversation, unacked.make_room,
           unacked.acknowledge, unacked.flight_span, step.step)


class Backend:
    """The analysis functions of one backend: the code
    :func:`~pcapkit.tcpflow.backends.generate` makes of this package's functions (the
    seq helpers written into their callers, the state and unacked-list helpers into
    ``step``, and ``step`` into ``run_columns``'s loop: fewer functions for numba to
    compile, no call per segment), compiled by numba (cached on disk) or interpreted.
    ``step`` and ``run_columns`` are made on first use: a process that only feeds
    segments never makes ``run_columns``."""

    def __init__(self, compiled: bool) -> None:
        self.compiled = compiled
        self._namespace: dict[str, Any] = {**vars(state), **vars(unacked), **vars(step)}
        self._jit: Any = None
        self._loop_jit: Any = None
        if compiled:
            from pcapkit.capture.compiled import allocation_free_jit, numba_module

            numba = numba_module()
            self._namespace["alloc"] = numba.njit(state._alloc_array)
            for helper in HELPERS:  # (any call left, e.g. with a call as argument)
                self._namespace[helper.__name__] = numba.njit(helper)
            self._jit = numba.njit(cache=True, nogil=True)
            self._loop_jit = allocation_free_jit()  # (the loop allocates nothing: see step.run_columns)
        self._make(state.new_state, state.grow)
        self.alloc = self._namespace["alloc"]
        self.new_state = self._namespace["new_state"]
        self.grow = self._namespace["grow"]

    def _make(self, *functions: Any, jit: Any = None) -> None:
        backends.build(self._namespace, backends.generated_code(functions, expressions=_EXPRESSIONS, inline=_INLINE),
                       jit or self._jit)

    @functools.cached_property
    def step(self) -> Any:
        """:func:`pcapkit.tcpflow.analysis.step.step`, its helpers written in."""
        self._make(step.step)
        return self._namespace["step"]

    def run_rows(self, st: Any, arena: Any, columns: list[Any], last: Any, out: Any) -> tuple[Any, Any]:
        """:func:`~pcapkit.tcpflow.analysis.step.run_columns` over every row of ``columns``
        (then ``last`` and ``out``, as it takes them: this backend's buffers), growing the
        state whenever it stops for room. Returns (st, arena)."""
        n = len(columns[0])
        done = srow = 0
        while True:
            done, srow, full = self.run_columns(st, arena, done, srow, *columns, last, out)
            if full:
                st, arena = self.grow(st, arena, 0)
            elif done == n:
                return st, arena

    @functools.cached_property
    def run_columns(self) -> Any:
        """:func:`pcapkit.tcpflow.analysis.step.run_columns`, with step written in."""
        self._make(step.run_columns, jit=self._loop_jit)
        return self._namespace["run_columns"]


_backends: dict[bool, Backend] = {}


def backend(compiled: bool | None = None) -> Backend:
    """The compiled backend (``compiled`` True, or None when
    :func:`~pcapkit.tcpflow.backends.compiled_available`), else the interpreted one."""
    if compiled is None:
        compiled = backends.compiled_available()
    found = _backends.get(compiled)
    if found is None:
        found = _backends[compiled] = Backend(compiled)
    return found


@dataclass
class AnalysisResult:
    """Per-row outputs of :func:`run` (rows with ``stream == -1`` were cut by
    ``max_conversations``); the optional values are valid where ``have`` has their H_* bit.
    An output left out by ``run(outputs=...)`` is None."""

    warnings: list[str]
    n_conversations: int
    stream: np.ndarray
    seq: np.ndarray
    ack: np.ndarray
    nxtseq: np.ndarray
    window_size: np.ndarray
    scalefactor: np.ndarray
    aflags: np.ndarray
    acks_frame: np.ndarray
    ack_rtt: np.ndarray
    irtt: np.ndarray
    bif: np.ndarray
    push: np.ndarray
    dupack_num: np.ndarray
    dupack_frame: np.ndarray
    rto: np.ndarray
    rto_frame: np.ndarray
    time_relative: np.ndarray
    time_delta: np.ndarray
    have: np.ndarray


CHUNK_ROWS = 1 << 16  # rows analysed per call when only some outputs are kept (see run)


def run(frame: np.ndarray, ts_ns: np.ndarray, key: np.ndarray, dirb: np.ndarray, seq: np.ndarray, ack: np.ndarray,
        flags: np.ndarray, window: np.ndarray, seglen: np.ndarray, wscale: np.ndarray, sack_n: np.ndarray,
        sack_l: np.ndarray, sack_r: np.ndarray, *, max_unacked: int = TCP_MAX_UNACKED_SEGMENTS,
        max_conversations: int | None = None, compiled: bool | None = None,
        outputs: Collection[str] | None = None) -> AnalysisResult:
    """Analyse columns (one entry per TCP segment, in file order).

    ``key``: conversation key id (0 .. nkeys-1) of the unordered address/port pair;
    ``dirb``: which of the pair's two endpoints sent the segment (0 or 1; 0 when both
    are the same endpoint). ``seglen`` is -1 for a short segment. ``wscale`` is -1 when
    the segment has no window scale option. ``sack_n`` counts the SACK blocks of the
    segment; ``sack_l``/``sack_r`` (shape (m, 3), one row per segment with ``sack_n > 0``,
    in order) hold its first three blocks. ``compiled``: the backend (None: compiled
    when :func:`~pcapkit.tcpflow.backends.compiled_available`). ``outputs``: the names
    (of :data:`OUTPUTS`) to keep, the others are None (default: all). With a choice the
    rows go through in chunks of :data:`CHUNK_ROWS` (the state carries from one to the
    next: the same single pass), so memory holds the kept columns, not all ``NOUT``."""
    be = backend(compiled)
    n = int(frame.shape[0])
    sack_l, sack_r = sack_l.reshape(-1, 3), sack_r.reshape(-1, 3)
    if sack_l.shape[0] != int(np.count_nonzero(sack_n > 0)) or sack_r.shape != sack_l.shape:
        raise ValueError("sack_l/sack_r need one row per segment with sack_n > 0")
    unknown = set(outputs or ()) - set(OUTPUTS)
    if unknown:
        raise ValueError(f"unknown analysis outputs: {sorted(unknown)}")
    if n and (int(key.min()) < 0 or not np.isin(dirb, (0, 1)).all()):
        # (the compiled code does not check indices: keys and directions index the state)
        raise ValueError("key must be >= 0 and dirb 0 or 1")
    nkeys = int(key.max()) + 1 if n else 0
    last, live = _last_rows(np.asarray(key), nkeys)
    # records for the conversations open at once (+1: a reuse opens one before the old
    # one is freed); the state grows if port reuse needs more
    st, arena = be.new_state(nkeys, live + 1, 1024, max_unacked, -1 if max_conversations is None else max_conversations)
    st[G_RECYCLE] = 1
    per_row = (frame, ts_ns, key, dirb, seq, ack, flags, window, seglen, wscale, sack_n)
    sack_end = np.cumsum(sack_n > 0)  # SACK rows up to and including each row
    kept = OUTPUTS if outputs is None else tuple(name for name in OUTPUTS if name in outputs)
    step_rows = n if outputs is None else CHUNK_ROWS
    rows: np.ndarray | None = None
    result: dict[str, np.ndarray] = {}
    if outputs is None:  # every output: one buffer, its rows are the result
        rows = np.zeros((NOUT, n), dtype=np.int64)
    else:
        result = {name: np.zeros(n, dtype=np.int64) for name in kept}
    for a in range(0, max(n, 1), max(step_rows, 1)):
        b = min(n, a + step_rows)
        s0, s1 = (int(sack_end[a - 1]) if a else 0), (int(sack_end[b - 1]) if b else 0)
        columns = [np.ascontiguousarray(c[a:b], dtype=np.int64).reshape(-1) for c in per_row]
        columns += [np.ascontiguousarray(sack_l[s0:s1], dtype=np.int64).reshape(-1),
                    np.ascontiguousarray(sack_r[s0:s1], dtype=np.int64).reshape(-1)]
        out = rows.reshape(-1) if rows is not None else np.zeros(NOUT * (b - a), dtype=np.int64)
        args: list[Any]
        if be.compiled:
            args, last_rows, out_rows = columns, last[a:b], out
        else:
            args, last_rows, out_rows = [c.tolist() for c in columns], last[a:b].tolist(), alloc(NOUT * (b - a))
        st, arena = be.run_rows(st, arena, args, last_rows, out_rows)
        if not be.compiled:
            out[:] = out_rows
        del args, out_rows
        if rows is None:
            chunk = out.reshape(NOUT, b - a)
            for name in kept:
                result[name][a:b] = chunk[OUTPUTS.index(name)]
        del columns, out
    if rows is not None:
        result = dict(zip(OUTPUTS, rows, strict=True))
    values: dict[str, Any] = {name: result.get(name) for name in OUTPUTS}
    return AnalysisResult(limit_warnings(st, max_unacked, max_conversations), int(st[G_NCONV]), **values)


def _last_rows(key: np.ndarray, nkeys: int) -> tuple[np.ndarray, int]:
    """(1 on the last row of each key, else 0; the most keys between their first and last
    row at once)."""
    n = key.shape[0]
    last = np.zeros(n, np.uint8)
    if n == 0:
        return last, 0
    rows = np.arange(n, dtype=np.int64)
    last_row = np.empty(nkeys, np.int64)
    last_row[key] = rows  # (the last write wins)
    first_row = np.empty(nkeys, np.int64)
    first_row[key[::-1]] = rows[::-1]
    last[last_row] = 1
    opened = np.bincount(first_row, minlength=n)
    closed = np.bincount(last_row, minlength=n)
    live = int((np.cumsum(opened) - np.cumsum(closed) + closed).max())
    return last, live
