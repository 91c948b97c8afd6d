"""IPv4: header fields, options, checksum status, fragments and reassembly; hex vectors
under their tcpdump -n -v lines."""

from __future__ import annotations

from vectors import packet

from pcapkit.dissect.base import FindingKind
from pcapkit.dissect.driver import DissectSession
from pcapkit.proto.checksum import internet_checksum

# labs/NAT_ISP_side.pcap frame 2
# (tos 0x0, ttl 127, id 41577, offset 0, flags [none], proto UDP (17), length 77)
#   71.192.34.104.51554 > 68.87.71.230.53: 43433+ A? safebrowsing.clients.google.com. (49)
UDP = ("000ed6bf6c010008744f362308004500004da26900007f11a2d147c02268445747e6c96200350039a0e6a9a9"
       "010000010000000000000c7361666562726f7773696e6707636c69656e747306676f6f676c6503636f6d0000010001")

# ip/ipopts.dmp.gz frame 1
# (tos 0x0, ttl 255, id 21572, offset 0, flags [DF], proto ICMP (1), length 124, options (RR 0.0.0.0
#   0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0 0.0.0.0,EOL))
#   132.235.3.128 > 135.145.9.134: ICMP echo request, id 18413, seq 9, length 64
RR = ("00000c47be8708002085af9e08004f00007c54444000ff01f89284eb038087910986072704000000000000000000"
      "000000000000000000000000000000000000000000000000000000000800a02747ed000936af8b48000d62da0809"
      "0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637")


def test_header_fields() -> None:
    f = packet(UDP).fields()
    assert f["ip.version"] == 4 and f["ip.hdr_len"] == 20
    assert f["ip.dsfield"] == 0  # tos 0x0
    assert f["ip.ttl"] == 127 and f["ip.id"] == 41577 and f["ip.len"] == 77
    assert f["ip.flags"] == 0 and f["ip.frag_offset"] == 0  # flags [none], offset 0
    assert f["ip.proto"] == 17
    assert f["ip.src"] == "71.192.34.104" and f["ip.dst"] == "68.87.71.230"
    assert f["ip.addr"] == ["71.192.34.104", "68.87.71.230"]
    assert f["ip.checksum"] == 0xA2D1 and f["ip.checksum.status"] == 2  # unverified by default


def test_checksum_validation() -> None:
    session = DissectSession(check_checksums=True)
    f = packet(UDP, session=session).fields()
    assert f["ip.checksum.status"] == 1 and f["ip.checksum_calculated"] == 0xA2D1
    bad = UDP[:48] + "0000" + UDP[52:]
    p = packet(bad, session=session)
    assert p.fields()["ip.checksum.status"] == 0
    assert any(x.kind is FindingKind.CHECKSUM_BAD for x in p.findings)
    assert internet_checksum(bytes.fromhex("4500004da26900007f110000" "47c02268445747e6")) == 0xA2D1


def test_record_route_option() -> None:
    f = packet(RR).fields()
    assert f["ip.hdr_len"] == 60 and f["ip.ttl"] == 255 and f["ip.id"] == 21572
    assert f["ip.flags.df"] is True
    assert f["ip.opt.type"] == [7, 0]  # RR, EOL
    assert f["ip.opt.len"] == 39 and f["ip.opt.ptr"] == 4
    assert f["ip.empty_rt"] == ["0.0.0.0"] * 9
    assert "ip.rec_rt" not in f


def test_timestamp_and_router_alert_options() -> None:
    # header with a router alert (RFC 2113) and a timestamp option (flag 1: address + time, one entry)
    opts = bytes([148, 4, 0, 0]) + bytes([68, 12, 13, 0x01, 10, 0, 0, 1, 0, 0, 0, 99])
    hdr = bytearray.fromhex("4800002c0001000040110000" "0a0000010a000002")
    hdr[0] = 0x40 | (20 + len(opts)) // 4
    hdr[2:4] = (20 + len(opts) + 8).to_bytes(2, "big")
    raw = bytes(hdr) + opts + bytes.fromhex("0035003500080000")
    f = packet(raw.hex(), 228).fields()
    assert f["ip.opt.ra"] == 0
    assert f["ip.opt.type"] == [148, 68]
    assert f["ip.opt.flag"] == 1 and f["ip.opt.overflow"] == 0
    assert f["ip.opt.time_stamp_addr"] == "10.0.0.1" and f["ip.opt.time_stamp"] == 99


def _frag(ident: int, offset8: int, more: bool, payload: bytes, proto: int = 17) -> str:
    total = 20 + len(payload)
    flags = (0x2000 if more else 0) | offset8
    hdr = (bytes([0x45, 0]) + total.to_bytes(2, "big") + ident.to_bytes(2, "big") + flags.to_bytes(2, "big")
           + bytes([64, proto, 0, 0]) + bytes([10, 0, 0, 1, 10, 0, 0, 2]))
    return (hdr + payload).hex()


def test_reassembly_in_order_out_of_order_and_overlap() -> None:
    udp = bytes.fromhex("0035003500200000") + bytes(range(24))  # 32-byte UDP datagram
    parts = [(0, True, udp[:16]), (2, True, udp[16:24]), (3, False, udp[24:])]
    for order in ([0, 1, 2], [2, 0, 1], [1, 2, 0]):
        session = DissectSession()
        results = [packet(_frag(7, parts[i][0], parts[i][1], parts[i][2]), 228, session=session,
                          number=n + 1) for n, i in enumerate(order)]
        assert [r.protocols for r in results[:2]] == ["ip:data", "ip:data"]
        last = results[2].fields()
        assert results[2].protocols.startswith("ip:udp")
        assert last["ip.reassembled.length"] == 32
        assert last["ip.fragment.count"] == 3
        # frames listed in fragment-offset order
        assert last["ip.fragment"] == [order.index(0) + 1, order.index(1) + 1, order.index(2) + 1]
        assert last["ip.reassembled.data"] == udp
    # overlapping fragment with different bytes: flagged, earlier data kept
    session = DissectSession()
    packet(_frag(9, 0, True, udp[:16]), 228, session=session, number=1)
    packet(_frag(9, 1, True, b"\xff" * 16), 228, session=session, number=2)
    last = packet(_frag(9, 3, False, udp[24:]), 228, session=session, number=3).fields()
    assert last["ip.fragment.overlap"] is True and last["ip.fragment.overlap.conflict"] is True
    assert last["ip.reassembled.data"][:16] == udp[:16]


def test_reassembly_timeout_and_limit() -> None:
    udp = bytes.fromhex("0035003500200000") + bytes(range(24))
    session = DissectSession(reassembly_timeout_ns=1_000_000_000)
    packet(_frag(5, 0, True, udp[:16]), 228, session=session, number=1, ts_ns=0)
    late = packet(_frag(5, 2, False, udp[16:]), 228, session=session, number=2, ts_ns=5_000_000_000)
    assert any(x.kind is FindingKind.NOTE and "timed out" in x.reason for x in late.findings)
    assert late.protocols == "ip:data"
    session = DissectSession(max_reassembly_bytes=20)
    packet(_frag(6, 0, True, udp[:16]), 228, session=session, number=1)
    over = packet(_frag(8, 0, True, udp[:16]), 228, session=session, number=2)
    assert any(x.kind is FindingKind.NOTE and "limit" in x.reason for x in over.findings)
    # no session: fragments are never reassembled, payload left as data
    assert packet(_frag(5, 2, False, udp[16:]), 228).protocols == "ip:data"


def test_bad_headers() -> None:
    # header length 4 (< 20): malformed
    p = packet("41" + UDP[30:68], 228)
    assert p.findings[0].kind is FindingKind.MALFORMED
    # total length 10 < header length: malformed, fields stop at ip.len as in tshark
    p = packet("4500000a" + UDP[36:100], 228)
    assert p.findings[0].kind is FindingKind.MALFORMED and "ip.id" not in p.fields()
    # header cut by the snaplen after the source address: truncated, source shown
    p = packet(UDP[28:60], 228, wirelen=77)
    f = p.fields()
    assert p.findings[0].kind is FindingKind.TRUNCATED
    assert f["ip.src"] == "71.192.34.104" and "ip.dst" not in f


def test_fragments_without_reassembly_or_not_wholly_captured() -> None:
    """tshark dissects a first fragment as it is when it does not reassemble (session off,
    or the fragment is not wholly captured); later fragments are data."""
    udp = bytes.fromhex("0035003500200000") + bytes(range(24))
    assert packet(_frag(3, 0, True, udp[:16]), 228).protocols.startswith("ip:udp")
    assert packet(_frag(3, 2, False, udp[16:]), 228).protocols == "ip:data"
    session = DissectSession()
    cut = _frag(4, 0, True, udp[:16])[:-8]  # 4 bytes short of the fragment
    p = packet(cut, 228, wirelen=36, session=session)
    assert p.protocols.startswith("ip:udp")
    assert len(session.reassembler) == 0
