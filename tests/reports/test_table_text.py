"""The text table and the column writers format repeated values once and read a chunk's
lines out of a character matrix: the same text as formatting every value and joining the
cells of each line, stripped of trailing whitespace as ``str.rstrip`` strips it."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from pcapkit.reports.column_text import write_csv_columns, write_jsonl_columns
from pcapkit.reports.table import distinct_values, fixed_decimals, format_cells, plan, row_lines


def _repeating() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 5000
    return pd.DataFrame({
        "count": rng.integers(0, 3, n),
        "big": rng.integers(-2**62, 2**62, n),
        "ms": rng.choice([0.0, -0.0, 1.5, 99.999, 1e-7, 3e17], n),
        "rate_Bps": rng.choice([np.nan, 0.25, 12.5], n),
        "name": rng.choice(["a", "tab\t", "nbsp\u00a0", "é"], n),
    })


def test_distinct_values_rebuild_the_column() -> None:
    df = _repeating()
    for name in ("count", "ms"):
        values = df[name].to_numpy()
        found = distinct_values(values)
        if found is not None:
            assert np.array_equal(found[0][found[1]], values)
    # -0.0 is printed as such: no distinct-value shortcut merges it with 0.0
    assert distinct_values(df["ms"].to_numpy()) is None
    values = np.where(df["ms"].to_numpy() == 0, 0.0, df["ms"].to_numpy())
    assert (fixed_decimals(values, 3) == fixed_decimals(values, 3)[np.arange(len(values))]).all()


def test_cells_as_every_value_formatted() -> None:
    df = _repeating()
    assert (format_cells(df["count"], "int", 0) == df["count"].to_numpy().astype(str)).all()
    floats = df["rate_Bps"].fillna(0.0).to_numpy()
    cells = format_cells(df["rate_Bps"], "float", 1)
    present = df["rate_Bps"].notna().to_numpy()
    assert (cells[present] == fixed_decimals(floats, 1)[present]).all()
    assert (cells[~present] == "").all()


def test_lines_as_joined_cells_stripped() -> None:
    df = _repeating()
    layout = plan(df, list(df.columns), 200)
    text = "".join(row_lines(df, layout))
    cells = [np.char.rjust(format_cells(df[c.name], c.kind, c.decimals, c.width), c.width) if c.right
             else np.char.ljust(format_cells(df[c.name], c.kind, c.decimals, c.width), c.width)
             for c in layout.shown]
    line = cells[0]
    for cell in cells[1:]:
        line = np.char.add(np.char.add(line, "  "), cell)
    assert text == "\n".join(s.rstrip() for s in line.tolist()) + "\n"


def test_writers_as_pandas() -> None:
    df = _repeating().drop(columns=["big"])
    out = io.StringIO()
    write_csv_columns(df, out)
    expected = io.StringIO()
    df.to_csv(expected, index=False, lineterminator="\n")
    ours, theirs = out.getvalue().splitlines(), expected.getvalue().splitlines()
    assert ours[0] == theirs[0] and len(ours) == len(theirs)
    # (floats: pandas writes repr; 3e17 is written positionally by our CSV, as the module says)
    same = [i for i, v in enumerate(df["ms"].tolist(), 1) if abs(v) < 1e16 and (v == 0 or abs(v) >= 1e-4)]
    assert all(ours[i] == theirs[i] for i in same)
    out = io.StringIO()
    write_jsonl_columns(df, out)
    import json

    for line, row in zip(out.getvalue().splitlines(), df.to_dict("records"), strict=True):
        want = {k: v for k, v in row.items() if not (isinstance(v, float) and np.isnan(v))}
        assert line == json.dumps(want, ensure_ascii=False)
