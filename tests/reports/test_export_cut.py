"""``export`` of a cut file keeps every row read before the damage and then says where it
stopped, as ``read`` does (one error line naming the file and the offset, exit status 1):
issue 11, items 4 and 6. The rows are the same as the API gives for the cut file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import CAPTURES, REPO

from pcapkit.columnar.api import read_packets
from pcapkit.reports.flows import flows
from pcapkit.reports.rtt import rtt_samples
from pcapkit.reports.tcp import tcp_frames

CUT_AT = 150_000  # bytes: inside the 101st record of tcp-upload.pcap


@pytest.fixture(scope="module")
def cut_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cut") / "cut.pcap"
    path.write_bytes((CAPTURES / "tcp-upload.pcap").read_bytes()[:CUT_AT])
    return path


def _export(inputs: list[Path], table: str, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pcapkit", "export", *map(str, inputs), "--table", table,
                           "-o", str(out)], capture_output=True, text=True, cwd=REPO, timeout=300, check=False)


@pytest.mark.parametrize("table", ["packets", "tcp", "flows", "rtt"])
def test_export_keeps_the_rows_before_the_damage_and_says_where(table: str, cut_file: Path, tmp_path: Path) -> None:
    proc = _export([cut_file], table, tmp_path / "out.parquet")
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("pcapkit: error:")]
    assert errors == [f"pcapkit: error: {cut_file}: offset {CUT_AT}: file ends inside a packet "
                      "(record of 1514 bytes at offset 148750)"], proc.stderr
    got = pd.read_parquet(tmp_path / "out.parquet")
    expected = {"packets": lambda p: read_packets(p, strict=False), "tcp": tcp_frames, "flows": flows,
                "rtt": rtt_samples}[table](str(cut_file))
    assert expected.attrs.get("pcapkit.error") and len(got) == len(expected) > 0
    key = "first_frame" if table == "flows" else "frame.number"
    assert got[key].tolist() == expected[key].tolist()


def test_several_inputs_with_a_cut_one(cut_file: Path, tmp_path: Path) -> None:
    """Analysed as one capture: the cut file's frames up to the damage, then the next file's."""
    whole = CAPTURES / "tcp-download.pcapng"
    proc = _export([cut_file, whole], "flows", tmp_path / "both.parquet")
    assert proc.returncode == 1 and f"{cut_file}: offset {CUT_AT}" in proc.stderr
    got = pd.read_parquet(tmp_path / "both.parquet")["pcapkit.file"].value_counts().to_dict()
    # (a conversation seen in both files is one row, named after the file it began in)
    assert got["cut.pcap"] == len(flows(str(cut_file))) and 0 < got[whole.name] <= len(flows(str(whole)))


def test_tcp_table_of_several_inputs_with_a_cut_one(cut_file: Path, tmp_path: Path) -> None:
    """The tcp table of a cut file and a whole one: each row named after its input (the
    cut file's frames counted up to the damage), frames numbered on across the files."""
    whole = CAPTURES / "tcp-download.pcapng"
    proc = _export([cut_file, whole], "tcp", tmp_path / "both.parquet")
    assert proc.returncode == 1 and f"{cut_file}: offset {CUT_AT}" in proc.stderr
    got = pd.read_parquet(tmp_path / "both.parquet")
    cut_rows, whole_rows = tcp_frames(str(cut_file)), tcp_frames(str(whole))
    mine = got[got["pcapkit.file"] == "cut.pcap"]
    theirs = got[got["pcapkit.file"] == whole.name]
    assert len(mine) + len(theirs) == len(got)
    assert mine["frame.number"].tolist() == cut_rows["frame.number"].tolist()
    with pytest.warns(UserWarning, match="file ends inside a packet"):
        frames_read = len(read_packets(str(cut_file)))
    assert (theirs["frame.number"] - frames_read).tolist() == whole_rows["frame.number"].tolist()
    assert theirs["tcp.seq_raw"].tolist() == whole_rows["tcp.seq_raw"].tolist()


@pytest.mark.parametrize("table", ["tcp", "flows", "rtt"])
def test_unreadable_inputs_are_said_and_the_others_exported(tmp_path: Path, table: str) -> None:
    """Inputs of which nothing can be read (empty, not a capture) among several: one error
    line each, exit status 1, and the table of the readable ones, labelled (before, the
    first such input failed the whole table: nothing readable was exported)."""
    empty, garbage = tmp_path / "empty.pcap", tmp_path / "garbage.pcap"
    empty.write_bytes(b"")
    garbage.write_bytes(b"not a capture file at all" * 10)
    good = CAPTURES / "tcp-upload.pcap"
    proc = _export([empty, good, garbage], table, tmp_path / "out.parquet")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("pcapkit: error:")]
    assert len(errors) == 2 and str(empty) in errors[0] and str(garbage) in errors[1], proc.stderr
    got = pd.read_parquet(tmp_path / "out.parquet")
    alone = {"tcp": tcp_frames, "flows": flows, "rtt": rtt_samples}[table](str(good))
    assert len(got) == len(alone) > 0 and set(got["pcapkit.file"]) == {good.name}
    key = "first_frame" if table == "flows" else "frame.number"
    assert got[key].tolist() == alone[key].tolist()


@pytest.mark.parametrize("table", ["tcp", "flows"])
def test_dask_export_of_an_unreadable_input_says_it_in_one_line(tmp_path: Path, table: str) -> None:
    """An input with nothing readable, on the local Dask cluster: the command's one error
    line, the other input's rows and the summary, and none of the workers' own log of a
    failed task (its traceback) on the same terminal."""
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    proc = subprocess.run([sys.executable, "-m", "pcapkit", "export", str(CAPTURES / "tcp-upload.pcap"), str(empty),
                           "--table", table, "--engine", "dask", "-o", str(tmp_path / "out") + "/"],
                          capture_output=True, text=True, cwd=REPO, timeout=300, check=False)
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert lines[0] == f"pcapkit: error: {empty}: offset 0: empty file (no capture file header)", proc.stderr
    assert len(lines) == 2 and not lines[1].startswith("0 rows -> "), proc.stderr
    got = pd.read_parquet(tmp_path / "out")
    alone = {"tcp": tcp_frames, "flows": flows}[table](str(CAPTURES / "tcp-upload.pcap"))
    assert len(got) == len(alone) > 0 and set(got["pcapkit.file"]) == {"tcp-upload.pcap"}
    assert "Traceback" not in proc.stderr


def test_a_dask_scheduler_that_cannot_be_reached_is_one_line(tmp_path: Path) -> None:
    """--scheduler with no scheduler there, or not an address: one error line naming it
    (before: "cannot write: Timed out ..." and a ValueError traceback)."""
    import os

    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "2s"}
    for address, reason in (("tcp://127.0.0.1:1", "Timed out"), ("notanaddress", "missing port number")):
        proc = subprocess.run([sys.executable, "-m", "pcapkit", "export", str(CAPTURES / "tcp-upload.pcap"),
                               "--engine", "dask", "--scheduler", address, "-o", str(tmp_path / "out") + "/"],
                              capture_output=True, text=True, cwd=REPO, timeout=120, check=False, env=env)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 1 and len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert lines[0].startswith(f"pcapkit: error: {address}: cannot connect to the Dask scheduler: ")
        assert reason in lines[0], lines[0]
