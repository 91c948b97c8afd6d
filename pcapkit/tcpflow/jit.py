"""Per-segment models written once, run compiled by numba or interpreted.

The Zeek and tcptrace models (:mod:`pcapkit.tcpflow.zeek`, :mod:`pcapkit.tcpflow.tcptrace`)
are module-level functions in the subset of Python numba compiles: state in structured
arrays (one record per connection or direction, read and written as ``rec.field``) and
flat int64 arenas. The same functions run in both backends:

- compiled (the default): every helper is registered with ``numba.extending.register_jitable``
  and a small entry point calling the model's ``run`` is compiled with ``cache=True``.
  The entry point closes over a hash of the model's source files, which numba's cache
  keys on, so editing any of those files (not only the entry point's) recompiles. It is
  compiled without numba's reference counting: a model allocates nothing and returns
  numbers only; when an arena is full it stops before a row and returns, and its caller
  grows the arena (:func:`grown`) and calls it again from that row;
- interpreted (``PCAPKIT_NO_NUMBA=1``, or numba missing, or ``compiled=False``): ``run`` is
  called as plain Python; record arrays are handed over as lists of small objects with
  the records' fields as attributes (a numpy record's attribute access costs ~10 us) and
  turned back into structured arrays afterwards.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

BLOCK_ROWS = 1 << 14  # input rows handed to a model at a time (a block and its staging fit in the cache: the
# tcptrace model over bench-1M 0.19-0.21 -> 0.17 s with 1 << 14 instead of 1 << 16)
_compiled: dict[str, Any] = {}
_registered: set[int] = set()


def available() -> bool:
    """True when the compiled backend can run (the TCP analysis' rule, one place)."""
    from pcapkit.tcpflow.backends import compiled_available

    return compiled_available()


def use_compiled(compiled: bool | None) -> bool:
    """``compiled`` resolved: None means compiled when :func:`available`."""
    return available() if compiled is None else compiled


def compile_entry(target: Callable[..., Any], functions: Iterable[Callable[..., Any]],
                  modules: Iterable[str]) -> Callable[..., Any]:
    """``target`` compiled (cached per process and on disk), after registering
    ``functions`` (everything it calls) as jittable. Numba's disk cache checks only the
    source file of the function it compiles, so that function is a small entry calling
    ``target`` whose closure holds a hash of the source files of ``modules``: numba's
    cache key hashes closure cells, so editing any of them recompiles."""
    key = f"{target.__module__}.{target.__qualname__}"
    if key not in _compiled:
        from numba.extending import register_jitable

        from pcapkit.capture.compiled import allocation_free_jit

        for fn in functions:
            if id(fn) not in _registered:
                register_jitable(fn)
                _registered.add(id(fn))
        digest = hashlib.sha256()
        for name in sorted(modules):
            path = sys.modules[name].__file__
            assert path is not None
            with open(path, "rb") as f:
                digest.update(f.read())
        _compiled[key] = allocation_free_jit()(_stamped_entry(target, digest.hexdigest()))
    return _compiled[key]


def _stamped_entry(target: Callable[..., Any], stamp: str) -> Callable[..., Any]:
    def entry(*args: Any) -> Any:
        _ = stamp  # (in the closure: see compile_entry)
        return target(*args)
    # (its own name: numba names the cache files after it, one set per target)
    entry.__name__ = f"{target.__name__}_entry"
    entry.__qualname__ = f"{target.__module__}.{target.__qualname__}.entry"
    return entry


class _Record:
    """A record of the interpreted backend (subclasses get ``__slots__`` = the fields)."""

    __slots__ = ()


def _record_class(dtype: np.dtype[Any]) -> type:
    names = dtype.names or ()
    return type("Record", (_Record,), {"__slots__": names})


def new_records(dtype: np.dtype[Any], n: int, compiled: bool, defaults: dict[str, int] | None = None) -> Any:
    """``n`` zeroed records (``defaults`` for the fields that do not start at 0): a
    structured array when compiled, else a list of objects."""
    if compiled:
        arr = np.zeros(n, dtype)
        for name, value in (defaults or {}).items():
            arr[name] = value
        return arr
    cls = _record_class(dtype)
    start = {name: dtype.fields[name][0].type(0).item() for name in dtype.names or ()}  # type: ignore[index]
    start.update(defaults or {})
    out = []
    for _ in range(n):
        rec = cls()
        for name, value in start.items():
            setattr(rec, name, value)
        out.append(rec)
    return out


def as_records(arr: np.ndarray, compiled: bool) -> Any:
    """The rows of a structured array as the backend reads them (the array itself when
    compiled, else a list of objects)."""
    if compiled:
        return arr
    cls = _record_class(arr.dtype)
    names = arr.dtype.names or ()
    out = []
    for values in arr.tolist():
        rec = cls()
        for name, value in zip(names, values, strict=True):
            setattr(rec, name, value)
        out.append(rec)
    return out


def to_array(records: Any, dtype: np.dtype[Any]) -> np.ndarray:
    """Records of either backend as a structured array."""
    if isinstance(records, np.ndarray):
        return records
    names = dtype.names or ()
    return np.array([tuple(getattr(r, name) for name in names) for r in records], dtype=dtype)


def row_blocks(dtype: np.dtype[Any], n: int, columns: dict[str, np.ndarray],
               compiled: bool) -> Iterator[tuple[int, Any]]:
    """The ``n`` rows of ``columns`` (every field of ``dtype``, all int64) as records,
    :data:`BLOCK_ROWS` at a time: (first row, the records as the backend reads them). One
    buffer serves every block, so the records of a million segments never sit in memory
    at once. Each block's columns are first cast into the rows of a (field, row) matrix
    (contiguous writes), then transposed into the records at once: written field by
    field, each value would be a store 200 bytes from the last (three times slower)."""
    names = dtype.names or ()
    if set(columns) != set(names):
        raise ValueError(f"columns {sorted(columns)} are not the fields {names}")
    if any(dtype.fields[name][0] != np.int64 for name in names):  # type: ignore[index]
        raise ValueError(f"the fields of {dtype} are not all int64")
    rows = min(n, BLOCK_ROWS)
    buffer = np.empty(rows, dtype)
    records = buffer.view(np.int64).reshape(rows, len(names))
    staged = np.empty((len(names), rows), np.int64)
    for first in range(0, n, BLOCK_ROWS):
        size = min(BLOCK_ROWS, n - first)
        for k, name in enumerate(names):
            staged[k, :size] = columns[name][first:first + size]
        records[:size] = staged[:, :size].T
        yield first, as_records(buffer[:size], compiled)


def grown(arr: np.ndarray, rows: int) -> np.ndarray:
    """``arr`` (2-D, int64) with at least ``rows`` rows: ``arr`` when it has them, else a
    copy with twice as many."""
    if arr.shape[0] >= rows:
        return arr
    size = max(rows, 2 * arr.shape[0], 16)
    out = np.zeros((size, arr.shape[1]), np.int64)
    out[:arr.shape[0]] = arr
    return out


def grown_records(records: Any, dtype: np.dtype[Any], n: int, compiled: bool) -> Any:
    """``records`` (of :func:`new_records`) followed by zeroed records up to ``n``."""
    if compiled:
        out = np.zeros(n, dtype)
        out.view(np.uint8)[:records.nbytes] = records.view(np.uint8)  # (bytes: a record copy goes field by field)
        return out
    return records + new_records(dtype, n - len(records), compiled)
