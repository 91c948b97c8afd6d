"""``pcapkit read`` on IP fragments against tcpdump's own lines: fragments are printed as
they are on the wire, never reassembled (the first with the TCP or UDP header at its
start, later ones as ``ip-proto-N``), including the headers tcpdump complains about; the
lines formatted from columns (pcapkit.cli.read_lines) equal the per-packet ones."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from pcapkit.capture import compiled
from pcapkit.cli import read_cmd
from pcapkit.cli.read_cmd import read

SRC4, DST4 = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])
SRC6, DST6 = bytes(15) + b"\x01", bytes(15) + b"\x02"
MF = 0x2000  # IPv4 "more fragments"
SPORT, DPORT = 40000, 40001  # no port tcpdump decodes an application protocol on


def ipv4(payload: bytes, proto: int = 6, frag: int = MF, total: int | None = None) -> bytes:
    length = 20 + len(payload) if total is None else total
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, length, 7, frag, 64, proto, 0, SRC4, DST4) + payload


def ipv6_fragment(payload: bytes, nxt: int, offset8: int, more: bool) -> bytes:
    header = struct.pack("!BBHI", nxt, 0, (offset8 << 3) | more, 77)
    return struct.pack("!IHBB16s16s", 0x60000000, 8 + len(payload), 44, 64, SRC6, DST6) + header + payload


def tcp(header_words: int = 5, flags: int = 0x18, options: bytes = b"", payload: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", SPORT, DPORT, 1000, 2000, header_words << 4, flags, 512, 0, 0) + options + payload


def udp(length: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", SPORT, DPORT, length, 0) + payload


TIMESTAMPS = b"\x01\x01\x08\x0a" + struct.pack("!II", 5, 6)
PACKETS = [
    ipv4(b"\x00" * 24),                                   # benchmarks/make_hostile.py's fragment
    ipv4(tcp(0, payload=b"x" * 10)),                      # header length 0 < 20
    ipv4(tcp(3)),                                         # 12 < 20
    ipv4(tcp(5, payload=b"y" * 30)),                      # a whole header, 30 bytes after it
    ipv4(tcp(5, 0x02)),                                   # a SYN, nothing after it
    ipv4(tcp(8, 0x10, TIMESTAMPS, b"z" * 100)),           # with options (left to the dissectors)
    ipv4(tcp(15, 0x10, payload=b"q" * 8)),                # header length 60 > the 28 bytes
    ipv4(tcp(5, 0x11)[:12]),                              # the fragment ends inside the header
    ipv4(tcp(5)[:3]),                                     # ... before the destination port
    ipv4(udp(1000, b"d" * 100), 17),                      # the datagram's length, not the fragment's
    ipv4(udp(50, b"d" * 42), 17),
    ipv4(udp(30, b"d" * 42), 17),
    ipv4(udp(4, b"d" * 42), 17),                          # length field < 8
    ipv4(udp(1000, b""), 17),
    ipv4(b"\x00" * 4, 17),                                # fewer than 8 bytes of UDP
    ipv4(b"\x00" * 24, 6, frag=MF | 3),                   # later fragments
    ipv4(b"\x00" * 24, 17, frag=5),
    ipv4(b"\x00" * 24, 1, frag=5),
    ipv4(b"\x08\x00\x00\x00\x00\x01\x00\x01" + b"p" * 16, 1),  # a first ICMP fragment
    ipv4(tcp(5, payload=b"y" * 30), frag=0x4000),         # don't fragment: a whole datagram
    ipv6_fragment(tcp(5, payload=b"y" * 30), 6, 0, True),
    ipv6_fragment(tcp(0, payload=b"y" * 30), 6, 0, True),
    ipv6_fragment(udp(1000, b"d" * 30), 17, 0, True),
    ipv6_fragment(b"y" * 40, 6, 10, True),
    ipv6_fragment(b"y" * 40, 17, 10, False),
]


def write_pcap(path: Path, packets: list[bytes]) -> None:
    """Ethernet frames, padded to 60 bytes as on the wire (the padding is no IP payload)."""
    records = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i, packet in enumerate(packets):
        ethertype = 0x86DD if packet[0] >> 4 == 6 else 0x0800
        frame = bytes(5) + b"\x02" + bytes(5) + b"\x01" + struct.pack("!H", ethertype) + packet
        frame += bytes(max(0, 60 - len(frame)))
        records.append(struct.pack("<IIII", 1_700_000_000, i, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(records))


def run(args: list[str]) -> str:
    result = CliRunner().invoke(read, args)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture
def fragments(tmp_path: Path) -> Path:
    path = tmp_path / "fragments.pcap"
    write_pcap(path, PACKETS)
    return path


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_fragment_lines_equal_tcpdump(fragments: Path) -> None:
    expected = subprocess.run(["tcpdump", "-n", "-S", "-tt", "-r", str(fragments)], capture_output=True,
                              text=True, check=True).stdout
    assert run([str(fragments), "--no-number"]).splitlines() == expected.splitlines()


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_many_fragments_from_columns_equal_tcpdump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kind above many times over: the batched path (compiled kernels) takes the
    IPv4 fragments from the columns, its lines are tcpdump's."""
    if not compiled.numba_installed():
        pytest.skip("numba not installed: pcapkit read formats one packet at a time")
    monkeypatch.setattr(compiled, "SMALL_INPUT_BYTES", 0)
    monkeypatch.setattr(read_cmd, "FIRST_LINES", 3)
    path = tmp_path / "many.pcap"
    write_pcap(path, PACKETS * 40)
    expected = subprocess.run(["tcpdump", "-n", "-S", "-tt", "-r", str(path)], capture_output=True,
                              text=True, check=True).stdout
    assert read_cmd.batched(str(path))
    assert run([str(path), "--no-number"]).splitlines() == expected.splitlines()


def test_fragment_lines_from_columns_equal_per_packet(fragments: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not compiled.numba_installed():
        pytest.skip("numba not installed: pcapkit read formats one packet at a time")
    monkeypatch.setattr(compiled, "SMALL_INPUT_BYTES", 0)
    monkeypatch.setattr(read_cmd, "FIRST_LINES", 0)
    batched = run([str(fragments)])
    monkeypatch.setattr(read_cmd, "batched", lambda path: False)
    assert batched == run([str(fragments)])


def test_first_fragment_lines_come_from_the_columns(fragments: Path) -> None:
    """The IPv4 fragments of the kinds read_lines knows are formatted without dissecting
    (those it leaves alone: TCP options, a first fragment of ICMP, fewer than 4 bytes,
    IPv6 fragments)."""
    if not compiled.numba_installed():
        pytest.skip("numba not installed")
    from pcapkit.capture.batch import iter_records
    from pcapkit.cli import read_lines
    from pcapkit.columnar.decode import decode_batch

    rb = next(iter_records(str(fragments)))
    fast, _, _ = read_lines._fast_lines(rb, decode_batch(rb), False)
    left = {5, 8, 18, *range(20, len(PACKETS))}
    assert [i for i in range(len(PACKETS)) if not fast[i]] == sorted(left)


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
def test_tcp_header_cut_by_the_snap_length_equals_tcpdump(tmp_path: Path) -> None:
    """Not only in fragments: a TCP header cut short after its ports is `` [|tcp]`` after
    the ports (tcp_print's truncation after printing them), before them ``[|tcp]``."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0, SRC4, DST4)
    frame = bytes(5) + b"\x02" + bytes(5) + b"\x01" + b"\x08\x00" + ip + tcp(5, 0x10)
    records = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for cut in (14 + 20 + 3, 14 + 20 + 10, 14 + 20 + 19):
        records.append(struct.pack("<IIII", 1, 0, cut, len(frame)) + frame[:cut])
    path = tmp_path / "cut.pcap"
    path.write_bytes(b"".join(records))
    expected = subprocess.run(["tcpdump", "-n", "-S", "-tt", "-r", str(path)], capture_output=True,
                              text=True, check=True).stdout
    assert run([str(path), "--no-number"]).splitlines() == expected.splitlines()
