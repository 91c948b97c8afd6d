"""Table lines from byte cells (:mod:`pcapkit.reports.ascii_cells`) against the general
path (numpy text cells, UCS-4 lines): the same text, character for character, on numbers
at their extremes, negative and missing values, times before 1970 and NaT, Latin-1 text
(tshark's flag dots, blanks str.rstrip strips) and text beyond it, and the tables of real
reports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CORPUS

from pcapkit.reports import table as table_mod
from pcapkit.reports.table import plan, row_lines


def _both(df: pd.DataFrame, monkeypatch: pytest.MonkeyPatch, width: int = 400) -> tuple[str, str]:
    layout = plan(df, list(df.columns), width)
    fast = "".join(row_lines(df, layout))
    with monkeypatch.context() as m:
        m.setattr(table_mod, "_ascii_lines", lambda chunk, cols: None)
        general = "".join(row_lines(df, layout))
    return fast, general


def _numbers(rng: np.random.Generator, n: int) -> pd.DataFrame:
    i64 = np.iinfo(np.int64)
    edges = np.array([0, 1, -1, 9, 10, -10, 99, 100, i64.max, i64.min, i64.min + 1, 10**18, -(10**18)], np.int64)
    ints = np.concatenate([edges, rng.integers(i64.min, i64.max, n - edges.size, dtype=np.int64)])
    small = rng.integers(-5, 7, n).astype(np.int8)
    u64 = rng.integers(0, np.iinfo(np.uint64).max, n, dtype=np.uint64, endpoint=True)
    u64[:3] = [0, np.iinfo(np.uint64).max, 10**19]
    ns = rng.integers(-(10**19) // 10, 10**19 // 10, n, dtype=np.int64)
    ns[:4] = [0, -1, -999_999_999, 1_700_000_000_123_456_789]
    missing = rng.random(n) < 0.1
    return pd.DataFrame({
        "int64": ints, "int8": small, "uint64": u64,
        "nullable": pd.array(np.where(missing, None, ints % 100_000).tolist(), dtype="Int64"),
        "UInt16": pd.array(np.where(missing, None, (ints % 65536).astype(np.int64)).tolist(), dtype="UInt16"),
        "frame.time_epoch": ns.astype("datetime64[ns]"),
        "frame.time_relative": pd.to_timedelta(np.abs(ns) % 10**12, unit="ns"),
        "tcp.analysis.ack_rtt": pd.to_timedelta(np.where(missing, -1, ns % 10**9), unit="ns").where(~missing),
        "float": rng.normal(0, 1e6, n), "flag": rng.random(n) < 0.5,
        "text": np.array(["a", "bb", "slow_start", ""], dtype=object)[rng.integers(0, 4, n)],
    })


@pytest.mark.parametrize("n", [70, 1_000, 60_000])
def test_numbers_as_the_general_path(n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    fast, general = _both(_numbers(np.random.default_rng(n), n), monkeypatch)
    assert fast == general


def test_nat_and_ns_extremes(monkeypatch: pytest.MonkeyPatch) -> None:
    values = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0, -1] * 20, np.int64)
    df = pd.DataFrame({"frame.time_epoch": values.view("datetime64[ns]"),
                       "frame.time_delta": values.view("timedelta64[ns]")})
    fast, general = _both(df, monkeypatch)
    assert fast == general


def test_text_beyond_latin1_takes_the_general_path(monkeypatch: pytest.MonkeyPatch) -> None:
    df = pd.DataFrame({"n": np.arange(100), "name": ["é", "ascii", "日本", "x\u3000"] * 25})
    fast, general = _both(df, monkeypatch)
    assert fast == general and "日本" in fast


def test_latin1_text_and_its_blanks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The flag dots take the byte path; a cell ending in NBSP or NEL (blanks to str.rstrip)
    last on its line is cut as the general path cuts it."""
    df = pd.DataFrame({"n": np.arange(200), "flags": ["·······A··S·", "é", "a\xa0", "b\x85"] * 50})
    layout = plan(df, list(df.columns), 400)
    assert table_mod._ascii_lines(table_mod.as_table(df), layout.shown) is not None
    fast, general = _both(df, monkeypatch)
    assert fast == general


def test_the_fast_path_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """(The tests above compare something: the ASCII path does take these tables.)"""
    df = _numbers(np.random.default_rng(1), 500)
    layout = plan(df, list(df.columns), 400)
    chunk = table_mod.as_table(df)
    assert table_mod._ascii_lines(chunk, layout.shown) is not None


REPORTS = ["labs/tcp-ethereal-trace-1", "tcp/206_example_b.pcap", "labs/http-ethereal-trace-4"]


@pytest.mark.parametrize("rel", REPORTS)
def test_report_tables_as_the_general_path(rel: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from pcapkit.reports.congestion import congestion_segments
    from pcapkit.reports.tcp import tcp_frames

    path = Path(CORPUS / rel)
    if not path.exists():
        pytest.skip("corpus missing")
    for df in (tcp_frames(path), congestion_segments(path)):
        fast, general = _both(df, monkeypatch, width=100)
        assert fast == general
        fast, general = _both(df, monkeypatch)
        assert fast == general
