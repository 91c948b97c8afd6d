"""StreamReassembler: tables of (input segments -> expected events), plus a check against
tshark's own reassembly (``tcp.reassembled.data`` via ``follow,tcp,raw``) on real captures
and a Hypothesis property (any arrival order of a stream's segments rebuilds the stream)."""

from __future__ import annotations

import itertools
import subprocess

import pytest
from conftest import CORPUS, requires_tshark
from hypothesis import given, settings
from hypothesis import strategies as st

from pcapkit.dissect.stream_reassembly import (
    FIN,
    SYN,
    Data,
    DataAfterFin,
    Fin,
    Gap,
    LimitReached,
    Retransmission,
    StreamReassembler,
    reassemble,
)

ACK = 0x010

# (name, segments [(seq, payload, flags, frame)], expected events, reassembler options)
TABLE = [
    ("in order after SYN",
     [(100, b"", SYN, 1), (101, b"abc", ACK, 2), (104, b"def", ACK, 3)],
     [Data(0, b"abc", 2, 0), Data(3, b"def", 3, 0)], {}),
    ("mid-stream start (no SYN)",
     [(5000, b"xy", ACK, 1), (5002, b"z", ACK, 2)],
     [Data(0, b"xy", 1, 0), Data(2, b"z", 2, 0)], {}),
    ("exact retransmission delivered once",
     [(0, b"", SYN, 1), (1, b"abc", ACK, 2), (1, b"abc", ACK, 3), (4, b"d", ACK, 4)],
     [Data(0, b"abc", 2, 0), Retransmission(0, 3, 3, False), Data(3, b"d", 4, 0)], {}),
    ("partial overlap: only the new bytes",
     [(0, b"", SYN, 1), (1, b"abcd", ACK, 2), (3, b"cdEF", ACK, 3)],
     [Data(0, b"abcd", 2, 0), Retransmission(2, 2, 3, False), Data(4, b"EF", 3, 0)], {}),
    ("overlap with different bytes: first copy wins, conflict reported",
     [(0, b"", SYN, 1), (1, b"abcd", ACK, 2), (3, b"XXef", ACK, 3)],
     [Data(0, b"abcd", 2, 0), Retransmission(2, 2, 3, True), Data(4, b"ef", 3, 0)], {}),
    ("out of order buffered until the hole is filled",
     [(0, b"", SYN, 1), (4, b"def", ACK, 2), (1, b"abc", ACK, 3)],
     [Data(0, b"abc", 3, 0), Data(3, b"def", 2, 0)], {}),
    ("two holes filled in reverse order",
     [(0, b"", SYN, 1), (7, b"g", ACK, 2), (4, b"def", ACK, 3), (1, b"abc", ACK, 4)],
     [Data(0, b"abc", 4, 0), Data(3, b"def", 3, 0), Data(6, b"g", 2, 0)], {}),
    ("gap at end of capture reported by flush",
     [(0, b"", SYN, 1), (1, b"ab", ACK, 2), (10, b"zz", ACK, 3)],
     [Data(0, b"ab", 2, 0), Gap(2, 7, 0), Data(9, b"zz", 3, 0)], {}),
    ("no reordering (tshark default): hole becomes a gap at once",
     [(0, b"", SYN, 1), (1, b"ab", ACK, 2), (10, b"zz", ACK, 3), (3, b"cdefghi", ACK, 4)],
     [Data(0, b"ab", 2, 0), Gap(2, 7, 3), Data(9, b"zz", 3, 0), Retransmission(2, 7, 4, False)],
     {"reorder": False}),
    ("sequence wrap-around at 2**32",
     [(0xFFFFFFFD, b"", SYN, 1), (0xFFFFFFFE, b"ab", ACK, 2), (0, b"cd", ACK, 3), (2, b"e", ACK, 4)],
     [Data(0, b"ab", 2, 0), Data(2, b"cd", 3, 0), Data(4, b"e", 4, 0)], {}),
    ("wrap-around with out-of-order across the wrap",
     [(0xFFFFFFFE, b"ab", ACK, 1), (2, b"ef", ACK, 2), (0, b"cd", ACK, 3)],
     [Data(0, b"ab", 1, 0), Data(2, b"cd", 3, 0), Data(4, b"ef", 2, 0)], {}),
    ("FIN after all data; data beyond FIN ignored",
     [(0, b"", SYN, 1), (1, b"abc", ACK | FIN, 2), (4, b"zz", ACK, 3)],
     [Data(0, b"abc", 2, 0), Fin(3, 2), DataAfterFin(3, 2, 3)], {}),
    ("FIN before a hole is filled waits for the data",
     [(0, b"", SYN, 1), (4, b"d", ACK | FIN, 2), (1, b"abc", ACK, 3)],
     [Data(0, b"abc", 3, 0), Data(3, b"d", 2, 0), Fin(4, 2)], {}),
    ("buffer limit: give up waiting, report the hole",
     [(0, b"", SYN, 1), (11, b"kkkk", ACK, 2), (21, b"uuuu", ACK, 3)],
     [LimitReached(8, 6, 3), Gap(0, 10, 3), Data(10, b"kkkk", 2, 0),      # the rest waits again
      Gap(14, 6, 0), Data(20, b"uuuu", 3, 0)],                              # until flush
     {"max_buffered": 6}),
    ("duplicate out-of-order segment counted once",
     [(0, b"", SYN, 1), (4, b"de", ACK, 2), (4, b"de", ACK, 3), (1, b"abc", ACK, 4)],
     [Retransmission(3, 2, 3, False), Data(0, b"abc", 4, 0), Data(3, b"de", 2, 0)], {}),
    ("retransmitted SYN does not move the start",
     [(50, b"", SYN, 1), (50, b"", SYN, 2), (51, b"a", ACK, 3)],
     [Data(0, b"a", 3, 0)], {}),
]


@pytest.mark.parametrize("name,segments,expected,opts", TABLE, ids=[t[0] for t in TABLE])
def test_table(name: str, segments: list[tuple[int, bytes, int, int]], expected: list[object],
               opts: dict[str, object]) -> None:
    assert reassemble(segments, **opts) == expected  # type: ignore[arg-type]


def test_counters() -> None:
    r = StreamReassembler()
    r.feed(0, b"", SYN, 1)
    r.feed(1, b"abcd", ACK, 2)
    r.feed(3, b"cdef", ACK, 3)
    r.feed(20, b"xy", ACK, 4)
    assert r.buffered_bytes == 2
    r.flush()
    assert (r.delivered_bytes, r.retransmitted_bytes, r.missing_bytes) == (8, 2, 13)
    assert r.buffered_bytes == 0


@settings(max_examples=200, deadline=2000)
@given(st.binary(min_size=1, max_size=300), st.integers(0, 2**32 - 1), st.data())
def test_any_order_with_duplicates_rebuilds_stream(stream: bytes, isn: int, data: st.DataObject) -> None:
    cuts = sorted(set(data.draw(st.lists(st.integers(1, len(stream) - 1), max_size=10)) if len(stream) > 1 else []))
    bounds = [0, *cuts, len(stream)]
    segs = [((isn + 1 + a) & 0xFFFFFFFF, stream[a:b], ACK, i + 2) for i, (a, b) in enumerate(itertools.pairwise(bounds))]
    segs += data.draw(st.lists(st.sampled_from(segs), max_size=4))        # retransmissions
    order = data.draw(st.permutations(segs))
    events = reassemble([((isn) & 0xFFFFFFFF, b"", SYN, 1), *order])
    got = b"".join(e.data for e in events if isinstance(e, Data))
    assert got == stream
    assert not [e for e in events if isinstance(e, Gap)]
    assert all(not e.conflict for e in events if isinstance(e, Retransmission))


# -- against tshark's reassembly on a real capture ---------------------------------------


def _tshark_follow(path: str, stream: int) -> list[tuple[int, bytes]]:
    """tshark's follow,tcp,raw: (direction 0/1, bytes) chunks in stream order."""
    out = subprocess.run(["tshark", "-n", "-q", "-r", path, "-z", f"follow,tcp,raw,{stream}"],
                         capture_output=True, text=True, check=False).stdout
    chunks: list[tuple[int, bytes]] = []
    for line in out.splitlines():
        if not line.strip() or set(line) == {"="} or line.startswith(("Follow:", "Filter:", "Node ")):
            continue
        direction = 1 if line.startswith("\t") else 0
        chunks.append((direction, bytes.fromhex(line.strip())))
    return chunks


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("rel", ["bgp/bgp-4byte-asn.pcap", "bgp/bgp_fragmented.pcap.gz"])
def test_stream_matches_tshark_follow(rel: str) -> None:
    from pcapkit.tcpflow.segments import segment_table

    path = CORPUS / rel
    if not path.exists():
        pytest.skip("corpus missing")
    # the first TCP stream of the file, both directions, through our reassembler
    first: tuple[str, int, str, int] | None = None
    rs: dict[tuple[str, int, str, int], StreamReassembler] = {}
    got: dict[tuple[str, int, str, int], bytearray] = {}
    for seg in segment_table(path, keep_payload=True).tshark_view().segments():
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        if first is None:
            first = key
        if {key, (seg.dst, seg.dport, seg.src, seg.sport)} != {first, (first[2], first[3], first[0], first[1])}:
            continue
        r = rs.setdefault(key, StreamReassembler())
        for ev in r.feed(seg.seq, seg.payload, seg.flags, seg.frame_number):
            if isinstance(ev, Data):
                got.setdefault(key, bytearray()).extend(ev.data)
    assert first is not None
    chunks = _tshark_follow(str(path), 0)
    want0 = b"".join(c for d, c in chunks if d == 0)
    want1 = b"".join(c for d, c in chunks if d == 1)
    ours = {bytes(v) for v in got.values() if v}
    assert ours == {w for w in (want0, want1) if w}


def test_conflict_window_zero_keeps_no_history() -> None:
    r = StreamReassembler(conflict_window=0)
    r.feed(0, b"", SYN, 1)
    r.feed(1, b"abcd", ACK, 2)
    assert r.feed(1, b"XXcd", ACK, 3) == [Retransmission(0, 4, 3, False)]   # not compared
    assert r.feed(5, b"e", ACK, 4) == [Data(4, b"e", 4, 0)]
