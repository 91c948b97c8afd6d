"""Every report's default table fits 120 columns and shows the values its CSV holds
(GitHub issue 14, item 1); CSV never prints a number in scientific notation (item 2)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import CORPUS, corpus_id

from pcapkit.cli.main import cli
from pcapkit.reports.table import format_cells, write_table

LABS = CORPUS / "labs"
TCP_FILES = [LABS / "tcp-ethereal-trace-1", LABS / "http-ethereal-trace-5", CORPUS / "tcp" / "tcp.dmp.gz",
             LABS / "NAT_ISP_side.pcap"]
REPORTS = [(words, path) for path in TCP_FILES for words in (
    ["tcp"], ["handshakes"], ["rtt"], ["rtt", "--summary"], ["flows"], ["tcptrace"], ["iostat"],
    ["iostat", "FILE", "-i", "0.5", "tcp", "udp", "icmp or arp", "port 53"])]
REPORTS += [(["lab", "tcp", "--part", "segments"], LABS / "tcp-ethereal-trace-1"),
            (["lab", "dhcp", "--part", "messages"], LABS / "dhcp-ethereal-trace-1"), (["lab", "dhcp"], LABS / "dhcp-wireshark-trace1-1.pcapng"),
            (["lab", "dns", "--part", "messages"], LABS / "dns-ethereal-trace-1"),
            (["lab", "dns", "--part", "messages"], LABS / "dns-ethereal-trace-3"),
            (["lab", "dns"], LABS / "dns-ethereal-trace-2"), (["lab", "udp"], LABS / "udp-wireshark-trace.pcap"),
            (["lab", "ip"], LABS / "ip-ethereal-trace-1"), (["lab", "icmp"], LABS / "icmp-ethereal-trace-2"),
            (["lab", "ethernet-arp"], LABS / "ethernet-ethereal-trace-1"),
            (["lab", "intro"], LABS / "http-ethereal-trace-1"), (["lab", "http"], LABS / "http-ethereal-trace-4"),
            (["lab", "http"], LABS / "http-ethereal-trace-5"), (["lab", "tls"], LABS / "ssl-ethereal-trace-1"), (["lab", "wifi"], LABS / "Wireshark_802_11.pcap"), (["tcptrace", "--conn", "1"], LABS / "tcp-ethereal-trace-1"),
            (["stats", "--format", "table"], LABS / "tcp-ethereal-trace-1"),
            (["dns"], LABS / "udp-wireshark-trace.pcap"), (["dns"], LABS / "dhcp-wireshark-trace1-1.pcapng"),
            (["http"], LABS / "http-ethereal-trace-4"), (["http"], CORPUS / "tcp" / "http.pcap")]
IDS = [f"{' '.join(w)}:{corpus_id(p)}" for w, p in REPORTS]
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def pcapkit_cli(*args: str) -> str:
    """pcapkit ARGS (the file in place of "FILE", else after the command words)."""
    words = list(args)
    if "FILE" in words:
        words.remove(words[-1])
        words[words.index("FILE")] = args[-1]
    result = CliRunner().invoke(cli, words)
    assert result.exit_code in (0, 1), result.output
    assert "Traceback" not in result.output
    return result.stdout


def parse_table(text: str, last: bool = False) -> tuple[list[str], list[list[str]]]:
    """Column names and cells of a table (the last one of the text with ``last``): the
    dash rule gives each column's span, the header lines above it (wrapped names) join
    into the name."""
    lines = text.splitlines()
    rules = [i for i, line in enumerate(lines) if line and set(line) <= {"-", " "} and "--" in line]
    rule = rules[-1] if last else rules[0]
    spans = [(m.start(), m.end()) for m in re.finditer(r"-+", lines[rule])]
    first_header = rule
    while first_header > 0 and lines[first_header - 1].strip() and not lines[first_header - 1].startswith(
            ("first data", "(")) and not lines[first_header - 1].strip().endswith(" lab"):
        first_header -= 1
    names = ["".join(lines[i][a:b].strip() for i in range(first_header, rule)) for a, b in spans]
    rows = []
    for line in lines[rule + 1:]:
        if not line.strip() or line.startswith("("):
            break
        rows.append([line[a:b].strip() if b < len(line) else line[a:].strip() for a, b in spans])
    return names, rows


def same_cell(shown: str, exact: str) -> bool:
    """A table cell shows the CSV value: equal text, a cut text (…), or the number
    rounded (floats) or truncated (exact times) to the column's decimals."""
    if shown == exact or (shown.endswith("…") and exact.startswith(shown[:-1])):
        return True
    if NUMBER.match(shown) and NUMBER.match(exact):
        places = len(shown.split(".")[1]) if "." in shown else 0
        return abs(float(shown) - float(exact)) <= 0.5 * 10 ** -places + 1e-12
    return False


@pytest.mark.parametrize(("words", "path"), REPORTS, ids=IDS)
def test_default_table_fits_120_and_holds_the_csv_values(words: list[str], path: Path) -> None:
    table = pcapkit_cli(*words, str(path))
    assert table.strip()
    too_long = [line for line in table.splitlines() if len(line) > 120]
    assert not too_long, too_long[:3]
    if words[0] == "stats" or (words[0] == "tcptrace" and "--conn" in words):
        return
    names, rows = parse_table(table, last=words[:2] == ["lab", "tcp"])
    frame = pd.read_csv(io.StringIO(pcapkit_cli(*words, "--format", "csv", str(path))), dtype=str, keep_default_na=False)
    assert len(rows) == len(frame)
    if words[0] == "tcp":
        assert {"frame.number", "tcp.stream", "ip.src", "tcp.seq"} <= set(names)
    # one unit of time per table, said above it; a unit in a column name agrees with it
    if "(times and durations in seconds)" in table:
        assert not [n for n in names if n.endswith("_ms")]
    if "(times and durations in milliseconds" in table:
        assert not [n for n in names if n.endswith("_s")]
    for name in names:
        if name == "analysis" and words[0] == "tcp":
            continue  # the table's summary of the tcp.analysis.* flags (not a CSV column)
        if name == "frame.time_relative":  # the table's: seconds since the capture's first frame
            info = pd.read_csv(io.StringIO(pcapkit_cli("stats", "--no-hash", "--format", "csv", str(path))), dtype=str)
            start = float(info["first_time"][0])
            for row, epoch in zip(rows, frame["frame.time_epoch"], strict=True):
                assert abs(float(row[names.index(name)]) - (float(epoch) - start)) < 1e-6
            continue
        assert name in frame.columns, (name, list(frame.columns))
        for n, (row, exact) in enumerate(zip(rows, frame[name], strict=True)):
            shown = row[names.index(name)]
            assert same_cell(shown, exact), f"row {n} {name}: table {shown!r}, csv {exact!r}"


def test_columns_all_and_e_choose_the_columns() -> None:
    path = str(LABS / "tcp-ethereal-trace-1")
    names, _ = parse_table(pcapkit_cli("tcp", path, "-e", "frame.number", "-e", "tcp.analysis.ack_rtt"))
    assert names == ["frame.number", "tcp.analysis.ack_rtt"]
    csv_text = pcapkit_cli("tcp", path, "-e", "frame.number", "-e", "tcp.analysis.ack_rtt", "--format", "csv")
    assert csv_text.splitlines()[0] == "frame.number,tcp.analysis.ack_rtt"
    every = pcapkit_cli("handshakes", path, "--columns", "all")
    assert all(len(line) <= 120 for line in every.splitlines())
    assert "columns not shown" in every  # what did not fit is named, with how to see it


@pytest.mark.parametrize("words", [["tcp"], ["handshakes"], ["rtt"], ["rtt", "--summary"], ["flows"],
                                   ["tcptrace"], ["iostat"], ["lab", "tcp", "--part", "segments"], ["stats"]])
def test_csv_has_no_scientific_notation(words: list[str]) -> None:
    """9.3e-05 (an ACK of a SYN-ACK 93 µs later) is written 0.000093."""
    for path in (LABS / "tcp-ethereal-trace-1", LABS / "http-ethereal-trace-5"):
        text = pcapkit_cli(*words, str(path), "--format", "csv")
        for row in csv.reader(io.StringIO(text)):
            for cell in row:
                assert not re.fullmatch(r"-?[\d.]+[eE][-+]?\d+", cell), (words, cell)


def test_the_table_is_written_in_chunks_from_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows past one chunk keep the layout; each column is formatted as a whole."""
    import pcapkit.reports.table as table

    monkeypatch.setattr(table, "CHUNK_ROWS", 7)
    df = pd.DataFrame({"n": pd.array(range(30), dtype="Int64"), "x": [i / 3 for i in range(30)],
                       "t": pd.to_datetime([1_000_000_000 * i + 5 for i in range(30)], unit="ns"),
                       "s": ["a" * (i % 50) for i in range(30)]})
    out = io.StringIO()
    write_table(df, out, width=60)
    lines = out.getvalue().splitlines()
    assert len({len(line) for line in lines[2:32]}) >= 1 and all(len(line) <= 60 for line in lines)
    assert lines[2 + 29].split()[0] == "29"
    assert list(format_cells(df["t"], "ns", 9)[:2]) == ["0.000000005", "1.000000005"]
