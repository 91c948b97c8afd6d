"""pcapkit.reports.expert against ``tshark -q -z expert`` on TCP-heavy corpus files.

The expected counts are parsed from tshark's output in the test. Rows are compared per
(severity, group, protocol, summary); the only rows left out are the listed exceptions.
"""

from __future__ import annotations

import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark

from pcapkit.reports.expert import SEVERITIES, expert, expert_items

FILES = ["tcp/206_example_b.pcap", "labs/tcp-ethereal-trace-1", "tcp/fast_reuse.dmp.gz", "tcp/dsack.dmp.gz",
         "tcp/http.dmp.gz", "tcp/reassembly.pcap", "tcp/6syns.dmp.gz", "tcp/ssh-dups.pcap",
         "labs/http-ethereal-trace-4", "tcp/fin_retransmission.pcap", "tcp/option-sack.pcap",
         "tcp/window-scale-range.pcap", "tcp/tfo-5c1fa7f9ae91.pcap", "tcp/payload-syn.pcap", "tcp/tcp-fast-open.pcap"]

# tshark rows pcapkit does not produce, and why
TSHARK_ONLY_PROTOCOLS = {
    "HTTP": "pcapkit does not dissect HTTP (its request/response lines are Chat items)",
    "SSDP": "pcapkit does not dissect SSDP",
    "SSH": "pcapkit does not dissect SSH",
}
TSHARK_ONLY_SUMMARIES = {
    ("TCP", "New fragment overlaps old data (retransmission?)"):
        "TCP reassembly of application PDUs (done by tshark for HTTP) is not pcapkit's",
    ("Ethertype", "Didn't find padding of zeros, and an undecoded trailer exists. There may be padding of "
                  "non-zeros."): "pcapkit keeps Ethernet trailers but does not judge their padding",
}
# pcapkit rows tshark has no expert item for, and why
PCAPKIT_ONLY_SUMMARY = re.compile(r"TCP payload cut short: \d+ of \d+ bytes captured")
# (tshark shows a snaplen cut as "[Packet size limited during capture]", not as an expert item)

_PLURAL = {"Errors": "Error", "Warns": "Warn", "Notes": "Note", "Chats": "Chat"}
_ROW = re.compile(r"^\s+(\d+)\s+(\S+)\s+(\S+)\s\s(.*)$")


def tshark_expert(path: Path) -> Counter[tuple[str, str, str, str]]:
    """(severity, group, protocol, summary) -> frequency, from ``tshark -q -z expert``."""
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-q", "-z", "expert"], capture_output=True,
                         text=True, check=True).stdout
    counts: Counter[tuple[str, str, str, str]] = Counter()
    severity = None
    for line in out.splitlines():
        heading = re.match(r"^(\w+) \(\d+\)$", line)
        if heading:
            severity = _PLURAL.get(heading.group(1))
            continue
        m = _ROW.match(line)
        if m and severity and m.group(1).isdigit():
            counts[(severity, m.group(2), m.group(3), m.group(4))] += int(m.group(1))
    return counts


def _listed(key: tuple[str, str, str, str]) -> bool:
    return key[2] in TSHARK_ONLY_PROTOCOLS or (key[2], key[3]) in TSHARK_ONLY_SUMMARIES


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("rel", FILES)
def test_expert_counts_equal_tshark(rel: str) -> None:
    path = CORPUS / rel
    if not path.is_file():
        pytest.skip(f"{rel} not in the corpus")
    want = tshark_expert(path)
    assert want, "tshark printed no expert items"
    table = expert(path)
    got = Counter({(r.severity, r.group, r.protocol, r.summary): int(r.count) for r in table.itertuples()})
    # the frequencies of the sections add up, and the first frame holds the item
    assert list(table["severity"].astype(str).drop_duplicates()) == [
        s for s in SEVERITIES if s in set(table["severity"].astype(str))]
    mismatched = {k: (want.get(k), got.get(k)) for k in set(want) | set(got)
                  if want.get(k) != got.get(k) and not _listed(k) and not PCAPKIT_ONLY_SUMMARY.fullmatch(k[3])}
    assert not mismatched, mismatched
    assert any(k[2] == "TCP" for k in got)


@requires_tshark
@pytest.mark.tshark
def test_first_frames_equal_tshark() -> None:
    """The first frame of each TCP row is the first frame tshark gives that message."""
    path = CORPUS / "tcp/6syns.dmp.gz"
    out = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.number", "-e",
                          "_ws.expert.message", "-E", "occurrence=a", "-E", "aggregator=\t"],
                         capture_output=True, text=True, check=True).stdout
    first: dict[str, int] = {}
    for line in out.splitlines():
        number, *messages = line.split("\t")
        for message in messages:
            first.setdefault(message, int(number))
    table = expert(path)
    tcp = table[table["protocol"] == "TCP"]
    assert len(tcp) > 5
    for r in tcp.itertuples():
        assert first[r.summary] == r.first_frame, r.summary


def test_filter_keeps_the_frames_it_matches(corpus: Path) -> None:
    path = corpus / "tcp/6syns.dmp.gz"
    every = expert_items(path)
    syns = expert_items(path, "tcp[13] & 2 != 0")
    assert 0 < len(syns) < len(every)
    assert set(syns["frame.number"]) <= set(every["frame.number"])
    # the analysis ran over every frame: a SYN's items are the same with or without the filter
    kept = every[every["frame.number"].isin(set(syns["frame.number"]))]
    assert sorted(map(tuple, kept.astype(str).values)) == sorted(map(tuple, syns.astype(str).values))


def test_cli_prints_tshark_sections_and_csv(corpus: Path, tmp_path: Path) -> None:
    from pcapkit.cli.main import cli

    path = str(corpus / "tcp/6syns.dmp.gz")
    result = CliRunner().invoke(cli, ["expert", path])
    assert result.exit_code == 0, result.output
    assert "Warns (42)" in result.output and "Previous segment(s) not captured" in result.output
    out = tmp_path / "expert.csv"
    result = CliRunner().invoke(cli, ["expert", path, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == "severity,group,protocol,summary,count,first_frame"


def test_damaged_file_gives_the_items_before_and_the_error(corpus: Path, tmp_path: Path) -> None:
    from pcapkit.cli.main import cli

    whole = corpus / "tcp/206_example_b.pcap"
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole.read_bytes()[:30_000])
    items = expert_items(cut)
    assert "file ends inside a packet" in items.attrs["pcapkit.error"]
    every = expert_items(whole)
    last = int(items["frame.number"].max())
    before = every[every["frame.number"] <= last - 1]  # (the last frame's analysis may see later frames)
    assert set(map(tuple, before[["frame.number", "summary"]].astype(str).values)) <= set(
        map(tuple, items[["frame.number", "summary"]].astype(str).values))
    result = CliRunner().invoke(cli, ["expert", str(cut)])
    assert result.exit_code == 1 and "file ends inside a packet" in result.output
    assert "Connection establish request (SYN)" in result.output


@pytest.mark.parametrize("target", ["no/such/dir/x.csv", ".", "/dev/full"])
def test_output_targets_are_one_error_line(corpus: Path, tmp_path: Path, target: str) -> None:
    from pcapkit.cli.main import cli

    out = target if target.startswith("/") else str(tmp_path / target)
    result = CliRunner().invoke(cli, ["expert", str(corpus / "tcp/6syns.dmp.gz"), "-o", out])
    assert result.exit_code == 1 and result.output.startswith("pcapkit: error:"), result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_time_invalid_frames_are_one_row(tmp_path: Path) -> None:
    """Frames whose capture time int64 nanoseconds cannot hold: one Note row counting them
    (the dissector's finding names each frame's own time)."""
    from test_time_range import TICKS, _pcapng

    from pcapkit.frame import time_invalid
    from pcapkit.reports.expert import TIME_INVALID
    from pcapkit.reports.html_report import build_report

    capture = _pcapng(tmp_path / "times.pcapng", 0, TICKS)
    from pcapkit.capture.files import open_capture

    with open_capture(capture) as reader:
        invalid = [f.number for f in reader if time_invalid(f.ts_ns)]
    assert invalid
    table = expert(capture)
    row = table[table["summary"] == TIME_INVALID]
    assert len(row) == 1 and int(row["count"].iloc[0]) == len(invalid)
    assert int(row["first_frame"].iloc[0]) == invalid[0] and row["severity"].iloc[0] == "Note"
    assert TIME_INVALID in build_report(capture, hashes=False)


@requires_tshark
@pytest.mark.tshark
def test_frames_longer_than_the_wire_are_malformed_as_in_tshark(tmp_path: Path) -> None:
    """Records whose captured length exceeds the frame's length (a damaged file): tshark's
    Error/Malformed "Frame length is less than captured length", once per such frame, from
    the fast path as from the dissection of every frame (its shape is its own: the frames of
    the same headers served by shape have no such item)."""
    import struct

    from pcapkit.reports.expert_findings import finding_items, finding_items_per_frame

    def segment(seq: int) -> bytes:
        tcp = struct.pack("!HHIIBBHHH", 40000, 5201, seq, 1, 5 << 4, 0x10, 65535, 0, 0)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 1, 0x4000, 64, 6, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))
        return bytes(6) + bytes.fromhex("020000000001") + b"\x08\x00" + ip + tcp

    records = []
    for k in range(6):
        data = segment(k) + bytes(20)  # (an Ethernet trailer of zeros after the datagram)
        wire = len(data) - 10 if k in (2, 4) else len(data)  # (frames 3 and 5 say fewer bytes than they hold)
        records.append(struct.pack("<IIII", 1_700_000_000, k, len(data), wire) + data)
    path = tmp_path / "over.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + b"".join(records))
    key = ("Error", "Malformed", "Frame", "Frame length is less than captured length")
    assert tshark_expert(path)[key] == 2
    table = expert(path)
    row = table[(table["protocol"] == "Frame") & (table["group"] == "Malformed")]
    assert len(row) == 1 and int(row["count"].iloc[0]) == 2 and int(row["first_frame"].iloc[0]) == 3
    assert tuple(row[["severity", "group", "protocol", "summary"]].astype(str).iloc[0]) == key
    assert sorted(finding_items(path, None, [])) == sorted(finding_items_per_frame(path, None, []))
