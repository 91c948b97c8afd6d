"""IPv6 and its extension headers: hex vectors under their tcpdump -n -v -e lines."""

from __future__ import annotations

from pathlib import Path

from conftest import requires_tshark
from fieldcompare import compare_file
from vectors import packet

from pcapkit.dissect.base import FindingKind
from pcapkit.dissect.driver import DissectSession

# ip/ipv6-hbh-routing0.pcap frame 1
# 00:00:00:00:00:00 > ff:ff:ff:ff:ff:ff, ethertype IPv6 (0x86dd), length 113: (hlim 64, next-header
#   Options (0) payload length: 59) 2001:4f8:4:7:2e0:81ff:fe52:ffff > 2001:4f8:4:7:2e0:81ff:fe52:9a6b:
#   HBH (padn) RT6 (len=4, type=0 [Deprecated], segleft=2, rsv=0x0, [0]2001:78:1:32::1,
#   [1]2001:78:1:32::2) 53 > 53: [udp sum ok] domain [length 3 < 12] (invalid)
HBH_RT0 = ("ffffffffffff00000000000086dd60000000003b0040200104f80004000702e081fffe52ffff200104f800040007"
           "02e081fffe529a6b2b000104000000001104000200000000200100780001003200000000000000012001007800"
           "010032000000000000000200350035000b8631585858")

# ip/ipv6_jumbogram_1.pcap frame 1, first 130 of 65590 bytes (cut here as by a snaplen)
# 00:12:3f:ae:22:f7 > 00:13:c4:c7:84:f0, ethertype IPv6 (0x86dd), length 65590: (hlim 227,
#   next-header Options (0) payload length: 0) 2200::244:212:3fff:feae:22f7 > 2200::240:2:0:0:4:
#   HBH (jumbo: 65536)  [icmp6 sum ok] ICMP6, echo request, id 4576, seq 51486
JUMBO = ("0013c4c784f000123fae22f786dd60000000000000e3220000000000024402123ffffeae22f7220000000000024000"
         "020000000000043a00c204000100008000e3b011e0c91ef4b5e35eff52cb42747eb65f9e5fbe3c591a535971da4a"
         "6426c28a0fa9eba6449b3e9c12404686698f946d01ee0c1d67a254")

# ip/ipv6-fragmented-dns.pcap frame 6 (first 80 bytes)
# d8:30:62:48:c5:b5 > c4:2c:03:3b:6c:aa, ethertype IPv6 (0x86dd), length 1494: (hlim 53, next-header
#   Fragment (44) payload length: 1440) 2607:f740:b::f93 > 2001:470:1f11:81f:d138:5f55:6d4:1fe2:
#   frag (0x00000002:0|1432) 53 > 51851: ...
FRAG = ("c42c033b6caad8306248c5b586dd6000000005a02c352607f740000b00000000000000000f93200104701f11081f"
        "d1385f5506d41fe211000001000000020035ca8b0ca6688f9f9185000001")


def test_hop_by_hop_and_routing_type0() -> None:
    p = packet(HBH_RT0)
    f = p.fields()
    assert f["ipv6.hlim"] == 64 and f["ipv6.plen"] == 59 and f["ipv6.nxt"] == 0
    assert f["ipv6.src"] == "2001:4f8:4:7:2e0:81ff:fe52:ffff"
    assert f["ipv6.dst"] == "2001:4f8:4:7:2e0:81ff:fe52:9a6b"
    assert f["ipv6.src_slaac_mac"] == "00:e0:81:52:ff:ff"  # EUI-64 interface id
    assert f["ipv6.opt.type"] == 1  # padn
    assert f["ipv6.routing.type"] == 0 and f["ipv6.routing.segleft"] == 2
    assert f["ipv6.routing.len"] == 4
    assert f["ipv6.routing.src.addr"] == ["2001:78:1:32::1", "2001:78:1:32::2"]
    assert p.protocols.startswith("eth:ethertype:ipv6:ipv6.hopopts:ipv6.routing:udp")


def test_jumbogram_cut_by_snaplen() -> None:
    p = packet(JUMBO, wirelen=65590)
    f = p.fields()
    assert f["ipv6.plen"] == 0 and f["ipv6.hlim"] == 227
    assert f["ipv6.opt.jumbo"] == 65536  # "HBH (jumbo: 65536)"
    assert p.protocols.startswith("eth:ethertype:ipv6:ipv6.hopopts:icmpv6") or \
        p.protocols.startswith("eth:ethertype:ipv6:ipv6.hopopts")
    assert not any(x.kind is FindingKind.MALFORMED for x in p.findings if x.layer.startswith("ipv6"))


def test_fragment_header() -> None:
    p = packet(FRAG, wirelen=1494, session=DissectSession())
    f = p.fields()
    assert f["ipv6.nxt"] == 44 and f["ipv6.plen"] == 1440 and f["ipv6.hlim"] == 53
    assert f["ipv6.fraghdr.ident"] == 2 and f["ipv6.fraghdr.offset"] == 0  # frag (0x00000002:0|1432)
    assert f["ipv6.fraghdr.more"] is True and f["ipv6.fraghdr.nxt"] == 17
    # only 80 of 1494 bytes captured: tshark does not reassemble a fragment it does not hold
    # whole, and dissects a first fragment as it is
    assert p.protocols.startswith("eth:ethertype:ipv6:ipv6.fraghdr:udp")


def test_truncated_vs_malformed() -> None:
    p = packet(HBH_RT0[:60], wirelen=113)
    assert [x.kind for x in p.findings] == [FindingKind.TRUNCATED]
    p = packet(HBH_RT0[:60])
    assert [x.kind for x in p.findings] == [FindingKind.MALFORMED]


# --- address text: tshark's, IPv4-mapped and IPv4-compatible forms included ---------------

ADDRESSES = ["::ffff:1.2.3.4", "::1.2.3.4", "::1", "::", "1:0:0:1:0:0:0:1", "1:0:1:0:1:0:1:0",
             "2001:db8::ffff:1.2.3.4", "::ffff:0:1.2.3.4", "64:ff9b::1.2.3.4", "fe80::1:0:0:0",
             "2002:c000:204::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "fe80::200:5efe:c000:204"]


@requires_tshark
def test_address_text_matches_tshark(tmp_path: Path) -> None:
    """Every address field (ipv6.src/dst/addr/host and the 6to4, Teredo, ISATAP ones) as tshark
    prints it, on UDP datagrams from and to each address."""
    import socket

    import dpkt

    from pcapkit.fields import ipv6_text

    eth = bytes.fromhex("00305c003447" "00e0ed016ebd" "86dd")
    udp = bytes.fromhex("04d210e1000c0000") + b"abcd"
    path = tmp_path / "addresses.pcap"
    with path.open("wb") as f:
        writer = dpkt.pcap.Writer(f)
        for i, text in enumerate(ADDRESSES):
            raw = socket.inet_pton(socket.AF_INET6, text)
            header = bytes.fromhex("60000000") + len(udp).to_bytes(2, "big") + bytes((17, 64))
            writer.writepkt(eth + header + raw + raw[::-1] + udp, ts=1.0 + i)
    result = compare_file(path, prefixes=("ipv6.",))
    assert result.compared >= 8 * len(ADDRESSES)
    assert not result.diffs, result.report()
    assert ipv6_text(socket.inet_pton(socket.AF_INET6, "::ffff:1.2.3.4")) == "::ffff:1.2.3.4"
