"""DHCP/BOOTP dissector: a hex vector under its tcpdump lines, the Kurose & Ross DHCP
lab traces (every DHCP field tshark shows there is declared and equal), tshark parity on
every DHCP capture of the corpus, Hypothesis on random and mutated messages."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_id, requires_tshark
from fieldcompare import compare_file
from hypothesis import given, settings
from hypothesis import strategies as st
from test_tcp import corpus_with, skip_unsupported_link
from test_udp import DHCP_DISCOVER

from pcapkit.dissect.base import Context, FindingKind
from pcapkit.dissect.dhcp import FIELDS, dissect_dhcp

NAMES = tuple(s.name for s in FIELDS)
BOOTP = DHCP_DISCOVER[28:]  # the UDP payload (300 bytes)


def test_discover() -> None:
    # labs/dhcp-ethereal-trace-1 frame 1, tcpdump -n -v:
    #   0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request from 00:08:74:4f:36:23, length 300,
    #   xid 0x3e5e0ce3, Flags [none]
    #     Client-Ethernet-Address 00:08:74:4f:36:23
    #     Vendor-rfc1048 Extensions
    #       Magic Cookie 0x63825363
    #       DHCP-Message (53), length 1: Discover
    #       NOAUTO (116), length 1: Y
    #       Client-ID (61), length 7: ether 00:08:74:4f:36:23
    #       Requested-IP (50), length 4: 192.168.1.101
    #       Hostname (12), length 4: "Noho"
    #       Vendor-Class (60), length 8: "MSFT 5.0"
    #       Parameter-Request (55), length 11:
    #         Subnet-Mask (1), Domain-Name (15), Default-Gateway (3), Domain-Name-Server (6)
    #         Netbios-Name-Server (44), Netbios-Node (46), Netbios-Scope (47), Router-Discovery (31)
    #         Static-Route (33), Classless-Static-Route-Microsoft (249), Vendor-Option (43)
    layer, nxt = dissect_dhcp(BOOTP, 0, len(BOOTP), Context(reported_end=len(BOOTP)))
    f = layer.fields
    assert nxt is None and not layer.findings
    assert layer.summary == "BOOTP/DHCP, Request from 00:08:74:4f:36:23, length 300"
    assert f["dhcp.type"] == 1 and f["dhcp.hw.type"] == [1, 1]  # header, then option 61
    assert f["dhcp.id"] == 0x3E5E0CE3 and f["dhcp.flags"] == 0 and f["dhcp.flags.bc"] is False
    assert f["dhcp.hw.mac_addr"] == ["00:08:74:4f:36:23", "00:08:74:4f:36:23"]
    assert f["dhcp.cookie"] == "99.130.83.99"
    assert f["dhcp.option.dhcp"] == 1  # Discover
    assert f["dhcp.option.dhcp_auto_configuration"] == 1
    assert f["dhcp.option.requested_ip_address"] == "192.168.1.101"
    assert f["dhcp.option.hostname"] == "Noho"
    assert f["dhcp.option.vendor_class_id"] == "MSFT 5.0"
    assert list(f["dhcp.option.request_list_item"]) == [1, 15, 3, 6, 44, 46, 47, 31, 33, 249, 43]
    assert list(f["dhcp.option.type"]) == [53, 116, 61, 50, 12, 60, 55, 0]
    assert f["dhcp.option.end"] == 255 and f["dhcp.option.padding"] == bytes(9)


def test_structured_options() -> None:
    head = bytearray(BOOTP[:240])
    opts = bytes.fromhex(
        "5103" "000000"                                   # 81 too short for a name: flags only
        "510b" "0500ff" "686f73742e6c616e"                # 81 FQDN: S+E? flags 0x05, name
        "520e" "0104" "00010203" "0206" "aabbccddeeff"    # 82: circuit id, remote id
        "2108" "0a000000" "0a000001"                      # 33 static route
        "4d05" "0261" "62" "0163"                         # 77 user class: "ab", "c"
        "ff")
    data = bytes(head) + opts
    layer, _ = dissect_dhcp(data, 0, len(data), Context(reported_end=len(data)))
    f = layer.fields
    assert f["dhcp.fqdn.flags"] == [0, 5] and f["dhcp.fqdn.s"] == [False, True]
    assert f["dhcp.fqdn.e"] == [False, True]
    assert f["dhcp.option.agent_information_option.agent_circuit_id"] == bytes.fromhex("00010203")
    assert f["dhcp.option.agent_information_option.agent_remote_id"] == bytes.fromhex("aabbccddeeff")
    assert f["dhcp.option.static_route.ip"] == "10.0.0.0"
    assert f["dhcp.option.static_route.router"] == "10.0.0.1"
    assert list(f["dhcp.option.user_class"]) == [0, 1]


def test_truncated_and_malformed() -> None:
    layer, _ = dissect_dhcp(BOOTP[:100], 0, 100, Context(reported_end=300))
    assert [x.kind for x in layer.findings] == [FindingKind.TRUNCATED]
    layer, _ = dissect_dhcp(BOOTP[:100], 0, 100, Context(reported_end=100))
    assert [x.kind for x in layer.findings] == [FindingKind.MALFORMED]
    bad = BOOTP[:240] + bytes.fromhex("3204c0a8")  # option 50 says 4 bytes, 2 present
    layer, _ = dissect_dhcp(bad, 0, len(bad), Context(reported_end=len(bad)))
    assert [x.kind for x in layer.findings] == [FindingKind.MALFORMED]


LABS = [CORPUS / "labs" / "dhcp-ethereal-trace-1", CORPUS / "labs" / "dhcp-wireshark-trace1-1.pcapng"]


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", LABS, ids=corpus_id)
def test_dhcp_lab_every_field(path: Path) -> None:
    """Every DHCP field tshark shows in the lab traces is one we declare, and equal."""
    if not path.is_file():
        pytest.skip("lab trace not in the corpus")
    pdml = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "dhcp", "-T", "pdml"],
                          capture_output=True, text=True, check=False).stdout
    shown = sorted(set(re.findall(r'field name="(dhcp\.[^"]+)"', pdml)))
    assert len(shown) > 30
    assert [n for n in shown if n not in NAMES] == []
    result = compare_file(path, fields=shown)
    assert result.compared > 150
    assert not result.diffs, result.report()


FILES = corpus_with("dhcp")
# (file, frame, field) -> why pcapkit deliberately differs from tshark
KNOWN = {
    ("dhcp/dhcp-option-33.pcap", 5, "dhcp.option.value"):
        "a zero-length option value: tshark prints '<MISSING>', pcapkit emits no value",
}


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_dhcp_fields_match_tshark(path: Path) -> None:
    rel = corpus_id(path)
    skip_unsupported_link(rel)
    result = compare_file(path, fields=NAMES)
    diffs = [d for d in result.diffs if (rel, d.frame, d.field) not in KNOWN]
    assert not diffs, result.report()


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(0, 40))
def test_random_bytes_never_raise(data: bytes, extra: int) -> None:
    start = time.perf_counter()
    layer, nxt = dissect_dhcp(data, 0, len(data), Context(reported_end=len(data) + extra))
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    assert nxt is None
    if len(data) < 236:
        assert layer.findings
    for name in layer.fields:
        assert name in NAMES


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_random_options_never_raise(options: bytes) -> None:
    data = BOOTP[:240] + options
    layer, _ = dissect_dhcp(data, 0, len(data), Context(reported_end=len(data)))
    assert layer.fields["dhcp.cookie"] == "99.130.83.99"
    for name in layer.fields:
        assert name in NAMES


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_dhcp_summary_matches_tcpdump(path: Path, tmp_path: Path) -> None:
    from test_icmp import check_summaries

    check_summaries(path, tmp_path, "dhcp", "BOOTP/DHCP")
