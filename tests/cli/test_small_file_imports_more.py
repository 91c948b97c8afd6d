"""expert, iostat, congestion, export, show and stats on a 200-frame capture import neither
pandas nor numba (issue 13: a command on a small file in about tshark's time), their
whole-process output is the bytes of the in-process CLI (where pandas is imported), and
the CLI, which formats numpy columns, writes what the library's DataFrames give: the same
bytes in table, CSV and JSON, Parquet read back equal (dtype for dtype) on several corpus
files; export's Parquet as the DataFrame path writes it (schema metadata included)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from conftest import CORPUS
from import_probe import run_probed

from pcapkit.cli.main import cli

SMALL = "labs/tcp-ethereal-trace-1"  # 213 frames
TARGET = "{out}"  # (an output file in the test's directory)
# "{}": the capture
COMMANDS = [["expert", "{}"], ["expert", "{}", "--items"], ["expert", "{}", "--format", "csv"],
            ["expert", "{}", "--items", "--format", "json"], ["expert", "{}", "port", "80"],
            ["iostat", "{}"], ["iostat", "{}", "--format", "csv", "-i", "0.5", "tcp", "udp", ""],
            ["iostat", "{}", "--format", "json", "-i", "0"],
            ["congestion", "{}"], ["congestion", "{}", "--format", "json"], ["congestion", "{}", "--summary"],
            ["congestion", "{}", "--summary", "--format", "csv"],
            ["export", "--table", "packets", "-o", TARGET, "{}"], ["show", "{}"], ["stats", "{}", "--format", "json"],
            ["stats", "{}", "--format", "csv"]]



def _argv(argv: list[str], capture: Path, out: Path) -> list[str]:
    return [str(capture) if a == "{}" else str(out) if a == TARGET else a for a in argv]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_command_on_a_small_file_imports_no_pandas(argv: list[str], tmp_path: Path) -> None:
    small = CORPUS / SMALL
    if not small.is_file():
        pytest.skip(f"{SMALL} not in corpus")
    proc, imported = run_probed(_argv(argv, small, tmp_path / "sub.parquet"))
    assert imported == ["IMPORTED "], proc.stderr.decode()[-2000:]
    # the same bytes as the CLI run where pandas is imported (this test's process)
    result = CliRunner().invoke(cli, _argv(argv, small, tmp_path / "in.parquet"), env={"COLUMNS": "120"})
    assert proc.returncode == result.exit_code
    assert proc.stdout == result.stdout_bytes
    if TARGET in argv:
        _assert_same_parquet(tmp_path / "sub.parquet", tmp_path / "in.parquet")


def _assert_same_parquet(a: Path, b: Path) -> None:
    """The same DataFrame read back, dtype for dtype, and the same schema (with pandas' metadata)."""
    left, right = pd.read_parquet(a), pd.read_parquet(b)
    pd.testing.assert_frame_equal(left, right, check_exact=True)
    assert left.dtypes.to_dict() == right.dtypes.to_dict()
    assert pq.read_schema(a).equals(pq.read_schema(b), check_metadata=True)


# several kinds of capture: TCP with items, no TCP at all, pcapng (dissected frame by frame),
# TCP Fast Open, IPv6, and a file cut short (made in the test)
FILES = ["labs/tcp-ethereal-trace-1", "tcp/206_example_b.pcap", "labs/dns-ethereal-trace-2",
         "labs/ip-wireshark-trace1-1.pcapng", "tcp/tcp-fast-open.pcap", "labs/icmp-ethereal-trace-2", "CUT"]


def _capture(name: str, tmp_path: Path) -> Path:
    if name == "CUT":  # tcp-ethereal-trace-1 cut in its 100th record: the items before, then the error
        whole = (CORPUS / SMALL).read_bytes()
        cut = tmp_path / "cut.pcap"
        cut.write_bytes(whole[:len(whole) // 2 + 7])
        return cut
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(f"{name} not in corpus")
    return path


def _library_output(argv: list[str], path: Path, fmt: str, target: Path) -> None:
    """What the command wrote before it formatted numpy columns: the library's DataFrame
    written by write_report (the expert table by expert_text)."""
    from pcapkit.cli.output import write_report, write_to
    from pcapkit.cli.views import ColumnChoice, with_time_relative
    from pcapkit.errors import PcapkitError

    out = str(target)
    command = argv[0]
    if command == "expert":
        from pcapkit.reports.expert import expert_items, expert_text, summarize

        df = expert_items(path, " ".join(a for a in argv[1:] if not a.startswith("--")) or None)
        items = "--items" in argv
        if not items:
            df = summarize(df)
        if fmt == "table" and not items:
            write_to(out, lambda s: s.write(expert_text(df)))
            if "pcapkit.error" in df.attrs:
                raise PcapkitError(str(df.attrs["pcapkit.error"]))
            return
        write_report(df, fmt, out)
    elif command == "iostat":
        from pcapkit.reports.iostat import iostat

        write_report(iostat(str(path), "0.5", ["tcp", ""]), fmt, out, choice=ColumnChoice())
    else:
        from pcapkit.reports.congestion import congestion_segments, congestion_summary

        if "--summary" in argv:
            write_report(congestion_summary(path), fmt, out, choice=ColumnChoice(), view="congestion --summary")
            return
        frame = congestion_segments(path)
        if fmt == "table":
            frame = with_time_relative(frame, str(path))
        write_report(frame, fmt, out, choice=ColumnChoice(), view="congestion")


def _cli_argv(argv: list[str], path: Path) -> list[str]:
    if argv[0] == "iostat":
        return ["iostat", str(path), "-i", "0.5", "tcp", ""]
    return [argv[0], str(path), *argv[1:]]


REPORTS = [["expert"], ["expert", "--items"], ["expert", "tcp"], ["iostat"], ["congestion"],
           ["congestion", "--summary"]]


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("argv", REPORTS, ids=" ".join)
@pytest.mark.parametrize("fmt", ["table", "csv", "json", "parquet"])
def test_the_cli_writes_what_the_library_dataframes_give(name: str, argv: list[str], fmt: str,
                                                         tmp_path: Path) -> None:
    path = _capture(name, tmp_path)
    options = [a for a in argv[1:] if a.startswith("--")]
    words = [a for a in argv[1:] if not a.startswith("--")]
    cli_out, lib_out = tmp_path / f"cli.{fmt}", tmp_path / f"lib.{fmt}"
    result = CliRunner().invoke(cli, [*_cli_argv([argv[0], *options], path), *words, "--format", fmt,
                                      "-o", str(cli_out)], env={"COLUMNS": "120"})
    error: Any = None
    try:
        _library_output([argv[0], *options, *words], path, fmt, lib_out)
    except Exception as exc:  # (a cut file: the table is written, then its error)
        error = exc
    assert (result.exit_code != 0) == (error is not None), (result.output, error)
    if fmt == "parquet":
        _assert_same_parquet(cli_out, lib_out)
    else:
        assert cli_out.read_bytes() == lib_out.read_bytes()


@pytest.mark.parametrize("name", ["labs/tcp-ethereal-trace-1", "labs/ip-wireshark-trace1-1.pcapng", "CUT"])
def test_export_writes_the_parquet_of_the_dataframe_path(name: str, tmp_path: Path) -> None:
    """The packets table exported without pandas is the file the DataFrame path writes:
    batches of 50 frames (each with its own dictionaries), as one file and as labelled parts."""
    from pcapkit.columnar.api import iter_batches
    from pcapkit.errors import PcapkitError
    from pcapkit.reports.export import input_names, write_parts

    path = _capture(name, tmp_path)

    def frames() -> Any:
        with contextlib.suppress(PcapkitError):  # (a cut file: the batches before the damage)
            yield from iter_batches(path, 50, strict=True)

    one = tmp_path / "one.parquet"
    result = CliRunner().invoke(cli, ["export", "--table", "packets", "--chunk-packets", "50", "-o", str(one),
                                      str(path)])
    assert result.exit_code == (1 if name == "CUT" else 0), result.output
    write_parts(frames(), "", 0, None, None, str(tmp_path / "ref.parquet"))
    _assert_same_parquet(one, tmp_path / "ref.parquet")
    parts = tmp_path / "parts"
    result = CliRunner().invoke(cli, ["export", "--table", "packets", "--chunk-packets", "50", "--partition-rows",
                                      "70", "-o", str(parts), str(path), str(path)])
    os.makedirs(tmp_path / "ref", exist_ok=True)
    # (the input given a second time: pcapkit.file names it with its turn, "NAME [2]")
    label = input_names([str(path), str(path)])[1]
    assert label == f"{path.name} [2]"
    write_parts(frames(), str(tmp_path / "ref"), 1, 70, label)
    written = sorted(p.name for p in parts.iterdir() if p.name.startswith("part-00001-"))
    assert written == sorted(p.name for p in (tmp_path / "ref").iterdir())
    for part in written:
        _assert_same_parquet(parts / part, tmp_path / "ref" / part)


@pytest.mark.parametrize("name", FILES)
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_stats_writes_what_info_frame_gives(name: str, fmt: str, tmp_path: Path) -> None:
    from pcapkit.cli.output import write_report
    from pcapkit.reports.capinfo import capture_info, info_frame

    path = _capture(name, tmp_path)
    cli_out, lib_out = tmp_path / f"cli.{fmt}", tmp_path / f"lib.{fmt}"
    CliRunner().invoke(cli, ["stats", str(path), str(path), "--format", fmt, "-o", str(cli_out)])
    info = capture_info(path)
    write_report(info_frame([info, info]), fmt, str(lib_out))
    if fmt == "parquet":
        _assert_same_parquet(cli_out, lib_out)
    else:
        assert cli_out.read_bytes() == lib_out.read_bytes()
