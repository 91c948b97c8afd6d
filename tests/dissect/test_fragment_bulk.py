"""Fragments added in bulk (``IPReassembler.add_pending_batch`` through the walk the
per-packet paths use) leave the reassembler exactly as adding each one does: the same
datagrams pending, in the same order, with the same fragments; the same bytes and drops;
the same answers for the fragments that go one by one (completions, overlaps, expiry and
the byte limit falling on any of them).

The reference is :meth:`IPReassembler.add` on every fragment, in file order."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pcapkit.columnar.fragments import candidates, walk_rows
from pcapkit.dissect.base import Layer
from pcapkit.dissect.ipreassembly import IPReassembler, ipv4_fragment

CORPUS = Path(os.environ.get("PCAPKIT_CORPUS", "/nonexistent"))


def _ip(src: int, ident: int, offset: int, more: bool, payload: bytes, proto: int = 6) -> bytes:
    ff = (0x2000 if more else 0) | (offset // 8)
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, ff, 64, proto, 0,
                       bytes([10, 0, 0, src]), bytes([10, 0, 0, 2])) + payload


def _flood(rng: random.Random, n: int, keys: int, jumps: bool) -> tuple[list[bytes], list[int]]:
    """IPv4 fragments of ``keys`` datagrams or so, of every kind, and their times: most with
    more to follow (many never completing), some last ones completing late, overlaps
    (same or different bytes), lone first fragments; time runs forward in small steps,
    with (``jumps``) leaps past the timeout and steps back."""
    packets: list[bytes] = []
    times: list[int] = []
    t = 1_000_000
    bodies: dict[tuple[int, int], bytes] = {}
    for _ in range(n):
        src, ident = rng.randrange(1, 4), rng.randrange(keys)
        body = bodies.setdefault((src, ident), bytes(rng.randrange(256) for _ in range(8 * rng.randrange(4, 12))))
        r = rng.random()
        if r < 0.1:  # the last fragment
            off = 8 * rng.randrange(1, len(body) // 8)
            packets.append(_ip(src, ident, off, False, body[off:]))
        elif r < 0.15:  # an overlap with other bytes
            off = 8 * rng.randrange(0, len(body) // 8 - 1)
            packets.append(_ip(src, ident, off, True, bytes(16)))
        else:
            off = 8 * rng.randrange(0, len(body) // 8 - 1)
            end = min(len(body) - 8, off + 8 * rng.randrange(1, 4))
            packets.append(_ip(src, ident, off, True, body[off:max(end, off + 8)]))
        t += rng.randrange(1, 50)
        if jumps and rng.random() < 0.01:
            t += rng.choice([5_000, -3_000])
        times.append(t)
    return packets, times


def _state(r: IPReassembler) -> list[Any]:
    """What the reassembler holds, bulk entries read as the datagrams they stand for."""
    out: list[Any] = [r._bytes, r.dropped]
    for key, value in r._pending.items():
        if isinstance(value, int):
            assert r._bulk is not None
            frags = [(f, o, d, True) for f, o, d in r._bulk.fragments(value)]
            first_ts, _ = r._bulk.first_ts_serial(value)
            out.append((key, first_ts, frags, None, r._bulk.size(value)))
        else:
            frags = [(f.frame, f.offset, f.data, f.more) for f in value.fragments]
            out.append((key, value.first_ts, frags, value.total, value.size))
    return out


def _compare(packets: list[bytes], times: list[int], max_bytes: int, timeout_ns: int) -> int:
    """Feed ``packets`` both ways; returns how many fragments went in bulk."""
    buf = np.frombuffer(b"".join(packets), dtype=np.uint8)
    starts = np.cumsum([0] + [len(p) for p in packets[:-1]]).astype(np.int64)
    frames = np.arange(1, len(packets) + 1, dtype=np.int64)
    ts = np.array(times, dtype=np.int64)
    one = IPReassembler(max_bytes=max_bytes, timeout_ns=timeout_ns)
    bulk = IPReassembler(max_bytes=max_bytes, timeout_ns=timeout_ns)

    def add(r: IPReassembler, p: int) -> tuple[Any, ...]:
        info, payload = ipv4_fragment(buf, int(starts[p]))
        layer = Layer("ip", 0)
        done = r.add(info, payload, p + 1, times[p], layer)
        return done, dict(layer.fields)

    expected = []
    for p in range(len(packets)):
        expected.append(add(one, p))
    # the walk the per-packet paths use: rows are whole frames here (offset 0: the IP header)
    rows = np.arange(len(packets), dtype=np.int64)
    valid = np.ones(len(packets), dtype=bool)
    positions, frags = candidates(_Batch(buf, starts, ts), frames, rows, valid, np.zeros(len(packets), np.int64))
    got: dict[int, Any] = {}
    taken = 0

    def per_row(p: int) -> None:
        got[p] = add(bulk, p)

    def on_bulk(lo: int, hi: int) -> None:
        nonlocal taken
        taken += hi - lo
        for p in positions[lo:hi].tolist():
            got[p] = (None, {})

    walk_rows(len(packets), positions, lambda lo, hi: bulk.add_pending_batch(frags, lo, hi), per_row, on_bulk)
    assert [got[p] for p in range(len(packets))] == expected
    assert _state(bulk) == _state(one)
    return taken


class _Batch:
    """The parts of a record batch :func:`candidates` reads."""

    def __init__(self, buf: np.ndarray, starts: np.ndarray, ts: np.ndarray) -> None:
        self.buf, self.data_off, self.ts_ns = buf, starts, ts


@pytest.mark.parametrize("seed", range(10))
def test_bulk_is_one_by_one(seed: int) -> None:
    rng = random.Random(seed)
    packets, times = _flood(rng, 3000, keys=rng.choice([50, 400, 5000]), jumps=seed % 2 == 1)
    # limits that bite: a timeout of a few hundred fragments, a buffer of a few hundred
    taken = _compare(packets, times, max_bytes=rng.choice([4000, 20000, 1 << 24]),
                     timeout_ns=rng.choice([4000, 40000]))
    assert taken > 0


def _steady(rng: random.Random, n: int, keys: int) -> tuple[list[bytes], list[int]]:
    """A long flood of fragments with more to follow (a few last ones among them, which
    go one by one): keys come back now and then, mostly after their datagram timed out;
    time steps back now and then."""
    packets, times = [], []
    t = 1_000_000
    for _ in range(n):
        src, ident = rng.randrange(1, 4), rng.randrange(keys)
        off = 8 * rng.randrange(0, 8)
        more = rng.random() > 0.02
        packets.append(_ip(src, ident, off, more, bytes(rng.randrange(256) for _ in range(8 * rng.randrange(1, 4)))))
        t += rng.randrange(5, 15) if rng.random() > 0.01 else -rng.randrange(1, 200)
        times.append(t)
    return packets, times


@pytest.mark.parametrize("seed", range(8))
def test_long_flood_with_timeouts_and_limit(seed: int) -> None:
    """Datagrams time out within the bulk runs (old ones and ones the run made), keys come
    back after that, the byte limit sits near what the timeout leaves buffered."""
    rng = random.Random(100 + seed)
    packets, times = _steady(rng, 4000, keys=rng.choice([3000, 5000]))
    # ~100 fragments per timeout, ~16 bytes each: a limit of 2,000-2,400 bytes bites now and then
    taken = _compare(packets, times, max_bytes=rng.choice([2000, 2400, 1 << 24]), timeout_ns=1000)
    assert taken > 1000


def test_never_completing_flood_goes_in_bulk() -> None:
    """First fragments that never complete (benchmarks/make_hostile.py's frags.pcap, small):
    all go in bulk while they fit and until they time out; the rest one by one, the same."""
    packets = [_ip(1 + i // 65536, i % 65536, 0, True, bytes(24)) for i in range(5000)]
    times = [1000 * i for i in range(5000)]
    assert _compare(packets, times, max_bytes=1 << 24, timeout_ns=10**12) == 5000
    assert _compare(packets, times, max_bytes=24 * 1000, timeout_ns=10**12) >= 1000
    assert _compare(packets, times, max_bytes=1 << 24, timeout_ns=1000 * 500) == 5000  # timeouts too


def test_completing_late() -> None:
    """Fragments taken in bulk, then the last one completes the datagram: the same bytes
    and reassembly fields as when each was added."""
    body = bytes(range(200))
    packets = [_ip(1, 7, off, True, body[off:off + 40]) for off in range(0, 160, 40)]
    packets += [_ip(2, i, 0, True, bytes(8)) for i in range(100)]  # others between
    packets.append(_ip(1, 7, 160, False, body[160:]))
    _compare(packets, list(range(len(packets))), max_bytes=1 << 24, timeout_ns=10**9)


@pytest.mark.parametrize("name", ["ip/fragmented-1.pcap", "ip/fragmented-syn.pcap", "ip/ipfrags.dmp.gz",
                                  "broken/ip_fragmented_garbage.pcap", "labs/ip-ethereal-trace-1"])
def test_corpus_fragments(name: str) -> None:
    """The IPv4 fragments of the corpus's fragment captures, both ways."""
    from pcapkit.capture.files import read_frames

    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{path} not in the corpus")
    packets, times = [], []
    for frame in read_frames(path):
        data = frame.data
        off = {1: 14, 101: 0, 113: 16}.get(frame.linktype)
        if off is None or len(data) < off + 20 or data[off] >> 4 != 4:
            continue
        total = struct.unpack_from("!H", data, off + 2)[0]
        ff = struct.unpack_from("!H", data, off + 6)[0]
        if (ff & 0x3FFF) == 0 or total < (data[off] & 0x0F) * 4 or len(data) < off + total or data[off] & 0x0F < 5:
            continue
        packets.append(data[off:off + total])
        times.append(frame.ts_ns)
    if not packets:
        pytest.skip(f"no whole IPv4 fragment in {name}")
    _compare(packets, times, max_bytes=1 << 24, timeout_ns=60 * 10**9)
