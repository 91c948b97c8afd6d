"""CSV and JSON Lines text of a report table, a column at a time.

A table is a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI writes,
without pandas) or a DataFrame (converted to one: the same text).

What :func:`pandas.DataFrame.to_csv` and a ``json.dumps`` per row wrote, byte for byte,
without a Python step per row: every column of a chunk of rows becomes one Arrow string
array (numbers by numpy or Arrow casts, text quoted or escaped by Arrow's string
kernels), the columns are joined row-wise by Arrow (:func:`pyarrow.compute.binary_join_element_wise`),
and the chunk's lines are written as one string, read from the joined array's data buffer.

The text of each value:

* times (datetime64 and timedelta64) as exact decimal seconds with nine digits, as
  :func:`pcapkit.reports.output.text_frame` writes them (a string in JSON);
* CSV: integers as digits; floats as Python's shortest ``repr`` but never in scientific
  notation (9.3e-05 -> 0.000093); booleans ``True``/``False``; missing values empty; a
  field holding ``,``, ``"``, CR or LF quoted with ``"`` (``"`` doubled), as the csv
  module's QUOTE_MINIMAL;
* JSON: ``"name":value`` per present value (a missing one is left out), integers and
  floats as ``json.dumps`` writes them, booleans ``true``/``false``, text as a JSON
  string (``ensure_ascii=False``).

A column of Python objects other than text (lists, bytes, mixed values) keeps the
per-value conversion of the code this replaced; report tables have them only in
per-connection tables (a few thousand rows at most).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from pcapkit.columnar.column_table import Column, ColumnTable, arrow_without_pandas, as_table

Text = bytes | memoryview  # UTF-8 text of whole lines

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import pyarrow as pa

CHUNK_ROWS = 50_000  # (a chunk of the tcp table as text: about 60 MB of Arrow strings)
CHUNK_CELLS = 1_000_000  # (and fewer rows of a wider table: tcptrace's 82 columns as JSON, 1.7 KB a row)


def chunk_rows(df: ColumnTable | pd.DataFrame) -> int:
    """How many rows of ``df`` are formatted at a time."""
    return max(1, min(CHUNK_ROWS, CHUNK_CELLS // max(1, len(df.columns))))
_CSV_SPECIAL = '[,"\n]'
_JSON_SPECIAL = '[\x00-\x1f"\\\\]'


def _kind(col: Column) -> str:
    """:func:`pcapkit.reports.table.column_kind`, with its ``text`` told apart: ``category``,
    ``text`` (a string dtype) or ``object`` (Python objects, converted value by value)."""
    return col.kind


def _missing(col: Column) -> np.ndarray:
    return col.missing()


def by_distinct(values: np.ndarray, fmt: Callable[[np.ndarray], Any]) -> Any:
    """``fmt(values)`` (an Arrow array of one text per value), each distinct value
    formatted once when the values repeat (:func:`pcapkit.reports.table.distinct_values`)."""
    import pyarrow as pa

    from pcapkit.reports.table import distinct_values

    found = distinct_values(values)
    if found is None:
        return fmt(values)
    return fmt(found[0]).take(pa.array(found[1]))


def _float_text(values: np.ndarray, for_json: bool) -> pa.Array:
    """Each float as the old writers wrote it. CSV: Python's ``repr`` (shortest round-trip
    digits), but positional where repr is scientific (below 1e-4, from 1e16 on:
    ``numpy.format_float_positional``). JSON: ``repr`` (``json.dumps``), ``Infinity``.

    Arrow's cast writes the same shortest digits, positional from 1e-6 to about 1e11
    and scientific outside; its scientific ones are rewritten value by value (rare in a
    report: rates past 100 GB/s, durations under a microsecond), and an integral value
    gets repr's ``.0`` (below 1e16, where repr is positional)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(pa.array(values), pa.string())
    magnitude = np.abs(values)
    finite = np.isfinite(values)
    exponent = np.asarray(pc.match_substring(text, "e"), dtype=bool) & finite
    if exponent.any():
        fixed = [np.format_float_positional(v, trim="-") for v in values[exponent]]
        text = pc.replace_with_mask(text, pa.array(exponent), pa.array(fixed, type=pa.string()))
    integral = finite & (magnitude < 1e16) & ~np.asarray(pc.match_substring(text, "."), dtype=bool)
    if integral.any():
        text = pc.if_else(pa.array(integral), pc.binary_join_element_wise(text, pa.scalar(".0"), ""), text)
    if for_json:  # repr's scientific range, and json's names for the infinities
        rows = np.flatnonzero(~finite | ((magnitude != 0) & ((magnitude < 1e-4) | (magnitude >= 1e16))))
        if rows.size:
            cells = values[rows].astype(str).astype(object)
            cells[np.isposinf(values[rows])] = "Infinity"
            cells[np.isneginf(values[rows])] = "-Infinity"
            mask = np.zeros(len(values), dtype=bool)
            mask[rows] = True
            text = pc.replace_with_mask(text, pa.array(mask), pa.array(cells, type=pa.string()))
    return text


def _strings(col: Column) -> pa.Array:
    """The values of a text column as an Arrow string array (missing: null)."""
    import numpy as np
    import pyarrow as pa

    if col.texts is not None:
        codes = np.asarray(col.values)
        missing = col.missing()
        texts = pa.array(np.asarray(col.texts, dtype=object).astype(str).astype(object), type=pa.string())
        return texts.take(pa.array(np.where(missing, 0, codes), mask=missing if missing.any() else None))
    if col.arrow:
        return col.values if col.values.type == pa.string() else col.values.cast(pa.string())
    values = col.values if col.values.dtype.kind == "U" else col.values.astype(object, copy=False)
    return pa.array(values, type=pa.string(), mask=col.mask, from_pandas=True)


def _object_strings(col: Column) -> pa.Array | None:
    """A column of Python objects that are all text (or missing) as an Arrow string
    array (missing: null), else None."""
    import pyarrow as pa

    try:
        texts = pa.array(col.values.astype(object, copy=False), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        return None
    return texts if pa.types.is_string(texts.type) else None


def _value_text(col: Column, kind: str, for_json: bool) -> pa.Array:
    """Each value of ``col`` as text (CSV's or JSON's, unquoted), missing values null."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    mask = _missing(col)
    if kind == "ns":  # exact decimal seconds with nine digits, as text_frame writes them
        ns = np.where(mask, 0, np.asarray(col.values, np.int64))
        seconds, nanos = np.divmod(np.abs(ns), 1_000_000_000)
        sign = pc.if_else(pa.array(ns < 0), "-", "")
        text = pc.binary_join_element_wise(sign, pc.cast(pa.array(seconds), pa.string()), ".",
                                           pc.utf8_lpad(pc.cast(pa.array(nanos), pa.string()), 9, "0"), "")
        return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), text)
    if kind == "int":
        ints = np.where(mask, 0, col.values) if col.mask is not None else col.values
        text = by_distinct(ints, lambda v: pc.cast(pa.array(v), pa.string()))
        return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), text) if mask.any() else text
    if kind == "float":
        values = np.asarray(col.values, dtype=np.float64)
        missing = mask | np.isnan(values)
        text = by_distinct(np.where(missing, 0.0, values), lambda v: _float_text(v, for_json))
        return pc.if_else(pa.array(missing), pa.scalar(None, pa.string()), text) if missing.any() else text
    if kind == "bool":
        flags = np.asarray(col.values, dtype=bool) & ~mask
        words = pa.array(["false", "true"] if for_json else ["False", "True"])
        return pc.take(words, pa.array(flags.astype(np.int8), mask=mask))
    if kind in ("category", "text"):
        return _strings(col)
    if mask.all():
        return pa.nulls(len(col), pa.string())
    texts = _object_strings(col)
    if texts is not None:  # (text held as Python objects: Arrow's conversion, in C)
        return _json_string(texts) if for_json else texts
    # Python objects: the conversion the old writers made, value by value
    values = col.values.tolist()
    if for_json:
        cells = [None if is_missing(v) else json.dumps(json_value(v), ensure_ascii=False) for v in values]
    else:
        cells = [None if m else str(v) for v, m in zip(values, mask.tolist(), strict=True)]
    return pa.array(cells, type=pa.string())


def _csv_field(text: pa.Array) -> tuple[pa.Array, bool]:
    """``text`` as CSV fields, quoted where QUOTE_MINIMAL quotes (a field holding ``,``,
    ``"`` or LF; the csv module leaves CR alone), missing values empty; and whether any
    was quoted."""
    import pyarrow as pa
    import pyarrow.compute as pc

    special = pc.fill_null(pc.match_substring_regex(text, _CSV_SPECIAL), False)
    quoted = pc.any(special).as_py()
    if quoted:
        text = pc.if_else(special, pc.binary_join_element_wise(pa.scalar('"'), pc.replace_substring(text, '"', '""'),
                                                               pa.scalar('"'), ""), text)
    return pc.fill_null(text, ""), bool(quoted)


def _json_string(text: pa.Array) -> pa.Array:
    """``text`` as JSON strings (``json.dumps(s, ensure_ascii=False)``)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    special = pc.fill_null(pc.match_substring_regex(text, _JSON_SPECIAL), False)
    quoted = pc.binary_join_element_wise(pa.scalar('"'), text, pa.scalar('"'), "")
    if pc.any(special).as_py():
        import numpy as np

        rows = np.flatnonzero(special.to_numpy(zero_copy_only=False))
        escaped = quoted.to_numpy(zero_copy_only=False).astype(object)
        escaped[rows] = [json.dumps(s, ensure_ascii=False) for s in pc.take(text, pa.array(rows)).to_pylist()]
        quoted = pa.array(escaped, type=pa.string(), mask=pc.is_null(text).to_numpy(zero_copy_only=False))
    return quoted


def _lines(fields: list[pa.Array], separator: str, wrap: tuple[str, str] = ("", "")) -> Text:
    """The fields (no nulls) joined row-wise with ``separator``, each row between ``wrap``
    and ended by a newline, as UTF-8."""
    import pyarrow as pa
    import pyarrow.compute as pc

    joined = fields[0] if len(fields) == 1 else pc.binary_join_element_wise(*fields, separator)
    return _text(pc.binary_join_element_wise(pa.scalar(wrap[0]), joined, pa.scalar(wrap[1] + "\n"), ""))


def _text(joined: Any) -> Text:
    """The strings of an Arrow string array (no nulls) one after another, as UTF-8 (a view
    of the array's data, not a copy)."""
    import numpy as np
    import pyarrow as pa

    if isinstance(joined, pa.ChunkedArray):
        joined = joined.combine_chunks()
    offsets, data = joined.buffers()[1], joined.buffers()[2]
    if data is None or not len(joined):
        return b""
    ends = np.frombuffer(offsets, dtype=np.int32, count=len(joined) + 1, offset=4 * joined.offset)
    return memoryview(data)[int(ends[0]):int(ends[-1])]


def write_parts(stream: IO[str], parts: Iterable[Text]) -> None:
    """Write UTF-8 ``parts`` to a text stream: to its binary buffer when it has one (no
    decoding and encoding again), else as text."""
    binary = getattr(stream, "buffer", None)
    if binary is not None:
        stream.flush()
        for part in parts:
            binary.write(part)
        return
    for part in parts:
        stream.write(str(part, "utf-8"))


def _columns(df: ColumnTable) -> list[Column]:
    """Every column of ``df``."""
    return [df[name] for name in df.columns]


def _rows(columns: list[Column], start: int, rows: int, total: int) -> list[Column]:
    """The rows ``start`` to ``start + rows`` of each column."""
    if start == 0 and rows >= total:
        return columns
    return [col.take(slice(start, start + rows)) for col in columns]


def csv_chunks(df: ColumnTable | pd.DataFrame, header: bool = True) -> Iterator[str]:
    """The CSV text of ``df`` (see the module doc), a chunk of whole lines at a time."""
    return (str(part, "utf-8") for part in csv_parts(df, header))


def jsonl_chunks(df: ColumnTable | pd.DataFrame) -> Iterator[str]:
    """The JSON Lines text of ``df`` (see the module doc), a chunk of whole lines at a time."""
    return (str(part, "utf-8") for part in jsonl_parts(df))


def csv_parts(df: ColumnTable | pd.DataFrame, header: bool = True) -> Iterator[Text]:
    """:func:`csv_chunks` as UTF-8."""
    return _without_pandas(_csv_parts(as_table(df), header))


def jsonl_parts(df: ColumnTable | pd.DataFrame) -> Iterator[Text]:
    """:func:`jsonl_chunks` as UTF-8."""
    return _without_pandas(_jsonl_parts(as_table(df)))


def _without_pandas(parts: Iterator[Text]) -> Iterator[Text]:
    """``parts``, each made under :func:`arrow_without_pandas`; the caller's code between
    two parts (writing them, or anything else) runs with imports as usual."""
    while True:
        with arrow_without_pandas():
            part = next(parts, None)
        if part is None:
            return
        yield part


def _csv_parts(df: ColumnTable, header: bool) -> Iterator[Text]:
    import csv
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pa_csv

    if header:
        head = io.StringIO()
        csv.writer(head, lineterminator="\n").writerow([str(c) for c in df.columns])
        yield head.getvalue().encode("utf-8")
    columns = _columns(df)
    kinds = [_kind(col) for col in columns]
    rows = chunk_rows(df)
    for start in range(0, len(df), rows):
        chunk = _rows(columns, start, rows, len(df))
        fields, quoted = [], False
        for i, kind in enumerate(kinds):
            text = _value_text(chunk[i], kind, False)
            if kind in ("text", "category", "object"):
                text, some = _csv_field(text)
                quoted = quoted or some
            else:  # (digits, signs, points: never quoted)
                text = pc.fill_null(text, "")
            fields.append(text)
        if len(fields) == 1:  # (the csv module quotes a row's only field when it is empty)
            fields[0] = pc.if_else(pc.equal(fields[0], ""), '""', fields[0])
            quoted = True
        if quoted:
            yield _lines(fields, ",")
            continue
        # nothing quoted: Arrow's CSV writer joins the ready-made fields fastest
        out = io.BytesIO()
        table = pa.table({str(i): f for i, f in enumerate(fields)})
        pa_csv.write_csv(table, out, pa_csv.WriteOptions(include_header=False, quoting_style="none"))
        yield out.getvalue()


def _jsonl_parts(df: ColumnTable) -> Iterator[Text]:
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = _columns(df)
    kinds = [_kind(col) for col in columns]
    # each present value as ', "key": value', the row's text is their concatenation
    # without its first separator: one join per chunk, a column's key a scalar argument
    # (a column missing in some rows of the chunk: key and value joined first, missing
    # ones then empty; Arrow's joins give null where any input is null)
    keys = [", " + json.dumps(str(c), ensure_ascii=False) + ": " for c in df.columns]
    rows = chunk_rows(df)
    for start in range(0, len(df), rows):
        chunk = _rows(columns, start, rows, len(df))
        args: list[Any] = []
        trimmed = False  # the first argument is a column no row misses, its key without ", "
        for i, kind in enumerate(kinds):
            text = _value_text(chunk[i], kind, True)
            if text.null_count == len(text):
                continue
            if kind in ("text", "category", "ns"):
                text = _json_string(text)
            if text.null_count == 0:
                trimmed = trimmed or not args
                args += [pa.scalar(keys[i][2:] if not args else keys[i]), text]
            else:
                args.append(pc.fill_null(pc.binary_join_element_wise(pa.scalar(keys[i]), text, ""), ""))
        if not args:
            yield b"{}\n" * len(chunk[0])
            continue
        if not trimmed:
            inner = args[0] if len(args) == 1 else pc.binary_join_element_wise(*args, "")
            args = [pc.utf8_slice_codeunits(inner, 2)]
        yield _text(pc.binary_join_element_wise(pa.scalar("{"), *args, pa.scalar("}\n"), ""))


def write_csv_columns(df: ColumnTable | pd.DataFrame, stream: IO[str], header: bool = True) -> None:
    write_parts(stream, csv_parts(df, header))


def write_jsonl_columns(df: ColumnTable | pd.DataFrame, stream: IO[str]) -> None:
    write_parts(stream, jsonl_parts(df))


def json_value(value: Any) -> Any:
    """A cell of a column of Python objects as ``json.dumps`` takes it."""
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return [json_value(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def is_missing(value: Any) -> bool:
    """Whether a cell of a column of Python objects is a missing value."""
    if value is None or (isinstance(value, float) and value != value):
        return True
    if "pandas" not in sys.modules:  # (no pandas: no pandas.NA, NaT... among the values)
        return False
    import pandas as pd

    if isinstance(value, list | tuple) or (hasattr(value, "__array__") and not isinstance(value, str)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False
