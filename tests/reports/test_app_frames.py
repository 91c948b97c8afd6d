"""``pcapkit dns`` and ``pcapkit http`` dissect only the frames that can hold DNS or HTTP
(reports/app_frames.py): their tables must be those of the reading of every frame
(``selective=False``, the old path and the fallback), on the corpus captures with DNS or
HTTP (and a few without), a cut file, standard input, HTTP that only tshark's heuristic
finds (port 8000), and a capture where the stream dispatcher's limit of directions bites.
``benchmarks/compare_app_reports.py`` checks the command line on every corpus capture."""

from __future__ import annotations

import functools
import io
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import CORPUS, corpus_id

from pcapkit.capture.batch import iter_records
from pcapkit.cli.main import cli
from pcapkit.columnar import payload_marks
from pcapkit.columnar.decode import decode_batch
from pcapkit.dissect import driver, tcp_streams
from pcapkit.errors import PcapkitError
from pcapkit.reports import app_frames
from pcapkit.reports.dns_report import dns_queries
from pcapkit.reports.http_report import http_requests
from pcapkit.reports.lab_read import iter_selected

REPORTS: dict[str, Callable[..., pd.DataFrame]] = {"dns": dns_queries, "http": http_requests}
_APP_PROTOCOLS = {"dns", "mdns", "llmnr", "http", "ssdp"}
_WITHOUT = ("tcp/6syns.dmp.gz", "bgp/bgp-4byte-asn.pcap", "labs/dhcp-ethereal-trace-1", "ip/fragmented-1.pcap")


def _corpus() -> list[Path]:
    """The corpus captures whose protocols (INDEX.tsv) include DNS or HTTP, and a few others."""
    index = CORPUS / "INDEX.tsv"
    if not index.is_file():
        return []
    rows = [line.split("\t") for line in index.read_text().splitlines()[1:] if line]
    with_app = [r[0] for r in rows if len(r) > 4 and _APP_PROTOCOLS & set(r[4].split(","))]
    return [CORPUS / rel for rel in with_app + [rel for rel in _WITHOUT if (CORPUS / rel).is_file()]]


def _table(report: str, path: Any, **kw: Any) -> Any:
    try:
        df = REPORTS[report](path, **kw)
    except PcapkitError as exc:
        return f"{type(exc).__name__}: {exc}"
    return df, sorted(df.attrs.items())


def _same(a: Any, b: Any) -> None:
    if isinstance(a, str) or isinstance(b, str):
        assert a == b
        return
    pd.testing.assert_frame_equal(a[0], b[0])
    assert a[1] == b[1]


@pytest.fixture
def full_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files read frame by frame from here on (the old path: driver.dissect_file)."""
    read: list[str] = []
    dissect_file = driver.dissect_file

    def spy(path: Any, *args: Any, **kw: Any) -> Iterator[Any]:
        read.append(str(path))
        return dissect_file(path, *args, **kw)

    monkeypatch.setattr(driver, "dissect_file", spy)
    return read


@pytest.mark.parametrize("path", _corpus(), ids=corpus_id)
@pytest.mark.parametrize("report", sorted(REPORTS))
def test_corpus_tables_equal_the_full_reading(report: str, path: Path) -> None:
    _same(_table(report, path), _table(report, path, selective=False))


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_cut_capture_and_standard_input(report: str, tmp_path: Path, full_reads: list[str]) -> None:
    source = CORPUS / "labs/http-wireshark-trace1-1.pcapng"
    if not source.is_file():
        pytest.skip("corpus not found")
    data = source.read_bytes()
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(data[:len(data) * 2 // 3])
    _same(_table(report, cut), _table(report, cut, selective=False))
    full_reads.clear()
    runner = CliRunner()
    by_path = runner.invoke(cli, [report, str(source), "--format", "csv"])
    assert full_reads == []  # read selectively
    by_stdin = runner.invoke(cli, [report, "-", "--format", "csv"], input=data)
    assert full_reads == ["-"]
    assert by_path.exit_code == by_stdin.exit_code == 0
    # (from standard input, which cannot be read again for the first frame's time, the
    # command has no frame.time_relative column)
    from_path = pd.read_csv(io.StringIO(by_path.stdout)).drop(columns="frame.time_relative")
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(by_stdin.stdout)), from_path)
    assert len(from_path) > 0


# -- synthetic captures: Ethernet / IPv4 / TCP or UDP ----------------------------------------------

SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10
CLIENT, SERVER, OTHER = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), bytes([10, 0, 0, 3])


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, src, dst) + payload
    return bytes(6) + bytes([2, 0, 0, 0, 0, 1]) + b"\x08\x00" + ip


def _udp(src: bytes, sport: int, dst: bytes, dport: int, payload: bytes) -> bytes:
    return _ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)


class _Connection:
    """One TCP connection's frames, with sequence numbers that follow the payloads."""

    def __init__(self, client: bytes, cport: int, server: bytes, sport: int) -> None:
        self.ends = {True: (client, cport), False: (server, sport)}
        self.seq = {True: 1000, False: 5000}

    def segment(self, from_client: bool, flags: int, payload: bytes = b"") -> bytes:
        """A segment; every one but the client's SYN acknowledges."""
        (src, sport), (dst, dport) = self.ends[from_client], self.ends[not from_client]
        if not (from_client and flags == SYN):
            flags |= ACK
        tcp = struct.pack("!HHIIBBHHH", sport, dport, self.seq[from_client], self.seq[not from_client], 5 << 4,
                          flags, 65535, 0, 0) + payload
        self.seq[from_client] = (self.seq[from_client] + len(payload) + bool(flags & (SYN | FIN))) & 0xFFFFFFFF
        return _ipv4(src, dst, 6, tcp)

    def exchange(self, request: bytes, *response: bytes) -> list[bytes]:
        """Handshake, the request, the response's segments, the two FINs."""
        return [self.segment(True, SYN), self.segment(False, SYN), self.segment(True, ACK),
                self.segment(True, PSH, request), *(self.segment(False, PSH, part) for part in response),
                self.segment(True, FIN), self.segment(False, FIN)]


def _pcap(path: Path, frames: list[bytes]) -> Path:
    with path.open("wb") as out:
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for i, frame in enumerate(frames):
            out.write(struct.pack("<IIII", 1_700_000_000 + i // 100, (i % 100) * 10_000, len(frame), len(frame))
                      + frame)
    return path


def _dns(ident: int, name: str, response: bool) -> bytes:
    qname = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0"
    question = qname + struct.pack("!HH", 1, 1)
    if not response:
        return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + question
    answer = struct.pack("!HHHIH4s", 0xC00C, 1, 1, 300, 4, bytes([192, 0, 2, 7]))
    return struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + question + answer


def _bulk(count: int, mark_at: int | None = None) -> list[bytes]:
    """A transfer on port 5201 (no dissector); one segment's payload holds b"/1." (not HTTP)."""
    conn = _Connection(OTHER, 50000, SERVER, 5201)
    frames = []
    for k in range(count):
        payload = bytes((k * 7 + j) % 251 for j in range(200))
        if k == mark_at:
            payload = payload[:50] + b"x/1.y" + payload[55:]
        frames.append(conn.segment(True, PSH, payload))
    return frames


GET = b"GET /index.html HTTP/1.1\r\nHost: example.com\r\n\r\n"
# (the body in a segment of its own, without b"/1.": only a reading that follows the claimed
# connection completes the response)
OK = (b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", b"hello world!")


def _mixed(tmp_path: Path, http_port: int | None) -> Path:
    frames = _bulk(40, mark_at=5)
    frames[10:10] = [_udp(CLIENT, 40001, SERVER, 53, _dns(7, "example.com", False)),
                     _udp(SERVER, 53, CLIENT, 40001, _dns(7, "example.com", True))]
    if http_port is not None:
        frames[20:20] = _Connection(CLIENT, 40002, SERVER, http_port).exchange(GET, *OK)
    return _pcap(tmp_path / f"mixed-{http_port}.pcap", frames)


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_http_found_by_the_heuristic(report: str, tmp_path: Path, full_reads: list[str]) -> None:
    """HTTP on port 8000 (tshark's heuristic claims the connection): the reading starts again
    frame by frame (HTTP report) and gives the same rows."""
    path = _mixed(tmp_path, 8000)
    got, whole = _table(report, path), _table(report, path, selective=False)
    _same(got, whole)
    assert len(got[0]) == 1
    if report == "http":
        assert got[0]["http.request.uri"].tolist() == ["/index.html"] and got[0]["tcp.dstport"].tolist() == [8000]
        assert got[0]["http.response.code"].tolist() == [200]
        assert full_reads == [str(path)] * 2  # the selective reading gave up on the heuristic's claim
    else:
        assert full_reads == [str(path)]      # (the DNS report stays selective)


@pytest.mark.parametrize("report", sorted(REPORTS))
@pytest.mark.parametrize("http_port", [80, None])
def test_selective_without_heuristic(report: str, http_port: int | None, tmp_path: Path,
                                     full_reads: list[str]) -> None:
    """HTTP on port 80 or none, and a payload holding b"/1." that is no HTTP: read selectively."""
    path = _mixed(tmp_path, http_port)
    got, whole = _table(report, path), _table(report, path, selective=False)
    _same(got, whole)
    assert len(got[0]) == (1 if report == "dns" or http_port else 0)
    assert full_reads == [str(path)]


def _selected(path: Path, protocol: str) -> list[int]:
    session = driver.DissectSession()
    return [p.frame.number for p in iter_selected(str(path), app_frames.Selection(protocol, session), session)]


def test_only_the_frames_that_can_hold_the_protocol_are_dissected(tmp_path: Path) -> None:
    path = _mixed(tmp_path, 80)
    # frames: 1-10 bulk, 11-12 DNS, 13-20 bulk (6: b"/1."), 21-28 HTTP on port 80 (21-23 the
    # handshake: no payload, no FIN, so they never reach the stream dispatcher), 29-50 bulk
    assert _selected(path, "dns") == [11, 12]
    assert _selected(path, "http") == [6, *range(24, 29)]


def test_heuristic_rows_need_the_mark_inside_the_payload(tmp_path: Path) -> None:
    conn = _Connection(CLIENT, 40000, SERVER, 5201)
    frames = [conn.segment(True, PSH, b"a/1.b"), conn.segment(True, PSH, b"abc/1"), conn.segment(True, PSH, b"/1."),
              conn.segment(True, PSH, b"x" * 10)]
    frames.append(frames[-1] + b"/1.")  # after the IP datagram: an Ethernet trailer, no payload
    path = _pcap(tmp_path / "marks.pcap", frames)
    rb = next(iter_records(str(path), use_numba=False))
    cols = decode_batch(rb, use_kernel=False)
    rows = payload_marks.heuristic_rows(rb, cols, np.ones(len(rb), dtype=bool))
    assert rows.tolist() == [True, False, True, False, False]


@pytest.mark.parametrize("limit", [2, 100_000])
def test_stream_dispatcher_limit(limit: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 full_reads: list[str]) -> None:
    """Two TLS connections, then DNS over TCP: with a limit of two directions the stream
    dispatcher ignores the DNS connection in the full reading; the selective one must too."""
    monkeypatch.setattr(tcp_streams, "TcpStreamDispatcher",
                        functools.partial(tcp_streams.TcpStreamDispatcher, max_streams=limit))
    frames = [*_Connection(CLIENT, 40010, SERVER, 443).exchange(b"\x17\x03\x03\x00\x02hi", b"\x17\x03\x03\x00\x02ok"),
              *_Connection(OTHER, 40011, SERVER, 443).exchange(b"\x17\x03\x03\x00\x02hi", b"\x17\x03\x03\x00\x02ok")]
    query, answer = _dns(9, "example.org", False), _dns(9, "example.org", True)
    frames += _Connection(CLIENT, 40012, SERVER, 53).exchange(struct.pack("!H", len(query)) + query,
                                                               struct.pack("!H", len(answer)) + answer)
    path = _pcap(tmp_path / "limit.pcap", frames)
    got, whole = _table("dns", path), _table("dns", path, selective=False)
    _same(got, whole)
    assert len(got[0]) == (0 if limit == 2 else 1)
    assert full_reads == [str(path)] * (2 if limit == 2 else 1)  # (the limit: read again frame by frame)


@pytest.mark.parametrize("report", sorted(REPORTS))
def test_damaged_pcapng_block_reads_as_the_frame_reader(report: str, tmp_path: Path) -> None:
    """A pcapng block whose two total lengths differ (in the middle of the file): the frame
    reader stops there with a warning, where the batch reader would read on; the selective
    reading takes the frame reader's records (found by seeded mutants of corpus files)."""
    source = CORPUS / "labs/http-wireshark-trace1-1.pcapng"
    if not source.is_file():
        pytest.skip("corpus not found")
    data = bytearray(source.read_bytes())
    at, blocks = 0, []
    while at + 12 <= len(data):
        length = int.from_bytes(data[at + 4:at + 8], "little")
        blocks.append((at, length))
        at += length
    start, length = blocks[len(blocks) // 2]
    data[start + length - 4:start + length] = (length + 4).to_bytes(4, "little")  # the second length
    damaged = tmp_path / "damaged.pcapng"
    damaged.write_bytes(bytes(data))
    got, whole = _table(report, damaged), _table(report, damaged, selective=False)
    _same(got, whole)
    assert "pcapkit.error" in dict(got[1])


@pytest.mark.parametrize("rel", ["labs/NAT_home_side.pcap", "labs/http-wireshark-trace1-1.pcapng",
                                 "labs/dhcp-wireshark-trace1-1.pcapng"])
@pytest.mark.parametrize("report", sorted(REPORTS))
def test_command_output_in_every_format(report: str, rel: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's bytes (table, CSV, JSON Lines, Parquet) and exit status, selective and
    with every frame dissected (``benchmarks/compare_app_reports.py``: the whole corpus)."""
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip("corpus not found")

    def outputs() -> list[bytes]:
        out = []
        for fmt in ("table", "csv", "json", "parquet"):
            target = tmp_path / "out.parquet"
            target.unlink(missing_ok=True)
            args = [report, str(path), "--format", fmt] + (["-o", str(target)] if fmt == "parquet" else [])
            result = CliRunner().invoke(cli, args)
            assert result.exit_code == 0, (fmt, result.output, result.exception)
            out.append(target.read_bytes() if fmt == "parquet" else result.stdout_bytes)
        return out

    selective = outputs()
    read_app = app_frames.read_app

    def every_frame(path: Any, protocol: str, collect: Any, selective: bool = True) -> Any:
        return read_app(path, protocol, collect, False)

    monkeypatch.setattr(app_frames, "read_app", every_frame)
    assert selective == outputs()
    assert len(selective[1].splitlines()) > 1  # (CSV: rows under the header)
