"""Hypothesis: random and mutated bytes through every dissector this part owns give
findings, never exceptions, and finish in bounded time."""

from __future__ import annotations

import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vectors import frame

from pcapkit.dissect import arp, ethernet, ipv4, ipv6, null, rawip, sll, vlan
from pcapkit.dissect.base import Context, Layer
from pcapkit.dissect.driver import DissectSession, Packet, dissect

DISSECTORS = [ethernet.dissect_ethernet, ethernet.dissect_llc, vlan.dissect_vlan, sll.dissect_sll,
              sll.dissect_sll2, null.dissect_null, null.dissect_loop, rawip.dissect_raw_ip,
              rawip.dissect_raw_ipv4, rawip.dissect_raw_ipv6, arp.dissect_arp, ipv4.dissect_ipv4,
              ipv6.dissect_ipv6, ipv6.dissect_hopopts, ipv6.dissect_routing, ipv6.dissect_fraghdr,
              ipv6.dissect_dstopts]
LINKTYPES = [0, 1, 12, 101, 108, 113, 228, 229, 276]

# real frames to mutate: Ethernet/IPv4/UDP, 802.1Q x2 / IPv4 / TCP, IPv6 HBH + RH0 + UDP, SLL2
SEEDS = [
    (1, "000ed6bf6c010008744f362308004500004da26900007f11a2d147c02268445747e6c96200350039a0e6a9a9"
        "010000010000000000000c7361666562726f7773696e6707636c69656e747306676f6f676c6503636f6d0000010001"),
    (1, "ffffffffffff164bdf50b2938100e00a8100b014080045000028000100004006f652c0a801c8c0a80164"
        "00503039000007d0000003e950122000cf130000"),
    (1, "ffffffffffff00000000000086dd60000000003b0040200104f80004000702e081fffe52ffff200104f800040007"
        "02e081fffe529a6b2b000104000000001104000200000000200100780001003200000000000000012001007800"
        "010032000000000000000200350035000b8631585858"),
    (276, "080000000000000103040006000000000000000045000054af8c40004001071ac0000201c0000201080066b4"
          "00080001e9bdf96200000000e24e0d0000000000101112131415161718191a1b1c1d1e1f"),
]

# a case takes well under a millisecond; the deadline catches unbounded work per packet, with
# room for a loaded machine's stall (a 0.1 ms case once took 364 ms in a full run under load 10)
FAST = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def _check(p: Packet) -> None:
    assert isinstance(p, Packet)
    for finding in p.findings:
        assert finding.reason and finding.kind.value in ("truncated", "malformed", "checksum_bad",
                                                         "unsupported", "note")
    p.fields()  # merging never fails either


@FAST
@given(data=st.binary(max_size=200), index=st.integers(0, len(DISSECTORS) - 1),
       cut=st.integers(0, 200), extra=st.integers(0, 100))
def test_each_dissector_on_random_bytes(data: bytes, index: int, cut: int, extra: int) -> None:
    end = min(cut, len(data))
    ctx = Context(reported_end=end + extra, caplen=end, wirelen=end + extra)
    layer, nxt = DISSECTORS[index](data, 0, end, ctx)
    assert isinstance(layer, Layer)
    assert 0 <= layer.length <= max(end, 0)
    if nxt is not None:
        assert nxt.offset >= 0 and nxt.offset <= max(nxt.end, nxt.offset)


@FAST
@given(data=st.binary(max_size=300), linktype=st.sampled_from(LINKTYPES), extra=st.integers(0, 64),
       checks=st.booleans())
def test_driver_on_random_frames(data: bytes, linktype: int, extra: int, checks: bool) -> None:
    f = frame(data.hex(), linktype, wirelen=len(data) + extra)
    _check(dissect(f, DissectSession(check_checksums=checks)))


@FAST
@given(seed=st.sampled_from(SEEDS),
       edits=st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), max_size=8),
       cut=st.integers(0, 200))
def test_driver_on_mutated_real_frames(seed: tuple[int, str], edits: list[tuple[int, int]], cut: int) -> None:
    linktype, hexstr = seed
    data = bytearray.fromhex(hexstr)
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    wire = len(data)
    data = data[:cut] if cut < len(data) else data
    _check(dissect(frame(bytes(data).hex(), linktype, wirelen=wire), DissectSession()))


@settings(max_examples=60, deadline=2000)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 40), st.booleans(), st.binary(min_size=1, max_size=64)),
                min_size=1, max_size=30))
def test_reassembly_on_random_fragment_streams(frags: list[tuple[int, int, bool, bytes]]) -> None:
    """Fragments with random ids, offsets, MF bits and payloads, fed in order: never an
    exception, and a reassembled datagram is as long as the data that completed it."""
    session = DissectSession(max_reassembly_bytes=4096)
    for n, (ident, off8, more, payload) in enumerate(frags, 1):
        total = 20 + len(payload)
        flags = (0x2000 if more else 0) | off8
        hdr = (bytes([0x45, 0]) + total.to_bytes(2, "big") + ident.to_bytes(2, "big") + flags.to_bytes(2, "big")
               + bytes([64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]))
        p = dissect(frame((hdr + payload).hex(), 228, number=n), session)
        _check(p)
        f = p.fields()
        if "ip.reassembled.length" in f:
            assert f["ip.reassembled.length"] == len(f["ip.reassembled.data"])


def test_pathological_frame_is_bounded_in_time() -> None:
    """65 535 bytes of IPv6 hop-by-hop headers chained into each other (each 8 bytes,
    next header 0): the layer limit stops the chain quickly."""
    hbh = bytes([0, 0, 1, 4, 0, 0, 0, 0]) * 8000
    ip6 = bytes.fromhex("60000000") + len(hbh).to_bytes(2, "big") + bytes([0, 64]) + bytes(32)
    start = time.perf_counter()
    p = dissect(frame((ip6 + hbh).hex(), 229))
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    _check(p)
