"""Ethernet II, 802.3/LLC/SNAP: hex vectors under their tcpdump -n -v -e lines."""

from __future__ import annotations

from vectors import packet

from pcapkit.dissect.base import FindingKind

# labs/NAT_ISP_side.pcap frame 2
# 00:08:74:4f:36:23 > 00:0e:d6:bf:6c:01, ethertype IPv4 (0x0800), length 91: (tos 0x0, ttl 127,
#   id 41577, offset 0, flags [none], proto UDP (17), length 77)
ETH_IPV4_UDP = (
    "000ed6bf6c010008744f362308004500004da26900007f11a2d147c02268445747e6c96200350039a0e6a9a9"
    "010000010000000000000c7361666562726f7773696e6707636c69656e747306676f6f676c6503636f6d0000010001"
)

# l2/snap-arp.pcapng frame 1
# c2:3d:19:6c:00:01 > ff:ff:ff:ff:ff:ff, 802.3, length 36: LLC, dsap SNAP (0xaa) Individual,
#   ssap SNAP (0xaa) Command, ctrl 0x03: oui Ethernet (0x000000), ethertype ARP (0x0806), length 28:
#   TokenRing (len 6), IPv4 (len 4), Request who-has 10.0.0.2 tell 10.0.0.1, length 28
SNAP_ARP = (
    "ffffffffffffc23d196c00010024aaaa0300000008060006080006040001c23d196c00010a000001000000000000"
    "0a00000200000000000000000000"
)

# labs/NAT_ISP_side.pcap frame 1 (42 bytes, no padding)
# 00:21:70:58:98:2a > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: ...
ARP_42 = "ffffffffffff00217058982a0806000108000604000100217058982aa9fef791000000000000c0a80165"


def test_ethernet_ii_fields() -> None:
    p = packet(ETH_IPV4_UDP)
    f = p.fields()
    assert f["eth.src"] == "00:08:74:4f:36:23"
    assert f["eth.dst"] == "00:0e:d6:bf:6c:01"
    assert f["eth.type"] == 0x0800
    assert f["eth.addr"] == ["00:0e:d6:bf:6c:01", "00:08:74:4f:36:23"]
    assert f["eth.dst.ig"] is False and f["eth.dst.lg"] is False
    assert f["eth.src.oui"] == 0x000874
    assert p.protocols.startswith("eth:ethertype:ip:udp")
    assert not p.findings


def test_broadcast_bits() -> None:
    f = packet(ARP_42).fields()
    assert f["eth.dst"] == "ff:ff:ff:ff:ff:ff"
    assert f["eth.dst.ig"] is True and f["eth.dst.lg"] is True
    assert f["eth.ig"] == [True, False]
    assert "eth.padding" not in f and "eth.trailer" not in f


def test_8023_llc_snap() -> None:
    p = packet(SNAP_ARP)
    f = p.fields()
    assert f["eth.len"] == 36  # "802.3, length 36"
    assert "eth.type" not in f
    assert f["llc.dsap"] == 0xAA and f["llc.ssap"] == 0xAA
    assert f["llc.control"] == 0x03
    assert f["llc.oui"] == 0 and f["llc.type"] == 0x0806
    assert f["arp.hw.type"] == 6  # TokenRing
    assert f["arp.dst.proto_ipv4"] == "10.0.0.2" and f["arp.src.proto_ipv4"] == "10.0.0.1"
    assert p.protocols == "eth:llc:arp"  # no "ethertype" after SNAP (tshark)
    # 14 + 36 = 50 bytes of frame; the 10 bytes after are zero padding to 60
    assert f["eth.padding"] == bytes(10)


def test_padding_and_trailer() -> None:
    # the ARP frame padded with 18 zero bytes to 60, then 4 more bytes: a 64-byte frame ->
    # the 4 last bytes are taken as the FCS (tshark's autodetect: frame >= 64 bytes)
    p = packet(ARP_42 + "00" * 18 + "deadbeef")
    f = p.fields()
    assert f["eth.padding"] == bytes(18)
    assert f["eth.fcs"] == 0xDEADBEEF
    # a non-zero "padding" is a trailer, not padding
    f2 = packet(ARP_42 + "01" * 18).fields()
    assert "eth.padding" not in f2 and f2["eth.trailer"] == b"\x01" * 18


def test_short_frames_are_truncated_or_malformed() -> None:
    # 10 captured bytes of a 60-byte frame: truncated (snaplen), not malformed
    p = packet(ARP_42[:20], wirelen=60)
    assert [x.kind for x in p.findings] == [FindingKind.TRUNCATED]
    # a 10-byte frame on the wire cannot hold the header: malformed
    p = packet(ARP_42[:20])
    assert [x.kind for x in p.findings] == [FindingKind.MALFORMED]


def test_unknown_ethertypes_as_tshark() -> None:
    # checked with tshark 4.0 on a synthetic capture: 0x88b5 -> "eth:ethertype:data",
    # 0xaaaa -> "eth" (no dissector called), 0x0801 -> "eth:ethertype:data"
    base = ARP_42[:24]
    assert packet(base + "88b5" + "00" * 46).protocols == "eth:ethertype:data"
    assert packet(base + "aaaa" + "00" * 46).protocols == "eth"
    assert packet(base + "0801" + "00" * 46).protocols == "eth:ethertype:data"
