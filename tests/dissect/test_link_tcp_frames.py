"""Issue 10 (items 2 and 4): the TCP frames of the link types the TCP extractor walked and the dissectors
did not (PPP, Cisco HDLC, FDDI, Token Ring, radiotap/802.11, Juniper, IPoIB). For each
corpus file of these link types, the frames ``tshark -Y tcp`` shows are exactly the frames
whose dissection has a tcp layer, with the same addresses, ports and raw sequence numbers
(labs/Wireshark_802_11.pcap: 406 of them, formats/ipoib.pcap 20, bgp/BGP_redist.pcap 2,
where the dissectors found none before)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS, corpus_id, requires_tshark
from linkcheck import (
    assert_protocols_prefix,
    assert_tcp_frames_match,
    corpus_of_linktype,
    write_pcap,
)

LINKTYPES = (9, 104, 10, 6, 127, 178, 242)
FILES = [path for linktype in LINKTYPES for path in corpus_of_linktype(linktype)]
# the files the issue names, with the TCP frames tshark finds in them
NAMED = {"labs/Wireshark_802_11.pcap": 406, "formats/ipoib.pcap": 20, "bgp/BGP_redist.pcap": 2}


def test_every_link_type_has_a_corpus_file() -> None:
    if not CORPUS.is_dir():
        pytest.skip("no corpus")
    for linktype in LINKTYPES:
        assert corpus_of_linktype(linktype), f"no corpus file of link type {linktype}"
    assert set(NAMED) <= {corpus_id(p) for p in FILES}


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_tcp_frames_are_tsharks(path: Path) -> None:
    found = assert_tcp_frames_match(path)
    if corpus_id(path) in NAMED:
        assert found == NAMED[corpus_id(path)]


@requires_tshark
@pytest.mark.tshark
def test_0x9200_is_no_vlan_tag(tmp_path: Path) -> None:
    """The extractor followed TPID 0x9200 as a VLAN tag; tshark 4.0 does not (the payload is
    "data"), and neither do the dissectors. 0x9100 is a tag for both."""
    tcp = bytes.fromhex("04d20050000000010000000050022000" "00000000")
    ip = bytes.fromhex("45000028000100004006 66cd0a0000010a000002".replace(" ", "")) + tcp
    eth = bytes.fromhex("00112233445566778899aabb")
    path = write_pcap(tmp_path / "tags.pcap", 1, [eth + bytes.fromhex("9200000a0800") + ip,
                                                    eth + bytes.fromhex("9100000a0800") + ip])
    assert assert_protocols_prefix(path) == 2
    assert assert_tcp_frames_match(path) == 1  # only behind 0x9100
