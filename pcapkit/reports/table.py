"""A report table (a :class:`~pcapkit.columnar.column_table.ColumnTable` or a DataFrame)
as an aligned text table that fits a width, written in chunks.

Why not pandas' ``to_string`` or rich's ``Table``: both build every cell as a Python
object before printing the first line (pandas took 370 s and 4.7 GB for a million
flows). Here each column is formatted as a whole with numpy (one call per column and
chunk, no Python loop over rows), the column widths come from each column's extremes
(min/max for numbers, the longest text), and rows are written ``CHUNK_ROWS`` at a time,
so memory stays bounded by one chunk of the shown columns.

Layout: columns are taken in the order given (the most useful first) while they fit
``width``; a header longer than its values wraps at ``.`` and ``_`` over up to
``HEADER_LINES`` lines; a rule of dashes under the header marks each column's span;
numbers are right-aligned with fixed decimals per column, text left-aligned and cut
at ``MAX_TEXT`` characters with ``…``. A note after the table says which columns were
left out and how to see them. Missing values are empty cells (as tshark's columns).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from pcapkit.columnar.column_table import Column, ColumnTable, as_column, as_table
from pcapkit.reports.number_text import distinct_values, fixed_decimals, ns_decimal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

CHUNK_ROWS = 50_000
MAX_TEXT = 40
HEADER_LINES = 3
GAP = "  "
DEFAULT_WIDTH = 120


def decimals_for(name: str, dtype: Any) -> int:
    """The fixed number of decimals of a numeric column in a table, from its unit: exact
    nanoseconds for times (as tshark's ``frame.time_epoch``), microseconds for other
    durations in seconds, 3 for milliseconds, none for rates in bytes per second."""
    if str(dtype).startswith("datetime64"):
        return 9
    if name.endswith("_ms"):
        return 3
    if name.endswith(("_Bps", "_bps", "Bps")):
        return 1
    return 6


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    kind: str  # "int", "float", "ns" (datetime/timedelta as integer ns), "bool", "text"
    width: int
    header: tuple[str, ...]
    decimals: int
    right: bool


def column_kind(col: Column | pd.Series) -> str:
    """How a column is formatted: ``ns`` (datetime/timedelta), ``bool``, ``int``, ``float``
    or ``text`` (everything else)."""
    kind = as_column(col).kind
    return "text" if kind in ("category", "object") else kind


def text_cells(col: Column) -> np.ndarray:
    """The values of a text, category or object column as a numpy array of str, missing
    values empty."""
    import numpy as np

    if col.texts is not None:
        names = np.append(np.asarray(col.texts, dtype=object).astype(str), "")
        codes = np.asarray(col.values)
        missing = codes < 0 if col.mask is None else (codes < 0) | col.mask
        return names[np.where(missing, len(names) - 1, codes)]
    values = col.texts_at() if col.arrow else col.values
    if values.dtype.kind == "U":
        return values if col.mask is None else np.where(col.mask, "", values)
    if col.mask is not None:
        values = values.copy()
        values[col.mask] = ""
    return values.astype(str)


def format_cells(col: Column | pd.Series, kind: str, decimals: int, max_text: int = MAX_TEXT) -> np.ndarray:
    """Every cell of ``col`` as text (a numpy string array), missing values empty; text
    longer than ``max_text`` is cut with an ellipsis."""
    import numpy as np

    col = as_column(col)
    mask = col.missing()
    if kind == "ns":
        text = ns_decimal(np.where(mask, 0, np.asarray(col.values, dtype=np.int64)), decimals)
    elif kind == "int":
        ints = np.where(mask, 0, col.values) if col.mask is not None else col.values
        found = distinct_values(ints)
        text = ints.astype(str) if found is None else found[0].astype(str)[found[1]]
    elif kind == "float":
        floats = np.where(mask, 0.0, np.asarray(col.values, dtype=np.float64))
        found = distinct_values(floats)
        text = fixed_decimals(floats, decimals) if found is None else fixed_decimals(found[0], decimals)[found[1]]
    elif kind == "bool":
        text = np.where(np.asarray(col.values, dtype=bool) & ~mask, "True", "False")
    else:  # (a category, addresses: each formatted once, never cut)
        text = text_cells(col)
        if col.kind != "category" and text.size and text.dtype.itemsize // 4 > max_text:
            long = np.char.str_len(text) > max_text
            text = np.where(long, np.char.add(text.astype(f"<U{max_text - 1}"), "…"), text)
    if mask.any():
        text = np.where(mask, "", text)
    return text


def _longest_text(col: Column, present: np.ndarray) -> int:
    """The longest text of the present values of a text, category or object column."""
    import numpy as np

    if col.texts is not None:
        used = np.unique(np.asarray(col.values)[present])
        texts = np.asarray(col.texts, dtype=object)[used[used >= 0]].astype(str)
    else:
        texts = (col.texts_at() if col.arrow else col.values)[present].astype(str)
    return int(np.char.str_len(texts).max()) if texts.size else 0


def _value_width(col: Column | pd.Series, kind: str, decimals: int) -> int:
    """The widest cell of ``col`` without formatting every cell (numbers: the extremes)."""
    import numpy as np

    col = as_column(col)
    present = ~col.missing()
    if not present.any():
        return 0
    if kind == "bool":
        return 5 if (~np.asarray(col.values, dtype=bool)[present]).any() else 4
    if kind in ("int", "float", "ns"):
        values = col.values[present]
        ends = values[[int(np.argmin(values)), int(np.argmax(values))]]
        return int(np.char.str_len(format_cells(Column(ends, None, col.dtype, kind=col.kind), kind, decimals)).max())
    return _longest_text(col, present)


def _header_lines(name: str, width: int) -> list[str]:
    """``name`` wrapped at '.' and '_' boundaries into lines of at most ``width``."""
    lines: list[str] = []
    for token in re.findall(r"[^._]*[._]?", name):
        if not token:
            continue
        if lines and len(lines[-1]) + len(token) <= width:
            lines[-1] += token
        else:
            lines.append(token)
    return lines or [""]


def _layout(name: str, kind: str, decimals: int, value_width: int) -> _Column:
    tokens = [t for t in re.findall(r"[^._]*[._]?", name) if t]
    width = max([value_width, 1] + [len(t) for t in tokens])
    while len(_header_lines(name, width)) > HEADER_LINES:
        width += 1
    return _Column(name, kind, width, tuple(_header_lines(name, width)), decimals,
                   right=kind in ("int", "float", "ns"))


@dataclass(frozen=True, slots=True)
class TableLayout:
    shown: tuple[_Column, ...]
    hidden: tuple[str, ...]


def plan(df: ColumnTable | pd.DataFrame, columns: Sequence[str], width: int,
         decimals: Mapping[str, int] | None = None, priority: Sequence[str] | None = None) -> TableLayout:
    """Which of ``columns`` fit ``width`` (kept in ``priority`` order, default the display
    order; the first is always kept, even when it alone is wider), laid out in display
    order. Text columns cut to ``MAX_TEXT`` then share out the width left over."""
    table = as_table(df)
    measured: dict[str, tuple[str, int, int]] = {}
    for name in columns:
        col = table[name]
        kind = column_kind(col)
        places = (decimals or {}).get(name, decimals_for(name, col.dtype))
        measured[name] = (kind, places, _value_width(col, kind, places))
    return plan_measured(measured, columns, width, priority)


def plan_measured(measured: Mapping[str, tuple[str, int, int]], columns: Sequence[str], width: int,
                  priority: Sequence[str] | None = None) -> TableLayout:
    """:func:`plan` of columns already measured: name -> (kind, decimals, widest value)."""
    laid: dict[str, _Column] = {}
    natural: dict[str, int] = {}
    for name in columns:
        kind, places, full = measured[name]
        natural[name] = full
        laid[name] = _layout(name, kind, places, min(full, MAX_TEXT))
    kept: list[str] = []
    used = 0
    for name in priority if priority is not None else columns:
        need = laid[name].width + (len(GAP) if kept else 0)
        if kept and used + need > width:
            continue
        kept.append(name)
        used += need
    # cut text columns share what the others leave, in proportion to what they miss
    missing = {n: natural[n] - laid[n].width for n in kept if laid[n].kind == "text" and natural[n] > laid[n].width}
    spare, total = width - used, sum(missing.values())
    for name, short in missing.items():
        grow = min(short, spare * short // total) if total > spare else short
        column = laid[name]
        laid[name] = _layout(name, column.kind, column.decimals, column.width + grow)
    shown = tuple(laid[n] for n in columns if n in kept)
    return TableLayout(shown, tuple(n for n in columns if n not in kept))


class TableExtents:
    """What a table's layout needs of rows that come in parts (tables with the same
    columns, each :meth:`add`-ed): per column whether any cell is filled, its least and
    greatest value (numbers, times), whether a flag is ever False, its longest text. A
    column's widest cell is one of its extremes formatted as the final rows' dtype holds
    them (a part may hold a column otherwise: an integer column with NA elsewhere is
    float in the whole), so parts measured in a first pass lay out the rows of a
    second pass exactly as :func:`plan` lays out all rows at once. ``columns``: the only
    columns measured (those a table can show), default every column."""

    def __init__(self, columns: Collection[str] | None = None) -> None:
        self.columns = None if columns is None else set(columns)  # (None: every column is measured)
        self.rows = 0
        self.filled: dict[str, bool] = {}
        self._extremes: dict[str, np.ndarray] = {}
        self._flags: dict[str, bool] = {}  # a bool column: some value is False
        self._text: dict[str, int] = {}

    def add(self, df: ColumnTable | pd.DataFrame) -> None:
        """Measure the rows of ``df``."""
        import numpy as np

        table = as_table(df)
        self.rows += len(table)
        for name in table.columns:
            if self.columns is not None and name not in self.columns:
                continue
            col = table[name]
            present = ~col.missing()
            filled = bool(present.any())
            self.filled[name] = self.filled.get(name, False) or filled
            if not filled:
                continue
            kind = column_kind(col)
            if kind == "bool":
                self._flags[name] = self._flags.get(name, False) or bool((~col.values[present].astype(bool)).any())
            elif kind in ("int", "float", "ns"):
                values = col.values[present]
                if name in self._extremes:
                    values = np.concatenate([self._extremes[name], values])  # (int and float: float)
                self._extremes[name] = values[[int(np.argmin(values)), int(np.argmax(values))]]
            else:
                self._text[name] = max(self._text.get(name, 0), _longest_text(col, present))

    def value_width(self, name: str, template: Column, kind: str, decimals: int) -> int:
        """The widest cell of column ``name`` held as ``template`` (a part of the final
        rows) holds it."""
        import numpy as np

        if not self.filled.get(name):
            return 0
        if kind == "bool":
            return 5 if self._flags.get(name) else 4
        if kind in ("int", "float", "ns") and name in self._extremes:
            ends = self._extremes[name]
            if ends.dtype != template.values.dtype:
                ends = ends.astype(template.values.dtype)
            ends_column = Column(ends, None, template.dtype, kind=template.kind)
            return int(np.char.str_len(format_cells(ends_column, kind, decimals)).max())
        return self._text.get(name, 0)

    def plan(self, template: ColumnTable | pd.DataFrame, columns: Sequence[str], width: int,
             decimals: Mapping[str, int] | None = None, priority: Sequence[str] | None = None) -> TableLayout:
        """:func:`plan` of every row measured, whose dtypes are ``template``'s."""
        table = as_table(template)
        measured: dict[str, tuple[str, int, int]] = {}
        for name in columns:
            col = table[name]
            kind = column_kind(col)
            places = (decimals or {}).get(name, decimals_for(name, col.dtype))
            measured[name] = (kind, places, self.value_width(name, col, kind, places))
        return plan_measured(measured, columns, width, priority)


def _pad(text: np.ndarray, column: _Column) -> np.ndarray:
    import numpy as np

    return np.char.rjust(text, column.width) if column.right else np.char.ljust(text, column.width)


def table_lines(df: ColumnTable | pd.DataFrame, layout: TableLayout) -> Iterator[str]:
    """The header, the rule and every row of ``df`` in the layout, a chunk at a time
    (each yielded string is one or more whole lines ending in a newline)."""
    yield from header_lines(layout)
    yield from row_lines(df, layout)


def header_lines(layout: TableLayout) -> Iterator[str]:
    """The header lines of a table in ``layout`` and the rule under them."""
    cols = layout.shown
    depth = max(len(c.header) for c in cols)
    for i in range(depth):
        cells = []
        for c in cols:
            pad = depth - len(c.header)  # headers sit on the rule, as in a printed table
            text = c.header[i - pad] if i >= pad else ""
            cells.append(text.rjust(c.width) if c.right else text.ljust(c.width))
        yield GAP.join(cells).rstrip() + "\n"
    yield GAP.join("-" * c.width for c in cols) + "\n"


def row_lines(df: ColumnTable | pd.DataFrame, layout: TableLayout) -> Iterator[str]:
    """The rows of ``df`` in ``layout``, ``CHUNK_ROWS`` at a time, each line without its
    trailing whitespace. Every cell is padded to its column's width, so a chunk is a
    matrix of characters (a line a row, the cells at fixed offsets, UCS-4 as numpy holds
    text) from which the lines, cut after their last non-blank character, are read at once."""
    import numpy as np

    whole = as_table(df)
    cols = layout.shown
    starts = np.cumsum([0] + [c.width + len(GAP) for c in cols])
    width = int(starts[-1]) - len(GAP)
    for start in range(0, len(whole), CHUNK_ROWS):
        chunk = whole if start == 0 and len(whole) <= CHUNK_ROWS else whole.take(slice(start, start + CHUNK_ROWS))
        fast = _ascii_lines(chunk, cols)
        if fast is not None:
            yield fast
            continue
        cells = [_pad(format_cells(chunk[c.name], c.kind, c.decimals, c.width), c) for c in cols]
        if any(cell.dtype.itemsize != 4 * c.width for cell, c in zip(cells, cols, strict=True)):
            # (a cell wider than its column: joined as they are)
            line = cells[0]
            for cell in cells[1:]:
                line = np.char.add(np.char.add(line, GAP), cell)
            yield "\n".join(s.rstrip() for s in line.tolist()) + "\n"
            continue
        n = len(chunk)
        lines = np.full((n, width + 1), ord(" "), dtype=np.uint32)
        for cell, c, at in zip(cells, cols, starts.tolist(), strict=False):
            lines[:, at:at + c.width] = np.ascontiguousarray(cell).view(np.uint32).reshape(n, c.width)
        del cells
        codes = lines[:, :width]
        table = _blank_codes()
        blank = table[np.minimum(codes, table.shape[0] - 1)]
        length = width - np.argmin(blank[:, ::-1], axis=1)  # (after the last non-blank character)
        length[blank.all(axis=1)] = 0
        lines[np.arange(n), length] = ord("\n")
        keep = np.arange(width + 1)[None, :] <= length[:, None]
        yield lines[keep].tobytes().decode("utf-32-le")


def _ascii_lines(chunk: ColumnTable, cols: Sequence[_Column]) -> str | None:
    """:func:`row_lines`' text of ``chunk`` from byte cells (:mod:`pcapkit.reports.ascii_cells`:
    numbers digit by digit, a byte a character), or None for the general path."""
    from pcapkit.reports import ascii_cells

    cells = []
    for c in cols:
        col = as_column(chunk[c.name])
        cell = ascii_cells.column_cells(col, c.kind, c.decimals, c.width)
        if cell is None:
            cell = ascii_cells.text_cells_latin1(_pad(format_cells(col, c.kind, c.decimals, c.width), c), c.width)
            if cell is None:
                return None
        cells.append(cell)
    return ascii_cells.lines_text(cells, [c.width for c in cols], len(GAP))


@functools.cache
def _blank_codes() -> np.ndarray:
    """Whether each character code is one that ``str.rstrip`` strips."""
    import numpy as np

    last = 0x3000
    table = np.zeros(last + 2, dtype=bool)  # (the last entry: every code above, not blank)
    table[[c for c in range(last + 1) if chr(c).isspace()]] = True
    return table


def hidden_note(hidden: Sequence[str], total: int, width: int = DEFAULT_WIDTH) -> str:
    """The lines (wrapped to ``width``) that say which columns a table left out and how
    to see them."""
    import textwrap

    if not hidden:
        return ""
    names = ", ".join(hidden[:8]) + (", …" if len(hidden) > 8 else "")
    text = (f"({len(hidden)} of {total} columns not shown: {names}; "
            f"see them with --columns all, -e NAME or --format csv)")
    return "\n".join(textwrap.wrap(text, max(width, 20), break_on_hyphens=False)) + "\n"


def write_table(df: ColumnTable | pd.DataFrame, stream: IO[str], *, columns: Sequence[str] | None = None,
                width: int = DEFAULT_WIDTH, title: str | None = None,
                decimals: Mapping[str, int] | None = None, priority: Sequence[str] | None = None) -> None:
    """Write ``df`` as a table of at most ``width`` characters a line: ``columns`` (every
    column by default) that fit, kept in ``priority`` order, then a note naming the others."""
    for text in table_text_chunks(df, columns=columns, width=width, title=title, decimals=decimals,
                                  priority=priority):
        stream.write(text)


def table_text_chunks(df: ColumnTable | pd.DataFrame, *, columns: Sequence[str] | None = None, width: int = DEFAULT_WIDTH,
                      title: str | None = None, decimals: Mapping[str, int] | None = None,
                      priority: Sequence[str] | None = None) -> Iterator[str]:
    """:func:`write_table`'s text, a chunk of whole lines at a time (for a pager)."""
    df = as_table(df)
    if title:
        yield title + "\n"
    if df.empty:
        yield "(no rows)\n"
        return
    wanted = [c for c in (columns if columns is not None else df.columns) if c in df.columns]
    first = [c for c in priority if c in wanted] if priority is not None else None
    layout = plan(df, wanted, width, decimals, first)
    yield from table_lines(df, layout)
    left_out = list(layout.hidden) + [c for c in df.columns if c not in wanted]
    note = hidden_note(left_out, len(df.columns), width)
    if note:
        yield note


def table_text_frames(frames: Iterable[ColumnTable | pd.DataFrame], extents: TableExtents, *,
                      columns: Sequence[str] | None = None, width: int = DEFAULT_WIDTH, title: str | None = None,
                      decimals: Mapping[str, int] | None = None,
                      priority: Sequence[str] | None = None) -> Iterator[str]:
    """:func:`table_text_chunks` of the rows of ``frames`` joined (parts with the same
    columns and dtypes), laid out from ``extents`` (those rows measured beforehand, see
    :class:`TableExtents`): the same text, one part in memory at a time."""
    import itertools

    parts = (as_table(df) for df in frames)
    first = next(parts, None)
    if title:
        yield title + "\n"
    if first is None or not extents.rows:
        yield "(no rows)\n"
        return
    wanted = [c for c in (columns if columns is not None else first.columns) if c in first.columns]
    ordered = [c for c in priority if c in wanted] if priority is not None else None
    layout = extents.plan(first, wanted, width, decimals, ordered)
    yield from header_lines(layout)
    for df in itertools.chain([first], parts):
        yield from row_lines(df, layout)
    left_out = list(layout.hidden) + [c for c in first.columns if c not in wanted]
    note = hidden_note(left_out, len(first.columns), width)
    if note:
        yield note
