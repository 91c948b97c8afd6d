"""Endace ERF files: pcapkit.capture.erf against tshark (wiretap/erf.c).

The corpus has one ERF file (formats/eth.erf.gz, compared in test_files_corpus and
the parity tests); here ERF files built record by record exercise what it does not:
extension headers, padding records, multi-channel and non-Ethernet record types,
records whose rlen is shorter or longer than the packet, interface flags, time stamp
rounding (half up, carry into the seconds), wiretap's format heuristic, cut files.
Every expectation is tshark's answer on the same bytes.
"""

from __future__ import annotations

import gzip
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from conftest import CORPUS, requires_tshark
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import _run, tshark_fields

from pcapkit.capture.erf import erf_ts_ns, looks_like_erf
from pcapkit.capture.files import open_capture
from pcapkit.capture.linktypes import wtap_encap
from pcapkit.errors import CaptureFileError, UnknownFormatError
from pcapkit.frame import format_epoch_ns

ERF_GZ = CORPUS / "formats" / "eth.erf.gz"
FIELDS = ("frame.time_epoch", "frame.len", "frame.cap_len", "frame.encap_type", "frame.interface_id")

# 00:e0:1e:8e:31:71 <- 00:00:0c:46:5c:d1, IPv4 192.168.0.1 > 192.168.0.2 proto 6, header only
ETH = bytes.fromhex("00e01e8e317100000c465cd10800" "450000140000400040060000c0a80001c0a80002")


def rec(ts: int, rtype: int, flags: int, payload: bytes, *, wlen: int | None = None,
        ext: tuple[bytes, ...] = (), sub: bytes = b"", rlen: int | None = None) -> bytes:
    """One ERF record: 16-byte header, extension headers, subheader, packet."""
    body = b"".join(ext) + sub + payload
    r = 16 + len(body) if rlen is None else rlen
    w = len(payload) if wlen is None else wlen
    return struct.pack("<QBB", ts, rtype, flags) + struct.pack(">HHH", r, 0, w) + body


def ext_header(kind: int, more: bool, value: int = 0) -> bytes:
    return bytes([kind | (0x80 if more else 0)]) + value.to_bytes(7, "big")



# (name, records): each file starts with a non-zero fraction so that no other
# wiretap heuristic (CommView) claims it before ERF's, as tshark tries them in order
FILES: dict[str, bytes] = {
    "rounding_and_flags": b"".join([
        rec((1000 << 32) | 0x80000000, 2, 0, ETH, sub=b"\0\0"),           # exactly .5
        rec((1000 << 32) | 0xFFFFFFFF, 2, 1, ETH, sub=b"\0\0"),           # rounds up into the next second
        rec((1001 << 32) | 1, 2, 2, ETH, sub=b"\0\0"),                    # 0.23 ns -> 0
        rec((1001 << 32) | 5, 2, 0x40, ETH, sub=b"\0\0"),                 # reserved flag bit, 1.16 ns -> 1
        rec(1002 << 32, 48, 0, b"\0" * 8),                                # padding record: skipped
        rec((1002 << 32) | 7, 0x82, 0, ETH, sub=b"\0\0",
            ext=(ext_header(6, False, 0x05000000000001),)),              # one extension header
        rec(1003 << 32, 22, 3, ETH[14:], wlen=60),                        # IPv4 record, rlen < wlen
        rec((1003 << 32) | 9, 2, 0, ETH, sub=b"\0\0", wlen=20),           # wlen < bytes in the record
    ]),
    "interfaces_and_lengths": b"".join([
        rec((1000 << 32) | 0x12345678, 2, 2, ETH, sub=b"\0\0"),
        rec((1000 << 32) | 0x12345679, 0x82, 1, ETH, sub=b"\0\0",
            ext=(ext_header(6, False, 0x07000000000009),)),
        rec((1000 << 32) | 0x1234567A, 0x88, 0, ETH, sub=b"\0\0",        # MC_RAW_CHANNEL: 4-byte subheader
            ext=(ext_header(8, False, 0x03000000000009),)),
        rec((1000 << 32) | 0x1234567B, 2, 0, ETH, sub=b"\0\0"),
        rec((1000 << 32) | 0x1234567C, 2, 0, ETH[:30], sub=b"\0\0", wlen=34),  # snapped
        rec((1000 << 32) | 0x1234567D, 2, 0, ETH + b"\0" * 6, sub=b"\0\0", wlen=34),
        rec((1000 << 32) | 0x1234567D, 2, 3, ETH, sub=b"\0\0"),
    ]),
    "two_extension_headers": b"".join([
        rec((5000 << 32) | 0x0ABCDEF0, 0x82, 0, ETH, sub=b"\0\0",
            ext=(ext_header(3, True, 1), ext_header(4, False, 2))),
        rec((5000 << 32) | 0x0ABCDEF1, 0x81, 1, ETH[14:],
            ext=(ext_header(5, False, 3),)),                             # HDLC_POS with one ext header
        rec((5001 << 32) | 0x7FFFFFFF, 2, 0, ETH, sub=b"\0\0"),           # just under .5
    ]),
}

# files tshark refuses: a record's rlen that does not reach the next record (the stream
# is misaligned), a type-0 record, time stamps going back more than a second
REFUSED: dict[str, bytes] = {
    "misaligned": b"".join([
        rec((1000 << 32) | 0x12345678, 2, 0, ETH, sub=b"\0\0"),
        rec((1000 << 32) | 0x12345679, 2, 0, ETH, sub=b"\0\0", rlen=16 + 2 + 30),
        rec((1000 << 32) | 0x1234567A, 2, 0, ETH, sub=b"\0\0"),
        rec((1000 << 32) | 0x1234567B, 2, 0, ETH, sub=b"\0\0"),
    ]),
    "type_zero": b"".join([
        rec((1000 << 32) | 0x12345678, 2, 0, ETH, sub=b"\0\0"),
        rec((1000 << 32) | 0x12345679, 0, 0, ETH),
        rec((1000 << 32) | 0x1234567A, 2, 0, ETH, sub=b"\0\0"),
    ]),
    "time_goes_back": b"".join([
        rec((1000 << 32) | 0x12345678, 2, 0, ETH, sub=b"\0\0"),
        rec((990 << 32) | 0x12345679, 2, 0, ETH, sub=b"\0\0"),
        rec((1000 << 32) | 0x1234567A, 2, 0, ETH, sub=b"\0\0"),
    ]),
    "text": b"This is not a capture file, only some text.\n" * 4,
}


def ours(path: Path) -> tuple[list[dict[str, str]], list[str]]:
    rows = []
    with open_capture(path) as reader:
        assert reader.format == "erf"
        for f in reader:
            assert f.caplen == len(f.data)
            rows.append({"frame.time_epoch": format_epoch_ns(f.ts_ns), "frame.len": str(f.wirelen),
                         "frame.cap_len": str(f.caplen), "frame.encap_type": str(wtap_encap(f.linktype)),
                         "frame.interface_id": str(f.interface_id)})
        return rows, list(reader.warnings)


@requires_tshark
@pytest.mark.parametrize("name", sorted(FILES))
def test_built_erf_files_read_as_tshark(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.erf"
    path.write_bytes(FILES[name])
    theirs = tshark_fields(path, FIELDS)
    assert len(theirs) >= 3
    rows, warnings = ours(path)
    assert rows == theirs
    assert warnings == []


@requires_tshark
def test_interface_names_as_capinfos(tmp_path: Path) -> None:
    path = tmp_path / "ifaces.erf"
    path.write_bytes(FILES["interfaces_and_lengths"])
    out = subprocess.run(["capinfos", str(path)], capture_output=True, text=True, check=True).stdout
    names = [line.split("=", 1)[1].strip() for line in out.splitlines() if line.strip().startswith("Name =")]
    with open_capture(path) as reader:
        list(reader)
        assert [i.name for i in reader.interfaces] == names
        assert all(i.linktype == 197 for i in reader.interfaces)


@requires_tshark
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_like_tshark(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.erf"
    path.write_bytes(REFUSED[name])
    _out, rc = _run(str(path), ("frame.number",), (), "")
    assert rc != 0
    with pytest.raises(UnknownFormatError) as info:
        open_capture(path)
    message = str(info.value)
    assert info.value.offset == 0 and str(path) in message and "\n" not in message


@requires_tshark
def test_cut_file_gives_frames_then_a_warning(tmp_path: Path) -> None:
    data = gzip.decompress(ERF_GZ.read_bytes())
    path = tmp_path / "cut.erf"
    path.write_bytes(data[: len(data) - 30])   # the last record loses its tail
    out, rc = _run(str(path), ("frame.number",), (), "")
    assert rc != 0  # tshark: "appears to have been cut short"
    with open_capture(path) as reader:
        frames = list(reader)
        assert len(frames) == len(out.splitlines()) == 21
        assert len(reader.warnings) == 1 and "offset" in reader.warnings[0]
    with open_capture(path, strict=True) as reader, pytest.raises(CaptureFileError):
        list(reader)


@requires_tshark
def test_corpus_erf_dissected_as_tshark() -> None:
    """frame.protocols and the Ethernet/IP/TCP fields of the corpus ERF file."""
    from pcapkit.dissect.driver import dissect

    fields = ["frame.protocols", "eth.src", "eth.dst", "ip.src", "ip.dst", "ip.len", "tcp.srcport",
              "tcp.dstport", "tcp.seq_raw", "tcp.flags"]
    theirs = tshark_fields(ERF_GZ, fields)
    with open_capture(ERF_GZ) as reader:
        packets = [dissect(f) for f in reader]
    assert len(packets) == len(theirs) == 22
    for p, t in zip(packets, theirs, strict=True):
        assert p.protocols == t["frame.protocols"]
        got = p.fields()
        assert got["eth.src"] == t["eth.src"] and got["ip.dst"] == t["ip.dst"]
        assert str(got["tcp.srcport"]) == t["tcp.srcport"] and str(got["tcp.seq_raw"]) == t["tcp.seq_raw"]
        assert str(got["ip.len"]) == t["ip.len"]


# 00:e0:1e:8e:31:71 <- 00:00:0c:46:5c:d1, IPv4 192.168.0.1.40000 > 192.168.0.2.40001 UDP, 52 bytes
UDP = bytes.fromhex("00e01e8e317100000c465cd10800" "450000500000400040110000c0a80001c0a80002"
                    "9c409c41003c0000") + b"a" * 52


@requires_tshark
def test_ethernet_padding_and_fcs_as_tshark(tmp_path: Path) -> None:
    """Whole Ethernet frames in ERF records: padding, FCS (4 bytes beyond the IP datagram)."""
    from pcapkit.dissect.driver import dissect

    path = tmp_path / "fcs.erf"
    path.write_bytes(b"".join([
        rec((1000 << 32) | 0x12345678, 2, 0, ETH + b"\0" * 26 + bytes.fromhex("deadbeef"), sub=b"\0\0"),
        rec((1000 << 32) | 0x12345679, 2, 0, UDP + bytes.fromhex("11223344"), sub=b"\0\0"),
        rec((1000 << 32) | 0x1234567A, 2, 0, UDP, sub=b"\0\0"),
        rec((1000 << 32) | 0x1234567B, 2, 0, ETH + b"\0" * 26, sub=b"\0\0"),
    ]))
    fields = ["frame.protocols", "eth.fcs", "eth.padding", "eth.trailer", "udp.length"]
    theirs = tshark_fields(path, fields)
    with open_capture(path) as reader:
        packets = [dissect(f) for f in reader]
    assert len(packets) == len(theirs) == 4
    for p, t in zip(packets, theirs, strict=True):
        got = p.fields()
        assert p.protocols == t["frame.protocols"]
        assert ("eth.fcs" in got) == ("eth.fcs" in t)
        if "eth.fcs" in t:
            assert got["eth.fcs"] == int(t["eth.fcs"], 16)
        assert ("eth.padding" in got) == ("eth.padding" in t) and "eth.trailer" not in got
        if "eth.padding" in t:
            assert got["eth.padding"].hex() == t["eth.padding"]


ERF_FIELDS = ("erf.ts", "erf.types", "erf.types.type", "erf.types.ext_header", "erf.flags", "erf.flags.cap",
              "erf.flags.vlen", "erf.flags.trunc", "erf.flags.rxe", "erf.flags.dse", "erf.flags.res",
              "erf.rlen", "erf.lctr", "erf.wlen", "erf.eth.off", "erf.eth.pad")
HEADER_BITS = b"".join([
    rec((1000 << 32) | 0x12345678, 2, 0xFE, ETH, sub=b"\x03\x09"),          # every flag bit, odd subheader
    rec((1000 << 32) | 0x12345679, 0x82, 0x41, ETH, sub=b"\0\0",
        ext=(ext_header(3, True, 1), ext_header(4, False, 2))),
    rec((1000 << 32) | 0x1234567A, 22, 2, ETH[14:], wlen=60),                 # IPv4 record
    rec((1000 << 32) | 0x1234567B, 0x82, 0, UDP, sub=b"\0\0", ext=(ext_header(5, False, 3),)),
])


@requires_tshark
@pytest.mark.skipif(shutil.which("editcap") is None, reason="editcap not installed")
@pytest.mark.parametrize("source", ["corpus", "header_bits", "rounding_and_flags"])
def test_pcap_linktype_erf_records_dissected_as_tshark(source: str, tmp_path: Path) -> None:
    """pcap files of LINKTYPE_ERF (written by editcap from ERF files) carry the whole
    record: the ERF header is decoded as tshark shows it, the packet dissected after it."""
    from pcapkit.dissect.driver import dissect
    from pcapkit.dissect.erf import FIELDS as SPECS

    erf = tmp_path / "in.erf"
    if source == "corpus":
        erf.write_bytes(gzip.decompress(ERF_GZ.read_bytes()))
    else:
        erf.write_bytes(HEADER_BITS if source == "header_bits" else FILES[source])
    pcap = tmp_path / "out.pcap"
    subprocess.run(["editcap", "-F", "pcap", str(erf), str(pcap)], check=True, capture_output=True)
    fields = ["frame.protocols", *ERF_FIELDS, "ip.src", "ip.len", "udp.length", "eth.src"]
    theirs = tshark_fields(pcap, fields)
    specs = {s.name: s for s in SPECS}
    with open_capture(pcap) as reader:
        assert reader.linktype == 197
        packets = [dissect(f) for f in reader]
    assert len(packets) == len(theirs) >= 3
    for p, t in zip(packets, theirs, strict=True):
        got = p.fields()
        assert p.protocols == t["frame.protocols"]
        for name in ERF_FIELDS:
            assert (specs[name].render(got[name]) if name in got else None) == t.get(name), name
        for name in ("ip.src", "ip.len", "udp.length", "eth.src"):
            assert (str(got[name]) if name in got else None) == t.get(name), name


@requires_tshark
def test_vlan_frame_in_erf_file_is_not_taken_for_a_whole_record(tmp_path: Path) -> None:
    """A stripped frame whose bytes could pass for an ERF header by its lengths alone
    (src MAC byte 2 = 0x0c, an MC type; TCI 100 = frame length 120 - 20) is Ethernet."""
    from pcapkit.dissect.driver import dissect

    vlan = (bytes.fromhex("00e01e8e317100000c465cd1" "8100" "0064" "0800")
            + bytes.fromhex("450000660000400040110000c0a80001c0a80002" "9c409c4100520000") + b"v" * 74)
    assert len(vlan) == 120
    path = tmp_path / "vlan.erf"
    path.write_bytes(b"".join(rec((1000 << 32) | 0x12345678 + i, 2, 0, vlan, sub=b"\0\0") for i in range(3)))
    theirs = tshark_fields(path, ["frame.protocols", "vlan.id", "udp.length"])
    with open_capture(path) as reader:
        packets = [dissect(f) for f in reader]
    assert len(packets) == len(theirs) == 3
    for p, t in zip(packets, theirs, strict=True):
        got = p.fields()
        assert p.protocols == t["frame.protocols"]
        assert str(got["vlan.id"]) == t["vlan.id"] and str(got["udp.length"]) == t["udp.length"]


def test_time_stamp_rounding_vectors() -> None:
    # values from tshark on FILES["rounding_and_flags"] (see test above) and the corpus file
    assert erf_ts_ns((1000 << 32) | 0x80000000) == 1000_500000000
    assert erf_ts_ns((1000 << 32) | 0xFFFFFFFF) == 1001_000000000
    assert erf_ts_ns((1001 << 32) | 5) == 1001_000000001
    assert erf_ts_ns(0x3B2658A218531100) == 992368802_095017493


ONE = rec((1000 << 32) | 0x12345678, 2, 0, ETH, sub=b"\0\0")
# wiretap accepts a file cut short only after three whole records
CUTS = {"one_record": ONE, "cut_header_after_one": ONE + ONE[:10], "cut_body_after_one": ONE + ONE[:30],
        "cut_header_after_three": ONE * 3 + ONE[:10], "cut_body_after_three": ONE * 3 + ONE[:30]}


@requires_tshark
@pytest.mark.parametrize("name", sorted(CUTS))
def test_heuristic_and_cut_records_as_tshark(name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.erf"
    path.write_bytes(CUTS[name])
    out, rc = _run(str(path), ("frame.number",), (), "")
    tshark_frames = len(out.splitlines())
    assert looks_like_erf(CUTS[name]) == (tshark_frames > 0)
    if tshark_frames == 0:
        assert rc != 0
        with pytest.raises(UnknownFormatError):
            open_capture(path)
        return
    with open_capture(path) as reader:
        assert len(list(reader)) == tshark_frames
        assert bool(reader.warnings) == (rc != 0)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(tail=st.binary(max_size=300))
def test_garbage_after_a_good_record_never_raises_anything_else(tail: bytes, tmp_path: Path) -> None:
    path = tmp_path / "fuzz.erf"
    path.write_bytes(rec((1000 << 32) | 0x12345678, 2, 0, ETH, sub=b"\0\0") + tail)
    try:
        with open_capture(path) as reader:
            for f in reader:
                assert f.caplen == len(f.data) <= f.wirelen
    except CaptureFileError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=120), extra=st.integers(min_value=0, max_value=200), header=st.booleans())
def test_random_linktype_erf_frames_give_findings_never_exceptions(data: bytes, extra: int, header: bool) -> None:
    """Random LINKTYPE_ERF frames, some made to pass for whole records (frame.len =
    wlen + 18, type ETH, rlen = length): dissection never raises."""
    from pcapkit.dissect.driver import dissect
    from pcapkit.frame import Frame

    if header and len(data) >= 18:
        wlen = len(data) - 18 + extra
        data = (data[:8] + b"\x02" + data[9:10] + len(data).to_bytes(2, "big") + b"\0\0"
                + wlen.to_bytes(2, "big") + data[16:])
        frame = Frame(1, 0, len(data), wlen + 18, 197, 0, data)
    else:
        frame = Frame(1, 0, len(data), len(data) + extra, 197, 0, data)
    packet = dissect(frame)
    assert packet.protocols.startswith("erf")
