"""A report DataFrame as text: aligned table, CSV or JSON Lines (Parquet is pandas' own).

Times are exact everywhere: datetime64[ns] columns stay datetime64[ns] in Parquet and
are written as decimal epoch seconds with nine digits in text formats (as tshark
prints ``frame.time_epoch``); timedelta64[ns] columns as decimal seconds. Missing
values are empty in CSV and omitted in JSON (tshark omits absent fields).

These functions format, or write to a stream they are given; choosing standard output
is the CLI's job (:mod:`pcapkit.cli.output`).
"""

from __future__ import annotations

import json
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


def _ns_text(ns: int) -> str:
    from pcapkit.frame import format_epoch_ns

    return format_epoch_ns(ns)


def text_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with time columns turned into exact decimal-second strings."""
    import pandas as pd

    out = df.copy()
    for name in out.columns:
        col = out[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype) or pd.api.types.is_timedelta64_dtype(col.dtype):
            values = col.array.asi8 if hasattr(col.array, "asi8") else col.astype("int64").to_numpy()
            mask = col.isna().to_numpy()
            out[name] = pd.array(
                [None if m else _ns_text(int(v)) for v, m in zip(values, mask, strict=True)],
                dtype="string",
            )
    return out


def _json_value(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return [_json_value(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, bytes):
        return value.hex()
    return value


def _is_missing(value: Any) -> bool:
    import pandas as pd

    if isinstance(value, list | tuple) or (hasattr(value, "__array__") and not isinstance(value, str)):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def write_jsonl(df: pd.DataFrame, stream: IO[str]) -> None:
    tdf = text_frame(df)
    columns = list(tdf.columns)
    for row in tdf.itertuples(index=False, name=None):
        obj = {c: _json_value(v) for c, v in zip(columns, row, strict=True) if not _is_missing(v)}
        stream.write(json.dumps(obj, ensure_ascii=False) + "\n")


def table_text(df: pd.DataFrame, title: str | None = None) -> str:
    """``df`` as an aligned text table (a missing value is an empty cell, as in tshark's
    columns), after ``title`` on its own line; ``(no rows)`` for an empty table."""
    tdf = text_frame(df)
    head = title + "\n" if title else ""
    if tdf.empty:
        return head + "(no rows)\n"
    shown = tdf.astype(object).where(tdf.notna(), "")
    return head + shown.to_string(index=False) + "\n"
