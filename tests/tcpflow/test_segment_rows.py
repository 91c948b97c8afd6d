"""SegmentTable.segments() builds its Segment rows from whole columns, a chunk at a time;
the row-by-row builder it replaced is kept here as the reference: the same Segments, with
and without payloads, across chunk borders, on a selection of rows too."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from conftest import CORPUS

import pcapkit.tcpflow.segments.table as segment_rows
from pcapkit.tcpflow.segment import Segment
from pcapkit.tcpflow.segments import SegmentTable, segment_table
from pcapkit.tcpflow.segments.table import INT_COLUMNS

FILES = ["tcp/dsack.dmp.gz", "tcp/option-sack.pcap", "tcp/bigtransfer.pcap", "labs/tcp-ethereal-trace-1",
         "tcp/options.pcap"]


def old_segments(table: SegmentTable) -> Iterator[Segment]:
    cols = {name: getattr(table, name).tolist() for name in INT_COLUMNS}
    addresses = table.addresses
    sack_rows = np.nonzero(table.sack_n > 0)[0].tolist()
    sack_of = dict(zip(sack_rows, range(len(sack_rows)), strict=True))
    sl, sr = table.sack_l.tolist(), table.sack_r.tolist()
    for i in range(len(table)):
        blocks: tuple[tuple[int, int], ...] = ()
        n = cols["sack_n"][i]
        if n:
            j = sack_of[i]
            blocks = tuple(zip(sl[j][:n], sr[j][:n], strict=True))
        mss, ws, tsval, tsecr = cols["mss"][i], cols["wscale"][i], cols["tsval"][i], cols["tsecr"][i]
        yield Segment(
            cols["frame"][i], cols["ts_ns"][i], addresses[cols["src"][i]], addresses[cols["dst"][i]],
            cols["sport"][i], cols["dport"][i], cols["seq"][i], cols["ack"][i], cols["flags"][i],
            cols["window"][i], cols["seglen"][i], cols["hdr_len"][i], cols["captured"][i],
            None if mss < 0 else mss, None if ws < 0 else ws, bool(cols["sack_perm"][i]), blocks,
            None if tsval < 0 else tsval, None if tsecr < 0 else tsecr, cols["ip_version"][i],
            cols["wirelen"][i], b"" if table.payloads is None else table.payloads[i])


@pytest.mark.parametrize("name", FILES)
def test_rows_as_the_row_builder(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{path} not in the corpus")
    monkeypatch.setattr(segment_rows, "SEGMENT_CHUNK_ROWS", 97)  # (many chunk borders)
    sacks = 0
    for keep in (False, True):
        table = segment_table(path, keep_payload=keep)
        for rows in (table, table.select(np.arange(len(table))[1::3])):
            new = list(rows.segments())
            assert new == list(old_segments(rows))
            sacks += sum(bool(s.sack_blocks) for s in new)
    if name.endswith(("dsack.dmp.gz", "option-sack.pcap")):
        assert sacks  # (the SACK blocks are compared too)
