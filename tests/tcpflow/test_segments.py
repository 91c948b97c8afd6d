"""The one segment source (pcapkit.tcpflow.segments) against tshark, on built captures
that pin the disagreements the old parsers had."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import CAPTURES, CORPUS, frames_of, requires_tshark
from oracle import tshark_fields

from pcapkit.capture.writer import PcapWriter
from pcapkit.dissect.driver import dissect_file
from pcapkit.frame import Frame
from pcapkit.reports.tcp import tcp_frames
from pcapkit.tcpflow.segments import KIND_FIRST_FRAGMENT, KIND_REASSEMBLED, segment_table

ETH = bytes.fromhex("020000000002" "020000000001" "0800")


def _ipv4(src: int, dst: int, payload: bytes, ident: int = 1, frag: int = 0x4000, proto: int = 6,
          total: int | None = None) -> bytes:
    total = 20 + len(payload) if total is None else total
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, frag, 64, proto, 0,
                       bytes([10, 0, 0, src]), bytes([10, 0, 0, dst])) + payload


def _tcp(sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4 | (flags >> 8), flags & 0xFF,
                       8192, 0, 0) + payload


def _write(path: Path, packets: list[bytes]) -> Path:
    with PcapWriter(path, linktype=1) as w:
        for i, pkt in enumerate(packets, 1):
            data = ETH + pkt
            w.write(Frame(i, 1_700_000_000_000_000_000 + i * 1000, len(data), len(data), 1, 0, data))
    return path


@requires_tshark
@pytest.mark.tshark
def test_every_flag_value_reads_as_tshark(tmp_path: Path) -> None:
    """tcp.flags.str of all 4096 flag values, in show's dissection and the tcp table, is
    tshark's (the tcp table once printed N for bit 8 where tshark 4.0 prints A)."""
    path = _write(tmp_path / "flags.pcap",
                  [_ipv4(1, 2, _tcp(1000 + f, 80, f, 0, f)) for f in range(4096)])
    ref = tshark_fields(path, ["tcp.flags", "tcp.flags.str"])
    tcp = tcp_frames(path)
    shown = [packet.layer("tcp").fields["tcp.flags.str"] for packet in dissect_file(path)]  # type: ignore[union-attr]
    want = [row["tcp.flags.str"] for row in ref]
    assert len(want) == 4096
    assert tcp["tcp.flags.str"].tolist() == want
    assert shown == want
    assert [f"0x{v:04x}" for v in tcp["tcp.flags"]] == [row["tcp.flags"] for row in ref]


@requires_tshark
@pytest.mark.tshark
def test_many_pending_fragmented_datagrams_are_all_reassembled(tmp_path: Path) -> None:
    """5,000 TCP datagrams whose first fragments all arrive before any last fragment:
    every one is reassembled, as tshark does (the old extractor silently dropped every
    pending datagram past 4,096)."""
    n = 5000
    firsts, lasts = [], []
    for i in range(n):
        segment = _tcp(2000 + i % 50000, 80, 1000 + i, 0, 0x018, b"x" * 32)  # 52 bytes
        firsts.append(_ipv4(1, 2, segment[:24], ident=i, frag=0x2000))          # MF, offset 0
        lasts.append(_ipv4(1, 2, segment[24:], ident=i, frag=3))                 # offset 24 bytes
    path = _write(tmp_path / "frags.pcap", firsts + lasts)
    ref = tshark_fields(path, ["frame.number", "tcp.srcport", "tcp.seq_raw"], display_filter="tcp")
    tcp = tcp_frames(path)
    assert len(ref) == n
    assert tcp["frame.number"].tolist() == [int(r["frame.number"]) for r in ref]
    assert tcp["tcp.seq_raw"].tolist() == [int(r["tcp.seq_raw"]) for r in ref]


def test_views_of_a_fragmented_segment(tmp_path: Path) -> None:
    """tshark sees the reassembled segment on the completing fragment; a tool that does
    not reassemble (tcptrace) reads the TCP header in the first fragment."""
    segment = _tcp(1234, 80, 77, 0, 0x002, b"y" * 40)
    path = _write(tmp_path / "one.pcap", [_ipv4(1, 2, segment[:32], ident=9, frag=0x2000),
                                           _ipv4(1, 2, segment[32:], ident=9, frag=4)])
    table = segment_table(path)
    assert table.frame.tolist() == [1, 2]
    assert table.kind.tolist() == [KIND_FIRST_FRAGMENT, KIND_REASSEMBLED]
    assert table.tshark_view().frame.tolist() == [2]
    assert table.tshark_view().seglen.tolist() == [40]
    assert table.tcptrace_view().frame.tolist() == [1]
    assert table.tcptrace_view().seq.tolist() == [77]


@pytest.mark.parametrize("rel", ["labs/tcp-ethereal-trace-1", "tcp/dsack.dmp.gz", "bgp/bgp_fragmented.pcap.gz"])
def test_frames_and_path_give_the_same_table(rel: str) -> None:
    from pcapkit.capture.files import open_capture

    path = CORPUS / rel
    if not path.exists():
        pytest.skip("corpus missing")
    a = segment_table(path, keep_payload=True, packets=True)
    with open_capture(path) as reader:
        b = segment_table(reader, keep_payload=True, packets=True)
    for name in ("frame", "ts_ns", "src", "dst", "sport", "dport", "seq", "ack", "flags", "seglen", "sack_n",
                 "sack_l", "sack_r", "captured", "kind"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.addresses == b.addresses
    assert a.payloads == b.payloads
    assert a.packets is not None and b.packets is not None
    assert np.array_equal(a.packets.frame, b.packets.frame)


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("rel", ["tcp/dsack.dmp.gz", "tcp/option-sack.pcap", "labs/tcp-ethereal-trace-1"])
def test_sack_blocks_and_options_equal_tsharks(rel: str) -> None:
    path = CORPUS / rel
    if not path.exists():
        pytest.skip("corpus missing")
    ref = tshark_fields(path, ["frame.number", "tcp.options.sack_le", "tcp.options.sack_re",
                               "tcp.options.mss_val", "tcp.options.wscale.shift"],
                        options=("tcp.relative_sequence_numbers:FALSE",), display_filter="tcp")
    table = segment_table(path).tshark_view()
    assert table.frame.tolist() == [int(r["frame.number"]) for r in ref]
    sack_row = np.cumsum(table.sack_n > 0) - 1
    for i, row in enumerate(ref):
        n = int(table.sack_n[i])
        left = [int(x) for x in row["tcp.options.sack_le"].split(",")] if "tcp.options.sack_le" in row else []
        right = [int(x) for x in row["tcp.options.sack_re"].split(",")] if "tcp.options.sack_re" in row else []
        assert n == len(left), row["frame.number"]
        if n:
            j = sack_row[i]
            assert table.sack_l[j, :n].tolist() == left
            assert table.sack_r[j, :n].tolist() == right
        assert (table.mss[i] if table.mss[i] >= 0 else None) == (
            int(row["tcp.options.mss_val"]) if "tcp.options.mss_val" in row else None)
        assert (table.wscale[i] if table.wscale[i] >= 0 else None) == (
            int(row["tcp.options.wscale.shift"]) if "tcp.options.wscale.shift" in row else None)


def test_a_column_widens_rather_than_cut_a_value() -> None:
    """Columns are stored narrow (COLUMN_DTYPES); a batch with a value the narrow type
    cannot hold (a hostile header) makes the column int64, every earlier value kept."""
    from pcapkit.tcpflow.segments import _Column

    col = _Column(np.dtype(np.int16))
    col.append(np.arange(3000, dtype=np.int64))
    assert col.data.dtype == np.int16
    col.append(np.array([-1, 2**40], dtype=np.int64))
    out = col.finish()
    assert out.dtype == np.int64
    assert out.tolist() == [*range(3000), -1, 2**40]


@pytest.mark.parametrize("read_ahead", [False, True])
def test_several_files_read_as_one_capture(tmp_path: Path, read_ahead: bool) -> None:
    """CaptureFiles: the segment table of files one after the other is the table of the
    frames of each, frames numbered on across them (a pcap, a pcapng and a gzip file); a
    cut file's frames before the damage are kept and its damage is the table's error; a
    file of which nothing is readable raises its own error, also when read ahead in a
    thread."""
    import gzip

    from pcapkit.capture.batch import CaptureFiles
    from pcapkit.errors import CaptureFileError

    first, second = CORPUS / "labs" / "tcp-ethereal-trace-1", CORPUS / "tcp" / "dsack.dmp.gz"
    if not first.exists() or not second.exists():
        pytest.skip("corpus missing")
    whole = (CAPTURES / "tcp-upload.pcap").read_bytes()
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole[:150_000])
    pcapng = tmp_path / "plain.pcapng"
    pcapng.write_bytes((CAPTURES / "tcp-download.pcapng").read_bytes())
    files = [str(first), str(cut), str(second), str(pcapng)]
    errors: list[str] = []
    ref = segment_table(list(frames_of(files, errors)), packets=True)  # (the frames, one reader after the other)
    got = segment_table(CaptureFiles(tuple(files)), packets=True, read_ahead=read_ahead)
    assert errors and got.error is not None and str(got.error) == errors[0]
    assert got.frames == ref.frames > 0
    for name in ("frame", "ts_ns", "src", "dst", "sport", "dport", "seq", "ack", "flags", "seglen", "kind"):
        assert np.array_equal(getattr(got, name), getattr(ref, name)), name
    assert got.addresses == ref.addresses
    assert got.packets is not None and ref.packets is not None
    assert np.array_equal(got.packets.frame, ref.packets.frame)
    not_a_capture = tmp_path / "notes.pcap"
    not_a_capture.write_bytes(gzip.compress(b"not a capture at all"))
    with pytest.raises(CaptureFileError, match=r"notes\.pcap"):
        segment_table(CaptureFiles((str(first), str(not_a_capture), str(second))), read_ahead=read_ahead)


@pytest.mark.parametrize("rel", ["ip/4in6.pcap", "ip/6in4.pcap", "ip/fragmented-1.pcap", "ip/http_ip4and6.pcapng",
                                 "ip/icmp-destunreach-udp.pcap", "l2/mpls-in-vlan.pcap", "l2/q-in-q.pcap",
                                 "l2/arp.pcap", "labs/NAT_ISP_side.pcap"])
def test_record_buckets_hash_each_records_outermost_ip_pair(rel: str) -> None:
    """A record's conversation bucket, from the decoded columns or (rows left to the
    dissectors) dissected: the CRC-32s of its outermost IP header's two addresses as the
    per-frame dissection reads them, the lower first, as one 64-bit number modulo the
    buckets (0 without an IP header); the same across batches of any size."""
    import zlib

    from pcapkit.capture.batch import iter_records
    from pcapkit.columnar.decode import decode_batch
    from pcapkit.dissect.driver import dissect
    from pcapkit.tcpflow.segments.buckets import AddressHashes, record_buckets
    from pcapkit.tcpflow.segments.dissected import _address_key

    path = CORPUS / rel
    if not path.exists():
        pytest.skip("corpus missing")
    got: list[int] = []
    hashes = AddressHashes()
    for rb in iter_records(str(path), max_packets=2):
        got += record_buckets(rb, decode_batch(rb), 7, hashes).tolist()
    want = []
    ip_frames = 0
    for frame in frames_of([str(path)]):
        bucket = 0
        for layer in dissect(frame).layers:
            if layer.protocol in ("ip", "ipv6"):
                version = 6 if layer.protocol == "ipv6" else 4
                crcs = sorted(zlib.crc32(np.array(_address_key(version, str(layer.get(f"{layer.protocol}.{end}"))),
                                                  dtype=np.uint64).tobytes()) for end in ("src", "dst"))
                bucket = (crcs[0] << 32 | crcs[1]) % 7
                ip_frames += 1
                break
        want.append(bucket)
    assert got == want
    assert ip_frames > 0 or rel == "l2/arp.pcap"


@pytest.mark.parametrize("rel", ["labs/NAT_ISP_side.pcap", "ip/http_ip4and6.pcapng", "ip/fragmented-1.pcap",
                                 "l2/q-in-q.pcap", "tcp/dsack.dmp.gz", "tcp/zwnd.dmp.gz"])
def test_taken_columns_are_the_columns_of_the_records_taken(rel: str) -> None:
    """Columns.take (a bucket's records of a decoded batch) gives what decoding those
    records alone gives: the same fields present, values and fallback rows."""
    from pcapkit.capture.batch import iter_records
    from pcapkit.columnar.decode import decode_batch
    from pcapkit.tcpflow.segments.reading import _subset

    path = CORPUS / rel
    if not path.exists():
        pytest.skip("corpus missing")
    for rb in iter_records(str(path)):
        keep = np.arange(len(rb)) % 3 != 1
        numbers = np.arange(len(rb))
        decoded = decode_batch(rb)
        taken = decoded.take(keep)
        for name, valid in decoded.valid.items():
            assert taken.valid[name].flags.writeable == valid.flags.writeable, name
        alone = decode_batch(_subset(rb, numbers, keep)[0])
        assert taken.n == alone.n == int(keep.sum())
        assert np.array_equal(taken.fallback, alone.fallback)
        for name in set(taken.valid) | set(alone.valid):
            mine = taken.valid.get(name, np.zeros(taken.n, bool))
            theirs = alone.valid.get(name, np.zeros(alone.n, bool))
            assert np.array_equal(mine, theirs), name
            if mine.any():
                assert np.array_equal(taken.values[name][mine], alone.values[name][mine]), name
