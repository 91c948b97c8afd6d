"""UDP dissector: hex vector under its tcpdump line, length/checksum handling, tshark
parity on every UDP capture of the corpus, Hypothesis on random and mutated bytes."""

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
from pcapkit.dissect.udp import FIELDS, dissect_udp

NAMES = tuple(s.name for s in FIELDS)

# 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request from 00:08:74:4f:36:23, length 300
# (labs/dhcp-ethereal-trace-1 frame 1, tcpdump -n -v; IPv4 header + UDP header + 300 bytes)
DHCP_DISCOVER = bytes.fromhex(
    "45000148b3100000801186950000000 0ffffffff00440043 0134e97b01010600".replace(" ", "")
    + "3e5e0ce3" + "00" * 20 + "0008744f3623" + "00" * 202
    + "63825363350101740101 3d0701000874 4f3623320 4c0a80165 0c044e6f686f 3c084d534654"
      "20352e30370b010f03062c2e2f1f21f92bff00".replace(" ", "") + "00" * 8)


def test_dhcp_discover_udp_header() -> None:
    data = DHCP_DISCOVER
    assert len(data) == 328  # tcpdump: "proto UDP (17), length 328"
    ctx = Context(reported_end=len(data),
                  extra={"ip.src_raw": data[12:16], "ip.dst_raw": data[16:20], "ip.version": 4})
    layer, nxt = dissect_udp(data, 20, len(data), ctx)
    f = layer.fields
    assert f["udp.srcport"] == 68 and f["udp.dstport"] == 67 and list(f["udp.port"]) == [68, 67]
    assert f["udp.length"] == 308 and f["udp.checksum"] == 0xE97B
    assert f["udp.checksum.status"] == 2
    assert layer.summary == "UDP, length 300"
    assert nxt is not None and nxt.table == "udp.port" and nxt.key == 67  # low port first
    assert (nxt.offset, nxt.end) == (28, 328)
    assert not layer.findings
    ctx.check_checksums = True
    layer, _ = dissect_udp(data, 20, len(data), ctx)
    assert layer.fields["udp.checksum.status"] == 1


def test_zero_checksum_is_not_present_on_ipv4() -> None:
    data = bytes.fromhex("0035e747000c0000") + b"abcd"
    layer, _ = dissect_udp(data, 0, len(data), Context(reported_end=len(data), extra={"ip.version": 4}))
    assert layer.fields["udp.checksum.status"] == 3  # tshark: "Not present"


def test_bad_lengths() -> None:
    data = bytes.fromhex("0035e7470004abcd")  # length 4 < 8
    layer, nxt = dissect_udp(data, 0, 8, Context(reported_end=8))
    assert nxt is None and [f.kind for f in layer.findings] == [FindingKind.MALFORMED]
    data = bytes.fromhex("0035e7470040abcd") + b"x" * 8  # says 64, has 16
    layer, nxt = dissect_udp(data, 0, 16, Context(reported_end=16))
    assert [f.kind for f in layer.findings] == [FindingKind.MALFORMED]
    assert nxt is not None and (nxt.offset, nxt.end) == (8, 16)  # tshark still dissects the rest
    # cut by the snapshot length: truncated, not malformed
    layer, nxt = dissect_udp(data, 0, 12, Context(reported_end=64))
    assert [f.kind for f in layer.findings] == [FindingKind.TRUNCATED]
    # quoted inside an ICMP error: short on purpose, no finding
    layer, nxt = dissect_udp(data, 0, 16, Context(reported_end=16, extra={"in_error_pkt": True}))
    assert not layer.findings and nxt is not None


FILES = corpus_with("udp")
# files where a difference comes from a layer below UDP (owner in the reason)
EXTERNAL: dict[str, str] = {}


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_udp_fields_match_tshark(path: Path) -> None:
    rel = corpus_id(path)
    skip_unsupported_link(rel)
    result = compare_file(path, fields=NAMES)
    if result.diffs and rel in EXTERNAL:
        pytest.xfail(EXTERNAL[rel])
    assert not result.diffs, result.report()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=64), st.integers(0, 64), st.booleans())
def test_random_bytes_never_raise(data: bytes, extra: int, check: bool) -> None:
    start = time.perf_counter()
    ctx = Context(reported_end=len(data) + extra, check_checksums=check,
                  extra={"ip.src_raw": b"\x01\x02\x03\x04", "ip.dst_raw": b"\x05\x06\x07\x08"})
    layer, nxt = dissect_udp(data, 0, len(data), ctx)
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    if len(data) < 8:
        assert layer.findings and nxt is None
    for name in layer.fields:
        assert name in NAMES


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_udp_summary_matches_tcpdump(path: Path, tmp_path: Path) -> None:
    """Where tcpdump decodes no application ("UDP, length N"), the texts are equal."""
    from test_icmp import check_summaries

    check_summaries(path, tmp_path, "udp", "UDP, length")
