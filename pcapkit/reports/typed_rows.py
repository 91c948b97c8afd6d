"""Report rows made in Python (the labs' answers and messages, ``pcapkit dns`` and ``http``)
as a typed :class:`~pcapkit.columnar.column_table.ColumnTable`, without pandas.

These reports walk dissected packets and collect a dict (or a tuple) of Python values per
row; their tables are tens of rows. The CLI writes the :class:`ColumnTable` as it is
(importing pandas would be half of a command's time on a 200-frame trace); the library
functions return :func:`to_frame` of the same table, the DataFrame the report built with
pandas before: each column of the dtype it declares, as ``DataFrame(rows)`` followed by
``astype`` made it (text of ``string`` columns is ``str()`` of the value; ``category``
columns have the sorted texts as ``string`` categories, as ``astype("string").astype(
"category")`` gives; :data:`INFERRED`: the dtype pandas infers for Python ints).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.columnar.column_table import Column, ColumnTable, column_from_list, kind_of

if TYPE_CHECKING:
    import pandas as pd

INFERRED = "inferred"  # the dtype ``pandas.DataFrame(rows)`` infers for Python ints (and None)


def typed_column(values: Sequence[Any], dtype: str) -> Column:
    """The column of ``dtype`` (a pandas dtype name, or :data:`INFERRED`) of Python values,
    None where missing."""
    if dtype == INFERRED:
        return _inferred(values)
    if dtype == "category":
        texts = [None if v is None else str(v) for v in values]
        names = sorted({t for t in texts if t is not None})
        code = {name: i for i, name in enumerate(names)}
        codes = np.fromiter((-1 if t is None else code[t] for t in texts), dtype=np.int64, count=len(texts))
        return Column(codes, None, "category", texts=np.array(names, dtype=object))
    if kind_of(dtype) == "text":
        return column_from_list([None if v is None else str(v) for v in values], dtype)
    return column_from_list(list(values), dtype)


def _inferred(values: Sequence[Any]) -> Column:
    """Python ints: int64; ints and None: float64 with NaN; None only (or no rows): object."""
    present = [v for v in values if v is not None]
    if not present:
        return column_from_list(list(values), "object")
    if len(present) == len(values):
        return column_from_list(list(values), "int64")
    return column_from_list(list(values), "float64")


def typed_columns(columns: Mapping[str, Sequence[Any]], dtypes: Mapping[str, str],
                  attrs: Mapping[str, Any] | None = None) -> ColumnTable:
    """The table of ``columns`` (name -> values), each of its dtype in ``dtypes``."""
    return ColumnTable({name: typed_column(columns[name], dtype) for name, dtype in dtypes.items()}, attrs)


def typed_table(rows: Sequence[Mapping[str, Any]], dtypes: Mapping[str, str],
                attrs: Mapping[str, Any] | None = None) -> ColumnTable:
    """The table of ``rows`` (dicts; a key a row lacks is missing there), with exactly the
    columns of ``dtypes``, in that order."""
    return typed_columns({name: [row.get(name) for row in rows] for name in dtypes}, dtypes, attrs)


def to_frame(table: ColumnTable) -> pd.DataFrame:
    """The DataFrame of ``table`` (its dtypes and ``attrs``; a ``category`` column's
    categories are ``string``, as the reports' ``astype("string").astype("category")``)."""
    import pandas as pd

    df = table.to_pandas()
    for i, (_, col) in enumerate(table.items()):
        if col.kind == "category" and col.texts is not None:
            categories = pd.Index(list(col.texts), dtype="string")
            df.isetitem(i, pd.Categorical.from_codes(np.asarray(col.values), categories=categories))
    return df


def records(table: ColumnTable) -> list[dict[str, Any]]:
    """The rows of ``table`` as dicts of Python values (None where missing; text as str,
    times as integer nanoseconds), as a report reads back the rows it made."""
    columns: dict[str, list[Any]] = {}
    for name, col in table.items():
        values = col.texts_at() if col.kind in ("text", "object", "category") else np.asarray(col.values)
        cells = values.tolist()
        if col.kind not in ("text", "object", "category"):
            missing = col.missing()
            if missing.any():
                cells = [None if m else v for v, m in zip(cells, missing.tolist(), strict=True)]
        columns[name] = cells
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]
