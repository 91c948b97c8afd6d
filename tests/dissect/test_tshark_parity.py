"""Corpus-wide parity: every link/network-layer field pcapkit emits, compared with
``tshark -T fields`` on every capture of the corpus that tshark reads.

A field pcapkit emits and tshark does not, or a different value, is a failure, except
for the deliberate differences listed in ``KNOWN`` (file, field names, reason) and
``KNOWN_FRAMES`` (file, frames, reason: corrupt frames pcapkit deliberately reads
otherwise). ``frame.protocols`` may end earlier than tshark's at a ':' boundary, and may
be empty only for a frame whose link type pcapkit has no dissector for.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS, corpus_files, corpus_id, requires_tshark
from fieldcompare import Comparison, compare_file
from oracle import tshark_returncode

from pcapkit.errors import PcapkitError

# the field families this harness owns (link and network layers, frame.*)
PREFIXES = ("frame.", "eth.", "llc.", "vlan.", "ieee8021ad.", "sll.", "null.", "arp.", "mpls.", "ip.", "ipv6.",
            "ppp.", "chdlc.", "slarp.", "fddi.", "tr.", "ipoib.", "juniper.", "radiotap.", "wlan_radio.", "wlan.",
            "wlan_aggregate.", "mip6.", "hip.", "shim6.")
# frame.protocols includes application protocols we do not dissect: compared as a prefix
# (see _protocols_prefix)
EXCLUDE: tuple[str, ...] = ()

# frame.protocols where pcapkit's HTTP stream dissector shows a layer tshark does not
_STREAM_REASSEMBLY = (
    "HTTP over a TCP stream whose server retransmits 45 kB after a zero window in segments cut at other "
    "boundaries than the first copies: tshark's reassembly never completes the 206 response that "
    "pcapkit's (first copy of each byte wins) completes in frame 953; the HTTP field differences are "
    "listed in tests/dissect/test_http.py")

# (corpus path, field names or "*" / a family marker, reason)
KNOWN: list[tuple[str, str, str]] = [
    ("broken/fuzz-2021-10-13.pcap", "frame.time_epoch",
     "the record's microseconds field is >= 10^6; tshark prints the raw fraction digits "
     "('...802.1882137472'), pcapkit carries the excess into the seconds"),
    ("broken/fuzz-2021-10-13.pcap", "null.type", "fuzzed loopback header, tshark reads another byte order"),
    ("broken/timestamp_invalid_micro.pcap", "frame.time_epoch",
     "sub-second field >= 10^6 (10^9): tshark prints the raw digits, pcapkit carries into the seconds"),
    ("broken/timestamp_invalid_nano.pcap", "frame.time_epoch",
     "sub-second field >= 10^9: tshark prints the raw digits, pcapkit carries into the seconds"),
    ("broken/ipv6-bad-version.pcap", "frame.protocols",
     "IPv6 EtherType with version != 6: tshark hands the bytes to 'data', pcapkit keeps an "
     "'ipv6' layer holding the malformed finding"),
    ("broken/bgp-as-path-oobr.pcap", "frame.protocols",
     "the BGP stream dissector (another part) shows a layer for a message tshark rejects"),
    ("labs/Wireshark_802_11.pcap", "wlan.tag.number,wlan.tag.length",
     "tshark also names the elements of EAPOL key data (802.1X frames) wlan.tag.*, and reads a tag out of "
     "frame 1895's FCS; pcapkit decodes neither. test_ieee80211 compares these fields frame by frame "
     "with exactly those frames excused"),
    ("tcp/206_example_b.pcap", "frame.protocols", _STREAM_REASSEMBLY),
]

# (corpus path, frame numbers, reason): every difference in these frames is explained by
# the reason. Only for corrupt frames whose oddity pcapkit deliberately does not follow.
KNOWN_FRAMES: list[tuple[str, tuple[int, ...], str]] = [
    ("labs/Wireshark_802_11.pcap", (2, 12, 1037, 1044),
     "corrupt frames with 802.11 protocol version 1 (802.11ah S1G): pcapkit does not decode PV1 "
     "headers (tshark shows their own frame-control fields, in hex, under the same names)"),
    ("labs/Wireshark_802_11.pcap", (465, 505, 552, 883),
     "corrupt 802.11 payloads that read as LLC I/S frames (16-bit control): dissect_llc does not "
     "decode that control field, and tshark prints llc.control.ftype 16 bits wide there"),
]


def _known(rel: str, field: str) -> bool:
    for path, fields, _reason in KNOWN:
        if path != rel:
            continue
        if fields == "*" or field in fields.split(",") or field == fields:
            return True
    return False


def _known_frame(rel: str, frame: int) -> bool:
    return any(path == rel and frame in frames for path, frames, _reason in KNOWN_FRAMES)


def _protocols_prefix(field: str, ours: str | None, theirs: str | None) -> bool:
    """frame.protocols: pcapkit's string (without a final ":data", where tshark may know the
    application protocol) is tshark's or a prefix of it at a ':' boundary."""
    if field != "frame.protocols" or theirs is None or ours is None:
        return False
    known = ours[:-len(":data")] if ours.endswith(":data") else ours
    return theirs == known or theirs.startswith(known + ":")


def _no_timestamp(field: str, ours: str | None, theirs: str | None) -> bool:
    """pcapng Simple Packet Blocks carry no timestamp: tshark prints no frame.time_epoch,
    pcapkit's Frame holds 0 (the Frame has no 'absent' marker)."""
    return field == "frame.time_epoch" and ours == "0.000000000" and theirs is None


FILES = corpus_files()


def _undecoded_frames(path: Path) -> set[int]:
    """Frames whose link type has no dissector (pcapkit shows no layer for them at all)."""
    from pcapkit.dissect import registry
    from pcapkit.dissect.driver import read_frames

    return {f.number for f in read_frames(path) if registry.lookup("link", f.linktype) is None}


def _compare(path: Path) -> Comparison | str:
    if tshark_returncode(path) != 0:
        return "tshark cannot read this file"
    try:
        return compare_file(path, prefixes=PREFIXES, exclude=EXCLUDE)
    except PcapkitError as exc:
        return f"pcapkit's reader rejects it: {exc}"


@pytest.fixture(scope="module")
def comparisons() -> dict[Path, Comparison | str]:
    """All files compared up front, two at a time: most of the cost is waiting for
    tshark processes, which overlap; the dissection itself holds the GIL."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(FILES, pool.map(_compare, FILES), strict=True))


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=[corpus_id(p) for p in FILES])
def test_link_network_fields_match_tshark(path: Path, comparisons: dict[Path, Comparison | str]) -> None:
    rel = corpus_id(path)
    result = comparisons[path]
    if isinstance(result, str):
        pytest.skip(result)
    for path_, fields, _reason in KNOWN:
        if path_ == rel and fields != "*":
            assert any(d.field in fields.split(",") for d in result.diffs), \
                f"{rel}: known difference in {fields} no longer occurs: remove it from KNOWN"
    for path_, frames, _reason in KNOWN_FRAMES:
        if path_ == rel:
            assert {d.frame for d in result.diffs} >= set(frames), \
                f"{rel}: known differences in frames {frames} no longer all occur: update KNOWN_FRAMES"
    # a link type pcapkit has no dissector for shows no protocol at all; one it decodes must
    # give tshark's protocols (or a prefix of them)
    undecoded = _undecoded_frames(path) if any(d.field == "frame.protocols" and not d.ours
                                               for d in result.diffs) else set()
    unexpected = [d for d in result.diffs
                  if not _known(rel, d.field) and not _known_frame(rel, d.frame)
                  and not _no_timestamp(d.field, d.ours, d.theirs)
                  and not _protocols_prefix(d.field, d.ours, d.theirs)
                  and not (d.field == "frame.protocols" and not d.ours and d.frame in undecoded)]
    assert not unexpected, "\n".join(str(d) for d in unexpected[:30])
    if result.frames:
        assert result.compared > 0


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("rel", ["labs/NAT_ISP_side.pcap", "l2/vlan-qinqinq.pcap", "l2/snap-arp.pcapng",
                                 "tcp/mptcp-v1.pcap", "formats/dlt_null.dmp.gz", "formats/rawip.dmp.gz",
                                 "ip/ipv6_ext_headers.pcap", "ip/ip_frag_source.pcapng", "formats/eth.erf.gz",
                                 "l2/linux_dlt_sll2.pcap", "formats/LINKTYPE_IPV6.pcap"])
def test_protocols_prefix_matches_tshark(rel: str) -> None:
    """frame.protocols up to the last layer pcapkit decodes is tshark's, pseudo-protocols included."""
    from fieldcompare import dissect_all
    from oracle import tshark_fields

    path = CORPUS / rel
    if not path.exists():
        pytest.skip("not in corpus")
    ours = [p.protocols for p in dissect_all(path)]
    theirs = [r.get("frame.protocols", "") for r in tshark_fields(path, ["frame.protocols"])]
    assert len(ours) == len(theirs)
    for n, (a, b) in enumerate(zip(ours, theirs, strict=True), 1):
        a_known = a[:-len(":data")] if a.endswith(":data") else a
        assert b == a_known or b.startswith(a_known + ":"), f"frame {n}: {a!r} vs {b!r}"
