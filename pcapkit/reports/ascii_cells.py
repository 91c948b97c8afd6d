"""Table cells as byte matrices (Latin-1: a byte a character), for
:func:`pcapkit.reports.table.row_lines`.

A table's text is a matrix of characters, one line a row, each cell at a fixed offset.
Numpy's strings hold 4 bytes a character, and turning numbers into them (``astype(str)``)
costs a Python-level conversion per value: on a million rows those were most of a
command's time. Here a column's cells are written straight into ``uint8`` rows, a byte a
character (Latin-1, which holds tshark's flag dots ``·``):

- integers and nanosecond times (``ns``: exact decimal seconds) digit by digit, by integer
  division over the whole column, right-aligned in the column's width;
- every other cell (text, floats, flags) from the cell text the table formats anyway, when
  all of it is Latin-1.

Each function returns None when it cannot promise the cell text of
:func:`pcapkit.reports.table.format_cells` padded to the width (a value wider than its
column, a character beyond Latin-1, a dtype it does not know): the caller then takes the
general path. The two are compared in ``tests/reports/test_ascii_cells.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from pcapkit.columnar.column_table import Column

SPACE, MINUS, DOT, ZERO = 32, 45, 46, 48
# the characters str.rstrip strips, among Latin-1 (a line is cut after its last other one)
BLANK = np.array([chr(c).isspace() for c in range(256)], dtype=bool)
_SMALL = 64  # rows below which the general path is as quick


def integer_cells(values: np.ndarray, missing: np.ndarray | None, width: int) -> np.ndarray | None:
    """Integers right-aligned in ``width`` characters (missing: blank), or None."""
    if values.dtype.kind not in "iu" or values.shape[0] < _SMALL:
        return None
    n = values.shape[0]
    negative = values < 0 if values.dtype.kind == "i" else np.zeros(n, dtype=bool)
    if values.dtype.kind == "i":
        # |value| as uint64 (the int64 minimum has no int64 magnitude)
        magnitude = np.where(negative, (-(values.astype(np.int64) + 1)).astype(np.uint64) + np.uint64(1),
                             values.astype(np.int64).astype(np.uint64))
    else:
        magnitude = values.astype(np.uint64)
    return _digits(magnitude, negative, missing, width, 0, None)


def ns_cells(values: np.ndarray, missing: np.ndarray | None, width: int, decimals: int) -> np.ndarray | None:
    """Integer nanoseconds as exact decimal seconds with ``decimals`` decimals (truncated,
    as :func:`pcapkit.reports.number_text.ns_decimal`), right-aligned, or None."""
    if values.dtype.kind != "i" or values.shape[0] < _SMALL:
        return None
    ns = values.astype(np.int64)
    negative = ns < 0
    magnitude = np.where(negative, (-(ns + 1)).astype(np.uint64) + np.uint64(1), ns.astype(np.uint64))
    seconds, nanos = np.divmod(magnitude, np.uint64(1_000_000_000))
    fraction = None
    if decimals > 0:
        fraction = nanos // np.uint64(10 ** (9 - min(decimals, 9)))
    return _digits(seconds, negative, missing, width, decimals, fraction)


def _digits(magnitude: np.ndarray, negative: np.ndarray, missing: np.ndarray | None, width: int, decimals: int,
            fraction: np.ndarray | None) -> np.ndarray | None:
    """Rows of ``width`` characters: [-]magnitude[.fraction in ``decimals`` digits],
    right-aligned; None when a value does not fit."""
    n = magnitude.shape[0]
    out = np.full((n, width), SPACE, dtype=np.uint8)
    tail = decimals + 1 if decimals > 0 else 0
    if width <= tail:
        return None
    at = width - 1
    if fraction is not None:
        shown = min(decimals, 9)
        for _ in range(decimals - shown):  # (digits past the ns: zeros)
            out[:, at] = ZERO
            at -= 1
        rest = fraction.copy()
        for _ in range(shown):
            out[:, at] = ZERO + (rest % np.uint64(10)).astype(np.uint8)
            rest //= np.uint64(10)
            at -= 1
        out[:, at] = DOT
        at -= 1
    rest = magnitude.copy()
    out[:, at] = ZERO + (rest % np.uint64(10)).astype(np.uint8)
    rest //= np.uint64(10)
    length = np.ones(n, dtype=np.int64)  # digits of the whole part
    at -= 1
    while True:
        more = rest > 0
        if not more.any():
            break
        if at < 0:
            return None
        out[:, at] = np.where(more, ZERO + (rest % np.uint64(10)).astype(np.uint8), SPACE)
        length += more
        rest //= np.uint64(10)
        at -= 1
    if negative.any():
        sign_at = width - tail - 1 - length
        if bool((sign_at[negative] < 0).any()):
            return None
        rows = np.flatnonzero(negative)
        out[rows, sign_at[rows]] = MINUS
    if missing is not None and missing.any():
        out[missing] = SPACE
    return out


def text_cells_latin1(padded: np.ndarray, width: int) -> np.ndarray | None:
    """Cells already formatted and padded to ``width`` (a numpy ``<U{width}`` array) as
    ``uint8`` rows, or None when one is beyond Latin-1 or not ``width`` characters wide."""
    n = padded.shape[0]
    if padded.dtype.itemsize != 4 * width:
        return None
    codes = np.ascontiguousarray(padded).view(np.uint32).reshape(n, width)
    if n and int(codes.max()) >= 256:
        return None
    # (numpy pads its strings with NUL past each text's length: they are the padding)
    return np.where(codes == 0, SPACE, codes).astype(np.uint8)


def lines_text(cells: list[np.ndarray], widths: list[int], gap: int) -> str:
    """The lines of a chunk of rows: the cells side by side ``gap`` spaces apart, each line
    cut after its last non-blank character, ending in a newline."""
    n = cells[0].shape[0]
    starts = np.cumsum([0] + [w + gap for w in widths])
    width = int(starts[-1]) - gap
    lines = np.full((n, width + 1), SPACE, dtype=np.uint8)
    for cell, w, at in zip(cells, widths, starts.tolist(), strict=False):
        lines[:, at:at + w] = cell
    blank = BLANK[lines[:, :width]]
    length = width - np.argmin(blank[:, ::-1], axis=1)
    length[blank.all(axis=1)] = 0
    lines[np.arange(n), length] = 10
    keep = np.arange(width + 1)[None, :] <= length[:, None]
    return lines[keep].tobytes().decode("latin-1")


def column_cells(col: Column, kind: str, decimals: int, width: int) -> np.ndarray | None:
    """The fast cells of a number column (see the module doc), or None."""
    missing = col.missing()
    if kind == "int":
        return integer_cells(np.asarray(col.values), missing, width)
    if kind == "ns":  # (datetime64 and timedelta64 as their integer count, as format_cells reads them)
        return ns_cells(np.asarray(col.values, dtype=np.int64), missing, width, decimals)
    return None
