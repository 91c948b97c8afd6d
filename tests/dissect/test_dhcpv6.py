"""DHCPv6 dissector: a hex vector under its tcpdump line, nested IA options, relay
messages, tshark parity on every DHCPv6 capture of the corpus, Hypothesis."""

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

from pcapkit.dissect.base import Context, FindingKind
from pcapkit.dissect.dhcpv6 import FIELDS, abs_time_text, dissect_dhcpv6

NAMES = tuple(s.name for s in FIELDS)

# dhcp/dhcpv6-ia-na.pcap frame 1 (UDP payload), tcpdump -n -v:
#   fe80::201:2ff:fe03:405.546 > ff02::1:2.547: [udp sum ok] dhcp6 solicit (xid=90b45c
#   (client-ID hwaddr type 1 000102030405) (option-request DNS-server DNS-search-list)
#   (elapsed-time 0) (IA_NA IAID:33752069 T1:3600 T2:5400))
SOLICIT = bytes.fromhex(
    "0190b45c 0001000a 00030001000102030405 0006000400170018 000800020000"
    "0003000c 02030405 00000e10 00001518".replace(" ", ""))


def test_solicit() -> None:
    layer, nxt = dissect_dhcpv6(SOLICIT, 0, len(SOLICIT), Context(reported_end=len(SOLICIT)))
    f = layer.fields
    assert nxt is None and not layer.findings
    assert layer.summary == "dhcp6 solicit"  # tcpdump -n without -v
    assert f["dhcpv6.msgtype"] == 1 and f["dhcpv6.xid"] == 0x90B45C
    assert f["dhcpv6.duid.type"] == 3 and f["dhcpv6.duidll.hwtype"] == 1
    assert f["dhcpv6.duidll.link_layer_addr"] == "00:01:02:03:04:05"
    assert list(f["dhcpv6.requested_option_code"]) == [23, 24]
    assert f["dhcpv6.elapsed_time"] == 0
    assert f["dhcpv6.iaid"] == "02030405"  # IAID 33752069
    assert f["dhcpv6.iaid.t1"] == 3600 and f["dhcpv6.iaid.t2"] == 5400
    assert list(f["dhcpv6.option.type"]) == [1, 6, 8, 3]


def test_nested_ia_address_and_relay() -> None:
    ia_addr = bytes.fromhex("00050018" "2a000001000102000000000000000001" "00001194" "00001c20")
    ia_na = bytes.fromhex("00030028" "02030405" "00000e10" "00001518") + ia_addr
    inner = bytes.fromhex("0790b45c") + ia_na
    relay = (bytes.fromhex("0d1d") + bytes(16) + bytes.fromhex("fe80" + "00" * 13 + "01")
             + bytes.fromhex("0009") + len(inner).to_bytes(2, "big") + inner)
    layer, _ = dissect_dhcpv6(relay, 0, len(relay), Context(reported_end=len(relay)))
    f = layer.fields
    assert list(f["dhcpv6.msgtype"]) == [13, 7]
    assert f["dhcpv6.hopcount"] == 29 and f["dhcpv6.peeraddr"] == "fe80::1"
    assert f["dhcpv6.iaaddr.ip"] == "2a00:1:1:200::1"
    assert f["dhcpv6.iaaddr.pref_lifetime"] == 4500 and f["dhcpv6.iaaddr.valid_lifetime"] == 7200
    assert not layer.findings


def test_duid_llt_time_text() -> None:
    # dhcp/dhcpv6-ia-na.pcap frame 2: tshark "DUID Time: Nov 26, 2012 15:34:36.000000000 UTC"
    assert abs_time_text(0x1846488C) == "Nov 26, 2012 15:34:36.000000000 UTC"


def test_overrunning_option_is_malformed() -> None:
    data = bytes.fromhex("0190b45c00010040000300")
    layer, _ = dissect_dhcpv6(data, 0, len(data), Context(reported_end=len(data)))
    assert [x.kind for x in layer.findings] == [FindingKind.MALFORMED]
    layer, _ = dissect_dhcpv6(data, 0, len(data), Context(reported_end=200))
    assert [x.kind for x in layer.findings] == [FindingKind.TRUNCATED]


FILES = corpus_with("dhcpv6")
EXTERNAL: dict[str, str] = {}  # files where a layer below DHCPv6 makes the difference (none left)


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_dhcpv6_fields_match_tshark(path: Path) -> None:
    rel = corpus_id(path)
    skip_unsupported_link(rel)
    result = compare_file(path, fields=NAMES)
    if result.diffs and rel in EXTERNAL:
        pytest.xfail(EXTERNAL[rel])
    assert not result.diffs, result.report()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=200), st.integers(0, 40))
def test_random_bytes_never_raise(data: bytes, extra: int) -> None:
    start = time.perf_counter()
    layer, nxt = dissect_dhcpv6(data, 0, len(data), Context(reported_end=len(data) + extra))
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    assert nxt is None
    for name in layer.fields:
        assert name in NAMES


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SOLICIT) - 1), st.integers(0, 255)), max_size=6))
def test_mutated_solicit_never_raises(edits: list[tuple[int, int]]) -> None:
    data = bytearray(SOLICIT)
    for at, value in edits:
        data[at] = value
    layer, _ = dissect_dhcpv6(bytes(data), 0, len(data), Context(reported_end=len(data)))
    assert "dhcpv6.msgtype" in layer.fields


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_dhcpv6_summary_matches_tcpdump(path: Path, tmp_path: Path) -> None:
    from test_icmp import check_summaries

    check_summaries(path, tmp_path, "dhcpv6", "dhcp6 ")
