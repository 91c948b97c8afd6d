"""The column-at-a-time CSV and JSON Lines writers (pcapkit.reports.column_text) write what
the per-row writers they replaced wrote, byte for byte: pandas' ``to_csv`` (after the
exact-time and positional-float conversions) and one ``json.dumps`` per row. The old
writers are kept here as the reference; they run on the report tables of a corpus
sample and on a frame of every awkward value."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from conftest import CORPUS

from pcapkit.reports.column_text import CHUNK_ROWS
from pcapkit.reports.column_text import is_missing as _is_missing
from pcapkit.reports.column_text import json_value as _json_value
from pcapkit.reports.output import text_frame, write_csv, write_jsonl


def _positional_floats(col: pd.Series) -> pd.Series:
    values = col.to_numpy(dtype="float64", na_value=np.nan)
    magnitude = np.abs(values)
    scientific = np.isfinite(values) & (magnitude != 0) & ((magnitude < 1e-4) | (magnitude >= 1e16))
    if not scientific.any():
        return col
    out = col.astype(object)
    where = np.flatnonzero(scientific)
    out.iloc[where] = [np.format_float_positional(v, trim="-") for v in values[where]]
    return out


def old_csv(df: pd.DataFrame, header: bool = True) -> str:
    """The CSV writer before the column writer (pandas' to_csv, in chunks)."""
    stream = io.StringIO()
    if df.empty:
        df.to_csv(stream, index=False, header=header)
        return stream.getvalue()
    for start in range(0, len(df), 100_000):
        chunk = text_frame(df.iloc[start:start + 100_000])
        for name in chunk.columns:
            if pd.api.types.is_float_dtype(chunk[name].dtype):
                chunk[name] = _positional_floats(chunk[name])
        chunk.to_csv(stream, index=False, header=header and start == 0)
    return stream.getvalue()


def old_jsonl(df: pd.DataFrame) -> str:
    """The JSON Lines writer before the column writer (one json.dumps per row)."""
    tdf = text_frame(df)
    columns = list(tdf.columns)
    lines = []
    for row in tdf.itertuples(index=False, name=None):
        obj = {c: _json_value(v) for c, v in zip(columns, row, strict=True) if not _is_missing(v)}
        lines.append(json.dumps(obj, ensure_ascii=False) + "\n")
    return "".join(lines)


def new_csv(df: pd.DataFrame, header: bool = True) -> str:
    stream = io.StringIO()
    write_csv(df, stream, header)
    return stream.getvalue()


def new_jsonl(df: pd.DataFrame) -> str:
    stream = io.StringIO()
    write_jsonl(df, stream)
    return stream.getvalue()


def awkward_frame(rows: int = 12) -> pd.DataFrame:
    """A frame of every dtype a report has, with missing values and the texts that need
    quoting or escaping."""
    rng = np.random.default_rng(7)
    texts = ["plain", 'a "quoted" word', "a,comma", "line\nbreak", "carriage\rreturn", "tab\tx", "back\\slash",
             "ctl\x01x", "é ü 中", "", " lead", "\u2028sep"]
    floats = np.array([0.0, -0.0, 1.5, 1e-05, -9.3e-05, 1e16, 1.2345678901234567e20, 123456.789, np.nan,
                       np.inf, -np.inf, 0.1 + 0.2])
    ns = rng.integers(-2_000_000_000, 1_800_000_000_000_000_000, rows)
    return pd.DataFrame({
        "i64": rng.integers(-10**12, 10**12, rows),
        "Int64": pd.array([None if k % 3 == 0 else k * 7 for k in range(rows)], dtype="Int64"),
        "UInt16": pd.array([None if k % 4 == 1 else k for k in range(rows)], dtype="UInt16"),
        "uint32": np.arange(rows, dtype=np.uint32) * 400_000_000,
        "float": floats[:rows],
        "random": rng.normal(0, 1e3, rows),
        "bool": rng.integers(0, 2, rows).astype(bool),
        "boolean": pd.array([None if k % 5 == 0 else bool(k % 2) for k in range(rows)], dtype="boolean"),
        "string": pd.array([None if k == 3 else texts[k % len(texts)] for k in range(rows)], dtype="string"),
        "category": pd.Categorical([None if k % 6 == 2 else ["10.0.0.1", "::1", "x,y"][k % 3] for k in range(rows)]),
        "time": pd.array(ns.view("datetime64[ns]")).astype("datetime64[ns]"),
        "delta": pd.to_timedelta(rng.integers(-10**12, 10**12, rows)),
        "objects": pd.Series([[1, 2], b"\x01\xff", None, "text", 3, 2.5, (4,), "NA", "q\"", np.nan, 7, "z"][:rows],
                             dtype=object),
        'odd "name",x': np.arange(rows),
    })


def test_awkward_values_as_before() -> None:
    df = awkward_frame()
    df.loc[5, "time"] = pd.NaT
    df.loc[6, "delta"] = pd.NaT
    assert new_csv(df) == old_csv(df)
    assert new_csv(df, header=False) == old_csv(df, header=False)
    assert new_jsonl(df) == old_jsonl(df)
    for name in df.columns:  # each column alone (one field a row: the csv module quotes an empty one)
        one = df[[name]]
        assert new_csv(one) == old_csv(one), name
        assert new_jsonl(one) == old_jsonl(one), name


def test_empty_and_chunked_frames_as_before() -> None:
    empty = awkward_frame().iloc[:0]
    assert new_csv(empty) == old_csv(empty)
    assert new_jsonl(empty) == old_jsonl(empty) == ""  # (the old writer failed on an empty time column)
    big = pd.concat([awkward_frame()] * (CHUNK_ROWS // 12 + 2), ignore_index=True)
    assert len(big) > CHUNK_ROWS
    assert new_csv(big) == old_csv(big)


FILES = ["labs/tcp-ethereal-trace-1", "labs/http-ethereal-trace-5", "labs/NAT_ISP_side.pcap",
         "tcp/bigtransfer.pcap", "tcp/fast_reuse.dmp.gz", "tcp/6syns.dmp.gz", "tcp/dsack.dmp.gz"]


@pytest.mark.parametrize("name", FILES)
def test_report_tables_as_before(name: str) -> None:
    from pcapkit.reports.flows import flows
    from pcapkit.reports.handshakes import handshakes
    from pcapkit.reports.rtt import rtt_samples
    from pcapkit.reports.tcp import tcp_frames
    from pcapkit.tcpflow.tcptrace import tcptrace_stats

    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{path} not in the corpus")
    tables: dict[str, Any] = {"tcp": tcp_frames(path), "flows": flows(path), "tcptrace": tcptrace_stats(path),
                              "handshakes": handshakes(path), "rtt": rtt_samples(path)}
    for report, df in tables.items():
        assert new_csv(df) == old_csv(df), report
        assert new_jsonl(df) == old_jsonl(df), report
