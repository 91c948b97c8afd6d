"""Frame stacks from the columnar pass (:mod:`pcapkit.columnar.protocols`) against tshark.

The frames the fast path serves without dissection (TCP segments without payload, pending
IPv4 fragments) must carry tshark's ``frame.protocols``; the hierarchy and the expert table
built on them must be tshark's ``-z io,phs`` and ``-z expert``; and the per-frame path
(every frame dissected) must give the same answer wherever the fast path serves a file or
refuses it (cut files, reassembly timeouts).
"""

from __future__ import annotations

import gzip
import re
import struct
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import CORPUS, requires_tshark, seeded_mutants

from pcapkit.columnar import protocols
from pcapkit.dissect import hierarchy
from pcapkit.errors import PcapkitError
from pcapkit.reports import expert, expert_findings

ETH = bytes.fromhex("020000000002" "020000000001")
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1)
# SYN options as stacks send them: MSS, SACK permitted, timestamps, NOP, window scale
LINUX_SYN_OPTIONS = bytes.fromhex("020405b40402080a0001e240000000000103030a")
TFO_COOKIE = bytes.fromhex("220a0102030405060708") + b"\x01\x01"  # kind 34, an 8-byte cookie, NOP NOP
UNKNOWN_OPTION = bytes.fromhex("6304abcd")  # kind 99: kept raw with a finding


def _ipv4(src: int, payload: bytes, *, proto: int = 6, ident: int = 1, frag: int = 0x4000, ttl: int = 64,
          total: int = 0) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, total or 20 + len(payload), ident, frag, ttl, proto, 0,
                       struct.pack("!I", 0x0A000000 | src), bytes([10, 9, 0, 2])) + payload


def _ipv6(src: int, payload: bytes) -> bytes:
    return (struct.pack("!IHBB", 0x60000000, len(payload), 6, 64) + bytes(12) + struct.pack("!I", src)
            + bytes(15) + b"\x02" + payload)


def _tcp(sport: int, flags: int, options: bytes = b"", payload: bytes = b"", seq: int = 1000) -> bytes:
    return struct.pack("!HHIIBBHHH", sport, 80, seq, 0, (5 + len(options) // 4) << 4, flags, 65535, 0,
                       0) + options + payload


def _data(seq: int, payload: bytes, ttl: int = 64) -> bytes:
    """A segment of the one stream that carries payloads, in order (between ports without a
    dissector, where tshark shows "data" and its analysis finds nothing)."""
    return struct.pack("!HHIIBBHHH", 41001, 41000, seq, 0, 5 << 4, 0x18, 65535, 0, 0) + payload


def _frames(n: int) -> Iterator[bytes]:
    """A mix of what the fast path serves and what it leaves to the dissectors."""
    seq = 1  # of the payload stream
    for i in range(n):
        k = i % 10
        if k == 0:
            yield ETH + b"\x08\x00" + _ipv4(i, _tcp(1024 + i, 0x02, LINUX_SYN_OPTIONS))
        elif k == 1:
            yield ETH + b"\x86\xdd" + _ipv6(i, _tcp(1024 + i, 0x02))
        elif k == 2:  # 802.1Q
            yield ETH + b"\x81\x00\x00\x05\x08\x00" + _ipv4(i, _tcp(1024 + i, 0x04))
        elif k == 3:  # a first fragment that never completes
            yield ETH + b"\x08\x00" + _ipv4(i, b"\x00" * 24, ident=i, frag=0x2000)
        elif k == 4 and i % 20 == 4:  # a datagram in two fragments: the second completes it
            body = _data(seq, b"x" * 40)
            seq += 40
            yield ETH + b"\x08\x00" + _ipv4(1, body[:32], ident=50000 + i, frag=0x2000)
            yield ETH + b"\x08\x00" + _ipv4(1, body[32:], ident=50000 + i, frag=4)
        elif k == 5:  # dissected: TFO cookie, unknown option, FIN, payload (with a low TTL)
            yield ETH + b"\x08\x00" + _ipv4(i, _tcp(1024 + i, 0x02, TFO_COOKIE))
            yield ETH + b"\x08\x00" + _ipv4(i, _tcp(1024 + i, 0x02, UNKNOWN_OPTION))
            yield ETH + b"\x08\x00" + _ipv4(i, _tcp(1024 + i, 0x11))
            yield ETH + b"\x08\x00" + _ipv4(1, _data(seq, b"hello"), ttl=3)
            seq += 5
        elif k == 6 and i % 100 == 6:  # a total length beyond the frame: a finding, dissected
            yield ETH + b"\x08\x00" + _ipv4(i, _tcp(1024 + i, 0x10), total=400)
        else:
            yield ETH + b"\x08\x00" + _ipv4(i, _tcp(1024 + i, 0x10))


def _write(path: Path, frames: Iterator[bytes], step_ns: int = 1000) -> Path:
    with open(path, "wb") as f:
        f.write(PCAP_HEADER)
        t = 1_700_000_000 * 10**9
        for data in frames:
            t += step_ns
            f.write(struct.pack("<IIII", t // 10**9, t % 10**9, len(data), len(data)) + data)
    return path


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _write(tmp_path_factory.mktemp("stacks") / "mixed.pcap", _frames(2000))


def _fast_stacks(path: Path) -> tuple[list[str], set[int]]:
    """Every frame's stack from the fast path, and the numbers of the frames it served."""
    stacks = protocols.FrameStacks()
    names: list[str] = []
    served: set[int] = set()
    for batch in stacks.batches(path):
        names += [stacks.names[c] for c in batch.codes.tolist()]
        dissected = set(batch.dissected.tolist())
        served |= {batch.first_number + r for r in range(len(batch.codes)) if r not in dissected}
    return names, served


def _tshark_lines(path: Path, *args: str) -> list[str]:
    return subprocess.run(["tshark", "-n", "-r", str(path), *args], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def _tshark_phs(path: Path) -> list[tuple[str, int, int]]:
    rows: list[tuple[str, int, int]] = []
    stack: list[str] = []
    for line in _tshark_lines(path, "-q", "-z", "io,phs"):
        m = re.match(r"^( *)(\S+)\s+frames:(\d+) bytes:(\d+)$", line)
        if m:
            stack = [*stack[:len(m.group(1)) // 2], m.group(2)]
            rows.append((":".join(stack), int(m.group(3)), int(m.group(4))))
    return rows


def _tshark_expert(path: Path) -> Counter[tuple[str, str, str, str]]:
    plural = {"Errors": "Error", "Warns": "Warn", "Notes": "Note", "Chats": "Chat"}
    counts: Counter[tuple[str, str, str, str]] = Counter()
    severity = None
    for line in _tshark_lines(path, "-q", "-z", "expert"):
        heading = re.match(r"^(\w+) \(\d+\)$", line)
        if heading:
            severity = plural.get(heading.group(1))
        m = re.match(r"^\s+(\d+)\s+(\S+)\s+(\S+)\s\s(.*)$", line)
        if m and severity:
            counts[(severity, m.group(2), m.group(3), m.group(4))] += int(m.group(1))
    return counts


@requires_tshark
@pytest.mark.tshark
def test_served_frames_carry_tsharks_protocols(mixed: Path) -> None:
    names, served = _fast_stacks(mixed)
    theirs = _tshark_lines(mixed, "-T", "fields", "-e", "frame.protocols")
    assert len(names) == len(theirs)
    assert len(served) > len(names) // 2
    wrong = {n: (names[n - 1], theirs[n - 1]) for n in sorted(served) if names[n - 1] != theirs[n - 1]}
    assert not wrong, dict(list(wrong.items())[:5])
    assert {names[n - 1] for n in served} >= {"eth:ethertype:ip:tcp", "eth:ethertype:ipv6:tcp",
                                              "eth:ethertype:vlan:ethertype:ip:tcp", "eth:ethertype:ip:data",
                                              "eth:ethertype:ip:tcp:data"}


@requires_tshark
@pytest.mark.tshark
def test_hierarchy_is_tsharks(mixed: Path) -> None:
    assert protocols.protocol_hierarchy(mixed) == _tshark_phs(mixed)


@requires_tshark
@pytest.mark.tshark
def test_expert_is_tsharks(mixed: Path) -> None:
    table = expert.expert(mixed)
    ours = Counter({(r.severity, r.group, r.protocol, r.summary): int(r.count) for r in table.itertuples()})
    theirs = _tshark_expert(mixed)
    # pcapkit keeps unknown TCP options raw with a note of its own; tshark decodes kind 99 silently
    ours = Counter({k: v for k, v in ours.items() if not k[3].startswith("unknown option kind")})
    assert ours == theirs


SERVED_CORPUS = ["tcp/6syns.dmp.gz", "tcp/206_example_b.pcap", "labs/tcp-ethereal-trace-1", "tcp/fast_reuse.dmp.gz",
                 "tcp/window-scale-range.pcap", "tcp/tcp-fast-open.pcap", "tcp/http_google.pcapng"]


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("rel", SERVED_CORPUS)
def test_served_corpus_frames_carry_tsharks_protocols(rel: str) -> None:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in the corpus")
    names, served = _fast_stacks(path)
    assert served, "the fast path served no frame of this file"
    theirs = _tshark_lines(path, "-T", "fields", "-e", "frame.protocols")
    assert [names[n - 1] for n in sorted(served)] == [theirs[n - 1] for n in sorted(served)]


def _per_frame(path: Path) -> tuple[list[tuple[int, str, str, str, str]], list[tuple[str, int]]]:
    pairs: list[tuple[str, int]] = []
    items = expert_findings.finding_items_per_frame(path, None, np.arange(1, 1 << 16), pairs)
    return items, pairs


def _fast(path: Path) -> tuple[list[tuple[int, str, str, str, str]], list[tuple[str, int]]]:
    pairs: list[tuple[str, int]] = []
    items = expert_findings.finding_items(path, None, np.arange(1, 1 << 16), pairs)
    return items, pairs


def test_fast_path_is_the_per_frame_path(mixed: Path) -> None:
    assert _fast(mixed) == _per_frame(mixed)
    assert protocols.protocol_hierarchy(mixed) == hierarchy.protocol_hierarchy(mixed)


def test_reassembly_timeouts_fall_back_to_every_frame(tmp_path: Path) -> None:
    """Fragments 61 s apart time out in the reassembler: the frame that drops a datagram
    carries a finding, which only the per-frame path gives."""
    path = _write(tmp_path / "slow.pcap", _frames(200), step_ns=20 * 10**9)
    with pytest.raises(protocols.NeedsPerFrame):
        protocols.stack_counts(path)
    items, _ = _fast(path)
    assert any("timed out unassembled" in item[4] for item in items)
    assert (items, protocols.protocol_hierarchy(path)) == (_per_frame(path)[0], hierarchy.protocol_hierarchy(path))


def test_cut_file_falls_back_to_every_frame(mixed: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(mixed.read_bytes()[:50_000])
    with pytest.raises(protocols.NeedsPerFrame):
        protocols.stack_counts(cut)
    assert _fast(cut) == _per_frame(cut)
    assert protocols.protocol_hierarchy(cut) == hierarchy.protocol_hierarchy(cut)


MUTATED = ["tcp/6syns.dmp.gz", "tcp/206_example_b.pcap", "labs/tcp-ethereal-trace-1", "tcp/tcp-fast-open.pcap",
           "tcp/http_google.pcapng", "labs/dhcp-wireshark-trace1-1.pcapng", "tcp/tcp_teardown.pcapng"]


def _outcome(fn: Any, path: Path) -> Any:
    try:
        return fn(path)
    except PcapkitError as exc:
        return ("error", str(exc))


@pytest.mark.parametrize("rel", MUTATED)
def test_mutated_files_give_the_per_frame_answer(rel: str, tmp_path: Path) -> None:
    """Bytes flipped in headers and files cut short (seeded): the fast path serves or refuses
    each file, and its answer is always the per-frame one (a total length beyond the frame,
    damaged pcapng blocks and unreadable files were found this way)."""
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in the corpus")
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    for k, data in enumerate(seeded_mutants(raw, rel, 12)):
        mutant = tmp_path / f"m{k}.pcap"
        mutant.write_bytes(data)
        assert _outcome(_fast, mutant) == _outcome(_per_frame, mutant), k
        assert _outcome(protocols.protocol_hierarchy, mutant) == _outcome(hierarchy.protocol_hierarchy, mutant), k


def _heuristic_frames(claimed: bool) -> Iterator[bytes]:
    """Data segments on ports without a dissector, one of them holding "/1.": a request line
    that tshark's HTTP heuristic claims (its connection is HTTP from then on), or bytes that
    only look like one to the driver's first test."""
    seq = 1
    for i in range(300):
        if i == 150:
            payload = b"GET /index.html HTTP/1.1\r\nHost: example\r\n\r\n" if claimed else b"ab/1.cd" * 3
        else:
            payload = bytes([65 + i % 26]) * (10 + i % 50)
        yield ETH + b"\x08\x00" + _ipv4(1, _data(seq, payload))
        seq += len(payload)


@pytest.mark.parametrize("claimed", [True, False], ids=["request-line", "look-alike"])
def test_http_heuristic_payloads_are_dissected(claimed: bool, tmp_path: Path) -> None:
    """A payload with "/1." is dissected (the heuristic may claim it); once a connection is
    claimed every TCP payload goes to the session, so the fast path hands the file over."""
    path = _write(tmp_path / "heuristic.pcap", _heuristic_frames(claimed))
    if claimed:
        with pytest.raises(protocols.NeedsPerFrame):
            protocols.stack_counts(path)
    else:
        _, served = _fast_stacks(path)
        assert 151 not in served and len(served) == 299
    assert _fast(path) == _per_frame(path)
    assert protocols.protocol_hierarchy(path) == hierarchy.protocol_hierarchy(path)


# TCP captures with payloads on ports of no dissector, on HTTP and TLS ports, cut by the
# snap length, with urgent data, over IPv6 and VLANs
DATA_CORPUS = ["tcp/tcp.dmp.gz", "tcp/urgent.dmp.gz", "labs/tcp-ethereal-trace-1", "labs/http-ethereal-trace-4",
               "labs/ssl-ethereal-trace-1", "tcp/206_example_b.pcap", "tcp/fast_reuse.dmp.gz",
               "tcp/tcp-fast-open.pcap", "labs/NAT_home_side.pcap"]


@pytest.mark.parametrize("rel", DATA_CORPUS)
def test_corpus_fast_path_is_the_per_frame_path(rel: str) -> None:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in the corpus")
    assert _outcome(_fast, path) == _outcome(_per_frame, path)
    assert _outcome(protocols.protocol_hierarchy, path) == _outcome(hierarchy.protocol_hierarchy, path)
