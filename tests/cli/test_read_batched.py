"""``pcapkit read``'s lines formatted from columns (pcapkit.cli.read_lines) against the
per-packet path (dissect + summary_line for every frame) on every small plain pcap file of
the corpus: odd link types, VLAN, fragments, IPv6 (extension headers, tunnels), TCP
options, damaged and truncated files. Output, error text and exit status must be equal."""

from __future__ import annotations

import gzip
import os
import random
import socket
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import CAPTURES, CORPUS, corpus_files, corpus_id

from pcapkit.capture import compiled
from pcapkit.capture.batch import iter_records
from pcapkit.cli import read_cmd, read_lines
from pcapkit.cli.read_cmd import read
from pcapkit.columnar.decode import decode_batch
from pcapkit.errors import CaptureFileError

MAX_BYTES = 1 << 20  # keeps the per-packet runs short: about 200 files, 20,000 packets
FILES = [p for p in [*corpus_files(), *sorted(CAPTURES.glob("*.pcap"))]
         if p.stat().st_size <= MAX_BYTES and read_cmd.is_plain_capture(str(p))]


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(read, args)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _batched_at_any_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """The corpus files are small: have the batched path (compiled kernels) take them all the same."""
    if not compiled.numba_installed():
        pytest.skip("numba not installed: pcapkit read formats one packet at a time")
    monkeypatch.setattr(compiled, "SMALL_INPUT_BYTES", 0)
    monkeypatch.setattr(read_cmd, "FIRST_LINES", 0)


def per_packet(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> tuple[int, str, str]:
    with monkeypatch.context() as m:
        m.setattr(read_cmd, "batched", lambda path: False)
        return run(args)


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_batched_lines_equal_per_packet_lines(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run([str(path)]) == per_packet(monkeypatch, [str(path)])


@pytest.mark.parametrize("args", [["-c", "7"], ["--no-number"], ["-c", "100000", "--no-number"]])
@pytest.mark.parametrize("name", ["labs/tcp-ethereal-trace-1", "labs/NAT_home_side.pcap"])
def test_count_and_numbering(name: str, args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(CORPUS / name)
    if not Path(path).exists():
        pytest.skip("corpus file missing")
    assert run([path, *args]) == per_packet(monkeypatch, [path, *args])


@pytest.mark.parametrize("args", [[], ["-c", "3"], ["-c", "5"], ["-c", "40"], ["--no-number"]])
@pytest.mark.parametrize("cut", [False, True], ids=["whole", "cut-mid-record"])
@pytest.mark.parametrize("fmt", ["pcap", "pcapng", "pcap.gz"])
def test_first_lines_then_batches(fmt: str, cut: bool, args: list[str], monkeypatch: pytest.MonkeyPatch,
                                  tmp_path: Path) -> None:
    """The first lines one packet at a time, the rest from the columns: no line twice or
    lost, also when the file ends in the middle of a record (the reader reports it)."""
    source = CORPUS / "labs/tcp-ethereal-trace-1"
    if not source.exists():
        pytest.skip("corpus file missing")
    if fmt == "pcapng":  # (the same packets as enhanced packet blocks, written by Wireshark's editcap)
        converted = tmp_path / "trace.pcapng"
        subprocess.run(["editcap", "-F", "pcapng", str(source), str(converted)], check=True)
        source = converted
    path = source
    if cut:
        path = tmp_path / "cut.pcap"
        path.write_bytes(source.read_bytes()[:-100])
    if fmt == "pcap.gz":
        zipped = tmp_path / "trace.pcap.gz"
        zipped.write_bytes(gzip.compress(path.read_bytes()))
        path = zipped
    monkeypatch.setattr(read_cmd, "FIRST_LINES", 5)
    got = run([str(path), *args])
    assert got == per_packet(monkeypatch, [str(path), *args])
    assert got[0] == (1 if cut and args[:1] != ["-c"] else 0)


def test_cut_compressed_stream(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A gzip stream cut short: the lines of every whole record before the cut, then the
    reader's error, as the per-packet path gives them."""
    source = CORPUS / "labs/tcp-ethereal-trace-1"
    if not source.exists():
        pytest.skip("corpus file missing")
    path = tmp_path / "cut.pcap.gz"
    path.write_bytes(gzip.compress(source.read_bytes())[:30_000])
    assert read_cmd.batched(str(path))
    monkeypatch.setattr(read_cmd, "FIRST_LINES", 5)
    got = run([str(path)])
    assert got == per_packet(monkeypatch, [str(path)])
    assert got[0] == 1 and got[1].count("\n") > 5


def test_damaged_compressed_streams_are_no_plain_captures(tmp_path: Path) -> None:
    """Bits flipped in the first deflate blocks (seeded): the check that chooses the batched
    path answers (False when the stream cannot be read), it never raises."""
    import random

    source = CORPUS / "labs/tcp-ethereal-trace-1"
    if not source.exists():
        pytest.skip("corpus file missing")
    raw = gzip.compress(source.read_bytes())
    rng = random.Random(3)
    path = tmp_path / "damaged.pcap.gz"
    for _ in range(300):
        data = bytearray(raw)
        for _ in range(3):
            data[rng.randrange(10, 60)] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(data))
        assert read_cmd.is_plain_capture(str(path)) in (True, False)


def test_small_files_take_the_per_packet_path(monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(CORPUS / "labs/tcp-ethereal-trace-1")
    assert read_cmd.is_plain_capture(path)
    assert read_cmd.batched(path)
    monkeypatch.undo()  # the real size limit
    with compiled.input_size(os.path.getsize(path)):
        assert not read_cmd.batched(path)
    with compiled.input_size(compiled.SMALL_INPUT_BYTES):
        assert read_cmd.batched(path)


def test_damaged_files_are_in_the_sample() -> None:
    """The sample has files whose batch walk stops early (the reader takes over there)."""
    assert any(p.parent.name == "broken" for p in FILES)


def test_most_lines_come_from_the_columns() -> None:
    """On a TCP transfer the columns format nearly every line (the test above then
    compares the batched text, not the per-packet fallback)."""
    path = CORPUS / "labs/tcp-ethereal-trace-1"
    if not path.exists():
        pytest.skip("corpus file missing")
    fast = total = 0
    for rb in iter_records(str(path)):
        mask, offsets, data = read_lines._fast_lines(rb, decode_batch(rb), number=True)
        fast += int(mask.sum())
        total += len(rb)
        assert offsets.size == int(mask.sum()) + 1 and data.tobytes().count(b"\n") == int(mask.sum())
    assert fast >= 0.9 * total


def test_lines_from_bytes_are_the_columns_lines() -> None:
    """Every record record_lines.format_records takes from its bytes is one the columns
    format too (a subset of _fast_lines' rows), with the same line; on a TCP transfer it
    takes nearly all of them."""
    from pcapkit.cli.record_lines import format_records

    buffer = read_lines._LineBuffer()
    taken_total = rows_total = 0
    for path in FILES:
        try:
            for rb in iter_records(str(path)):
                if int(rb.linktype[0]) != read_lines.ETHERNET:
                    continue
                n = len(rb)
                taken = np.zeros(n, dtype=bool)
                offsets = np.zeros(n + 1, dtype=np.int64)
                data = buffer.room(n)
                format_records(rb.buf, rb.data_off, rb.caplen, rb.wirelen, rb.ts_ns, rb.first_number, True,
                               buffer.flag_text, buffer.flag_off, buffer.tunnel_port, data, offsets, taken)
                fast, col_offsets, col_data = read_lines._fast_lines(rb, decode_batch(rb), number=True)
                assert not (taken & ~fast).any(), path
                rank = np.cumsum(fast) - 1
                for r in np.nonzero(taken)[0].tolist():
                    assert (bytes(data[offsets[r]:offsets[r + 1]])
                            == bytes(col_data[col_offsets[rank[r]]:col_offsets[rank[r] + 1]])), (path, r)
                taken_total += int(taken.sum())
                rows_total += n
        except CaptureFileError:
            continue  # a damaged file: the records before the damage were compared
    assert taken_total >= 0.5 * rows_total


def _ipv6_addresses() -> list[bytes]:
    """inet_ntop's cases (zero runs first / last / in the middle, equal runs, IPv4-mapped and
    -compatible forms) and random addresses with many zero words."""
    edges = ["::", "::1", "1::", "::ffff:1.2.3.4", "::1.2.3.4", "::ffff:0:1.2.3.4", "1:0:0:1:0:0:0:1",
             "1:0:0:0:1:0:0:1", "fe80::1:0:0:1", "2001:db8::", "0:0:1::", "1:2:3:4:5:6:7:8", "1:0:2:0:3:0:4:0",
             "::fffe:1.2.3.4", "0:0:0:0:0:ffff:0:0", "0:1:0:0:0:0:0:0", "ffff::ffff"]
    rng = random.Random(13)
    words = [[rng.choice([0, 0, 1, 0xFFFF, rng.randrange(1 << 16)]) for _ in range(8)] for _ in range(300)]
    return ([socket.inet_pton(socket.AF_INET6, e) for e in edges]
            + [struct.pack("!8H", *w) for w in words])


def _transport(tcp: bool, sport: int, dport: int, size: int) -> bytes:
    if not tcp:
        return struct.pack("!HHHH", sport, dport, 8 + size, 0) + bytes(size)
    options = bytes([1, 1, 8, 10]) + struct.pack("!II", 7, 9)
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000, 8 << 4, 0x18, 512, 0, 0) + options + bytes(size)


def test_ipv6_and_vlan_lines_from_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """IPv6 (every way inet_ntop writes an address) and 802.1Q-tagged records: the lines
    format_records writes are the dissectors' lines, and it takes every record."""
    records = []
    addresses = _ipv6_addresses()
    for i, (src, dst) in enumerate(zip(addresses, addresses[1:] + addresses[:1], strict=True)):
        l4 = _transport(i % 2 == 0, 40000 + i, 50000, i % 7)
        ip6 = struct.pack("!IHBB", 6 << 28, len(l4), 6 if i % 2 == 0 else 17, 64) + src + dst + l4
        link = bytes(6) + bytes([2] * 6)
        tag = struct.pack("!HH", 0x8100, i % 4096) if i % 3 == 0 else b""
        records.append(link + tag + b"\x86\xdd" + ip6)
        l4 = _transport(i % 2 == 1, 1024 + i, 443, i % 5)
        ip4 = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), i, 0, 64, 6 if i % 2 == 1 else 17, 0,
                          bytes([10, 0, i % 256, 1]), bytes([192, 168, 1, i % 256])) + l4
        records.append(link + struct.pack("!HH", 0x8100, 7) + b"\x08\x00" + ip4)
    path = tmp_path / "v6.pcap"
    with path.open("wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(records):
            f.write(struct.pack("<IIII", 1_700_000_000 + i, i, len(frame), len(frame)) + frame)
    assert run([str(path)]) == per_packet(monkeypatch, [str(path)])
    buffer = read_lines._LineBuffer()
    from pcapkit.cli.record_lines import format_records

    for rb in iter_records(str(path)):
        taken = np.zeros(len(rb), dtype=bool)
        format_records(rb.buf, rb.data_off, rb.caplen, rb.wirelen, rb.ts_ns, rb.first_number, True,
                       buffer.flag_text, buffer.flag_off, buffer.tunnel_port, buffer.room(len(rb)),
                       np.zeros(len(rb) + 1, dtype=np.int64), taken)
        assert taken.all()
