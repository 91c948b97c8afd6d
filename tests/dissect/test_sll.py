"""Linux cooked (SLL, SLL2), BSD loopback and raw-IP link types: hex vectors under tcpdump lines."""

from __future__ import annotations

from vectors import packet

# tcp/mptcp-v1.pcap frame 1 (LINKTYPE_LINUX_SLL)
# 1578930666.676845  In 32:32:87:aa:04:02 ethertype IPv4 (0x0800), length 80: (tos 0x0, ttl 64,
#   id 44415, offset 0, flags [DF], proto TCP (6), length 64)
#   10.0.1.1.33306 > 10.0.2.1.10004: Flags [S], ...
SLL = ("000000010006323287aa04020000080045000040ad7f4000400676370a0001010a000201821a271481fbb5fd"
       "00000000b002ffff17340000020405b40402080a1baf9ea100000000010303081e040101")

# l2/linux_dlt_sll2.pcap frame 1 (LINKTYPE_LINUX_SLL2)
# 1660534249.872259 lo    In  ifindex 1 00:00:00:00:00:00 ethertype IPv4 (0x0800), length 104:
#   (tos 0x0, ttl 64, id 44940, offset 0, flags [DF], proto ICMP (1), length 84)
#   192.0.2.1 > 192.0.2.1: ICMP echo request, id 8, seq 1, length 64
SLL2 = ("080000000000000103040006000000000000000045000054af8c40004001071ac0000201c0000201080066b4"
        "00080001e9bdf96200000000e24e0d0000000000101112131415161718191a1b1c1d1e1f2021222324252627"
        "28292a2b2c2d2e2f3031323334353637")

# formats/dlt_null.dmp.gz frame 1 (LINKTYPE_NULL)
# 873481653.254875 AF IPv4 (2), length 68: (tos 0x0, ttl 64, id 13166, offset 0, flags [none],
#   proto TCP (6), length 64)
#   10.0.0.3.1479 > 10.0.0.4.9000: Flags [S], cksum 0x9690 (correct), seq 638336000, ...
NULL = ("0200000045000040336e0000400633440a0000030a00000405c72328260c3c0000000000b00240009690"
        "00000204057004020101010303000101080a0004c0ae00000000")

# formats/LINKTYPE_IPV6.pcap frame 1 (LINKTYPE_IPV6 = 229)
# 1751997566.204450 ip: (hlim 64, next-header UDP (17) payload length: 37) 2001:db8::1.12345 >
#   2620:fe::9.53: [udp sum ok] 4660+ A? example.com. (29)
IPV6 = ("600000000025114020010db8000000000000000000000001262000fe0000000000000000000000093039"
        "0035002598b3123401000001000000000000076578616d706c6503636f6d0000010001")


def test_sll() -> None:
    p = packet(SLL, 113)
    f = p.fields()
    assert f["sll.pkttype"] == 0  # "In"
    assert f["sll.hatype"] == 1 and f["sll.halen"] == 6
    assert f["sll.src.eth"] == "32:32:87:aa:04:02"
    assert f["sll.unused"] == b"\0\0"
    assert f["sll.etype"] == 0x0800
    assert f["ip.id"] == 44415 and f["ip.flags.df"] is True and f["ip.len"] == 64
    assert p.protocols.startswith("sll:ethertype:ip:tcp")


def test_sll2() -> None:
    p = packet(SLL2, 276)
    f = p.fields()
    assert f["sll.ifindex"] == 1  # "ifindex 1"
    assert f["sll.hatype"] == 772  # loopback
    assert f["sll.pkttype"] == 0
    assert f["sll.etype"] == 0x0800
    assert f["ip.src"] == "192.0.2.1" and f["ip.proto"] == 1 and f["ip.len"] == 84
    assert p.protocols.startswith("sll:ethertype:ip:icmp")


def test_null_both_byte_orders() -> None:
    p = packet(NULL, 0)
    f = p.fields()
    assert f["null.family"] == 2  # "AF IPv4 (2)"
    assert f["ip.id"] == 13166 and f["ip.ttl"] == 64
    assert p.protocols.startswith("null:ip:tcp")
    # the same header written big-endian by a big-endian host: tshark reads it as 2 too
    f = packet("00000002" + NULL[8:], 0).fields()
    assert f["null.family"] == 2
    # LINKTYPE_LOOP (108) is always network byte order
    f = packet("00000002" + NULL[8:], 108).fields()
    assert f["null.family"] == 2 and f["ip.src"] == "10.0.0.3"


def test_raw_ip_link_types() -> None:
    p = packet(IPV6, 229)
    assert p.protocols.startswith("ipv6:udp")  # no link layer at all
    f = p.fields()
    assert f["ipv6.plen"] == 37 and f["ipv6.hlim"] == 64
    assert f["ipv6.src"] == "2001:db8::1" and f["ipv6.dst"] == "2620:fe::9"
    p = packet(IPV6, 101)
    assert p.protocols.startswith("raw:ipv6:udp")
    p = packet(NULL[8:], 101)
    assert p.protocols.startswith("raw:ip:tcp")
