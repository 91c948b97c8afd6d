"""Pending IPv4 fragments skip the per-packet dissectors (only the reassembler's
bookkeeping runs): every table must be what the full dissection of each fragment gives.

The reference is the same code with the shortcuts refused for every fragment
(``IPReassembler.add_if_incomplete`` answering "might complete", ``add_pending_batch``
taking none), so each fragment goes through the dissectors as before the shortcuts existed."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from pcapkit.capture.writer import PcapWriter
from pcapkit.dissect.ipreassembly import IPReassembler
from pcapkit.frame import Frame

CORPUS = Path(os.environ.get("PCAPKIT_CORPUS", "/nonexistent"))
ETH = bytes.fromhex("020000000002" "020000000001" "0800")
SYN = struct.pack("!HHIIBBHHH", 1234, 80, 1000, 0, 0x70, 0x02, 8192, 0, 0) + bytes.fromhex("020405b4010303020402")


def _ip(ident: int, offset: int, more: bool, payload: bytes, proto: int = 6, src: int = 1,
        options: bytes = b"") -> bytes:
    ihl = 5 + len(options) // 4
    ff = (0x2000 if more else 0) | (offset // 8)
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), ident, ff, 64, proto, 0,
                       bytes([10, 0, 0, src]), bytes([10, 0, 0, 2])) + options + payload


def _datagrams(rng: random.Random) -> list[tuple[bytes, int]]:
    """(IP packet, bytes cut off by the snap length) of fragments of many kinds, interleaved."""
    out: list[list[tuple[bytes, int]]] = []
    for ident in range(300):
        kind = ident % 10
        proto = 17 if kind == 3 else 6
        body = (SYN if kind in (0, 5) else bytes(rng.randrange(256) for _ in range(24))) + bytes(40)
        pieces = [(0, body[:24]), (24, body[24:48]), (48, body[48:])]
        if kind == 1:
            pieces = pieces[::-1]          # last fragment first
        elif kind == 2:
            pieces = pieces[:2]            # never completes
        elif kind == 4:
            pieces.insert(1, (16, bytes(16)))  # overlap with different bytes
        elif kind == 6:
            pieces = [(0, body[:24])]      # a lone first fragment
        elif kind == 7:
            pieces = [(65528, bytes(16))]  # runs past the largest datagram
        frags = []
        for off, data in pieces:
            more = off + len(data) < len(body) if kind != 7 else False
            options = bytes.fromhex("01010100") if kind == 8 else b""
            frags.append((_ip(ident, off, more, data, proto, 1 + ident % 3, options), 8 if kind == 9 and off else 0))
        out.append(frags)
    mixed: list[tuple[bytes, int]] = []
    while any(out):
        group = rng.choice([g for g in out if g])
        mixed.append(group.pop(0))
    return mixed


def _write(path: Path, packets: list[tuple[bytes, int]]) -> Path:
    with PcapWriter(path, linktype=1) as w:
        for i, (pkt, cut) in enumerate(packets, 1):
            data = ETH + pkt
            w.write(Frame(i, 1_700_000_000_000_000_000 + i * 1000, len(data) - cut, len(data), 1, 0,
                          data[:len(data) - cut]))
    return path


def _files(tmp_path: Path) -> list[Path]:
    files = [_write(tmp_path / "mixed.pcap", _datagrams(random.Random(11)))]
    for name in ("ip/fragmented-1.pcap", "ip/fragmented-syn.pcap", "ip/ipfrags.dmp.gz",
                 "broken/ip_fragmented_garbage.pcap", "labs/ip-ethereal-trace-1"):
        if (CORPUS / name).exists():
            files.append(CORPUS / name)
    return files


def _both(monkeypatch: pytest.MonkeyPatch, run: Any) -> tuple[Any, Any, int]:
    """``run()`` with the shortcut, without it, and how often the shortcut was taken."""
    taken = 0
    real = IPReassembler.add_if_incomplete

    def counting(self: IPReassembler, *args: Any) -> bool:
        nonlocal taken
        done = real(self, *args)
        taken += done
        return done

    real_bulk = IPReassembler.add_pending_batch

    def counting_bulk(self: IPReassembler, rows: Any, lo: int, hi: int) -> int:
        nonlocal taken
        stop = real_bulk(self, rows, lo, hi)
        taken += stop - lo
        return stop

    monkeypatch.setattr(IPReassembler, "add_if_incomplete", counting)
    monkeypatch.setattr(IPReassembler, "add_pending_batch", counting_bulk)
    fast = run()
    monkeypatch.setattr(IPReassembler, "add_if_incomplete", lambda self, *args: False)
    monkeypatch.setattr(IPReassembler, "add_pending_batch", lambda self, rows, lo, hi: lo)
    full = run()
    return fast, full, taken


def test_packets_table_is_the_dissectors_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pcapkit.columnar.api import read_packets

    files = _files(tmp_path)
    fast, full, taken = _both(monkeypatch, lambda: [read_packets(f, strict=False) for f in files])
    assert taken > 100  # the mixed file's pending fragments took the shortcut
    for f, a, b in zip(files, fast, full, strict=True):
        pd.testing.assert_frame_equal(a, b, obj=str(f))


def test_segments_and_packet_facts_are_the_dissectors_answer(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from pcapkit.tcpflow.segments import segment_table

    files = _files(tmp_path)
    fast, full, taken = _both(monkeypatch, lambda: [segment_table(f, packets=True) for f in files])
    assert taken > 100
    for f, a, b in zip(files, fast, full, strict=True):
        assert a.addresses == b.addresses, f
        for name, value in vars(a).items():
            other = getattr(b, name)
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, other, err_msg=f"{f}: {name}")
        assert a.packets is not None and b.packets is not None
        for name, value in vars(a.packets).items():
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(value, getattr(b.packets, name), err_msg=f"{f}: packets.{name}")


def test_reports_on_the_mixed_file_are_the_dissectors_answer(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from pcapkit.reports.flows import flows
    from pcapkit.tcpflow.tcptrace import tcptrace_stats

    path = _files(tmp_path)[0]
    fast, full, taken = _both(monkeypatch, lambda: (flows(path), tcptrace_stats(path)))
    assert taken > 100
    pd.testing.assert_frame_equal(fast[0], full[0])
    pd.testing.assert_frame_equal(fast[1], full[1])
    assert len(fast[1]) > 0  # first fragments of SYNs: tcptrace's connections
