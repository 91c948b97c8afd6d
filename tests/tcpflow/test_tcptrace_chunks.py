"""tcptrace's statistics computed a run of address/port pairs at a time
(:mod:`pcapkit.tcpflow.tcptrace.chunks`) and written a part at a time
(:func:`pcapkit.cli.output.write_report_frames`) are those of one run over everything,
written whole: the same DataFrame, the same bytes in every format, on real captures and on
one where a pair opens connections again after later pairs (held back until their turn),
whose connections are those the real tcptrace finds."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from conftest import CORPUS, corpus_files
from test_tcptrace import tcptrace_long

from pcapkit.capture.files import open_capture
from pcapkit.capture.writer import PcapWriter
from pcapkit.cli.output import table_extents, write_report, write_report_frames
from pcapkit.cli.views import ColumnChoice
from pcapkit.frame import Frame
from pcapkit.reports.table import TableExtents, table_text_chunks, table_text_frames
from pcapkit.tcpflow.segments import segment_table
from pcapkit.tcpflow.tcptrace import tcptrace_stats
from pcapkit.tcpflow.tcptrace.chunks import StatsRuns, run_bounds

REUSE = "tcp/fast_reuse.dmp.gz"  # one address/port pair, 18 connections
MANY = "tcp/http.dmp.gz"  # 61 pairs


def _frames(path: Path) -> list[Frame]:
    with open_capture(path) as reader:
        return list(reader)


@pytest.fixture(scope="module")
def interleaved(corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The frames of REUSE and MANY taken in turn (1 ms apart): REUSE's pair opens its
    later connections after MANY's pairs first appear."""
    reuse, many = _frames(corpus / REUSE), _frames(corpus / MANY)
    order = [f for pair in zip(reuse, many, strict=False) for f in pair]
    order += reuse[len(many):] + many[len(reuse):]
    path = tmp_path_factory.mktemp("chunks") / "interleaved.pcap"
    with PcapWriter(path, linktype=1) as writer:
        for i, f in enumerate(order, 1):
            writer.write(Frame(i, 1_700_000_000_000_000_000 + i * 1_000_000, f.caplen, f.wirelen, 1, 0, f.data))
    return path


def _joined(runs: StatsRuns) -> pd.DataFrame:
    frames = list(runs.frames())
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _same(whole: pd.DataFrame, parts: pd.DataFrame) -> None:
    pdt.assert_frame_equal(whole, parts, check_exact=True)
    assert list(whole.dtypes) == list(parts.dtypes)


def test_run_bounds() -> None:
    segments = np.array([5, 1, 1, 9, 1, 1, 1])
    assert run_bounds(segments, run_pairs=3, run_segments=100) == [(0, 3), (3, 6), (6, 7)]
    # a pair with more segments than a run holds is a run alone
    assert run_bounds(segments, run_pairs=10, run_segments=6) == [(0, 2), (2, 3), (3, 4), (4, 7)]
    assert run_bounds(np.zeros(0, np.int64)) == []


@pytest.mark.parametrize("rel", [str(p.relative_to(CORPUS)) for p in corpus_files("tcp", "labs")
                                 if p.name in ("http.dmp.gz", "bro.org.pcap", "dhcp-wireshark-trace1-1.pcapng",
                                               "fast_reuse.dmp.gz", "tcp.dmp.gz", "ssl-ethereal-trace-1")])
@pytest.mark.parametrize("run_pairs", [1, 4])
def test_runs_give_the_whole_table(corpus: Path, rel: str, run_pairs: int) -> None:
    table = segment_table(corpus / rel)
    _same(tcptrace_stats(table), _joined(StatsRuns(table, run_pairs=run_pairs, run_segments=200)))


def test_connections_reopened_after_later_pairs(interleaved: Path) -> None:
    table = segment_table(interleaved)
    runs = StatsRuns(table, run_pairs=5)
    assert len(runs) > 1
    parts = list(runs.frames())
    whole = tcptrace_stats(table)
    _same(whole, pd.concat(parts, ignore_index=True))
    assert runs.held_back > 0  # (rows of REUSE's later connections waited for later runs' rows)


@pytest.mark.skipif(shutil.which("tcptrace") is None, reason="tcptrace not installed")
def test_interleaved_connections_are_tcptraces(interleaved: Path) -> None:
    ref = tcptrace_long(interleaved)
    df = _joined(StatsRuns(segment_table(interleaved), run_pairs=5))
    assert df["conn"].max() == len(ref)
    for number, conn in enumerate(ref, 1):
        a2b = df[(df["conn"] == number) & (df["direction"] == "a2b")].iloc[0]
        host_a = next(v for k, v in conn["hdr"].items() if k.startswith("host "))  # (host a, c, e, ...)
        assert f"{a2b['src']}:{a2b['sport']}" == host_a
        assert str(a2b["total_packets"]) == conn["a"]["total packets"]
        assert str(a2b["unique_bytes_sent"]) == conn["a"]["unique bytes sent"]


@pytest.mark.parametrize("fmt", ["table", "csv", "json", "parquet"])
@pytest.mark.parametrize("columns", [None, "all", "conn,src,RTT_avg_ms"])
def test_written_in_parts_as_whole(interleaved: Path, tmp_path: Path, fmt: str, columns: str | None) -> None:
    table = segment_table(interleaved)
    choice = ColumnChoice(columns, ())
    ext = {"table": "txt", "json": "jsonl"}.get(fmt, fmt)
    whole_path, parts_path = tmp_path / f"whole.{ext}", tmp_path / f"parts.{ext}"
    write_report(tcptrace_stats(table), fmt, str(whole_path), choice=choice, view="tcptrace")
    runs = StatsRuns(table, run_pairs=3)
    extents = None
    if fmt == "table":
        extents = table_extents(choice, "tcptrace")
        runs.survey(extents.add)
    write_report_frames(runs.frames(), fmt, str(parts_path), extents=extents, choice=choice, view="tcptrace")
    if fmt == "parquet":
        _same(pd.read_parquet(whole_path), pd.read_parquet(parts_path))
    else:
        assert parts_path.read_bytes() == whole_path.read_bytes()


def test_table_extents_take_the_whole_columns_dtype() -> None:
    """A part whose integer column has no NA is laid out as the float column the whole
    holds (NA elsewhere); a column no row fills has no width."""
    a = pd.DataFrame({"n": np.array([1, 22], np.int64), "x": [None, None], "t": ["a", "bbb"],
                      "flag": [True, True]})
    b = pd.DataFrame({"n": np.array([333.0, np.nan]), "x": [None, None], "t": ["cc", None],
                      "flag": [True, False]})
    whole = pd.concat([a, b], ignore_index=True)
    extents = TableExtents()
    extents.add(a)
    extents.add(b.assign(n=b["n"]))
    final = [a.astype({"n": "float64"}), b]
    assert "".join(table_text_frames(final, extents, width=40)) == "".join(table_text_chunks(whole, width=40))
    assert not extents.filled["x"]
