"""Several files as one capture, partitioned by conversation: a capture split into
pieces (editcap -c) gives exactly the tables of the whole file, single-process and on
a local Dask cluster (one task per conversation bucket)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import CORPUS, frames_of

from pcapkit.reports.conversations import bucket_report, combine, merged_report
from pcapkit.reports.flows import flows
from pcapkit.reports.rtt import rtt_samples
from pcapkit.reports.tcp import tcp_frames

WHOLE = CORPUS / "labs" / "NAT_ISP_side.pcap"      # 210 frames, 6 TCP streams + UDP/ARP
WHOLE2 = CORPUS / "tcp" / "fast_reuse.dmp.gz"     # 513 frames, port reuse (new streams)

pytestmark = pytest.mark.skipif(shutil.which("editcap") is None or not WHOLE.exists(),
                                reason="editcap or corpus missing")


def _split(path: Path, tmp: Path, per_file: int) -> list[str]:
    subprocess.run(["editcap", "-c", str(per_file), str(path), str(tmp / "piece.pcap")], check=True,
                   capture_output=True)
    pieces = sorted(str(p) for p in tmp.glob("piece*.pcap"))
    assert len(pieces) >= 3
    return pieces


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df.attrs = {}
    return df


WHOLE_REPORTS = {"tcp": tcp_frames, "flows": flows, "rtt": rtt_samples}


@pytest.mark.parametrize("table", ["tcp", "flows", "rtt"])
@pytest.mark.parametrize("whole", [WHOLE, WHOLE2], ids=["NAT_ISP_side", "fast_reuse"])
def test_split_files_analysed_as_one(tmp_path: Path, table: str, whole: Path) -> None:
    pieces = _split(whole, tmp_path, 70 if whole == WHOLE else 150)
    ref = _plain(WHOLE_REPORTS[table](str(whole)))
    assert len(ref) > 0
    pd.testing.assert_frame_equal(_plain(merged_report(pieces, table)), ref)
    # by conversation bucket, in this process
    parts = [bucket_report(pieces, table, b, 3) for b in range(3)]
    if whole == WHOLE:  # several IP pairs: the work really was split
        assert sum(len(p[0]) > 0 for p in parts) >= 2
    pd.testing.assert_frame_equal(combine(parts, table), ref)


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from pcapkit.reports.dask_engine import local_client

    c = local_client(n_workers=2, processes=False)
    yield c
    cluster = c.cluster
    c.close()
    cluster.close()


@pytest.mark.parametrize("table", ["tcp", "flows", "rtt"])
def test_dask_equals_single_process(tmp_path: Path, client: Any, table: str) -> None:
    from pcapkit.reports.dask_engine import conversations_dask

    pieces = _split(WHOLE, tmp_path, 70)
    got = conversations_dask(client, pieces, table, buckets=4)
    pd.testing.assert_frame_equal(got, _plain(merged_report(pieces, table)))


def test_cli_dask_tcp_table(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pcapkit.cli.export_cmd import export

    pieces = _split(WHOLE, tmp_path, 70)
    out = tmp_path / "tcp.parquet"
    r = CliRunner().invoke(export, [*pieces, "-o", str(out), "--table", "tcp", "--engine", "dask"])
    assert r.exit_code == 0, r.output
    back = pd.read_parquet(out)
    ref = _plain(tcp_frames(str(WHOLE)))
    assert len(back) == len(ref)
    assert back["tcp.stream"].tolist() == ref["tcp.stream"].tolist()
    assert back["frame.number"].tolist() == ref["frame.number"].tolist()


@pytest.mark.parametrize("table", ["flows", "rtt"])
def test_several_files_with_a_cut_one_read_as_frames_are(tmp_path: Path, table: str) -> None:
    """Several files read from their record batches (CaptureFiles) give the table the
    same files give as frames one after the other, when one in the middle is cut: its
    frames before the damage are kept, the next file's frames follow, and the damage is
    the table's error."""
    from pcapkit.capture.batch import CaptureFiles
    from pcapkit.reports.conversations import report_frame

    pieces = _split(WHOLE, tmp_path, 70)
    data = Path(pieces[1]).read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:len(data) * 2 // 3])
    files = [pieces[0], str(cut), pieces[2]]
    errors: list[str] = []
    ref = report_frame(list(frames_of(files, errors)), table)
    assert len(errors) == 1 and str(cut) in errors[0]
    got = report_frame(CaptureFiles(tuple(files)), table)
    assert got.attrs.get("pcapkit.error") == errors[0]
    pd.testing.assert_frame_equal(_plain(got), _plain(ref))
    assert len(ref) > 0


def test_several_files_with_an_unreadable_one_raise_its_error(tmp_path: Path) -> None:
    """A file of which nothing can be read stops the reading with its own error, as it
    does read alone."""
    from pcapkit.errors import CaptureFileError

    pieces = _split(WHOLE, tmp_path, 70)
    missing = str(tmp_path / "missing.pcap")
    with pytest.raises(CaptureFileError, match=r"missing\.pcap"):
        merged_report([pieces[0], missing], "flows")


@pytest.mark.parametrize("table", ["flows", "rtt"])
def test_buckets_of_a_cut_file_combine_to_its_table(tmp_path: Path, table: str) -> None:
    """A file cut early: every bucket reads up to the damage, even one that kept no record
    before it (it has an empty table, not the file's error raised), and the buckets
    combine to the table of the file read whole."""
    data = WHOLE.read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(data[:len(data) // 5])
    ref = WHOLE_REPORTS[table](str(cut))
    assert "pcapkit.error" in ref.attrs
    parts = [bucket_report([str(cut)], table, b, 16) for b in range(16)]
    assert any(len(p[0]) == 0 for p in parts)
    pd.testing.assert_frame_equal(combine(parts, table), _plain(ref))
