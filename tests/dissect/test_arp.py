"""ARP: hex vectors under their tcpdump -n -v -e lines, every field."""

from __future__ import annotations

from vectors import packet

from pcapkit.dissect.base import FindingKind
from pcapkit.dissect.summary import summary_line

# labs/NAT_ISP_side.pcap frame 1
# 1253479381.731064 00:21:70:58:98:2a > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42:
#   Ethernet (len 6), IPv4 (len 4), Request who-has 192.168.1.101 tell 169.254.247.145, length 28
REQUEST = "ffffffffffff00217058982a0806000108000604000100217058982aa9fef791000000000000c0a80165"


def test_request_fields() -> None:
    p = packet(REQUEST)
    f = p.fields()
    assert f["arp.hw.type"] == 1 and f["arp.proto.type"] == 0x0800
    assert f["arp.hw.size"] == 6 and f["arp.proto.size"] == 4
    assert f["arp.opcode"] == 1
    assert f["arp.src.hw_mac"] == "00:21:70:58:98:2a"
    assert f["arp.src.proto_ipv4"] == "169.254.247.145"
    assert f["arp.dst.hw_mac"] == "00:00:00:00:00:00"
    assert f["arp.dst.proto_ipv4"] == "192.168.1.101"
    assert "arp.isgratuitous" not in f
    assert p.protocols == "eth:ethertype:arp"


def test_summary_is_tcpdumps() -> None:
    p = packet(REQUEST)
    assert summary_line(p.frame, p).endswith("ARP, Request who-has 192.168.1.101 tell 169.254.247.145, length 28")


def test_gratuitous_announcement_and_probe() -> None:
    # sender == target address, target MAC zero: a gratuitous ARP announcement
    ann = REQUEST[:56] + "c0a80165" + "000000000000" + "c0a80165"
    f = packet(ann).fields()
    assert f["arp.isgratuitous"] is True and f["arp.isannouncement"] is True
    # sender 0.0.0.0: a probe
    probe = REQUEST[:56] + "00000000" + "000000000000" + "c0a80165"
    f = packet(probe).fields()
    assert f["arp.isprobe"] is True and "arp.isgratuitous" not in f


def test_odd_address_sizes_and_truncation() -> None:
    # hardware size 8 (not a MAC): kept as bytes
    odd = REQUEST[:28] + "0001080008040001" + "11" * 8 + "0a000001" + "22" * 8 + "0a000002"
    f = packet(odd).fields()
    assert f["arp.src.hw"] == b"\x11" * 8 and "arp.src.hw_mac" not in f
    assert f["arp.dst.proto_ipv4"] == "10.0.0.2"
    # cut inside the addresses: truncated when the wire had them, malformed when it did not
    p = packet(REQUEST[:70], wirelen=42)
    assert any(x.kind is FindingKind.TRUNCATED for x in p.findings)
    p = packet(REQUEST[:70])
    assert any(x.kind is FindingKind.MALFORMED for x in p.findings)
