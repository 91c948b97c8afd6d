"""Hypothesis: random and mutated bytes through the link-layer dissectors of issue 10
(PPP, Cisco HDLC/SLARP, FDDI, Token Ring, IPoIB, Juniper, radiotap, 802.11, the IPv6
mobility/HIP/Shim6 headers) give findings, never exceptions, and layers within the bytes."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from vectors import frame

from pcapkit.dissect import (
    chdlc,
    fddi,
    ieee80211,
    ipoib,
    ipv6_ext,
    juniper,
    ppp,
    radiotap,
    token_ring,
)
from pcapkit.dissect.base import Context, FindingKind, Layer
from pcapkit.dissect.driver import DissectSession, Packet, dissect

DISSECTORS = [ppp.dissect_ppp, ppp.dissect_ppp_raw, chdlc.dissect_chdlc, chdlc.dissect_slarp, fddi.dissect_fddi,
              token_ring.dissect_token_ring, ipoib.dissect_ipoib, juniper.dissect_juniper_ether,
              radiotap.dissect_radiotap, radiotap.dissect_wlan_radio, ieee80211.dissect_wlan,
              ipv6_ext.dissect_mobility, ipv6_ext.dissect_hip, ipv6_ext.dissect_shim6]
LINKTYPES = [9, 50, 104, 10, 6, 242, 178, 127]

# real frames to mutate: one per link type (from the corpus), and IPv6 + Shim6 + TCP
SEEDS = [
    (9, "ff030021450000af07d340003f06daa40c0404040c01010108030 0b3c44b3445c79c1e268018 4000".replace(" ", "")),
    (9, "0f000800 45c0002cf8924000 0106b656641001026410010147940 0b3bcea75d10000000060024000130000000204 05b4"
        .replace(" ", "")),
    (104, "0f00884700012dfe45c0009b93cc4000ff06dac402020202040404 0400b3f82fd5a86c493c92f650501 83fb40ea10000"
          .replace(" ", "")),
    (10, "5000000c7e59a000e034156060aaaa03000000080045000 02c0d254000fb06a9441ee576434352 09fd9117005 0da56fc".replace(" ", "")),
    (6, "104068001969958b0001fa68c467aaaa03000000080045000 0280b0b4000200685 37c0a82701c0a8223c94c8f827".replace(" ", "")),
    (242, "0000000000000000000000000000000000000000000000000000000000000000000000000000000008000000"
          "4500005400004000400100000a0000010a000002"),
    (178, "4d474380001003010106010e01028c0004044c0100000050568b5e9f0050568b6dde080045c000b688f7000040067062"),
    (127, "00001800ee580000106c8509c000de9c560000420608" "0000"
          "880a2800001302d1b64f0016b6f71d510016b6f4eba8c0c30007aaaa030000000800450005dc17e54000"),
    (127, "00003000 2f4000a0 200800a0 20080000 00000000 0b70696e3b25ed4e 100c6c09c000ce00 0000b200bd01ce02"
          "80000000ffffffffffffec172f821e29ec172f821e29".replace(" ", "")),
    (1, "00112233445566778899aabb86dd60000000001c8c40 20010db8000000000000000000000001"
        "20010db8000000000000000000000002 0600800000000000 04d200500000000100000000500220000000 0000".replace(" ", "")),
]

# a case takes well under a millisecond; the deadline catches unbounded work per packet, with
# room for a loaded machine's stall (a 0.1 ms case once took 364 ms in a full run under load 10)
FAST = settings(max_examples=300, deadline=2000, suppress_health_check=[HealthCheck.too_slow])


def _check(p: Packet) -> None:
    assert isinstance(p, Packet)
    for finding in p.findings:
        assert finding.reason and finding.kind in FindingKind
    p.fields()
    for layer in p.layers:
        layer.summary  # summaries never fail either  # noqa: B018


@FAST
@given(data=st.binary(max_size=200), index=st.integers(0, len(DISSECTORS) - 1),
       cut=st.integers(0, 200), extra=st.integers(0, 100), linktype=st.sampled_from([9, 50, 104]))
def test_each_dissector_on_random_bytes(data: bytes, index: int, cut: int, extra: int, linktype: int) -> None:
    end = min(cut, len(data))
    ctx = Context(reported_end=end + extra, caplen=end, wirelen=end + extra, linktype=linktype)
    layer, nxt = DISSECTORS[index](data, 0, end, ctx)
    assert isinstance(layer, Layer)
    assert 0 <= layer.length <= max(end, 0)
    layer.summary  # noqa: B018
    layer.fields  # noqa: B018
    if nxt is not None:
        assert 0 <= nxt.offset <= end and nxt.end <= end


@FAST
@given(data=st.binary(max_size=300), linktype=st.sampled_from(LINKTYPES), extra=st.integers(0, 64))
def test_driver_on_random_frames(data: bytes, linktype: int, extra: int) -> None:
    _check(dissect(frame(data.hex(), linktype, wirelen=len(data) + extra), DissectSession()))


@FAST
@given(seed=st.sampled_from(SEEDS),
       edits=st.lists(st.tuples(st.integers(0, 120), st.integers(0, 255)), max_size=8),
       cut=st.integers(0, 120))
def test_driver_on_mutated_real_frames(seed: tuple[int, str], edits: list[tuple[int, int]], cut: int) -> None:
    linktype, hexstr = seed
    data = bytearray.fromhex(hexstr)
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    wire = len(data)
    data = data[:cut] if cut < len(data) else data
    _check(dissect(frame(bytes(data).hex(), linktype, wirelen=wire), DissectSession()))


def test_seeds_decode_to_their_link_layer() -> None:
    """The seeds are what they claim (so the mutations start from real headers)."""
    expected = {9: "ppp:", 104: "chdlc:mpls:ip", 10: "fddi:llc:ip", 6: "tr:llc:ip", 242: "ipoib:ip",
                178: "juniper:eth:ethertype:ip", 127: "radiotap:wlan_radio:wlan", 1: "eth:ethertype:ipv6:shim6:tcp"}
    for linktype, hexstr in SEEDS:
        p = dissect(frame(hexstr, linktype))
        assert p.protocols.startswith(expected[linktype]), (linktype, p.protocols)
