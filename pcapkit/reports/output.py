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


def text_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with time columns turned into exact decimal-second strings
    (one numpy pass per column)."""
    import pandas as pd

    from pcapkit.reports.table import format_cells

    out = df.copy()
    for name in out.columns:
        col = out[name]
        if pd.api.types.is_datetime64_any_dtype(col.dtype) or pd.api.types.is_timedelta64_dtype(col.dtype):
            text = format_cells(col, "ns", 9).astype(object)
            text[col.isna().to_numpy()] = None
            out[name] = pd.array(text, dtype="string")
    return out


def _positional_floats(col: pd.Series) -> pd.Series:
    """``col`` with the floats that Python would print in scientific notation (below
    1e-4 or from 1e16 on) replaced by their shortest positional text (9.3e-05 ->
    0.000093), every other value left for the CSV writer's own (shortest) text."""
    import numpy as np

    values = col.to_numpy(dtype="float64", na_value=np.nan)
    magnitude = np.abs(values)
    scientific = np.isfinite(values) & (magnitude != 0) & ((magnitude < 1e-4) | (magnitude >= 1e16))
    if not scientific.any():
        return col
    out = col.astype(object)
    where = np.flatnonzero(scientific)
    out.iloc[where] = [np.format_float_positional(v, trim="-") for v in values[where]]
    return out


CSV_CHUNK_ROWS = 100_000


def write_csv(df: pd.DataFrame, stream: IO[str], header: bool = True) -> None:
    """``df`` as CSV, every column, ``CSV_CHUNK_ROWS`` rows at a time: times as exact
    decimal seconds, floats never in scientific notation, missing values empty."""
    import pandas as pd

    if df.empty:
        df.to_csv(stream, index=False, header=header)
        return
    for start in range(0, len(df), CSV_CHUNK_ROWS):
        chunk = text_frame(df.iloc[start:start + CSV_CHUNK_ROWS])
        for name in chunk.columns:
            if pd.api.types.is_float_dtype(chunk[name].dtype):
                chunk[name] = _positional_floats(chunk[name])
        chunk.to_csv(stream, index=False, header=header and start == 0)


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


def table_text(df: pd.DataFrame, title: str | None = None, *, columns: list[str] | None = None,
               width: int = 120) -> str:
    """``df`` as an aligned text table of at most ``width`` columns (see
    :mod:`pcapkit.reports.table`), after ``title`` on its own line; ``(no rows)`` for an
    empty table."""
    import io

    from pcapkit.reports.table import write_table

    out = io.StringIO()
    write_table(df, out, columns=columns, width=width, title=title)
    return out.getvalue()
