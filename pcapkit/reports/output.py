"""A report DataFrame as text: aligned table, CSV or JSON Lines (Parquet is pandas' own).

Times are exact everywhere: datetime64[ns] columns stay datetime64[ns] in Parquet and
are written as decimal epoch seconds with nine digits in text formats (as tshark
prints ``frame.time_epoch``); timedelta64[ns] columns as decimal seconds. Missing
values are empty in CSV and omitted in JSON (tshark omits absent fields).

These functions format, or write to a stream they are given; choosing standard output
is the CLI's job (:mod:`pcapkit.cli.output`).
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable


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


def write_csv(df: ColumnTable | pd.DataFrame, stream: IO[str], header: bool = True) -> None:
    """``df`` as CSV, every column, formatted a column at a time
    (:mod:`pcapkit.reports.column_text`): times as exact decimal seconds, floats never
    in scientific notation, missing values empty."""
    from pcapkit.reports.column_text import write_csv_columns

    if not len(df.columns):  # (as pandas' to_csv: an empty line for the header and each row)
        stream.write("\n" * (int(header) + len(df)))
        return
    write_csv_columns(df, stream, header)


def write_jsonl(df: ColumnTable | pd.DataFrame, stream: IO[str]) -> None:
    """``df`` as JSON Lines, one object per row without its missing values, formatted a
    column at a time (:mod:`pcapkit.reports.column_text`)."""
    from pcapkit.reports.column_text import write_jsonl_columns

    write_jsonl_columns(df, stream)


def table_text(df: ColumnTable | pd.DataFrame, title: str | None = None, *, columns: list[str] | None = None,
               width: int = 120) -> str:
    """``df`` as an aligned text table of at most ``width`` columns (see
    :mod:`pcapkit.reports.table`), after ``title`` on its own line; ``(no rows)`` for an
    empty table."""
    import io

    from pcapkit.reports.table import write_table

    out = io.StringIO()
    write_table(df, out, columns=columns, width=width, title=title)
    return out.getvalue()
