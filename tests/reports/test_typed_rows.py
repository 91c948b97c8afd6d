"""Python rows as a typed ColumnTable (:mod:`pcapkit.reports.typed_rows`): its DataFrame is
the one pandas itself makes of the same rows (``DataFrame(rows)`` then each column's
``astype``, as the reports built theirs before), dtype for dtype, and its records are the
rows back."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from pcapkit.reports.typed_rows import INFERRED, records, to_frame, typed_table

DTYPES = {"n": "int64", "time": "timedelta64[ns]", "epoch": "datetime64[ns]", "text": "string", "addr": "category",
          "port": "UInt16", "count": "Int64", "flag": "boolean", "number": "uint32", "guess": INFERRED}

# (pandas makes a column of ints and None float64 first: exact up to 2**53 only; the table's
# columns are exact everywhere)
_FLOAT_EXACT = 2**53
_text = st.one_of(st.none(), st.text(max_size=6), st.sampled_from(["10.0.0.1", "10.0.0.2", "::1"]))
_row = st.fixed_dictionaries({
    "n": st.integers(-2**62, 2**62), "time": st.one_of(st.none(), st.integers(0, _FLOAT_EXACT)),
    "epoch": st.one_of(st.none(), st.integers(0, _FLOAT_EXACT)), "text": _text, "addr": _text,
    "port": st.one_of(st.none(), st.integers(0, 65535)), "count": st.one_of(st.none(), st.integers(-5, _FLOAT_EXACT)),
    "flag": st.booleans(), "number": st.integers(0, 2**32 - 1), "guess": st.one_of(st.none(), st.integers(0, 65535)),
})


def pandas_reference(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """What pandas makes of the rows: DataFrame(rows), then each declared dtype."""
    df = pd.DataFrame(rows, columns=list(DTYPES))
    for name, dtype in DTYPES.items():
        if dtype.startswith(("datetime64", "timedelta64")):
            ints = pd.array(df[name].tolist(), dtype="Int64")
            df[name] = (pd.to_datetime if dtype.startswith("datetime") else pd.to_timedelta)(ints, unit="ns")
        elif dtype == "category":
            df[name] = df[name].astype("string").astype("category")
        elif dtype != INFERRED:
            df[name] = df[name].astype(pd.api.types.pandas_dtype(dtype))
    return df


@settings(max_examples=150, deadline=None)
@given(st.lists(_row, max_size=8))
def test_the_table_is_the_dataframe_pandas_makes(rows: list[dict[str, Any]]) -> None:
    got, want = to_frame(typed_table(rows, DTYPES)), pandas_reference(rows)
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    for name in DTYPES:
        assert got[name].dtype == want[name].dtype, name
        assert type(got[name].array) is type(want[name].array), name
        if name == "addr":
            assert got[name].cat.categories.dtype == want[name].cat.categories.dtype
            assert list(got[name].cat.categories) == list(want[name].cat.categories)


@settings(max_examples=100, deadline=None)
@given(st.lists(_row, max_size=8))
def test_records_give_the_rows_back(rows: list[dict[str, Any]]) -> None:
    back = records(typed_table(rows, DTYPES))
    assert back == [{k: (None if v is None else str(v) if DTYPES[k] in ("string", "category") else v)
                     for k, v in row.items()} for row in rows]
