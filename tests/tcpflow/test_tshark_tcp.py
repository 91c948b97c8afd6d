"""Issue 4 acceptance: pcapkit's per-frame TCP analysis equals tshark 4.0's.

For every TCP frame of every capture under labs/, tcp/ and bgp/ of the corpus, every
field below is compared with ``tshark -o tcp.analyze_sequence_numbers:TRUE -o
tcp.relative_sequence_numbers:TRUE`` as text, exactly as tshark prints it (absent
fields must be absent on both sides).

Justified differences: none in the acceptance set (62,495 frames of labs/, tcp/, bgp/, 36
fields each, zero differences). Beyond it (734 TCP frames of ip/, l2/, formats/, dhcp/) one
file differs: formats/eth.erf.gz, whose handshake options were cut by the snaplen (see
KNOWN_DIFFERENCES for the reason). Should another appear, list it there with its reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS, corpus_files, corpus_id, requires_tshark
from oracle import tshark_fields

from pcapkit.errors import UnknownFormatError
from pcapkit.tcpflow.engine import analyse, tshark_text
from pcapkit.tcpflow.segments import segments

FIELDS = (
    "frame.number", "tcp.stream", "tcp.seq", "tcp.seq_raw", "tcp.ack", "tcp.ack_raw", "tcp.nxtseq",
    "tcp.len", "tcp.window_size", "tcp.window_size_scalefactor", "tcp.time_relative", "tcp.time_delta",
    "tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
    "tcp.analysis.spurious_retransmission", "tcp.analysis.out_of_order",
    "tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment",
    "tcp.analysis.duplicate_ack", "tcp.analysis.duplicate_ack_num", "tcp.analysis.duplicate_ack_frame",
    "tcp.analysis.zero_window", "tcp.analysis.zero_window_probe", "tcp.analysis.zero_window_probe_ack",
    "tcp.analysis.keep_alive", "tcp.analysis.keep_alive_ack",
    "tcp.analysis.window_full", "tcp.analysis.window_update",
    "tcp.analysis.acks_frame", "tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt",
    "tcp.analysis.bytes_in_flight", "tcp.analysis.push_bytes_sent",
    "tcp.analysis.rto", "tcp.analysis.rto_frame", "tcp.analysis.reused_ports",
)
OPTIONS = ("tcp.analyze_sequence_numbers:TRUE", "tcp.relative_sequence_numbers:TRUE")

# (file relative to the corpus, frame number, field) -> reason.
_ERF_OPTIONS_CUT = (
    "formats/eth.erf.gz was captured with a 54-byte snaplen: the SYN and SYN-ACK say their TCP "
    "header is 24 bytes but only 20 were captured. tshark 4.0 analyses those segments but its "
    "option dissector throws on the cut MSS option, so (a) the SYN-ACK's acks_frame/ack_rtt are "
    "never printed and (b) the window scale stays 'unknown' (-1) where pcapkit, which never saw a "
    "window-scale option either, says 'not used' (-2). Same on the packets rewritten as pcap "
    "(editcap -F pcap), so it is the cut options, not ERF. Not yet modelled in either engine."
)
KNOWN_DIFFERENCES: dict[tuple[str, int, str], str] = {
    ("formats/eth.erf.gz", 2, "tcp.analysis.acks_frame"): _ERF_OPTIONS_CUT,
    ("formats/eth.erf.gz", 2, "tcp.analysis.ack_rtt"): _ERF_OPTIONS_CUT,
    **{("formats/eth.erf.gz", n, "tcp.window_size_scalefactor"): _ERF_OPTIONS_CUT for n in range(3, 23)},
}


def _tcp_files(*folders: str) -> list[Path]:
    """Capture files of the folders whose INDEX.tsv protocols include tcp."""
    index = CORPUS / "INDEX.tsv"
    with_tcp: set[str] = set()
    if index.is_file():
        for line in index.read_text().splitlines()[1:]:
            cols = line.split("\t")
            if len(cols) > 4 and "tcp" in cols[4].split(","):
                with_tcp.add(cols[0])
    return [p for p in corpus_files(*folders) if not with_tcp or corpus_id(p) in with_tcp]


FILES = _tcp_files("labs", "tcp", "bgp")
# beyond the acceptance set: the other readable folders (broken/ excluded: damaged on purpose)
EXTRA_FILES = _tcp_files("ip", "l2", "formats", "dhcp")


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES + EXTRA_FILES, ids=[corpus_id(p) for p in FILES + EXTRA_FILES])
def test_tcp_analysis_equals_tshark(path: Path) -> None:
    reference = tshark_fields(path, FIELDS, options=OPTIONS, display_filter="tcp")
    try:
        ours = [tshark_text(rec) for rec in analyse(segments(path))]
    except UnknownFormatError:
        pytest.skip("capture format not read by pcapkit.capture (e.g. ERF)")
    assert reference, "tshark found no TCP frame"
    assert [r["frame.number"] for r in ours] == [r["frame.number"] for r in reference]
    name = corpus_id(path)
    differences = []
    for ref, mine in zip(reference, ours, strict=True):
        number = int(ref["frame.number"])
        for field in FIELDS:
            if ref.get(field) != mine.get(field) and (name, number, field) not in KNOWN_DIFFERENCES:
                differences.append(f"frame {number} {field}: tshark {ref.get(field)!r} pcapkit {mine.get(field)!r}")
    assert not differences, f"{len(differences)} differences:\n" + "\n".join(differences[:30])


def test_corpus_has_tcp_files() -> None:
    if not CORPUS.is_dir():
        pytest.skip("corpus not found")
    assert len(FILES) >= 50
