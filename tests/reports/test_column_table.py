"""The reports' column tables (:mod:`pcapkit.columnar.column_table`): the DataFrame each
gives is the one the typed-list builder makes of the same values, and the CLI's writers
give the same bytes from the table as from its DataFrame."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import CORPUS

from pcapkit.columnar.column_table import (
    ColumnTable,
    as_table,
    column_from_list,
    concat_tables,
    factorize,
    unique_in_order,
)
from pcapkit.reports.column_text import csv_parts, jsonl_parts
from pcapkit.reports.flows import flows_table
from pcapkit.reports.handshakes import COLUMNS as HANDSHAKE_COLUMNS
from pcapkit.reports.handshakes import handshake_table
from pcapkit.reports.lab import lab_tcp
from pcapkit.reports.lab_common import LabError
from pcapkit.reports.rtt import SAMPLE_COLUMNS, SUMMARY_COLUMNS, rtt_table, summary_table
from pcapkit.reports.table import table_text_chunks
from pcapkit.reports.tcp import COLUMNS as TCP_COLUMNS
from pcapkit.reports.tcp import column, tcp_table
from pcapkit.tcpflow.tcptrace.chunks import StatsRuns

FILES = ["labs/tcp-ethereal-trace-1", "labs/NAT_home_side.pcap", "labs/http-ethereal-trace-4",
         "tcp/dsack.dmp.gz", "tcp/6syns.dmp.gz", "tcp/tcp_zerowindowrecovery.pcapng", "labs/dns-ethereal-trace-2"]


def _path(rel: str) -> Path:
    p = CORPUS / rel
    if not p.is_file():
        pytest.skip(f"{rel} not in corpus")
    return p


@pytest.mark.parametrize("dtype", [np.int64, np.uint64, np.float64])
def test_factorize_without_pandas_is_pandas_factorize(dtype: Any) -> None:
    """The paths without pandas (direct addressing of a narrow integer span; a sort for a
    short input) number values as pandas does: by first appearance."""
    rng = np.random.default_rng(7)
    cases = [rng.integers(0, max(size // 3, 1) + 1, size).astype(dtype) for size in (0, 1, 5, 1000, 300_000)]
    # long inputs: a narrow span (direct addressing) and a wide one; negative values; the
    # extremes of the dtype
    cases += [rng.integers(0, 2**40, 2000).astype(dtype), (rng.integers(-50, 50, 5000)).astype(dtype),
              np.array([np.iinfo(np.int64).max if dtype != np.float64 else 1e300, 0, 7, 0], dtype=dtype)]
    if dtype == np.uint64:
        cases.append(np.array([2**64 - 1, 2**64 - 2, 2**64 - 1], dtype=np.uint64))
    for values in cases:
        modules = dict(sys.modules)
        try:
            del sys.modules["pandas"]  # (factorize then takes its numpy path)
            codes, uniques = factorize(values)
        finally:
            sys.modules.clear()
            sys.modules.update(modules)
        want_codes, want_uniques = pd.factorize(values)
        assert codes.tolist() == want_codes.tolist()
        assert uniques.tolist() == np.asarray(want_uniques).tolist()
        assert unique_in_order(values).tolist() == pd.unique(values).tolist()


def test_concat_tables_is_pandas_concat() -> None:
    """The rows of several tables one after the other: the DataFrame pandas' concat makes of
    their DataFrames (dtypes, missing values, the first table's attrs)."""
    dtypes = {"n": "Int64", "t": "datetime64[ns]", "x": "float64", "s": "string", "b": "boolean"}
    rows = [[1, None, 2], [None, 5], [7]]
    parts = [ColumnTable({"n": column_from_list(r, "Int64"),
                          "t": column_from_list([None if v is None else v * 10**9 for v in r], "datetime64[ns]"),
                          "x": column_from_list([None if v is None else v / 3 for v in r], "float64"),
                          "s": column_from_list([None if v is None else str(v) for v in r], "string"),
                          "b": column_from_list([None if v is None else v > 2 for v in r], "boolean")},
                         {"part": i}) for i, r in enumerate(rows)]
    joined = concat_tables(parts).to_pandas()
    want = pd.concat([p.to_pandas() for p in parts], ignore_index=True)
    pd.testing.assert_frame_equal(joined, want)
    assert list(joined.dtypes.astype(str)) == list(dtypes.values())
    assert joined.attrs == {"part": 0}


def _reference(table: ColumnTable, dtypes: dict[str, str]) -> pd.DataFrame:
    """The DataFrame the typed-list builder (:func:`pcapkit.reports.tcp.column`) makes of
    the table's values, None where missing."""
    return pd.DataFrame({name: column(table[name].texts_at().tolist(), dtype) for name, dtype in dtypes.items()})


def _same(table: ColumnTable, dtypes: dict[str, str]) -> None:
    """The table's DataFrame has the declared dtypes and the values the builder gives."""
    df = table.to_pandas()
    assert list(df.columns) == list(dtypes)
    assert [str(t) for t in df.dtypes] == list(dtypes.values())
    want = _reference(table, {n: "string" if d == "category" else d for n, d in dtypes.items()})
    for name in dtypes:  # (categories: as their text; the builder makes none)
        got = df[name].astype("string") if isinstance(df[name].dtype, pd.CategoricalDtype) else df[name]
        pd.testing.assert_series_equal(got, want[name].astype(got.dtype), check_exact=True)


@pytest.mark.parametrize("rel", FILES)
def test_the_dataframes_are_the_typed_columns(rel: str) -> None:
    path = _path(rel)
    tcp = tcp_table(path)
    _same(tcp, TCP_COLUMNS)
    _same(handshake_table(path), HANDSHAKE_COLUMNS)
    samples = rtt_table(path)
    _same(samples, SAMPLE_COLUMNS)
    _same(summary_table(samples), SUMMARY_COLUMNS)
    assert tcp.to_pandas().attrs == tcp.attrs


def _tables(path: Path) -> dict[str, ColumnTable]:
    tables = {"tcp": tcp_table(path), "handshakes": handshake_table(path), "rtt": rtt_table(path),
              "flows": flows_table(path)}
    tables["rtt --summary"] = summary_table(tables["rtt"])
    tables["tcptrace"] = as_table(next(iter(StatsRuns(str(path)).tables())))
    try:
        lab = lab_tcp(path)
    except LabError:  # (a capture the lab cannot answer: no handshake)
        return tables
    tables["lab answers"], tables["lab segments"] = lab.answers_table(), lab.segments_table()
    return tables


def _text(df: ColumnTable | pd.DataFrame, fmt: str) -> bytes:
    if fmt == "csv":
        return b"".join(bytes(part) for part in csv_parts(df))
    if fmt == "json":
        return b"".join(bytes(part) for part in jsonl_parts(df))
    out = io.StringIO()
    out.writelines(table_text_chunks(df, width=120))
    return out.getvalue().encode()


@pytest.mark.parametrize("rel", FILES)
def test_the_writers_give_the_same_bytes_from_the_table_and_from_its_dataframe(rel: str) -> None:
    """Table, CSV and JSON Lines of each report: formatted from the column table (the
    CLI's path, no pandas) and from the DataFrame the library returns."""
    for name, table in _tables(_path(rel)).items():
        frame = table.to_pandas()
        assert len(frame) == len(table), name
        for fmt in ("table", "csv", "json"):
            assert _text(table, fmt) == _text(frame, fmt), (name, fmt)


def test_column_from_list_holds_pandas_values() -> None:
    for values, dtype in (([1, None, 3], "Int64"), ([1.5, None], "float64"), ([True, None], "boolean"),
                          (["a", None], "string"), ([5, None], "datetime64[ns]"), ([], "Int64")):
        got = ColumnTable({"x": column_from_list(values, dtype)}).to_pandas()["x"]
        pd.testing.assert_series_equal(got, pd.Series(column(list(values), dtype), name="x"))


def test_callers_may_import_pandas_between_the_parts() -> None:
    """The CSV / JSON writers keep pandas out only while they make a part: the caller's
    code between two parts imports as usual (a fresh interpreter: pandas not imported)."""
    script = """
from pcapkit.columnar.column_table import ColumnTable, column_from_list
from pcapkit.reports.column_text import csv_parts, jsonl_parts
table = ColumnTable({"ip.src": column_from_list(["10.0.0.1", None], "string"),
                     "tcp.len": column_from_list([1, None], "Int64")})
for parts in (csv_parts(table), jsonl_parts(table)):
    for part in parts:
        import pandas  # noqa: F401
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
