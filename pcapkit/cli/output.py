"""Where a report goes: ``write_report`` sends a DataFrame to a file or to standard
output as table, CSV, JSON Lines or Parquet (the formatting is :mod:`pcapkit.reports.output`)."""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING

from pcapkit.reports.output import table_text, text_frame, write_jsonl

if TYPE_CHECKING:
    import pandas as pd


def write_report(df: pd.DataFrame, fmt: str, output: str | None, *, title: str | None = None) -> None:
    """Write ``df`` in ``fmt`` (table|csv|json|parquet) to ``output`` (None or "-": stdout)."""
    if fmt == "parquet":
        if output is None:
            data = df.to_parquet(index=False)
            sys.stdout.buffer.write(data)
        else:
            df.to_parquet(output, index=False)
        return
    stream: IO[str]
    close = False
    if output is None or output == "-":
        stream = sys.stdout
    else:
        stream = open(output, "w", encoding="utf-8", newline="")  # noqa: SIM115
        close = True
    try:
        if fmt == "csv":
            text_frame(df).to_csv(stream, index=False)
        elif fmt == "json":
            write_jsonl(df, stream)
        else:
            stream.write(table_text(df, title))
    finally:
        if close:
            stream.close()
