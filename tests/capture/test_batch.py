"""Record batches: numba and struct walks agree; chunk boundaries change nothing;
record counts equal capinfos'; damaged files raise one-line errors after the good records."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import CORPUS, corpus_files, corpus_id, requires_tshark, seeded_mutants

from pcapkit.capture.batch import NO_TIME, iter_records
from pcapkit.capture.files import open_capture
from pcapkit.capture.record_walk import have_numba
from pcapkit.errors import CaptureFileError, PcapkitError, TruncatedFileError

SAMPLE = [p for p in corpus_files("formats", "broken", "tcp") if p.stat().st_size < 3_000_000]


def _walk(path: Path, **kw: object) -> tuple[list[np.ndarray], str | None]:
    cols: list[list[np.ndarray]] = [[], [], [], [], []]
    err = None
    try:
        for b in iter_records(str(path), **kw):  # type: ignore[arg-type]
            data = [b.buf[o:o + c].tobytes() for o, c in zip(b.data_off.tolist(), b.caplen.tolist(), strict=True)]
            cols[0].append(np.array([hash(d) for d in data], dtype=np.int64))
            cols[1].append(b.caplen)
            cols[2].append(b.wirelen)
            cols[3].append(b.ts_ns)
            cols[4].append(b.linktype.astype(np.int64))
    except PcapkitError as exc:
        err = str(exc)
    return [np.concatenate(c) if c else np.zeros(0, np.int64) for c in cols], err


@pytest.mark.parametrize("path", SAMPLE, ids=[corpus_id(p) for p in SAMPLE])
def test_kernels_and_chunking_agree(path: Path) -> None:
    ref, err = _walk(path, use_numba=False)
    small, err2 = _walk(path, chunk_bytes=1000, max_packets=3, use_numba=None)
    assert err == err2
    for a, b in zip(ref, small, strict=True):
        assert np.array_equal(a, b)


@requires_tshark
@pytest.mark.parametrize("path", SAMPLE, ids=[corpus_id(p) for p in SAMPLE])
def test_packet_count_equals_capinfos(path: Path) -> None:
    out = subprocess.run(["capinfos", "-c", "-M", str(path)], capture_output=True, text=True, check=False)
    m = re.search(r"Number of packets:\s+(\d+)", out.stdout)
    n = 0
    err = None
    try:
        for b in iter_records(str(path)):
            n += int((b.linktype >= 0).sum())
    except PcapkitError as exc:
        err = exc
    if m is None:  # capinfos refuses the file: so do we, with one line naming it
        assert isinstance(err, CaptureFileError) and str(path) in str(err) and "\n" not in str(err)
    else:
        assert n == int(m.group(1))
        if "cut short" in out.stderr:
            assert isinstance(err, TruncatedFileError)


def test_truncated_file_delivers_records_then_raises() -> None:
    path = CORPUS / "broken" / "truncated_dns_2.pcap"
    got = 0
    with pytest.raises(TruncatedFileError) as info:
        for b in iter_records(str(path)):
            got += len(b)
    assert got == 1
    assert info.value.offset is not None and info.value.offset > 24


def test_numba_reported() -> None:
    assert isinstance(have_numba(), bool)


def _batch_rows(path: Path, **kw: object) -> tuple[list[tuple[bytes, int, int, int, int]], str | None]:
    rows = []
    err = None
    try:
        for b in iter_records(str(path), **kw):  # type: ignore[arg-type]
            for o, c, w, t, lt in zip(b.data_off.tolist(), b.caplen.tolist(), b.wirelen.tolist(),
                                      b.ts_ns.tolist(), b.linktype.tolist(), strict=True):
                rows.append((b.buf[o:o + c].tobytes(), c, w, t, lt))
    except PcapkitError as exc:
        err = str(exc)
    return rows, err


def _reader_rows(path: Path) -> tuple[list[tuple[bytes, int, int, int, int]], list[str]]:
    """The record reader's frames, untimed ones with the batches' NO_TIME."""
    with open_capture(path) as reader:
        frames = list(reader)
        untimed = getattr(reader, "untimed_frames", set())
        return [(f.data, f.caplen, f.wirelen, NO_TIME if f.number in untimed else f.ts_ns, f.linktype)
                for f in frames], reader.warnings


ALL = [p for p in corpus_files() if p.stat().st_size < 3_000_000]


@pytest.mark.parametrize("path", ALL, ids=[corpus_id(p) for p in ALL])
def test_batches_equal_the_record_reader(path: Path) -> None:
    """Headers are parsed by the same code, so batches hold exactly the reader's frames;
    where the reader stops at damage (a warning), the batches stop there with an error."""
    try:
        frames, warnings = _reader_rows(path)
    except CaptureFileError:
        rows, err = _batch_rows(path)
        assert rows == [] and err is not None
        return
    for kw in ({}, {"use_numba": False, "chunk_bytes": 1000, "max_packets": 3}):
        rows, err = _batch_rows(path, **kw)
        assert rows == frames
        assert (err is not None) == bool(warnings)


def _pcap_file(tmp: Path, header: tuple[int, ...], records: list[tuple[int, int, bytes, int]],
               order: str = "<") -> Path:
    """A pcap file from its header fields and (sec, frac, data, wirelen) records."""
    out = tmp / "crafted.pcap"
    with open(out, "wb") as f:
        f.write(struct.pack(order + "IHHiIII", *header))
        for sec, frac, data, wirelen in records:
            f.write(struct.pack(order + "IIII", sec, frac, len(data), wirelen) + data)
    return out


CRAFTED_PCAP = {
    # AIX 2.2 file: ifType 15 is FDDI (3 bytes of padding before each frame), ns fractions
    "aix-fddi": ((0xA1B2C3D4, 2, 2, 0, 0, 65535, 15), [(1_000, 123_456_789, b"\0\0\0" + bytes(range(40)), 43)]),
    # a fraction of more than one second: Wireshark keeps it as ns in a signed 32-bit int
    "bad-fraction": ((0xA1B2C3D4, 2, 4, 0, 0, 65535, 1), [(7, 3_000_000, bytes(60), 60),
                                                          (8, 999_999, bytes(60), 60)]),
    # major version 3: Wireshark reads it (it refuses only majors below 2)
    "version-3": ((0xA1B2C3D4, 3, 0, 0, 0, 65535, 1), [(1, 2, bytes(60), 60)]),
    # a record over the link type's maximum snapshot length ends the file
    "too-big": ((0xA1B2C3D4, 2, 4, 0, 0, 0x7FFFFFFF, 1), [(1, 2, bytes(60), 60),
                                                          (1, 3, bytes(300_000), 300_000)]),
}


@pytest.mark.parametrize("name", sorted(CRAFTED_PCAP))
def test_crafted_pcap_headers_read_as_the_reader_does(tmp_path: Path, name: str) -> None:
    header, records = CRAFTED_PCAP[name]
    path = _pcap_file(tmp_path, header, records)
    frames, warnings = _reader_rows(path)
    assert frames  # the reader delivers the good records
    rows, err = _batch_rows(path)
    assert rows == frames
    assert (err is not None) == bool(warnings)
    if warnings:  # the same error, at the same offset
        assert err == warnings[0]


def _pcapng_file(tmp: Path, tsresol: int, stamps: list[int], tsoffset: int = 0) -> Path:
    """A pcapng file: SHB, an IDB with ``if_tsresol`` = tsresol (and ``if_tsoffset``), one EPB per stamp."""
    def block(btype: int, body: bytes) -> bytes:
        return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    out = tmp / "crafted.pcapng"
    offset = struct.pack("<HHq", 14, 8, tsoffset) if tsoffset else b""
    idb = (struct.pack("<HHI", 1, 0, 65535) + struct.pack("<HH", 9, 1) + bytes([tsresol, 0, 0, 0]) + offset
           + bytes(4))
    parts = [block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)), block(1, idb)]
    for ts in stamps:
        parts.append(block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, 60, 60) + bytes(60)))
    out.write_bytes(b"".join(parts))
    return out


@pytest.mark.parametrize("tsresol", [6, 9, 12, 18, 0x80 | 20, 0x80 | 40])
def test_pcapng_time_resolutions_convert_as_the_reader_does(tmp_path: Path, tsresol: int) -> None:
    """Resolutions finer than 1 ns and binary ones: Wireshark's unsigned 64-bit arithmetic."""
    stamps = [0, 1, 1_700_000_000_123_456_789, (1 << 63) + 12345, (1 << 64) - 1]
    path = _pcapng_file(tmp_path, tsresol, stamps)
    frames, warnings = _reader_rows(path)
    assert not warnings and len(frames) == len(stamps)
    rows, err = _batch_rows(path)
    assert err is None
    # a batch holds int64 ns; the reader's Python ints can be wider: equal modulo 2**64
    assert [r[3] % (1 << 64) for r in rows] == [f[3] % (1 << 64) for f in frames]


def test_journal_export_blocks_are_frames_as_in_the_reader(tmp_path: Path) -> None:
    """systemd Journal Export blocks are frames (tshark 4.0 numbers them), so the frames
    after one keep tshark's numbers in the batches too."""
    def block(btype: int, body: bytes) -> bytes:
        body += b"\0" * (-len(body) % 4)
        return struct.pack("<II", btype, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))

    def epb(ts: int) -> bytes:
        return block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, 42, 42) + bytes(42))

    entries = [b"__REALTIME_TIMESTAMP=1700000000123456\nMESSAGE=hello\n", b"MESSAGE=no time here, at all\n"]
    path = tmp_path / "journal.pcapng"
    path.write_bytes(block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
                     + block(1, struct.pack("<HHI", 1, 0, 65535)) + epb(1_700_000_000_000_000)
                     + block(9, entries[0]) + block(9, entries[1]) + epb(1_700_000_001_000_000))
    frames, warnings = _reader_rows(path)
    assert not warnings and [f[0] for f in frames[1:3]] == entries
    for kw in ({}, {"use_numba": False, "chunk_bytes": 1000, "max_packets": 1}):
        rows, err = _batch_rows(path, **kw)
        assert err is None and rows == frames


def _reader_view(path: Path) -> tuple[list[tuple[int, int, bytes]], str | None]:
    from pcapkit.capture.files import open_capture

    with open_capture(path) as reader:
        frames = [(f.number, f.ts_ns, f.data) for f in reader]
        return frames, (reader.warnings[0] if reader.warnings else None)


def _batch_view(path: Path) -> tuple[list[tuple[int, int, bytes]], str | None]:
    from pcapkit.errors import CaptureFileError

    frames: list[tuple[int, int, bytes]] = []
    try:
        for rb in iter_records(str(path), chunk_bytes=1 << 12, max_packets=7):
            for i in range(len(rb)):
                start = int(rb.data_off[i])
                frames.append((rb.first_number + i, int(rb.ts_ns[i]),
                               rb.buf[start:start + int(rb.caplen[i])].tobytes()))
    except CaptureFileError as exc:
        return frames, exc.one_line()
    return frames, None


@pytest.mark.parametrize("rel", ["labs/tcp-ethereal-trace-1", "tcp/tcp_retransmissions.pcapng"])
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_cut_files_read_the_same_in_both_readers(rel: str, gz: bool, tmp_path: Path) -> None:
    """A file cut anywhere (plain, or its gzip stream cut): both readers deliver the same
    frames before the damage and word the damage the same, with the same offset."""
    import gzip
    import random

    source = CORPUS / rel
    if not source.exists():
        pytest.skip("corpus missing")
    data = source.read_bytes()
    if gz:
        data = gzip.compress(data)
    rng = random.Random(7)
    cuts = sorted({len(data) - 1, len(data) - 100, *(rng.randrange(40, len(data)) for _ in range(25))})
    for cut in cuts:
        path = tmp_path / ("cut.gz" if gz else "cut")
        path.write_bytes(data[:cut])
        ours = _batch_view(path)
        theirs = _reader_view(path)
        assert ours[0] == theirs[0], cut
        assert ours[1] == theirs[1], cut
        assert ours[1] is not None, cut


def _reader_frames(path: Path) -> tuple[list[tuple[int, bytes, int, int]], list[str]]:
    with open_capture(str(path)) as reader:
        frames = [(f.number, bytes(f.data), f.wirelen, f.linktype) for f in reader]
        return frames, reader.warnings


def _batch_frames(path: Path) -> tuple[list[tuple[int, bytes, int, int]], str | None]:
    frames: list[tuple[int, bytes, int, int]] = []
    try:
        for rb in iter_records(str(path), chunk_bytes=4096):
            for i in range(len(rb)):
                start = int(rb.data_off[i])
                frames.append((rb.first_number + i, rb.buf[start:start + int(rb.caplen[i])].tobytes(),
                               int(rb.wirelen[i]), int(rb.linktype[i])))
    except CaptureFileError as exc:
        return frames, exc.one_line()
    return frames, None


FUZZED_PCAPNG = ["tcp/http_google.pcapng", "labs/dhcp-wireshark-trace1-1.pcapng", "formats/le_test202.pcapng",
                 "formats/be_test101.pcapng", "dhcp/dhcp-option-108.pcapng", "tcp/tcp_teardown.pcapng"]


@pytest.mark.parametrize("rel", FUZZED_PCAPNG)
def test_damaged_pcapng_reads_the_same_frames_in_both_readers(rel: str, tmp_path: Path) -> None:
    """Bits flipped and files cut (seeded): the batch reader delivers exactly the frames the
    record reader delivers, and stops with an error wherever the reader stops with a warning
    (block trailers that differ from the block length, options the reader cannot parse,
    captured lengths beyond the link type's limit, an SPB too small for its packet: all
    once read on by the batch reader), and stops with an error where the reader warns, in
    the reader's words. The reader reads on after a damaged statistics block (ISB): the
    batch reader too, and raises the block's error once every record is delivered."""
    source = CORPUS / rel
    if not source.exists():
        pytest.skip("corpus missing")
    for k, data in enumerate(seeded_mutants(source.read_bytes(), rel, 40)):
        path = tmp_path / f"m{k}.pcapng"
        path.write_bytes(data)
        try:
            theirs, warnings = _reader_frames(path)
        except CaptureFileError:
            continue  # (a damaged header: both refuse the file; another test covers it)
        ours, err = _batch_frames(path)
        assert ours == theirs, k
        assert err == (warnings[0] if warnings else None), k  # (every command words the damage the same)


def test_pcapng_time_offset_beyond_int64_is_no_traceback(tmp_path: Path) -> None:
    """An if_tsoffset of 2^62 s (a hostile IDB): every time saturates, as in the reader."""
    path = _pcapng_file(tmp_path, 6, [0, 1_700_000_000_000_000], tsoffset=1 << 62)
    frames, warnings = _reader_rows(path)
    assert not warnings
    rows, err = _batch_rows(path)
    assert err is None and len(rows) == len(frames) == 2
    assert [r[3] for r in rows] == [f[3] for f in frames]


@pytest.mark.parametrize("length", [0, 12, 30, 0xFFFFFFF0])
@pytest.mark.parametrize("second", [False, True], ids=["first", "second-section"])
def test_section_header_of_impossible_length_is_an_error_in_both_readers(tmp_path: Path, length: int,
                                                                         second: bool) -> None:
    """A section header whose length field is below the minimum SHB, not a multiple of 4 or
    beyond any block (a CI fuzz case: length 0 once raised struct.error in the batch reader).
    First section: both readers refuse the file. A later section: both deliver the frames
    before it, then stop with an error (the batch reader) or a warning (the reader)."""
    good = _pcapng_file(tmp_path, 6, [0, 1_000_000]).read_bytes()
    bad_shb = struct.pack("<II", 0x0A0D0D0A, length) + struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + bytes(4)
    path = tmp_path / "bad-shb.pcapng"
    path.write_bytes(good + bad_shb if second else bad_shb + good[28:])
    if not second:
        with pytest.raises(CaptureFileError):
            _reader_frames(path)
        with pytest.raises(CaptureFileError):
            list(iter_records(str(path)))
        return
    theirs, warnings = _reader_frames(path)
    ours, err = _batch_frames(path)
    assert len(theirs) == 2 and ours == theirs
    assert warnings and err is not None and "SHB" in err


def _packet_block(iface: int, caplen: int, data_len: int, order: str = "<") -> bytes:
    """An obsolete pcapng Packet Block (type 2) saying ``caplen`` bytes, holding ``data_len``."""
    body = struct.pack(order + "HHIIII", iface, 0, 0, 1000, caplen, caplen) + bytes((data_len + 3) & ~3)
    return struct.pack(order + "II", 2, 12 + len(body)) + body + struct.pack(order + "I", 12 + len(body))


@pytest.mark.parametrize("bad", ["whole", "caplen-past-block", "no-such-interface", "caplen-over-limit", "too-small"])
def test_packet_blocks_read_and_fail_as_in_the_reader(tmp_path: Path, bad: str) -> None:
    """Obsolete Packet Blocks (none in the corpus): after a good one, a damaged one stops
    both readers at the same frame with the same words."""
    good = _pcapng_file(tmp_path, 6, [0]).read_bytes()
    block = {"whole": _packet_block(0, 60, 60), "caplen-past-block": _packet_block(0, 400, 60),
             "no-such-interface": _packet_block(3, 60, 60), "caplen-over-limit": _packet_block(0, 300_000, 60),
             "too-small": struct.pack("<II", 2, 16) + bytes(4) + struct.pack("<I", 16)}[bad]
    path = tmp_path / "pb.pcapng"
    path.write_bytes(good + _packet_block(0, 60, 60) + block)
    theirs, warnings = _reader_frames(path)
    ours, err = _batch_frames(path)
    assert ours == theirs and len(ours) == (3 if bad == "whole" else 2)
    assert err == (warnings[0] if warnings else None)
    assert (err is None) == (bad == "whole")


@pytest.mark.parametrize("rel", ["labs/tcp-ethereal-trace-1", "formats/le_test202.pcapng"])
@pytest.mark.parametrize("cut", [0, 2, 10, 20, 30], ids=lambda c: f"cut{c}")
@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_files_cut_in_their_header_are_refused_in_the_readers_words(tmp_path: Path, rel: str, cut: int,
                                                                   gz: bool) -> None:
    """A file (or its gzip stream) cut in the first bytes: both readers refuse it with the
    same line (the batch reader said "too short to be a capture file" where the reader said
    the file is empty, ends inside its header, or its gzip stream ends early)."""
    import gzip

    source = CORPUS / rel
    if not source.exists():
        pytest.skip("corpus missing")
    raw = source.read_bytes()
    data = gzip.compress(raw)[:cut + 10] if gz else raw[:cut]
    path = tmp_path / "cut"
    path.write_bytes(data)
    try:
        with open_capture(str(path)) as reader:
            list(reader)
            theirs = reader.warnings[0] if reader.warnings else None
    except CaptureFileError as exc:  # (refused at open; a cut after the header is a warning)
        theirs = exc.one_line()
    with pytest.raises(CaptureFileError) as ours:
        list(iter_records(str(path)))
    assert ours.value.one_line() == theirs


def test_corrupt_gzip_streams_give_the_same_frames_in_both_readers(tmp_path: Path) -> None:
    """Bits flipped in a gzip-compressed capture: the stream fails somewhere, and both
    readers deliver the same frames before it (they decompress the same pieces:
    capture.compressed) and word the failure the same. Reading different amounts at a time,
    they once delivered different frames (8 of 1,036 such copies)."""
    source = CORPUS / "tcp/dsack.dmp.gz"  # (1.6 MB decompressed: many decompression calls)
    if not source.exists():
        pytest.skip("corpus missing")
    raw = source.read_bytes()
    failed = 0
    for k, data in enumerate(seeded_mutants(raw, "gzip", 60)):
        path = tmp_path / f"m{k}.gz"
        path.write_bytes(data)
        try:
            theirs, warnings = _reader_frames(path)
        except CaptureFileError:
            continue
        ours, err = _batch_frames(path)
        assert ours == theirs, k
        assert err == (warnings[0] if warnings else None), k
        failed += err is not None and "compressed stream" in err
    assert failed >= 10  # (most copies fail inside the stream)


@pytest.mark.parametrize("path", SAMPLE[::4], ids=[corpus_id(p) for p in SAMPLE[::4]])
def test_frames_numbered_are_the_readers_frames(path: Path) -> None:
    # every third frame (and the last), from the batches, against the record reader's frames
    # (of a damaged file: those before the damage, where both readers stop)
    from pcapkit.capture.batch import frames_numbered

    want = []
    try:
        with open_capture(str(path)) as reader:
            want = [(f.number, f.ts_ns, f.caplen, f.wirelen, f.linktype, f.interface_id, f.data) for f in reader]
    except PcapkitError:
        pytest.skip("the reader refuses the file")
    numbers = sorted({n for n, *_ in want[::3]} | ({want[-1][0]} if want else set()))
    got = []
    try:
        for f in frames_numbered(str(path), np.array(numbers, dtype=np.int64)):
            got.append((f.number, f.ts_ns, f.caplen, f.wirelen, f.linktype, f.interface_id, f.data))
    except PcapkitError:
        pass
    assert got == [w for w in want if w[0] in set(numbers)]
