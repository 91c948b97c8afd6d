"""ICMPv6 dissector: hex vectors under their tcpdump lines (neighbour solicitation,
router advertisement), tshark parity on every ICMPv6 capture of the corpus,
Hypothesis on random and mutated messages."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from conftest import corpus_id, requires_tshark
from fieldcompare import compare_file
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tcp import corpus_with, skip_unsupported_link

from pcapkit.dissect.base import Context
from pcapkit.dissect.icmpv6 import FIELDS, dissect_icmpv6

NAMES = tuple(s.name for s in FIELDS)


def icmp6(hexstr: str) -> tuple[dict[str, object], str, Context]:
    data = bytes.fromhex(hexstr.replace(" ", ""))
    ctx = Context(reported_end=len(data),
                  extra={"ip.src_raw": data[8:24], "ip.dst_raw": data[24:40], "ip.version": 6})
    layer, _ = dissect_icmpv6(data, 40, len(data), ctx)
    assert not layer.findings
    return layer.fields, layer.summary, ctx


def test_neighbor_solicitation() -> None:
    # ip/icmp6-neighbor-solicit.pcap, tcpdump -n -v:
    #   IP6 (hlim 255, next-header ICMPv6 (58) payload length: 24) fe80::dead > fe80::beef:
    #   [icmp6 sum ok] ICMP6, neighbor solicitation, length 24, who has fe80::babe
    # and tcpdump -n (the summary form pcapkit follows):
    #   IP6 fe80::dead > fe80::beef: ICMP6, neighbor solicitation, who has fe80::babe, length 24
    f, summary, _ = icmp6(
        "6000 0000 0018 3aff fe80 0000 0000 0000 0000 0000 0000 dead fe80 0000 0000 0000"
        "0000 0000 0000 beef 8700 24ce 0000 0000 fe80 0000 0000 0000 0000 0000 0000 babe")
    assert summary == "ICMP6, neighbor solicitation, who has fe80::babe, length 24"
    assert f["icmpv6.type"] == 135 and f["icmpv6.code"] == 0 and f["icmpv6.checksum"] == 0x24CE
    assert f["icmpv6.checksum.status"] == 1  # "[icmp6 sum ok]"
    assert f["icmpv6.reserved"] == b"\0\0\0\0"
    assert f["icmpv6.nd.ns.target_address"] == "fe80::babe"


def test_router_advertisement() -> None:
    # ip/icmp6-router-advert.pcap, tcpdump -n -v:
    #   fe80::dead > fe80::beef: [icmp6 sum ok] ICMP6, router advertisement, length 16
    #   hop limit 13, Flags [managed, home agent], pref low, router lifetime 1800s,
    #   reachable time 3700ms, retrans timer 1300ms
    f, summary, _ = icmp6(
        "6000 0000 0010 3aff fe80 0000 0000 0000 0000 0000 0000 dead fe80 0000 0000 0000"
        "0000 0000 0000 beef 8600 b6cd 0db8 0708 0000 0e74 0000 0514")
    assert summary == "ICMP6, router advertisement, length 16"
    assert f["icmpv6.checksum.status"] == 1
    assert f["icmpv6.nd.ra.cur_hop_limit"] == 13
    assert f["icmpv6.nd.ra.flag"] == 0xB8
    assert f["icmpv6.nd.ra.flag.m"] is True and f["icmpv6.nd.ra.flag.h"] is True
    assert f["icmpv6.nd.ra.flag.o"] is False
    assert f["icmpv6.nd.ra.flag.prf"] == 3  # tcpdump "pref low" (binary 11)
    assert f["icmpv6.nd.ra.router_lifetime"] == 1800
    assert f["icmpv6.nd.ra.reachable_time"] == 3700 and f["icmpv6.nd.ra.retrans_timer"] == 1300


def test_error_message_hands_on_the_quoted_packet() -> None:
    inner = bytes.fromhex("6000000000083a40") + bytes(32) + bytes.fromhex("8000000000010002")
    msg = bytes.fromhex("01040000 00000000") + inner
    ctx = Context(reported_end=len(msg))
    layer, nxt = dissect_icmpv6(msg, 0, len(msg), ctx)
    assert layer.fields["icmpv6.type"] == 1 and layer.fields["icmpv6.code"] == 4
    assert nxt is not None and (nxt.table, nxt.key, nxt.offset) == ("ethertype", 0x86DD, 8)
    assert ctx.extra["in_error_pkt"] is True


FILES = corpus_with("icmpv6")
EXTERNAL: dict[str, str] = {}


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_icmpv6_fields_match_tshark(path: Path) -> None:
    rel = corpus_id(path)
    skip_unsupported_link(rel)
    result = compare_file(path, fields=NAMES)
    if result.diffs and rel in EXTERNAL:
        pytest.xfail(EXTERNAL[rel])
    assert not result.diffs, result.report()


@settings(max_examples=400, deadline=None)
@given(st.sampled_from([1, 2, 3, 4, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 143, 200]),
       st.binary(max_size=120), st.integers(0, 40))
def test_random_bodies_never_raise(itype: int, body: bytes, extra: int) -> None:
    data = bytes((itype, 0, 0, 0)) + body
    start = time.perf_counter()
    ctx = Context(reported_end=len(data) + extra, extra={"ip.src_raw": bytes(16), "ip.dst_raw": bytes(16)})
    layer, nxt = dissect_icmpv6(data, 0, len(data), ctx)
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    assert layer.fields["icmpv6.type"] == itype
    for name in layer.fields:
        assert name in NAMES
    if nxt is not None:
        assert nxt.offset == 8


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=8))
def test_short_bytes_give_findings(data: bytes) -> None:
    layer, nxt = dissect_icmpv6(data, 0, len(data), Context(reported_end=len(data)))
    if len(data) < 4:
        assert layer.findings and nxt is None


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_icmpv6_summary_matches_tcpdump(path: Path, tmp_path: Path) -> None:
    from test_icmp import check_summaries

    check_summaries(path, tmp_path, "icmpv6", "ICMP6, ")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from([1, 2, 3, 4]), st.integers(0, 7), st.binary(max_size=120))
def test_quoted_garbage_through_the_driver(itype: int, code: int, quoted: bytes) -> None:
    """An ICMPv6 error quoting random bytes through the whole chain: never an exception."""
    from pcapkit.dissect.driver import dissect
    from pcapkit.frame import Frame

    msg = bytes((itype, code, 0, 0, 0, 0, 0, 0)) + quoted
    ip6 = (bytes.fromhex("60000000") + len(msg).to_bytes(2, "big") + bytes((58, 64))
           + bytes.fromhex("fe80" + "00" * 13 + "01") + bytes.fromhex("fe80" + "00" * 13 + "02"))
    data = ip6 + msg
    packet = dissect(Frame(number=1, ts_ns=0, caplen=len(data), wirelen=len(data), linktype=101,
                           interface_id=0, data=data))
    assert "icmpv6" in [layer.protocol for layer in packet.layers]
