"""The tcptrace model fed a capture file's batches as they are read
(:func:`~pcapkit.tcpflow.tcptrace.table.streamed_connection_table`, what ``pcapkit
tcptrace FILE`` and ``tcptrace_stats(FILE)`` run) against the model over the file's whole
segment table: the same connections, directions, per-segment marks and RTT samples on
every corpus capture, damaged ones included; across many small batches, with the
batches read ahead in other threads, interpreted and compiled; and the table path taken
when a capture has more pairs than one run takes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CORPUS, corpus_files, corpus_id

from pcapkit.errors import PcapkitError
from pcapkit.tcpflow.segments import segment_table
from pcapkit.tcpflow.tcptrace import StatsRuns, tcptrace_stats
from pcapkit.tcpflow.tcptrace.table import (
    ConnectionTable,
    connection_table,
    streamed_connection_table,
)

FILES = corpus_files("tcp", "labs", "ip", "l2", "bgp", "dhcp", "formats", "broken")
# captures with many connections, damage, SACK, IPv6, fragments, tunnels, odd link layers
BATCHED = ["tcp/http.dmp.gz", "tcp/fast_reuse.dmp.gz", "labs/http-wireshark-trace1-1.pcapng", "labs/tcp-ethereal-trace-1", "tcp/bigtransfer.pcap",
           "tcp/hardware_dups.dmp.gz", "tcp/ssh-dups.pcap", "ip/ipv6-fragmented-dns.pcap",
           "broken/heapoverflow-tcp_print.pcap", "broken/ip_fragmented_garbage.pcap"]


def _through_table(path: Path, compiled: bool | None = None, filter: str | None = None) -> ConnectionTable | str:
    try:
        return connection_table(segment_table(path, filter=filter), compiled=compiled)
    except PcapkitError as exc:
        return f"{type(exc).__name__}: {exc}"


def _streamed(path: Path, **kwargs: object) -> ConnectionTable | str | None:
    try:
        return streamed_connection_table(str(path), **kwargs)  # type: ignore[arg-type]
    except PcapkitError as exc:
        return f"{type(exc).__name__}: {exc}"


def _assert_same(got: ConnectionTable | str | None, want: ConnectionTable | str) -> None:
    if isinstance(want, str):
        assert got == want
        return
    assert isinstance(got, ConnectionTable)
    assert len(got) == len(want)
    assert np.array_equal(got.conns, want.conns)
    # the hosts: the same addresses, numbered in order of meeting instead of first appearance
    others = [name for name in want.dirs.dtype.names or () if name != "host"]
    assert np.array_equal(got.dirs[others], want.dirs[others])
    assert [got.addresses[h] for h in got.dirs["host"]] == [want.addresses[h] for h in want.dirs["host"]]
    for name in ("row_frame", "row_conn", "row_a2b", "row_mark", "samples"):
        assert np.array_equal(getattr(got, name), getattr(want, name)), name
    assert str(got.error) == str(want.error)


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_streamed_model_is_the_table_model(corpus: Path, path: Path) -> None:
    _assert_same(_streamed(path), _through_table(path))


@pytest.mark.parametrize("rel", BATCHED)
def test_streamed_across_small_batches_read_ahead(corpus: Path, rel: str) -> None:
    """Seven packets a batch: connections, pairs and the model's state carry across feeds;
    read ahead in two threads as a big file is."""
    path = CORPUS / rel
    want = _through_table(path)
    for read_ahead in (False, True):
        _assert_same(_streamed(path, chunk_packets=7, read_ahead=read_ahead), want)


@pytest.mark.parametrize("rel", BATCHED[:4])
def test_streamed_interpreted(corpus: Path, rel: str) -> None:
    """The interpreted backend grows its records (lists of objects) as the compiled one does."""
    path = CORPUS / rel
    want = _through_table(path, compiled=True)
    _assert_same(_streamed(path, compiled=False, chunk_packets=50), want)


def test_records_grow_past_their_first_size(corpus: Path) -> None:
    path = CORPUS / "tcp/http.dmp.gz"
    table = streamed_connection_table(str(path), chunk_packets=7)
    assert table is not None and len(table) > 16  # (ModelRun starts with room for 16)


def test_filter(corpus: Path) -> None:
    path = CORPUS / "tcp/http.dmp.gz"
    expr = "tcp port 80 and not host 132.235.3.132"
    want = _through_table(path, filter=expr)
    assert isinstance(want, ConnectionTable) and len(want)
    _assert_same(_streamed(path, filter=expr, chunk_packets=7), want)


def test_too_many_pairs_reads_the_table(corpus: Path) -> None:
    """More pairs than a run takes: no streamed table; StatsRuns then reads the segment
    table and cuts it into runs, with the rows of the one-run answer."""
    path = CORPUS / "tcp/http.dmp.gz"
    assert streamed_connection_table(str(path), max_pairs=2) is None
    assert streamed_connection_table(str(path), max_pairs=1000) is not None
    runs = StatsRuns(path, run_pairs=2)
    assert len(runs) > 1
    joined = pd.concat(list(runs.frames()), ignore_index=True)
    whole = tcptrace_stats(segment_table(path))
    assert joined.reset_index(drop=True).equals(whole)
    assert next(iter(StatsRuns(path).frames())).equals(whole)
