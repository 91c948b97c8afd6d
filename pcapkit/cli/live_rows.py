"""Report rows written as they come (``pcapkit capture --report``): a table, CSV or
JSON Lines, flushed after every group of rows so that a pipe (``| jq``) sees them at once.

The text of each value is the file reports' (:mod:`pcapkit.reports.output`): the same
exact times, the same empty cells for missing values.
"""

from __future__ import annotations

import sys
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

LIVE_FORMATS = ("table", "csv", "json")


class RowWriter:
    """Writes report rows in ``fmt`` to ``stream`` (default standard output).
    ``columns``: the columns shown (None: all, in the report's order)."""

    def __init__(self, fmt: str, stream: IO[str] | None = None, columns: list[str] | None = None) -> None:
        if fmt not in LIVE_FORMATS:
            raise ValueError(f"live rows are written as {', '.join(LIVE_FORMATS)}, not {fmt}")
        self.fmt = fmt
        self.stream = stream if stream is not None else sys.stdout
        self.columns = columns
        self.rows = 0
        self._widths: list[int] | None = None

    def write(self, df: pd.DataFrame) -> None:
        from pcapkit.reports.output import write_csv, write_jsonl

        if not len(df):
            return
        if self.columns is not None:
            df = df[[c for c in self.columns if c in df.columns]]
        if self.fmt == "json":
            write_jsonl(df, self.stream)
        elif self.fmt == "csv":
            write_csv(df, self.stream, header=self.rows == 0)  # as the file reports' CSV
        else:
            self._table(df)
        self.rows += len(df)
        self.stream.flush()

    def _table(self, df: pd.DataFrame) -> None:
        """Aligned columns: the widths are set by the header and the first rows (a
        wider value later widens its cell, not the whole column)."""
        from pcapkit.reports.output import text_frame

        tdf = text_frame(df)
        cells = tdf.astype(object).where(tdf.notna(), "").astype(str).values.tolist()
        names = [str(c) for c in tdf.columns]
        if self._widths is None:
            self._widths = [max([len(n), *(len(r[k]) for r in cells)]) for k, n in enumerate(names)]
            self.stream.write(self._line(names) + "\n")
        for row in cells:
            self.stream.write(self._line(row) + "\n")

    def _line(self, cells: list[str]) -> str:
        assert self._widths is not None
        return "  ".join(c.rjust(w) for c, w in zip(cells, self._widths, strict=True)).rstrip()
