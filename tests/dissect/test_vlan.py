"""802.1Q / 802.1ad / QinQ tags: hex vectors under their tcpdump -n -v -e lines."""

from __future__ import annotations

from vectors import packet

# l2/vlan-pcp-dei.pcapng frame 4
# 16:4b:df:50:b2:93 > ff:ff:ff:ff:ff:ff, ethertype 802.1Q (0x8100), length 62: vlan 10, p 7,
#   ethertype 802.1Q (0x8100), vlan 20, p 5, DEI, ethertype IPv4 (0x0800), (tos 0x0, ttl 64, id 1,
#   offset 0, flags [none], proto TCP (6), length 40)
#   192.168.1.200.80 > 192.168.1.100.12345: Flags [S.], cksum 0xcf13 (correct), seq 2000, ack 1001, ...
DOUBLE = ("ffffffffffff164bdf50b2938100e00a8100b014080045000028000100004006f652c0a801c8c0a80164"
          "00503039000007d0000003e950122000cf130000")

# l2/802.1ad_QinQ.pcap frame 1
# 00:20:d2:5a:fb:3f > ff:ff:ff:ff:ff:ff, ethertype 802.1Q-QinQ (0x88a8), length 64: vlan 200, p 0,
#   ethertype 802.1Q (0x8100), vlan 2001, p 0, ethertype ARP (0x0806), Ethernet (len 6), IPv4 (len 4),
#   Request who-has 172.21.79.100 tell 172.21.79.97, length 42
QINQ = ("ffffffffffff0020d25afb3f88a800c8810007d1080600010800060400010020d25afb3fac154f61000000000000"
        "ac154f640000000000000000000000000000")


def test_two_8021q_tags() -> None:
    p = packet(DOUBLE)
    f = p.fields()
    assert f["vlan.id"] == [10, 20]
    assert f["vlan.priority"] == [7, 5]
    assert f["vlan.dei"] == [False, True]
    assert f["vlan.etype"] == [0x8100, 0x0800]
    assert f["ip.ttl"] == 64 and f["ip.id"] == 1 and f["ip.len"] == 40
    assert p.protocols.startswith("eth:ethertype:vlan:ethertype:vlan:ethertype:ip:tcp")


def test_8021ad_outer_tag() -> None:
    p = packet(QINQ)
    f = p.fields()
    assert f["ieee8021ad.id"] == 200 and f["ieee8021ad.priority"] == 0
    assert f["vlan.id"] == 2001 and f["vlan.etype"] == 0x0806
    assert f["arp.dst.proto_ipv4"] == "172.21.79.100"
    assert p.protocols == "eth:ethertype:ieee8021ad:ethertype:vlan:ethertype:arp"


def test_cut_tag_is_truncated() -> None:
    p = packet(DOUBLE[:32], wirelen=62)
    assert p.layers[-1].protocol == "vlan"
    assert p.findings and p.findings[0].kind.value == "truncated"
