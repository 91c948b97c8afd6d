"""The Dask engine on a real local cluster of worker processes (the default): the tcp
table of captures split into pieces (editcap -c) equals the whole file's, and the packets
export equals the single-process one."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import CORPUS

from pcapkit.reports.conversations import merged_report
from pcapkit.reports.tcp import tcp_frames

MANY = CORPUS / "tcp" / "http.dmp.gz"            # 1270 frames, 61 TCP streams
WEB = CORPUS / "tcp" / "bro.org.pcap"             # 751 frames, 13 TCP streams, plain pcap

pytestmark = pytest.mark.skipif(shutil.which("editcap") is None or not MANY.exists() or not WEB.exists(),
                                reason="editcap or corpus missing")


def _split(path: Path, tmp: Path, per_file: int) -> list[str]:
    subprocess.run(["editcap", "-c", str(per_file), str(path), str(tmp / "piece.pcap")], check=True,
                   capture_output=True, timeout=60)
    pieces = sorted(str(p) for p in tmp.glob("piece*.pcap"))
    assert len(pieces) >= 3
    return pieces


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    df.attrs = {}
    return df


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from pcapkit.reports.dask_engine import local_client

    c = local_client(n_workers=2)  # the default: worker processes
    yield c
    cluster = c.cluster
    c.close()
    cluster.close()


def test_tcp_table_on_process_workers_equals_whole_file(tmp_path: Path, client: Any) -> None:
    from pcapkit.reports.conversations import concat_tables, file_segments
    from pcapkit.reports.dask_engine import conversations_dask
    from pcapkit.reports.partitions import conversation_buckets

    assert len(client.scheduler_info()["workers"]) == 2
    pieces = _split(MANY, tmp_path, 200)
    ref = _plain(tcp_frames(str(MANY)))
    which = conversation_buckets(concat_tables([file_segments(p) for p in pieces]).tshark_view(), 4)
    assert len(set(which.tolist())) == 4  # the conversations really were spread over the buckets
    got = conversations_dask(client, pieces, "tcp", buckets=4)
    pd.testing.assert_frame_equal(_plain(got), ref)
    pd.testing.assert_frame_equal(_plain(merged_report(pieces, "tcp")), ref)


def test_packets_export_on_process_workers(tmp_path: Path, client: Any) -> None:
    from pcapkit.reports.dask_engine import export_dask
    from pcapkit.reports.export import export_local

    pieces = _split(MANY, tmp_path, 300)
    export_local(pieces, str(tmp_path / "local"))
    res = export_dask(pieces, str(tmp_path / "dask"), client=client)
    assert not res.errors
    a = pd.read_parquet(tmp_path / "local")
    b = pd.read_parquet(tmp_path / "dask")
    pd.testing.assert_frame_equal(a, b)


def test_one_file_split_by_byte_ranges(client: Any) -> None:
    """One capture, cut into byte ranges on record boundaries for the workers: the tcp
    table of the whole file."""
    from pcapkit.reports.dask_engine import conversations_dask
    from pcapkit.reports.partitions import tcp_units

    assert len(tcp_units([str(WEB)], 2)[0]) == 2
    got = conversations_dask(client, [str(WEB)], "tcp", buckets=4)
    pd.testing.assert_frame_equal(_plain(got), _plain(tcp_frames(str(WEB))))


def _export_both(inputs: list[str], tmp: Path, client: Any, out: str, **kw: Any) -> tuple[pd.DataFrame, Any]:
    """The tcp export of ``inputs`` by one process and by the Dask engine (output named
    ``out``: a directory when it ends with a slash), read back."""
    from pcapkit.reports.dask_engine import export_dask
    from pcapkit.reports.export import export_local

    local, dask = str(tmp / "local") + out, str(tmp / "dask") + out
    assert not export_local(inputs, local, "tcp", **kw).errors
    res = export_dask(inputs, dask, "tcp", client=client, **kw)
    assert not res.errors
    return pd.read_parquet(local), res


def test_tcp_export_of_pieces_written_by_the_workers(tmp_path: Path, client: Any) -> None:
    """Several inputs into a directory: each worker writes its frame ranges' part files;
    read back, they are the single-process table (``pcapkit.file`` included), and a
    conversation spread over all the pieces was analysed whole."""
    pieces = _split(MANY, tmp_path, 200)
    ref, res = _export_both(pieces, tmp_path, client, "/")
    assert len(res.files) == 2 and all(Path(f).parent == tmp_path / "dask" for f in res.files)
    got = pd.read_parquet(tmp_path / "dask")
    pd.testing.assert_frame_equal(got, ref)
    assert got["pcapkit.file"].nunique() == len(pieces)
    from pcapkit.reports.export import export_local

    export_local([str(MANY)], str(tmp_path / "whole.parquet"), "tcp")
    pd.testing.assert_frame_equal(got.drop(columns="pcapkit.file"), pd.read_parquet(tmp_path / "whole.parquet"))


@pytest.mark.parametrize("out, kw", [("/", {}), (".parquet", {}), ("/", {"partition_rows": 100})],
                         ids=["directory", "one-file", "partition-rows"])
def test_tcp_export_of_one_file_cut_into_byte_ranges(tmp_path: Path, client: Any, out: str,
                                                     kw: dict[str, Any]) -> None:
    """One plain pcap file, cut into byte ranges for the workers: the same Parquet as one
    process writes, into a directory (the workers write), one file or parts of N rows (the
    driver writes)."""
    ref, res = _export_both([str(WEB)], tmp_path, client, out, **kw)
    got = pd.read_parquet(str(tmp_path / "dask") + out)
    pd.testing.assert_frame_equal(got, ref)
    if "partition_rows" in kw:
        local = sorted(p.name for p in (tmp_path / "local").iterdir())
        assert sorted(Path(f).name for f in res.files) == local and len(local) > 2


def test_tcp_export_of_a_file_that_cannot_be_cut(tmp_path: Path, client: Any) -> None:
    """A gzip capture is one unit, decoded by one worker: the second frame range takes its
    rows from that worker (narrowed to ship) and is written by the other; read back, the
    parts are the single-process table."""
    from pcapkit.reports.partitions import tcp_units

    assert len(tcp_units([str(MANY)], 2)[0]) == 1
    ref, res = _export_both([str(MANY)], tmp_path, client, "/")
    assert len(res.files) == 2
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask"), ref)


def test_a_conversation_is_never_split(tmp_path: Path) -> None:
    """Whatever the byte range a segment was read from, its conversation's bucket is the
    same (the hash of the address texts and ports, not of table-local codes)."""
    from pcapkit.capture.ranges import byte_ranges
    from pcapkit.reports.conversations import file_segments
    from pcapkit.reports.partitions import conversation_buckets

    seen: dict[tuple[str, int, str, int], int] = {}
    for r in byte_ranges(str(WEB), 4):
        t = file_segments(str(WEB), r).tshark_view()
        for a, sp, b, dp, bucket in zip(t.address_text(t.src).tolist(), t.sport.tolist(),
                                        t.address_text(t.dst).tolist(), t.dport.tolist(),
                                        conversation_buckets(t, 64).tolist(), strict=True):
            key = min((a, sp, b, dp), (b, dp, a, sp))
            assert seen.setdefault(key, bucket) == bucket
    assert len(set(seen.values())) > 1


def test_tcp_export_with_a_cut_input(tmp_path: Path, client: Any) -> None:
    """A cut file among the inputs: the workers keep its rows up to the damage and the
    error is the one the single-process export gives."""
    from pcapkit.reports.dask_engine import export_dask
    from pcapkit.reports.export import export_local

    cut = tmp_path / "cut.pcap"
    cut.write_bytes(WEB.read_bytes()[:200_000])
    inputs = [str(cut), str(WEB)]
    local = export_local(inputs, str(tmp_path / "local") + "/", "tcp")
    res = export_dask(inputs, str(tmp_path / "dask") + "/", "tcp", client=client)
    assert len(local.errors) == 1 and res.errors == local.errors
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask"), pd.read_parquet(tmp_path / "local"))
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(WEB.read_bytes()[:10])
    bad = export_dask([str(empty)], str(tmp_path / "bad") + "/", "tcp", client=client)
    assert bad.errors == export_local([str(empty)], str(tmp_path / "bad-local") + "/", "tcp").errors != []


def test_tcp_export_of_one_file_damaged_in_the_middle(tmp_path: Path, client: Any) -> None:
    """One file cut into byte ranges, damaged inside one of the middle ranges: the file
    ends at the damage, as when it is read whole (the later ranges are left out)."""
    import struct

    from pcapkit.capture.ranges import byte_ranges
    from pcapkit.reports.dask_engine import export_dask
    from pcapkit.reports.export import export_local

    data = bytearray(WEB.read_bytes())
    pos, starts = 24, []
    while pos + 16 <= len(data):
        starts.append(pos)
        pos += 16 + struct.unpack_from("<I", data, pos + 8)[0]
    bad = starts[len(starts) * 2 // 5]
    struct.pack_into("<I", data, bad + 8, 0xFFFF_FF00)  # a record longer than any snapshot length
    damaged = tmp_path / "damaged.pcap"
    damaged.write_bytes(bytes(data))
    ranges = byte_ranges(str(damaged), 4)
    assert len(ranges) == 4 and ranges[-1][0] > bad  # the damage is not in the last range
    local = export_local([str(damaged)], str(tmp_path / "local") + "/", "tcp")
    res = export_dask([str(damaged)], str(tmp_path / "dask") + "/", "tcp", client=client)
    assert len(local.errors) == 1 and res.errors == local.errors
    got, ref = pd.read_parquet(tmp_path / "dask"), pd.read_parquet(tmp_path / "local")
    assert 0 < len(ref) < len(tcp_frames(str(WEB)))
    pd.testing.assert_frame_equal(got, ref)
