"""The LINKTYPE -> WTAP_ENCAP table against tshark, and odd inputs of the file layer."""

from __future__ import annotations

import gzip
import io
import struct
import subprocess
from pathlib import Path

import pytest
from conftest import CORPUS, requires_tshark

from pcapkit.capture.files import open_capture
from pcapkit.capture.linktypes import LINKTYPE_NAMES, describe, is_known, linktype_name, wtap_encap
from pcapkit.capture.writer import PcapngWriter, PcapWriter
from pcapkit.errors import (
    CaptureFileError,
    MalformedRecordError,
    TruncatedFileError,
    UnknownFormatError,
    UnsupportedVersionError,
)
from pcapkit.frame import Frame, format_epoch_ns

# link types whose packets must start with a valid pseudo-header for Wireshark to read
# them: the SLL-style protocol field at offset 14 (ETH_P_IRDA 0x0017, ETH_P_LAPD 0x0030)
PSEUDO_HEADER = {144: (14, b"\x00\x17"), 177: (14, b"\x00\x30")}


@requires_tshark
@pytest.mark.tshark
def test_wtap_encap_table_matches_tshark(tmp_path: Path) -> None:
    """One pcapng interface per LINKTYPE we name; tshark prints each frame's encap type."""
    linktypes = sorted(set(LINKTYPE_NAMES) | {lt for lt in range(0, 302) if is_known(lt)})
    path = tmp_path / "all.pcapng"
    with PcapngWriter(path) as w:
        for lt in linktypes:
            w.add_interface(lt)
        for i, lt in enumerate(linktypes):
            data = bytearray(64)
            if lt in PSEUDO_HEADER:
                off, value = PSEUDO_HEADER[lt]
                data[off:off + len(value)] = value
            w.write(Frame(i + 1, 10**18, 64, 64, lt, i, bytes(data)))
    proc = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.interface_id",
                           "-e", "frame.encap_type"], capture_output=True, text=True, check=False)
    rows = [line.split("\t") for line in proc.stdout.splitlines()]
    assert len(rows) == len(linktypes), proc.stderr
    wrong = [(lt, linktype_name(lt), int(enc), wtap_encap(lt))
             for lt, (_, enc) in zip(linktypes, rows, strict=True) if int(enc) != wtap_encap(lt)]
    assert wrong == []


def test_names() -> None:
    assert linktype_name(127) == "IEEE802_11_RADIOTAP"
    assert linktype_name(160) == "USER13"
    assert linktype_name(231) == "DBUS"
    assert linktype_name(4242) == "LINKTYPE_4242"
    assert describe(1) == "1 ETHERNET"


def _pcap(linktype: int, frames: int = 2) -> bytes:
    buf = io.BytesIO()
    with PcapWriter(buf, linktype=linktype) as w:
        for i in range(frames):
            w.write(Frame(i + 1, (1_000_000 + i) * 10**9, 10, 10, linktype, 0, bytes(10)))
    return buf.getvalue()


def test_unknown_linktype_still_delivers_frames() -> None:
    # tshark refuses such a pcap ("network type 4242 unknown or unsupported"); we read it
    with open_capture(io.BytesIO(_pcap(4242))) as r:
        frames = list(r)
        assert r.linktypes == [4242] and not is_known(4242)
        assert r.interfaces[0].linktype_name == "LINKTYPE_4242" and r.interfaces[0].encap == 0
    assert [f.linktype for f in frames] == [4242, 4242]


def test_gzip_cut_short_delivers_what_decompresses_then_warns() -> None:
    raw = _pcap(1, frames=200)
    packed = gzip.compress(raw)
    with open_capture(io.BytesIO(packed[: len(packed) // 2])) as r:
        frames = list(r)
        assert r.gzip and r.warnings
        assert "compressed" in r.warnings[0]
    assert 0 < len(frames) < 200
    with open_capture(io.BytesIO(packed)) as r:
        assert len(list(r)) == 200 and r.warnings == []


def test_open_errors_are_one_line_with_offset(tmp_path: Path) -> None:
    cases: list[tuple[bytes, type[CaptureFileError]]] = [
        (b"", TruncatedFileError),
        (b"\xd4\xc3", TruncatedFileError),
        (b"hello world, not a capture", UnknownFormatError),
        (_pcap(1)[:20], TruncatedFileError),
        (b"\xd4\xc3\xb2\xa1\x01\x00\x04\x00" + bytes(16), UnsupportedVersionError),
        (gzip.compress(b"not a capture at all"), UnknownFormatError),
    ]
    for n, (blob, cls) in enumerate(cases):
        path = tmp_path / f"bad{n}"
        path.write_bytes(blob)
        with pytest.raises(cls) as info:
            open_capture(path)
        assert info.value.path == str(path) and info.value.offset is not None
        assert "\n" not in str(info.value) and str(info.value).startswith(str(path))
    with pytest.raises(CaptureFileError):
        open_capture(tmp_path)  # a directory
    with pytest.raises(CaptureFileError):
        open_capture(tmp_path / "missing.pcap")


def test_oversized_record_ends_the_file() -> None:
    blob = bytearray(_pcap(1, frames=3))
    # second record claims 300000 captured bytes (> 262144, Wireshark's limit)
    struct.pack_into("<I", blob, 24 + 26 + 8, 300_000)
    with open_capture(io.BytesIO(bytes(blob))) as r:
        frames = list(r)
        assert len(frames) == 1 and "bigger than maximum of 262144" in r.warnings[0]
    with pytest.raises(MalformedRecordError), open_capture(io.BytesIO(bytes(blob)), strict=True) as r:
        list(r)


def test_reader_metadata_on_corpus_pcapng() -> None:
    path = CORPUS / "formats" / "le_test202.pcapng"
    if not path.exists():
        pytest.skip("corpus missing")
    with open_capture(path) as r:
        frames = list(r)
        assert r.format == "pcapng" and len(r.sections) == 3
        assert r.comments == ["test202 SHB-0", "test202 SHB-1", "test202 SHB-2"]
        assert [s.byte_order for s in r.sections] == ["<", ">", "<"] or len({s.byte_order for s in r.sections}) == 2
        assert [i.name for i in r.interfaces][:2] == ["eth0", "null1"]
        assert r.interface_stats and all(s.interface_id < len(r.interfaces) for s in r.interface_stats)
        for f in frames:
            if f.linktype >= 0:
                assert r.frame_interface(f) is not None
                assert r.frame_interface(f).linktype == f.linktype  # type: ignore[union-attr]


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("fraction", [0.3, 0.77])
def test_gzip_cut_short_matches_tshark(fraction: float, tmp_path: Path) -> None:
    from oracle import tshark_fields

    packed = (CORPUS / "tcp" / "zwnd.dmp.gz").read_bytes()
    path = tmp_path / "cut.pcap.gz"
    path.write_bytes(packed[: int(len(packed) * fraction)])
    theirs = tshark_fields(path, ("frame.time_epoch", "frame.cap_len"))
    with open_capture(path) as r:
        ours = [{"frame.time_epoch": format_epoch_ns(f.ts_ns), "frame.cap_len": str(f.caplen)} for f in r]
        assert r.warnings
    assert ours == theirs
