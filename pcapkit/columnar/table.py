"""The packets table built from decoded batches, each column built once.

:class:`TableBuilder` takes the decoder's batches one at a time (:meth:`TableBuilder.add`)
and keeps, per column, only what the final column is made of: values already in the
column's dtype with their missing mask (or, with ``dtype_backend="pyarrow"``, the Arrow
array of the batch, without a validity bitmap when nothing is missing and sharing the
decoder's buffer), addresses as codes into one dictionary of texts grown batch by batch
(the text of an address is made once, when it is first met). The decoder's internal
columns and the record offsets are dropped with the batch. :meth:`TableBuilder.frame`
then makes each column once: pandas' nullable arrays are filled in one allocation per
column (the batches' pieces freed as they are copied in), Arrow columns are chunked
arrays of the batches' arrays (no copy at all).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.capture.batch import RecordBatch
from pcapkit.columnar import application as _app
from pcapkit.columnar import dtypes as _dt
from pcapkit.columnar.column_table import Column, ColumnTable, factorize
from pcapkit.columnar.columns import Columns
from pcapkit.errors import PcapkitError
from pcapkit.fields import dtype_name, ether_text, ipv4_text, ipv6_text

if TYPE_CHECKING:
    import pandas as pd

BACKENDS = ("numpy_nullable", "pyarrow")


def _ether_text(v: Any) -> str:
    return ether_text(int(v).to_bytes(6, "big"))


def _ipv4_text(v: Any) -> str:
    return ipv4_text(int(v).to_bytes(4, "big"))


def _ipv6_text(v: Any) -> str:
    hi, lo = v
    return ipv6_text(int(hi).to_bytes(8, "big") + int(lo).to_bytes(8, "big"))


def _string_index(texts: list[str]) -> Any:
    import pandas as pd

    return pd.Index(texts, dtype=pd.StringDtype(na_value=np.nan))


class AddressCodes:
    """One address column's dictionary: integer keys -> codes in order of first appearance
    (over all batches), each key's text made once."""

    def __init__(self, text: Callable[[Any], str]) -> None:
        self.text = text
        self.ids: dict[Any, int] = {}
        self.texts: list[str] = []

    def codes(self, keys: np.ndarray | None, valid: np.ndarray | None, n: int,
              low: np.ndarray | None = None) -> np.ndarray:
        """int32 codes of the ``n`` rows (-1: missing); ``low``: the IPv6 low halves."""
        if keys is None or valid is None:
            return np.full(n, -1, dtype=np.int32)
        every = bool(valid.all())  # (then no row selection: no copy of the keys)
        sel = None if every else np.flatnonzero(valid)
        if sel is not None:
            if sel.size == 0:
                return np.full(n, -1, dtype=np.int32)
            keys = keys[sel]
            low = None if low is None else low[sel]
        if low is None:
            local, uniques = factorize(keys)
            keys_seen: list[Any] = np.asarray(uniques).tolist()
        else:
            # an IPv6 address is two 64-bit halves: factorize each, then the pairs
            ch, uh = factorize(keys)
            cl, ul = factorize(low)
            width = max(1, len(ul))
            local, pairs = factorize(ch.astype(np.int64) * width + cl)
            hi_l, lo_l = np.asarray(uh).tolist(), np.asarray(ul).tolist()
            keys_seen = [(hi_l[p // width], lo_l[p % width]) for p in np.asarray(pairs).tolist()]
        ids = self.ids
        lut = np.empty(len(keys_seen), dtype=np.int32)
        for i, key in enumerate(keys_seen):
            code = ids.get(key)
            if code is None:
                code = ids[key] = len(self.texts)
                self.texts.append(self.text(key))
            lut[i] = code
        if sel is None:
            return lut[local]
        out = np.full(n, -1, dtype=np.int32)
        out[sel] = lut[local]
        return out

    def categorical(self, codes: np.ndarray) -> Any:
        import pandas as pd

        return pd.Categorical.from_codes(codes, categories=_string_index(self.texts))


_TEXT = {"ether": _ether_text, "ipv4": _ipv4_text, "ipv6": _ipv6_text}


class TableBuilder:
    """The packets table (``columns``: None for every column) of consecutive batches."""

    def __init__(self, columns: Sequence[str] | None = None, dtype_backend: str = "numpy_nullable") -> None:
        if dtype_backend not in BACKENDS:
            raise PcapkitError(f"unknown dtype_backend {dtype_backend!r}; one of {', '.join(BACKENDS)}")
        self.columns = None if columns is None else tuple(columns)
        self.arrow = dtype_backend == "pyarrow"
        self.names: tuple[str, ...] | None = None  # fixed by the first batch
        self.sizes: list[int] = []
        self.first_number = 1
        self.pieces: dict[str, list[Any]] = {}
        self.addresses: dict[str, AddressCodes] = {}
        self.fallback = False
        self._masks: dict[int, Any] = {}  # id(valid) -> its mask, during add (columns share masks)

    def _wanted(self, cols: Columns) -> tuple[str, ...]:
        wanted = (*_dt.COLUMNS, *cols.application) if self.columns is None else self.columns
        specs = _dt.specs()
        for name in wanted:
            if name != _dt.FALLBACK and name not in specs and name not in _app.APPLICATION_COLUMNS:
                raise PcapkitError(f"unknown column {name!r}; known: "
                                   f"{', '.join((*_dt.COLUMNS, *_app.APPLICATION_COLUMNS))}")
        self.fallback = self.columns is None or _dt.FALLBACK in wanted
        return tuple(name for name in wanted if name != _dt.FALLBACK)

    def add(self, rb: RecordBatch, cols: Columns) -> None:
        """Take the columns of one batch (``cols`` is not used afterwards: its arrays may
        become the table's)."""
        if self.names is None:
            self.names = self._wanted(cols)
            self.first_number = rb.first_number
        n = len(rb)
        self.sizes.append(n)
        specs = _dt.specs()
        self._masks = {}
        for name in self.names:
            pieces = self.pieces.setdefault(name, [])
            if name in _app.APPLICATION_COLUMNS:
                pieces.append(cols.application.get(name))
            elif name == "frame.number":
                continue
            elif name == "frame.time_epoch":
                pieces.append(rb.ts_ns)
            else:
                pieces.append(self._piece(name, specs[name].ftype, cols, n))
        if self.fallback:
            self.pieces.setdefault(_dt.FALLBACK, []).append(cols.fallback)
        self._masks = {}

    def _piece(self, name: str, ftype: str, cols: Columns, n: int) -> Any:
        if ftype in _TEXT:
            book = self.addresses.get(name)
            if book is None:
                book = self.addresses[name] = AddressCodes(_TEXT[ftype])
            if ftype == "ipv6":
                return book.codes(cols.values.get(name + ".hi"), cols.valid.get(name + ".hi"), n,
                                  cols.values.get(name + ".lo"))
            return book.codes(cols.values.get(name), cols.valid.get(name), n)
        values = cols.values.get(name)
        if values is None:
            return None  # no row of the batch has the field
        values = values.astype(_numpy_dtype(name), copy=False)
        valid = cols.valid[name]
        mask = self._masks.get(id(valid))
        if mask is None:
            mask = self._masks[id(valid)] = self._mask(valid)
        if self.arrow:
            import pyarrow as pa

            # the decoder's buffer, not a copy; no validity bitmap when nothing is missing
            data = np.packbits(values, bitorder="little") if values.dtype == np.dtype(bool) else values
            return pa.Array.from_buffers(_arrow_type(name), n, [mask, pa.py_buffer(data)])
        return values, mask  # (shared by the columns of the batch: frame() makes one per column)

    def _mask(self, valid: np.ndarray) -> Any:
        """Arrow's validity bitmap of ``valid``, or pandas' missing mask; None when every
        value is there."""
        if bool(valid.all()):
            return None
        if not self.arrow:
            return ~valid
        import pyarrow as pa

        return pa.py_buffer(np.packbits(valid, bitorder="little"))

    def frame(self) -> pd.DataFrame:
        """The DataFrame of every batch added (the pieces are released as columns are made)."""
        import pandas as pd

        total = sum(self.sizes)
        data: dict[str, Any] = {}
        for name in self.names or ():
            if name == "frame.number":
                data[name] = np.arange(self.first_number, self.first_number + total, dtype=np.uint32)
                continue
            pieces = self.pieces.pop(name)
            if name in _app.APPLICATION_COLUMNS:
                sparse = _app.concat(list(zip(self.sizes, pieces, strict=True)))
                data[name] = _app.to_array(sparse, total, _app.dtypes()[name])
            elif name == "frame.time_epoch":
                data[name] = _concat(pieces).view("datetime64[ns]")
            elif name in self.addresses:
                data[name] = self.addresses[name].categorical(_concat(pieces))
            else:
                data[name] = self._column(name, pieces, total)
        if self.fallback:
            pieces = self.pieces.pop(_dt.FALLBACK)
            if self.arrow:  # bool[pyarrow], as the other flags of the table: one bit a row
                import pyarrow as pa

                chunks = [pa.Array.from_buffers(pa.bool_(), len(p), [None, pa.py_buffer(np.packbits(p, bitorder="little"))])
                          for p in pieces]
                data[_dt.FALLBACK] = pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks, type=pa.bool_()))
            else:
                flags = _concat(pieces, total, bool)
                data[_dt.FALLBACK] = pd.arrays.BooleanArray(flags, np.zeros(total, dtype=bool))
        return pd.DataFrame(data, copy=False)

    def column_table(self) -> ColumnTable:
        """:meth:`frame`'s columns as a :class:`~pcapkit.columnar.column_table.ColumnTable`,
        without pandas (for the command line on a small capture): the same values and
        missing masks, addresses as codes into their texts. Not for the pyarrow backend nor
        the application columns."""
        if self.arrow:
            raise PcapkitError("column_table: the numpy_nullable backend only")
        total = sum(self.sizes)
        specs = _dt.specs()
        data: dict[str, Column] = {}
        names = self.names
        if names is None:  # (no batch: the columns asked for, empty)
            self.fallback = self.columns is None or _dt.FALLBACK in self.columns
            names = tuple(n for n in (self.columns or _dt.COLUMNS) if n != _dt.FALLBACK)
        for name in names:
            if name in _app.APPLICATION_COLUMNS:
                raise PcapkitError(f"column_table: {name} is an application column")
            dtype = dtype_name(specs[name])
            pieces = self.pieces.pop(name, [])
            if name == "frame.number":
                data[name] = Column(np.arange(self.first_number, self.first_number + total, dtype=np.uint32), None,
                                    dtype)
            elif name == "frame.time_epoch":
                data[name] = Column(_concat(pieces, total, np.int64), None, dtype)
            elif name in self.addresses or dtype == "category":
                book = self.addresses.get(name)
                data[name] = Column(_concat(pieces, total, np.int32), None, "category",
                                    texts=np.array(book.texts if book else [], dtype=object))
            else:
                data[name] = Column(*self._filled(name, pieces, total), dtype)
        if self.fallback:
            data[_dt.FALLBACK] = Column(_concat(self.pieces.pop(_dt.FALLBACK, []), total, bool), None, "boolean")
        return ColumnTable(data, rows=total)

    def _column(self, name: str, pieces: list[Any], total: int) -> Any:
        import pandas as pd

        if not self.arrow:
            return _nullable(*self._filled(name, pieces, total))
        import pyarrow as pa

        np_dtype = _numpy_dtype(name)
        pa_type = pa.bool_() if np_dtype == np.dtype(bool) else pa.from_numpy_dtype(np_dtype)
        # batches without the field: slices of one all-null array (pa.nulls per batch
        # and column allocated and zeroed each time: 10x the cost of the whole column)
        empty = pa.nulls(max(self.sizes), pa_type) if any(p is None for p in pieces) else None
        chunks = [p if p is not None else empty.slice(0, n)  # type: ignore[union-attr]
                  for n, p in zip(self.sizes, pieces, strict=True)]
        pieces.clear()
        return pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks, type=pa_type))

    def _filled(self, name: str, pieces: list[Any], total: int) -> tuple[np.ndarray, np.ndarray]:
        """The values and missing mask of the numpy_nullable column ``name`` (the batches'
        pieces freed as they are copied in)."""
        np_dtype = _numpy_dtype(name)
        if all(p is None for p in pieces):  # no packet has the field
            return np.zeros(total, dtype=np_dtype), np.ones(total, dtype=bool)
        # (batch masks are shared between columns: each column gets its own; None: nothing
        # missing, and an all-False mask costs nothing until written: calloc)
        whole = all(p is not None and p[1] is None for p in pieces)
        missing = np.zeros(total, dtype=bool) if whole else np.empty(total, dtype=bool)
        if len(pieces) == 1 and pieces[0] is not None:
            values, mask = pieces[0]
            if mask is not None:
                missing[:] = mask
            return values, missing
        values = np.empty(total, dtype=np_dtype)
        start = 0
        for i, n in enumerate(self.sizes):
            piece, pieces[i] = pieces[i], None   # free the batch's piece once copied
            end = start + n
            if piece is None:
                values[start:end] = 0
                missing[start:end] = True
            else:
                values[start:end] = piece[0]
                if not whole:
                    missing[start:end] = False if piece[1] is None else piece[1]
            start = end
        return values, missing


def _nullable(values: np.ndarray, missing: np.ndarray) -> Any:
    """pandas' masked array of ``values``: BooleanArray for flags, IntegerArray otherwise."""
    import pandas as pd

    if values.dtype == np.dtype(bool):
        return pd.arrays.BooleanArray(values, missing)
    return pd.arrays.IntegerArray(values, missing)




@functools.cache
def _numpy_dtype(name: str) -> np.dtype[Any]:
    """The numpy dtype of column ``name``'s values (pandas' dtype's, bool for flags)."""
    spec = _dt.specs()[name]
    return np.dtype(bool) if spec.ftype == "bool" else np.dtype(dtype_name(spec).lower())


@functools.cache
def _arrow_type(name: str) -> Any:
    import pyarrow as pa

    dtype = _numpy_dtype(name)
    return pa.bool_() if dtype == np.dtype(bool) else pa.from_numpy_dtype(dtype)


def arrow_dtype(name: str, dtype: Any) -> Any:
    """The dtype column ``name`` has with ``dtype_backend="pyarrow"``, ``dtype`` its default
    one: the header fields' nullable integers and flags, and ``pcapkit.fallback``, become
    Arrow types; the rest (frame number, time, addresses) stays."""
    import pandas as pd
    import pyarrow as pa

    if name == _dt.FALLBACK:
        return pd.ArrowDtype(pa.bool_())
    if name in _dt.specs() and str(dtype) in _NULLABLE_NAMES:
        return pd.ArrowDtype(_arrow_type(name))
    return dtype


_NULLABLE_NAMES = frozenset({"boolean", "UInt8", "UInt16", "UInt32", "UInt64", "Int8", "Int16", "Int32", "Int64"})


def _concat(pieces: list[Any], total: int | None = None, dtype: Any = None) -> np.ndarray:
    """One array of the pieces (the piece itself when there is one), freeing each piece as
    it is copied."""
    if not pieces:
        return np.zeros(0, dtype=dtype)
    if len(pieces) == 1:
        return pieces[0]
    total = sum(p.shape[0] for p in pieces) if total is None else total
    out = np.empty(total, dtype=pieces[0].dtype if dtype is None else dtype)
    start = 0
    for i in range(len(pieces)):
        piece, pieces[i] = pieces[i], None
        out[start:start + piece.shape[0]] = piece
        start += piece.shape[0]
    return out


def batch_frame(rb: RecordBatch, cols: Columns, columns: Sequence[str] | None = None,
                dtype_backend: str = "numpy_nullable") -> pd.DataFrame:
    """The DataFrame of one decoded batch, with the declared dtypes.

    ``dtype_backend="pyarrow"`` stores the integer and boolean columns as Arrow arrays
    (``uint16[pyarrow]``, validity as a bitmap, none when no value is missing: about 30%
    less memory than pandas' nullable arrays, which keep one mask byte per value)."""
    builder = TableBuilder(columns, dtype_backend)
    builder.add(rb, cols)
    return builder.frame()


def batch_columns(rb: RecordBatch, cols: Columns, columns: Sequence[str] | None = None) -> ColumnTable:
    """:func:`batch_frame`'s columns as a :class:`~pcapkit.columnar.column_table.ColumnTable`
    (see :meth:`TableBuilder.column_table`), without pandas."""
    builder = TableBuilder(columns)
    builder.add(rb, cols)
    return builder.column_table()
