"""Export to Parquet: read back by pandas equals the in-memory table; partitioned output;
the Dask engine (a real local cluster) gives exactly the single-process result."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import CAPTURES, CORPUS, REPO

from pcapkit.cli.export_cmd import export
from pcapkit.columnar.api import read_packets
from pcapkit.reports.export import FILE_COLUMN, export_local

FILES = [CORPUS / "labs" / "NAT_ISP_side.pcap", CORPUS / "formats" / "le_test202.pcapng",
         CORPUS / "formats" / "dlt_null.dmp.gz", CORPUS / "tcp" / "fast_reuse.dmp.gz"]


def _norm(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as their text (categories may be ordered differently per part)."""
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
    return out.reset_index(drop=True)


@pytest.fixture(scope="module", autouse=True)
def _have_corpus() -> None:
    if not all(f.exists() for f in FILES):
        pytest.skip("corpus not available")


def test_single_file_roundtrip(tmp_path: Path) -> None:
    out = tmp_path / "p.parquet"
    res = export_local([str(FILES[0])], str(out))
    assert res.rows == 210 and res.files == [str(out)]
    back = pd.read_parquet(out)
    ref = read_packets(FILES[0])
    assert list(back.columns) == list(ref.columns)
    assert (back.dtypes == ref.dtypes).all()
    pd.testing.assert_frame_equal(_norm(back), _norm(ref))


def test_partitioned_output(tmp_path: Path) -> None:
    out = tmp_path / "parts"
    res = export_local([str(FILES[0])], str(out), partition_rows=50, chunk_packets=64)
    assert res.rows == 210
    parts = sorted(out.glob("part-*.parquet"))
    assert len(parts) == 5  # 50+50+50+50+10
    assert [len(pd.read_parquet(p)) for p in parts] == [50, 50, 50, 50, 10]
    back = pd.read_parquet(out).drop(columns=[FILE_COLUMN])
    pd.testing.assert_frame_equal(_norm(back), _norm(read_packets(FILES[0])))


def test_dask_equals_single_process(tmp_path: Path) -> None:
    from pcapkit.reports.dask_engine import export_dask, local_client

    inputs = [str(f) for f in FILES]
    export_local(inputs, str(tmp_path / "local"), partition_rows=100)
    client = local_client(n_workers=2, processes=False)
    try:
        res = export_dask(inputs, str(tmp_path / "dask"), partition_rows=100, client=client)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    assert not res.errors
    local_parts = sorted(p.name for p in (tmp_path / "local").iterdir())
    dask_parts = sorted(p.name for p in (tmp_path / "dask").iterdir())
    assert local_parts == dask_parts
    a = pd.read_parquet(tmp_path / "local")
    b = pd.read_parquet(tmp_path / "dask")
    assert len(a) == sum(len(read_packets(f)) for f in FILES)
    pd.testing.assert_frame_equal(_norm(a), _norm(b))


def test_cli_export_and_bad_file(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "x.parquet"
    r = runner.invoke(export, [str(FILES[1]), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert len(pd.read_parquet(out)) == len(read_packets(FILES[1]))
    bad = CORPUS / "broken" / "pcap-invalid-version-1.pcap"
    r = runner.invoke(export, [str(bad), "-o", str(tmp_path / "y.parquet")])
    assert r.exit_code == 1
    assert "Traceback" not in r.output
    assert "pcap: major version 1 unsupported" in r.output  # the record reader's message


def test_progress_bar_reports_and_stays_quiet_off_tty(capsys: pytest.CaptureFixture[str]) -> None:
    from pcapkit.cli.progress import ProgressBar

    seen: list[tuple[int, int]] = []
    with ProgressBar(FILES[0].stat().st_size, enabled=False) as bar:
        read_packets(FILES[0], progress=lambda p, b: (seen.append((p, b)), bar.update(p, b)))
    assert seen[-1][0] == 210 and seen[-1][1] == FILES[0].stat().st_size
    assert bar.packets == 210
    assert capsys.readouterr().err == ""  # not a terminal: nothing drawn
    with ProgressBar(1000, enabled=True) as bar:  # drawing path works (rich, on stderr)
        bar.update(10, 500)
        bar.update(20, 1000)


def test_dask_scheduler_address(tmp_path: Path) -> None:
    """--scheduler ADDRESS: connect to a running scheduler instead of starting one."""
    from dask.distributed import LocalCluster

    from pcapkit.reports.dask_engine import export_dask

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")
    try:
        res = export_dask([str(FILES[0])], str(tmp_path / "out"), scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
    assert res.rows == 210 and not res.errors
    back = pd.read_parquet(tmp_path / "out").drop(columns=[FILE_COLUMN])
    pd.testing.assert_frame_equal(_norm(back), _norm(read_packets(FILES[0])))


def test_cli_entry_point(tmp_path: Path) -> None:
    """`pcapkit export` through the real entry point (lazy command table)."""
    import subprocess
    import sys

    out = tmp_path / "e.parquet"
    proc = subprocess.run([sys.executable, "-m", "pcapkit", "export", str(FILES[0]), "-o", str(out),
                           "--table", "flows"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    back = pd.read_parquet(out)
    from pcapkit.reports.flows import flows

    ref = flows(str(FILES[0]))
    assert len(back) == len(ref) > 0
    assert back["first_frame"].tolist() == ref["first_frame"].tolist()


@pytest.mark.parametrize("table", ["tcp", "flows", "rtt"])
@pytest.mark.parametrize("target", ["dir/", "one.parquet"])
def test_several_inputs_name_their_file(table: str, target: str, tmp_path: Path) -> None:
    """tcp / flows / rtt of several inputs: one table (the inputs analysed as one capture)
    with pcapkit.file naming each row's input, as a single file or part files in a
    directory given with a trailing slash (GitHub issue 11, item 2)."""
    import pandas as pd

    from pcapkit.reports.tcp import tcp_frames

    inputs = [str(CAPTURES / "tcp-download.pcapng"), str(CAPTURES / "tcp-upload.pcap")]
    out = str(tmp_path / target)
    proc = subprocess.run([sys.executable, "-m", "pcapkit", "export", *inputs, "-o", out, "--table", table],
                          capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    df = pd.read_parquet(out)
    assert list(df["pcapkit.file"].cat.categories) == ["tcp-download.pcapng", "tcp-upload.pcap"]
    if table == "tcp":
        # the rows of each input are that input's own tcp table, frames numbered on
        first = tcp_frames(inputs[0])
        mine = df[df["pcapkit.file"] == "tcp-download.pcapng"]
        assert mine["tcp.seq_raw"].tolist() == first["tcp.seq_raw"].tolist()
        assert mine["frame.number"].tolist() == first["frame.number"].tolist()
        theirs = df[df["pcapkit.file"] == "tcp-upload.pcap"]
        assert len(theirs) == len(tcp_frames(inputs[1])) and theirs["frame.number"].min() > 548


@pytest.mark.parametrize("words", [["export", "--table", "tcp"], ["tcp", "--format", "parquet", "-o"],
                                   ["flows", "--format", "parquet", "-o"]])
def test_parquet_dictionary_encodes_only_repeating_columns(tmp_path: Path, words: list[str]) -> None:
    """Every writer dictionary-encodes the address (Arrow dictionary) and string columns
    and no other (hashing every integer value was a third of the write), and the file
    reads back as the table it was written from."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pcapkit.cli.main import cli

    out = tmp_path / "out.parquet"
    args = [*words, str(out), str(FILES[3])] if words[0] != "export" else [*words, str(FILES[3]), "-o", str(out)]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    path = next(iter(sorted(out.glob("*.parquet")))) if out.is_dir() else out
    meta = pq.ParquetFile(path).metadata
    schema = pq.read_schema(path)
    repeated = {f.name for f in schema if pa.types.is_dictionary(f.type) or pa.types.is_string(f.type)
                or pa.types.is_large_string(f.type)}
    assert repeated
    for i in range(meta.num_columns):
        column = meta.row_group(0).column(i)
        if pa.types.is_null(schema.field(column.path_in_schema).type):
            continue  # (a column of no value: an empty dictionary column is stored as nulls)
        dictionary = any("DICTIONARY" in e for e in column.encodings)
        assert dictionary == (column.path_in_schema in repeated), (column.path_in_schema, column.encodings)


@pytest.mark.parametrize("capture", [CORPUS / "tcp" / "fast_reuse.dmp.gz", CORPUS / "labs" / "NAT_ISP_side.pcap"])
def test_tcp_export_writes_the_tcp_table_without_pandas(capture: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The tcp table is written from its columns (no DataFrame on the way): the file has
    the schema pyarrow gives the DataFrame and reads back as ``tcp_frames``, dtype for
    dtype, value for value."""
    import pyarrow.parquet as pq

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.reports.export import arrow_table
    from pcapkit.reports.tcp import tcp_frames

    def no_frame(self: ColumnTable) -> pd.DataFrame:
        raise AssertionError("the export made a DataFrame")

    out = tmp_path / "tcp.parquet"
    with monkeypatch.context() as patched:
        patched.setattr(ColumnTable, "to_pandas", no_frame)
        res = export_local([str(capture)], str(out), table="tcp")
    assert res.errors == []
    ref = tcp_frames(capture)
    back = pd.read_parquet(out)
    assert res.rows == len(ref) > 0
    # (a Parquet dictionary of text reads back as categories of pandas' str, whichever wrote it)
    def kinds(df: pd.DataFrame) -> list[str]:
        return ["category" if isinstance(t, pd.CategoricalDtype) else str(t) for t in df.dtypes]

    assert kinds(back) == kinds(ref)
    pd.testing.assert_frame_equal(_norm(back), _norm(ref), check_exact=True)
    through_pandas = arrow_table(ref)
    written = pq.read_schema(out)
    assert [(f.name, f.type) for f in written] == [(f.name, f.type) for f in through_pandas.schema]


def test_text_column_to_arrow_keeps_missing_values() -> None:
    """A string column, from a dictionary or from values, with missing slots: the Arrow
    array pyarrow makes of its pandas array."""
    import numpy as np
    import pyarrow as pa

    from pcapkit.columnar.column_table import Column, ColumnTable
    from pcapkit.reports.export import arrow_table

    mask = np.array([False, True, False, False])
    coded = Column(np.array([1, 0, 0, 2]), mask, "string", texts=np.array(["A", "B", "C"], dtype=object))
    plain = Column(np.array(["x", "", "yz", "x"], dtype=object), mask, "string")
    table = ColumnTable({"coded": coded, "plain": plain})
    mine = arrow_table(table)
    theirs = pa.Table.from_pandas(table.to_pandas(), preserve_index=False)
    assert mine.column("coded").to_pylist() == ["B", None, "A", "C"]
    assert mine.column("plain").to_pylist() == ["x", None, "yz", "x"]
    assert mine.equals(theirs, check_metadata=False)
    pd.testing.assert_frame_equal(mine.to_pandas(), table.to_pandas())


def test_cli_parquet_keeps_the_dtypes_of_empty_address_columns(tmp_path: Path) -> None:
    """``tcp --format parquet`` and ``export --table tcp`` write the same table: an address
    column without a value (ipv6.src of an IPv4 capture) reads back as a category, as the
    API gives it, not as Python objects (pyarrow writes an empty categorical as nulls)."""
    from pcapkit.cli.main import cli
    from pcapkit.reports.tcp import tcp_frames

    capture = FILES[3]
    ref = tcp_frames(capture)
    assert ref["ipv6.src"].isna().all() and isinstance(ref["ipv6.src"].dtype, pd.CategoricalDtype)
    cli_out, export_out = tmp_path / "cli.parquet", tmp_path / "export.parquet"
    for args in (["tcp", "--format", "parquet", "-o", str(cli_out), str(capture)],
                 ["export", "--table", "tcp", str(capture), "-o", str(export_out)]):
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
    by_cli, by_export = pd.read_parquet(cli_out), pd.read_parquet(export_out)
    assert isinstance(by_cli["ipv6.src"].dtype, pd.CategoricalDtype)
    pd.testing.assert_frame_equal(by_cli, by_export, check_exact=True)
    pd.testing.assert_frame_equal(_norm(by_cli), _norm(ref), check_exact=True)


@pytest.mark.parametrize("table", ["packets", "tcp", "flows", "rtt"])
def test_inputs_of_the_same_name_are_told_apart(table: str, tmp_path: Path) -> None:
    """A directory whose subfolders hold files of the same name, and one of them given
    again: pcapkit.file names each input by its path from the common folder (the second
    time with its turn), instead of failing on a repeated category."""
    from pcapkit.reports.export import input_names

    for sub in ("a", "b"):
        (tmp_path / "in" / sub).mkdir(parents=True)
        (tmp_path / "in" / sub / "x.pcap").write_bytes((CAPTURES / "tcp-upload.pcap").read_bytes())
    again = str(tmp_path / "in" / "a" / "x.pcap")
    names = input_names([str(tmp_path / "in" / "a" / "x.pcap"), str(tmp_path / "in" / "b" / "x.pcap"), again])
    assert names == ["a/x.pcap", "b/x.pcap", "a/x.pcap [2]"]
    assert input_names(["/one/x.pcap", "/two/y.pcap"]) == ["x.pcap", "y.pcap"]
    res = export_local([str(tmp_path / "in"), again], str(tmp_path / "out") + "/", table=table)
    assert res.errors == []
    df = pd.read_parquet(tmp_path / "out")
    assert list(df[FILE_COLUMN].cat.categories) == names
    counts = df[FILE_COLUMN].value_counts()
    if table == "flows":  # (one conversation, three times over: named after the file it began in)
        assert counts["a/x.pcap"] == len(df)
    else:
        assert counts["a/x.pcap"] == counts["b/x.pcap"] == counts["a/x.pcap [2]"] == len(df) // 3 > 0


def test_cli_parquet_keeps_an_ordered_categorical() -> None:
    """``expert --format parquet``: severity reads back as the API's ordered categorical
    (Error > Warn > Note > Chat), the rows as the API's summary of ``expert_items``."""
    import tempfile

    from pcapkit.cli.main import cli
    from pcapkit.reports.expert import expert_items, summarize

    capture = CORPUS / "labs" / "tcp-ethereal-trace-1"
    ref = summarize(expert_items(capture))
    assert ref["severity"].cat.ordered and len(ref) > 0
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "expert.parquet"
        result = CliRunner().invoke(cli, ["expert", "--format", "parquet", "-o", str(out), str(capture)],
                                    catch_exceptions=False)
        assert result.exit_code == 0, result.output
        back = pd.read_parquet(out)
    assert back["severity"].cat.ordered
    assert list(back["severity"].cat.categories) == list(ref["severity"].cat.categories)
    pd.testing.assert_frame_equal(_norm(back), _norm(ref), check_exact=True)
