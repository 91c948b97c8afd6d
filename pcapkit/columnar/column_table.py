"""A report table without pandas: ordered numpy columns, their null masks, the dtype each
column has in the report's DataFrame, and ``attrs``.

Why: importing pandas takes a quarter of a second, half of what a command on a
200-frame capture costs. The reports build their columns with numpy; the CLI formats
them (table, CSV, JSON Lines: :mod:`pcapkit.reports.table`,
:mod:`pcapkit.reports.column_text`) straight from a :class:`ColumnTable`, and only the
library API (``.to_pandas()``) and Parquet build the DataFrame. ``to_pandas`` gives the
DataFrame the report returned before, dtype for dtype; ``from_pandas`` turns any
DataFrame into one, so one formatter serves both.

A :class:`Column` holds ``values`` (a numpy array; missing slots hold 0, False or an
empty text), ``mask`` (True where missing; None: nothing missing) and ``dtype``, the
pandas dtype name (``Int64``, ``string``, ``category``, ``datetime64[ns]``...). Text is a
numpy array of str (or of Python objects), or ``codes`` into ``texts`` (a dictionary:
tcp.flags.str, addresses), code -1 missing. Its ``kind`` says how it is formatted:
``ns`` (datetime/timedelta, values are integer nanoseconds), ``bool``, ``int``,
``float``, ``category``, ``text`` (a string dtype) or ``object`` (Python objects).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

I64 = np.int64
PANDAS_SIZE = 1_500_000  # from this many values, importing pandas (0.3 s) for its hash table beats a sort
# integers spanning at most half their count are numbered by direct addressing (two arrays
# of the span): address ids, endpoint keys of a few hosts. Past that, the scattered writes
# into the span cost more than a sort (a million values spanning a million: 0.24 s against
# 0.20 s; spanning half a million: 0.07 s against 0.20 s)
VALUES_PER_SLOT = 2


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``pandas.factorize(values)``: (each value's index among the distinct values, the
    distinct values in order of first appearance).

    pandas' hash table when pandas is imported anyway; integers of a narrow span (address
    ids, endpoint keys) by direct addressing, so a big report need not import pandas (a
    third of a second and 66 MB of resident memory) for them; pandas for other arrays of
    ``PANDAS_SIZE`` values or more, where a sort costs more than the import (a million
    scattered values: a sort 0.30 s, pandas 0.08 s once imported); a numpy sort below
    (the endpoint keys of 20,000 short connections: 0.06 s against the import)."""
    n = values.shape[0]
    if "pandas" not in sys.modules and n and values.dtype.kind in "iu":
        low, high = int(values.min()), int(values.max())
        if high - low < n // VALUES_PER_SLOT + 1024:
            return _factorize_span(values, low, high - low + 1)
    if "pandas" in sys.modules or n >= PANDAS_SIZE:
        import pandas as pd

        codes, uniques = pd.factorize(values)
        return np.asarray(codes, dtype=np.intp), np.asarray(uniques)
    distinct, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # (distinct values by first appearance)
    rank = np.empty(order.shape[0], dtype=np.intp)
    rank[order] = np.arange(order.shape[0])
    return rank[inverse.reshape(-1)], distinct[order]


def _factorize_span(values: np.ndarray, low: int, span: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`factorize` of integers in ``[low, low + span)``: each slot of the span gets the
    first index where its value appears, and the present slots are ranked by it."""
    n = values.shape[0]
    offsets = (values - values.dtype.type(low)).astype(np.intp)
    first = np.full(span, n, dtype=np.intp)
    np.minimum.at(first, offsets, np.arange(n, dtype=np.intp))
    present = np.flatnonzero(first < n)
    by_appearance = present[np.argsort(first[present], kind="stable")]
    rank = np.empty(span, dtype=np.intp)
    rank[by_appearance] = np.arange(by_appearance.shape[0], dtype=np.intp)
    return rank[offsets], values[first[by_appearance]]


def unique_in_order(values: np.ndarray) -> np.ndarray:
    """``pandas.unique(values)``: the distinct values in order of first appearance."""
    return factorize(values)[1]


_NUMPY_KINDS = {"b": "bool", "i": "int", "u": "int", "f": "float", "M": "ns", "m": "ns"}


def kind_of(dtype: str) -> str:
    """The formatting kind of a pandas dtype name (see the module doc)."""
    low = dtype.lower()
    if low.startswith(("datetime64", "timedelta64")):
        return "ns"
    if low in ("bool", "boolean"):
        return "bool"
    if low == "category":
        return "category"
    if low.startswith(("int", "uint")):
        return "int"
    if low.startswith("float"):
        return "float"
    if low.startswith(("string", "str")):
        return "text"
    return "object"


class Column:
    """One column (see the module doc)."""

    __slots__ = ("dtype", "kind", "mask", "source", "texts", "values")

    def __init__(self, values: Any, mask: np.ndarray | None, dtype: str, *,
                 texts: np.ndarray | None = None, kind: str | None = None, source: Any = None) -> None:
        self.values = values
        self.mask = mask if mask is None or mask.any() else None
        self.dtype = dtype
        self.texts = texts  # (codes into these texts, for a dictionary column)
        self.kind = kind or ("category" if texts is not None and dtype == "category" else kind_of(dtype))
        self.source = source  # the pandas array it was made from (to_pandas gives it back)

    def __len__(self) -> int:
        return len(self.values)

    @property
    def arrow(self) -> bool:
        """Whether the values are an Arrow array (text of a pandas Arrow-backed column)."""
        return not isinstance(self.values, np.ndarray)

    def missing(self) -> np.ndarray:
        """True where a value is missing (a float's NaN too, as pandas' isna)."""
        mask = np.zeros(len(self), dtype=bool) if self.mask is None else self.mask
        if self.kind == "float":
            return mask | np.isnan(self.values)
        if self.texts is not None:
            return mask | (self.values < 0)
        return mask

    def all_missing(self) -> bool:
        return bool(self.missing().all())

    def take(self, rows: np.ndarray | slice) -> Column:
        """The rows ``rows`` (indices, a boolean selection or a slice)."""
        mask = None if self.mask is None else self.mask[rows]
        values = self.values
        if not self.arrow or isinstance(rows, slice):
            values = values[rows]
        else:
            import pyarrow as pa

            rows = np.asarray(rows)
            values = values.filter(pa.array(rows)) if rows.dtype == bool else values.take(pa.array(rows))
        return Column(values, mask, self.dtype, texts=self.texts, kind=self.kind)

    def texts_at(self) -> np.ndarray:
        """Each value as an object array (dictionary columns decoded), missing ones None."""
        if self.texts is not None:
            names = np.append(np.asarray(self.texts, dtype=object), np.array([None], dtype=object))
            out = names[np.where(self.values < 0, -1, self.values)]
        elif self.arrow:
            out = self.values.to_numpy(zero_copy_only=False).astype(object, copy=False)
        else:
            out = self.values.astype(object)
        if self.mask is not None:
            out[self.mask] = None
        return out

    def to_pandas(self) -> Any:
        """The pandas array of this column, of its dtype."""
        import pandas as pd

        arrow_with_pandas()
        if self.source is not None:
            return self.source
        dtype, kind = self.dtype, self.kind
        mask = np.zeros(len(self), dtype=bool) if self.mask is None else self.mask
        if kind == "category":
            assert self.texts is not None
            return pd.Categorical.from_codes(np.where(mask, -1, self.values),
                                             categories=pd.Index(list(self.texts), dtype=object))
        if kind == "text":
            return pd.array(self.texts_at(), dtype="str") if dtype == "str" else _string_array(self)
        if kind == "ns":
            unit = dtype if dtype.startswith(("datetime64", "timedelta64")) else "datetime64[ns]"
            out = np.asarray(self.values, dtype=I64).view(unit).copy()
            out[mask] = np.datetime64("NaT") if unit.startswith("datetime") else np.timedelta64("NaT")
            return out
        if dtype in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64"):
            return pd.arrays.IntegerArray(np.asarray(self.values).astype(dtype.lower()), mask.copy())
        if dtype == "boolean":
            return pd.arrays.BooleanArray(np.asarray(self.values, dtype=bool), mask.copy())
        if dtype in ("Float32", "Float64"):
            return pd.arrays.FloatingArray(np.asarray(self.values).astype(dtype.lower()), mask.copy())
        if kind == "object" and self.texts is not None:
            return self.texts_at()
        if kind == "float" and mask.any():
            out = np.asarray(self.values, dtype=dtype).copy()
            out[mask] = np.nan
            return out
        return self.values


def _string_array(col: Column) -> Any:
    """A pandas "string" array of a text column (Arrow's, without a Python string per
    value, when pandas' strings are Arrow's)."""
    import pandas as pd

    if pd.StringDtype().storage == "pyarrow" and pd.StringDtype() == pd.array([], dtype="string").dtype:
        import pyarrow as pa
        import pyarrow.compute as pc

        if col.texts is not None:
            codes = np.asarray(col.values, dtype=np.int32)
            missing = col.missing()
            taken = pc.take(pa.array(list(col.texts), type=pa.string()),
                            pa.array(np.where(missing, 0, codes), mask=missing if missing.any() else None))
            return pd.arrays.ArrowStringArray(taken)
        values = col.values if col.values.dtype.kind == "U" else col.values.astype(object)
        return pd.arrays.ArrowStringArray(pa.array(values, type=pa.string(), mask=col.mask, from_pandas=True))
    return pd.array(col.texts_at(), dtype="string")


def column_from_pandas(series: Any) -> Column:
    """A :class:`Column` of a pandas Series (its values, without a copy where numpy allows)."""
    import pandas as pd

    dt = series.dtype
    name = str(dt)
    array = series.array
    isna = series.isna().to_numpy(dtype=bool)
    if isinstance(dt, pd.CategoricalDtype):
        return Column(series.cat.codes.to_numpy().astype(np.int64), None, "category",
                      texts=series.cat.categories.to_numpy(dtype=object), source=series.array)
    if pd.api.types.is_datetime64_any_dtype(dt) or pd.api.types.is_timedelta64_dtype(dt):
        values = array.asi8 if hasattr(array, "asi8") else series.astype("int64").to_numpy()
        values = np.where(isna, 0, np.asarray(values, dtype=I64))
        return Column(values, isna, name, kind="ns", source=array)
    if pd.api.types.is_bool_dtype(dt):
        return Column(series.to_numpy(dtype=bool, na_value=False), isna, name, kind="bool", source=array)
    if pd.api.types.is_integer_dtype(dt):
        numpy_dtype: Any = getattr(dt, "numpy_dtype", dt)
        return Column(series.to_numpy(dtype=numpy_dtype, na_value=0), isna, name, kind="int", source=array)
    if pd.api.types.is_float_dtype(dt):
        numpy_dtype = getattr(dt, "numpy_dtype", dt)
        values = series.to_numpy(dtype=numpy_dtype, na_value=np.nan)
        return Column(values, isna, name, kind="float", source=array)
    kind = "text" if pd.api.types.is_string_dtype(dt) and not pd.api.types.is_object_dtype(dt) else "object"
    if kind == "text" and hasattr(array, "__arrow_array__"):  # (Arrow's strings: kept, no Python string each)
        arrow = array.__arrow_array__()
        return Column(arrow.combine_chunks() if hasattr(arrow, "combine_chunks") else arrow, isna, name,
                      kind=kind, source=array)
    values = series.to_numpy(dtype=object)
    if isna.any():
        values = values.copy()
        values[isna] = None
    return Column(values, isna, name, kind=kind, source=array)


def column_from_numpy(values: np.ndarray) -> Column:
    """The column ``pandas.DataFrame({name: values})`` makes of a numpy array."""
    kind = _NUMPY_KINDS.get(values.dtype.kind)
    if kind == "ns":
        ints = values.view(I64)
        missing = np.isnat(values)
        return Column(np.where(missing, 0, ints), missing, str(values.dtype), kind="ns")
    if kind is not None:
        return Column(values, None, str(values.dtype), kind=kind, source=values)
    if values.dtype.kind == "U":  # (pandas 3 infers its "str" dtype for text)
        return Column(values, None, "str", kind="text", source=values)
    objects = values.astype(object, copy=False)
    cells = objects.tolist()
    missing = np.fromiter((v is None or (isinstance(v, float) and v != v) for v in cells), dtype=bool,
                          count=objects.shape[0])
    text = not missing.all() and all(isinstance(v, str) for v, m in zip(cells, missing.tolist(), strict=True)
                                     if not m)
    if missing.any():
        objects = objects.copy()
        objects[missing] = None
    return Column(objects, missing, "str" if text else "object", kind="text" if text else "object", source=values)


class ColumnTable:
    """Named columns of one length, in order, and ``attrs`` (warnings, the input's error),
    as a report's DataFrame holds them (see the module doc)."""

    def __init__(self, columns: Mapping[str, Column], attrs: Mapping[str, Any] | None = None,
                 rows: int | None = None) -> None:
        self._columns = dict(columns)
        self.attrs: dict[str, Any] = dict(attrs or {})
        lengths = {len(c) for c in self._columns.values()}
        assert len(lengths) <= 1, f"columns of different lengths: {lengths}"
        self._rows = lengths.pop() if lengths else (rows or 0)
        self._names: list[Any] | None = None  # (a DataFrame's column labels, when not text)

    @classmethod
    def from_pandas(cls, df: Any) -> ColumnTable:
        """The table of a DataFrame (``to_pandas`` gives back the same columns)."""
        arrow_with_pandas()
        table = cls({str(name): column_from_pandas(df.iloc[:, i]) for i, name in enumerate(df.columns)},
                    df.attrs, len(df))
        table._names = list(df.columns)
        return table

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], attrs: Mapping[str, Any] | None = None) -> ColumnTable:
        """The table ``pandas.DataFrame(arrays)`` makes of numpy arrays."""
        return cls({name: column_from_numpy(np.asarray(v)) for name, v in arrays.items()}, attrs)

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def __len__(self) -> int:
        return self._rows

    @property
    def empty(self) -> bool:
        return not self._rows or not self._columns

    def __getitem__(self, name: str) -> Column:
        return self._columns[name]

    def __contains__(self, name: object) -> bool:
        return name in self._columns

    def items(self) -> Iterable[tuple[str, Column]]:
        return self._columns.items()

    def select(self, names: Sequence[str]) -> ColumnTable:
        """The columns ``names``, in that order."""
        return ColumnTable({n: self._columns[n] for n in names}, self.attrs, self._rows)

    def with_column(self, name: str, column: Column, before: str | None = None) -> ColumnTable:
        """This table with ``column`` added (last, or before the column ``before``)."""
        out: dict[str, Column] = {}
        for n, c in self._columns.items():
            if n == before:
                out[name] = column
            out[n] = c
        out[name] = column
        return ColumnTable(out, self.attrs, self._rows)

    def take(self, rows: np.ndarray | slice) -> ColumnTable:
        """The rows ``rows`` (indices, a boolean selection or a slice)."""
        cols = {n: c.take(rows) for n, c in self._columns.items()}
        count = len(np.arange(self._rows)[rows]) if not cols else None
        return ColumnTable(cols, self.attrs, count)

    def to_pandas(self) -> Any:
        """The DataFrame of these columns, with their dtypes and ``attrs``."""
        import pandas as pd

        arrow_with_pandas()
        names: list[Any] = self._names or list(self._columns)
        data = {name: col.to_pandas() for name, col in zip(names, self._columns.values(), strict=True)}
        df = pd.DataFrame(data, copy=False) if data else pd.DataFrame([])
        df.attrs.update(self.attrs)
        return df


def concat_tables(parts: Sequence[ColumnTable]) -> ColumnTable:
    """The rows of ``parts`` one after the other (the first's columns, dtypes and attrs;
    numpy values, not dictionary codes, which would need their texts merged)."""
    first = parts[0]
    if len(parts) == 1:
        return first

    def joined(name: str, dtype: str) -> Column:
        pieces = [p[name] for p in parts]
        assert all(c.texts is None and not c.arrow for c in pieces), f"{name}: not plain numpy values"
        mask = None
        if any(c.mask is not None for c in pieces):
            mask = np.concatenate([np.zeros(len(c), dtype=bool) if c.mask is None else c.mask for c in pieces])
        return Column(np.concatenate([c.values for c in pieces]), mask, dtype)

    return ColumnTable({name: joined(name, col.dtype) for name, col in first.items()}, first.attrs,
                       sum(len(p) for p in parts))


def as_column(col: Any) -> Column:
    """``col`` as a :class:`Column` (a pandas Series is converted)."""
    return col if isinstance(col, Column) else column_from_pandas(col)


def as_table(df: Any) -> ColumnTable:
    """``df`` as a :class:`ColumnTable` (a DataFrame is converted)."""
    return df if isinstance(df, ColumnTable) else ColumnTable.from_pandas(df)


def column_from_list(values: Sequence[Any], dtype: str) -> Column:
    """The column of ``dtype`` of Python values, None where missing (what
    ``pandas.array(values, dtype=dtype)`` holds)."""
    n = len(values)
    has_none = any(v is None for v in values)
    mask = np.fromiter((v is None for v in values), dtype=bool, count=n) if has_none else None
    kind = kind_of(dtype)
    if kind in ("text", "object"):
        return Column(np.array(values, dtype=object) if n else np.zeros(0, dtype=object), mask, dtype)
    filled = [0 if v is None else v for v in values] if has_none else values
    if kind == "float":
        out = np.array(filled, dtype=np.float64)
        if mask is not None:
            out[mask] = np.nan
        return Column(out, mask, dtype)
    if kind == "bool":
        return Column(np.array(filled, dtype=bool), mask, dtype)
    if kind == "ns":
        return Column(np.array(filled, dtype=I64), mask, dtype)
    numpy_dtype = dtype.lower() if dtype[0].isupper() else dtype
    return Column(np.array(filled, dtype=numpy_dtype), mask, dtype)


@contextlib.contextmanager
def arrow_without_pandas() -> Iterator[None]:
    """A block that uses pyarrow without importing pandas (when pandas is not imported yet).

    pyarrow imports pandas, to recognise pandas objects and pandas' missing values, on
    its first use (its Python shim, once) and whenever it converts a Python value (its
    C++ side, until it succeeds): a quarter of a second, for a CSV of 200 rows. In this
    block ``import pandas`` fails, so pyarrow takes pandas for absent (the values given
    to it here are Arrow or numpy arrays and Python text, never pandas objects);
    :func:`arrow_with_pandas` (called wherever pandas is imported for a table) makes
    its shim look again."""
    if "pandas" in sys.modules:
        yield
        return
    blocker = _NoPandas()
    sys.meta_path.insert(0, blocker)
    try:
        yield
    finally:
        sys.meta_path.remove(blocker)


class _NoPandas:
    """An import finder that fails ``import pandas``."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ImportError(f"{name} is not imported while a table is formatted")


def arrow_with_pandas() -> None:
    """After pandas is imported: make pyarrow see it (see :func:`arrow_without_pandas`)."""
    arrow = sys.modules.get("pyarrow")
    shim = getattr(getattr(arrow, "lib", None), "_pandas_api", None)  # (pyarrow's, internal)
    if shim is not None and "pandas" in sys.modules:
        with contextlib.suppress(Exception):
            _ = shim.pd  # (its check that raises when absent: it imports pandas again)


def parquet_options(schema: Any) -> dict[str, Any]:
    """pyarrow's Parquet writer options for a table of ``schema`` (a ``pyarrow.Schema``):
    dictionary encoding only for the columns whose values repeat as a rule (Arrow
    dictionaries, i.e. addresses, and strings). pyarrow's default dictionary-encodes every
    column, and hashing every value of every integer column was a third of writing the
    tcp table of the million-packet benchmark capture (one thread: 0.86 -> 0.58 CPU s;
    the file 24.1 -> 25.6 MB). Readers see the same values either way."""
    import pyarrow as pa

    repeated = [field.name for field in schema
                if pa.types.is_dictionary(field.type) or pa.types.is_string(field.type)
                or pa.types.is_large_string(field.type)]
    return {"use_dictionary": repeated}
