"""``pcapkit report FILE -o report.html`` opened in Debian's headless Chromium.

The page loads without console errors (the detector is shown to catch one in a page
made to fail), needs no network (no scripts, no external references, and Chromium runs
with every host name unresolvable), its tables hold the values of the matching CLI
reports' CSV output, and a screenshot is taken into the test's tmp dir.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS

from pcapkit.cli.main import cli
from pcapkit.reports.html_report import PLOT_KINDS

FILES = ["labs/tcp-ethereal-trace-1", "tcp/206_example_b.pcap"]
CHROMIUM = shutil.which("chromium")
requires_chromium = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (scripts/dev.sh)")


class Tables(HTMLParser):
    """Tables by id (header, rows of cell texts), img sources, script/link tags, hrefs."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, tuple[list[str], list[list[str]]]] = {}
        self.images: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self.references: list[str] = []
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._figure: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        self.references += [v for k, v in a.items() if k in ("src", "href")]
        if tag == "table":
            self._table = a.get("id", "")
            self.tables[self._table] = ([], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "figure":
            self._figure = a
        elif tag == "img":
            self.images.append({**self._figure, "src": a.get("src", "")})

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table is not None:
            header, rows = self.tables[self._table]
            if not header:
                header.extend(self._row)
            else:
                rows.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None


def chromium(args: list[str], page: Path, profile: Path) -> tuple[str, list[str]]:
    """Run headless Chromium on ``page`` (no host name resolves); (stdout, console lines)."""
    assert CHROMIUM is not None
    run = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
                          "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
                          *args, page.as_uri()], capture_output=True, text=True, timeout=90)
    return run.stdout, [line for line in run.stderr.splitlines() if ":CONSOLE" in line]


def cli_csv(*args: str) -> tuple[list[str], list[list[str]]]:
    result = CliRunner().invoke(cli, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.output)))
    return rows[0], rows[1:]


@pytest.fixture(scope="module", params=FILES)
def rendered(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if CHROMIUM is None:
        pytest.skip("chromium not installed (scripts/dev.sh)")
    path = CORPUS / request.param
    if not path.is_file():
        pytest.skip(f"{request.param} not in the corpus")
    tmp = tmp_path_factory.mktemp("report")
    out = tmp / "report.html"
    result = CliRunner().invoke(cli, ["report", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    dom, console = chromium(["--dump-dom"], out, tmp / "profile")
    shot = tmp / "screenshot.png"
    _, console_shot = chromium(["--window-size=1280,3000", f"--screenshot={shot}"], out, tmp / "profile")
    parsed = Tables()
    parsed.feed(dom)
    return path, out, parsed, console + console_shot, shot


@requires_chromium
def test_console_detector_catches_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>x</title></head><body>'
                   "<script>console.error('boom'); notDefined();</script></body></html>")
    _, console = chromium(["--dump-dom"], bad, tmp_path / "profile")
    assert any("boom" in line for line in console) and any("notDefined" in line for line in console)


@requires_chromium
def test_page_loads_without_console_errors_or_network(rendered) -> None:  # type: ignore[no-untyped-def]
    _path, out, parsed, console, shot = rendered
    assert console == []
    assert "script" not in parsed.tags and "link" not in parsed.tags
    external = [r for r in parsed.references if re.match(r"^(?:[a-z]+:)?//", r)]
    assert external == []
    assert all(r.startswith(("#", "data:image/png;base64,")) for r in parsed.references), parsed.references
    # the screenshot was taken in this run
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    assert out.stat().st_size < 5_000_000


@requires_chromium
@pytest.mark.parametrize(("table", "command"), [
    ("flows-table", ["flows"]),
    ("handshakes-table", ["handshakes"]),
    ("rtt-table", ["rtt", "--summary"]),
    ("expert-table", ["expert"]),
])
def test_tables_hold_the_cli_values(rendered, table: str, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    path, _out, parsed, _console, _shot = rendered
    header, rows = cli_csv(command[0], str(path), *command[1:])
    got_header, got_rows = parsed.tables[table]
    assert got_header == header
    assert rows, f"{command} printed no rows"
    assert got_rows == rows[: len(got_rows)] and len(got_rows) == min(len(rows), 200)


@requires_chromium
def test_summary_and_hierarchy_are_stats(rendered) -> None:  # type: ignore[no-untyped-def]
    path, _out, parsed, _console, _shot = rendered
    result = CliRunner().invoke(cli, ["stats", str(path)])
    assert result.exit_code == 0, result.output
    lines: list[str] = []
    for line in result.output.splitlines():  # a long value wraps under itself: join it back
        if line.startswith(" ") and lines:
            lines[-1] += " " + line.strip()
        else:
            lines.append(line)
    stats = dict(m.groups() for m in (re.match(r"^(.+?):\s+(.*)$", line) for line in lines) if m)
    _, rows = parsed.tables["summary-table"]
    assert {label: value for label, value in rows} == stats
    result = CliRunner().invoke(cli, ["stats", str(path), "--hierarchy", "--format", "json"])
    assert result.exit_code == 0, result.output
    want = [(h["protocol"], str(h["frames"]), str(h["bytes"])) for h in json.loads(result.output)["hierarchy"]]
    header, rows = parsed.tables["hierarchy-table"]
    col = {name: i for i, name in enumerate(header)}
    assert [(r[col["protocol"]], r[col["frames"]], r[col["bytes"]]) for r in rows] == want


@requires_chromium
def test_retransmissions_and_plots_of_the_busiest_streams(rendered) -> None:  # type: ignore[no-untyped-def]
    path, _out, parsed, _console, _shot = rendered
    # retransmissions per stream: the count of tcp.analysis.retransmission in `pcapkit tcp`
    header, rows = cli_csv("tcp", str(path))
    stream_at, flag_at = header.index("tcp.stream"), header.index("tcp.analysis.retransmission")
    want: dict[str, int] = {}
    for r in rows:
        want[r[stream_at]] = want.get(r[stream_at], 0) + (r[flag_at] == "True")
    got_header, got_rows = parsed.tables["retransmissions-table"]
    got = {r[got_header.index("tcp.stream")]: int(r[got_header.index("retransmissions")]) for r in got_rows}
    assert got == {s: n for s, n in want.items() if s in got}
    assert sum(got.values()) == sum(want.values())
    # plots: the busiest TCP streams by bytes (from flows), each kind, decodable PNGs
    fh, frows = cli_csv("flows", str(path))
    tcp = [r for r in frows if r[fh.index("proto")].startswith("tcp")]
    busiest = sorted(tcp, key=lambda r: -int(r[fh.index("bytes")]))[:3]
    plotted = {(img["data-stream"], img["data-kind"]) for img in parsed.images}
    first = busiest[0][fh.index("tcp.stream")]
    assert {(first, kind) for kind in PLOT_KINDS} <= plotted
    assert {s for s, _ in plotted} <= {r[fh.index("tcp.stream")] for r in busiest}
    for img in parsed.images:
        png = base64.b64decode(img["src"].split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_damaged_file_report_is_written_with_the_error(tmp_path: Path) -> None:
    whole = CORPUS / "tcp/206_example_b.pcap"
    if not whole.is_file():
        pytest.skip("corpus not found")
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(whole.read_bytes()[:30_000])
    out = tmp_path / "cut.html"
    result = CliRunner().invoke(cli, ["report", str(cut), "-o", str(out), "--no-hash"])
    assert result.exit_code == 1 and "file ends inside a packet" in result.output
    parsed = Tables()
    parsed.feed(out.read_text())
    assert parsed.tables["flows-table"][1], "the frames before the damage are in the report"
    assert "file ends inside a packet" in out.read_text()
    result = CliRunner().invoke(cli, ["report", str(cut), "-o", str(tmp_path / "x.txt")])
    assert result.exit_code == 1 and "name the file .html" in result.output
    result = CliRunner().invoke(cli, ["report", str(cut), "-o", str(tmp_path / "no" / "dir.html")])
    assert result.exit_code == 1 and "Traceback" not in result.output
