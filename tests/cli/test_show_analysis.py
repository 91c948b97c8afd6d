"""``pcapkit show`` gives each TCP frame its analysis as ``tshark -V`` does under the TCP
header: ``[Stream index: N]``, relative sequence numbers, the calculated window,
``[Timestamps]`` and ``[SEQ/ACK analysis]`` with the flags as expert items. Every such
line of every frame is one of tshark -V's lines for that frame (indentation aside), on
traces with retransmissions, duplicate ACKs, RTOs, zero windows, keep-alives, lost and
out-of-order segments and reused ports."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, corpus_id, requires_tshark

from pcapkit.cli.analysis_tree import analysis_lines
from pcapkit.cli.fields_view import AnalysisValues
from pcapkit.cli.show_cmd import field_labels, show
from pcapkit.dissect.driver import dissect_file
from pcapkit.proto.tcp_analysis import FIELDS

FILES = [CORPUS / "tcp" / n for n in ("fin_retransmission.pcap", "tcp_zerowindowdead.pcapng",
                                      "tcp_zerowindowrecovery.pcapng", "6syns.dmp.gz", "fast_reuse.dmp.gz",
                                      "hardware_dups.dmp.gz", "long_rtt.dmp.gz", "single_byte_rexmit.dmp.gz",
                                      "miss_end_data.pcap", "bigtransfer.pcap")]
NAMES = [spec.name for spec in FIELDS]


def tshark_lines(path: Path) -> dict[int, set[str]]:
    """tshark -V's lines of each frame, stripped of their indentation."""
    text = subprocess.run(["tshark", "-n", "-r", str(path), "-V"], capture_output=True, text=True,
                          check=True).stdout
    frames: dict[int, set[str]] = {}
    number = 0
    for line in text.splitlines():
        if line.startswith("Frame "):
            number = int(line.split()[1].rstrip(":"))
            frames[number] = set()
        elif number:
            frames[number].add(line.strip())
    return frames


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_analysis_lines_are_tsharks(path: Path) -> None:
    if not path.exists():
        pytest.skip("corpus missing")
    theirs = tshark_lines(path)
    analysed = AnalysisValues(str(path), NAMES)
    labels = field_labels()
    kinds: Counter[str] = Counter()
    for packet in dissect_file(path):
        values = analysed.of(packet.frame.number)
        tcp = [layer for layer in packet.layers if layer.protocol == "tcp"]
        if not tcp:
            assert not values, packet.frame.number
            continue
        assert "tcp.stream" in values, packet.frame.number
        for line in analysis_lines(values, tcp[-1].fields.get("tcp.flags"), labels):
            assert line.strip() in theirs[packet.frame.number], f"frame {packet.frame.number}: {line.strip()!r}"
            kinds[line.strip().split(":")[0]] += 1
    assert kinds["[Stream index"] and kinds["Sequence Number"] and kinds["[Timestamps]"], kinds


def test_the_corpus_cases_are_covered() -> None:
    """The traces above hold every kind of line the analysis prints (so that the test
    above checks each against tshark)."""
    if not all(p.exists() for p in FILES):
        pytest.skip("corpus missing")
    seen: set[str] = set()
    for path in FILES:
        analysed = AnalysisValues(str(path), NAMES)
        for packet in dissect_file(path):
            tcp = [layer for layer in packet.layers if layer.protocol == "tcp"]
            for line in analysis_lines(analysed.of(packet.frame.number), tcp[-1].fields.get("tcp.flags") if tcp
                                       else None, field_labels()):
                seen.add(line.strip().split(":")[0].split("(")[0])
    for head in ("[Stream index", "[Calculated window size", "[Window size scaling factor", "[Timestamps]",
                 "[SEQ/ACK analysis]", "[This is an ACK to the segment in frame", "[The RTT to ACK the segment was",
                 "[iRTT", "[Bytes in flight", "[Bytes sent since last PSH flag", "[TCP Analysis Flags]",
                 "[This is a TCP duplicate ack]", "[Duplicate ACK #", "[Duplicate to the ACK in frame",
                 "[The RTO for this segment was", "[RTO based on delta from frame", "[Expert Info "):
        assert head in seen, head


def test_show_prints_the_analysis_in_text_names_and_json() -> None:
    path = CORPUS / "tcp" / "fin_retransmission.pcap"
    if not path.exists():
        pytest.skip("corpus missing")
    text = CliRunner().invoke(show, [str(path), "--frame", "4"])
    assert text.exit_code == 0
    assert "        [The RTT to ACK the segment was: 0.002188000 seconds]" in text.stdout.splitlines()
    assert "            [Expert Info (Note/Sequence): This frame is a (suspected) retransmission]" in text.stdout
    named = CliRunner().invoke(show, [str(path), "--frame", "4", "--names"])
    assert "    tcp.analysis.ack_rtt: 0.002188000" in named.stdout.splitlines()
    rows = [json.loads(line) for line in CliRunner().invoke(show, [str(path), "--format", "json"]).stdout.splitlines()]
    assert [row.get("tcp.stream") for row in rows] == ["0"] * len(rows)
    assert rows[3]["tcp.analysis.retransmission"] == "1" and rows[3]["tcp.analysis.rto_frame"] == "1"
    piped = CliRunner().invoke(show, ["-"], input=path.read_bytes())  # (standard input, read once: the same tree)
    assert piped.exit_code == 0 and piped.stdout == CliRunner().invoke(show, [str(path)]).stdout
    assert "[Stream index: 0]" in piped.stdout


def test_read_v_shows_the_same_tree() -> None:
    """read -V and show print the same tree, the TCP analysis included."""
    from pcapkit.cli.read_cmd import read

    path = CORPUS / "tcp" / "6syns.dmp.gz"
    if not path.exists():
        pytest.skip("corpus missing")
    tree = CliRunner().invoke(show, [str(path)]).stdout
    assert CliRunner().invoke(read, [str(path), "-V"]).stdout == tree
    assert tree.count("[Stream index: ") > 10 and "[Expert Info (Note/Sequence): " in tree
