"""Every command's output target: one error line (exit 1) instead of a traceback for a
target that cannot work, no half-written file, the format from the extension, and a cut
input reported after the output, as ``read`` reports it (GitHub issue 11, items 2, 4, 10)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from conftest import CAPTURES, CORPUS, REPO

TCP = str(CAPTURES / "tcp-download.pcapng")
DHCP = str(CAPTURES / "dhcp.pcap")

# (command words before the file, the input, whether -o takes a report format)
COMMANDS = [
    (["read"], TCP), (["stats"], TCP), (["show", "-c", "3"], TCP), (["tcp"], TCP), (["handshakes"], TCP),
    (["rtt"], TCP), (["flows"], TCP), (["tcptrace"], TCP), (["lab", "tcp"], TCP), (["lab", "dhcp"], DHCP),
    (["iostat"], TCP), (["expert"], TCP), (["lab", "udp"], DHCP), (["lab", "dns"], str(CORPUS / "labs" / "dns-ethereal-trace-1")),
    (["dns"], str(CORPUS / "labs" / "dns-ethereal-trace-1")), (["http"], str(CORPUS / "labs" / "http-ethereal-trace-1")),
]
IDS = [" ".join(words) for words, _ in COMMANDS]


def pcapkit(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pcapkit", *args], capture_output=True, text=True, cwd=REPO,
                          timeout=300, check=False)


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("pcapkit: error:")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


@pytest.mark.parametrize(("words", "capture"), COMMANDS, ids=IDS)
def test_missing_directory_is_one_line(words: list[str], capture: str, tmp_path: Path) -> None:
    target = tmp_path / "no" / "such" / "out.csv"
    line = one_error_line(pcapkit(*words, capture, "-o", str(target)))
    assert "does not exist" in line
    assert not target.parent.exists()


@pytest.mark.parametrize(("words", "capture"), COMMANDS, ids=IDS)
def test_a_directory_as_the_file_is_one_line(words: list[str], capture: str, tmp_path: Path) -> None:
    line = one_error_line(pcapkit(*words, capture, "-o", str(tmp_path)))
    assert "directory" in line


@pytest.mark.parametrize(("words", "capture"), COMMANDS, ids=IDS)
def test_disk_full_is_one_line(words: list[str], capture: str) -> None:
    """/dev/full fails every write with ENOSPC (and must never be replaced by a file)."""
    line = one_error_line(pcapkit(*words, capture, "-o", "/dev/full"))
    assert "No space left on device" in line
    assert Path("/dev/full").is_char_device()


def test_the_extension_chooses_the_format(tmp_path: Path) -> None:
    out = tmp_path / "flows.parquet"
    proc = pcapkit("flows", TCP, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    df = pd.read_parquet(out)
    assert "tcp.stream" in df.columns and len(df) > 0
    out_csv = tmp_path / "tcp.csv"
    assert pcapkit("tcp", TCP, "-o", str(out_csv)).returncode == 0
    assert out_csv.read_text().splitlines()[0].startswith("frame.number,")


def test_an_extension_against_the_format_is_one_line(tmp_path: Path) -> None:
    line = one_error_line(pcapkit("flows", TCP, "--format", "csv", "-o", str(tmp_path / "x.parquet")))
    assert "--format" in line
    assert not (tmp_path / "x.parquet").exists()


def test_plot_to_a_text_file_is_one_line(tmp_path: Path) -> None:
    line = one_error_line(pcapkit("plot", TCP, "--kind", "tseq", "-o", str(tmp_path / "x.txt")))
    assert ".png" in line
    assert not (tmp_path / "x.txt").exists()


def test_no_half_written_file_when_writing_fails(tmp_path: Path) -> None:
    """A failing write leaves neither the target nor a temporary file behind."""
    before = set(tmp_path.iterdir())
    proc = pcapkit("tcp", TCP, "-o", str(tmp_path / "readonly" / "x.csv"))
    assert proc.returncode == 1
    assert set(tmp_path.iterdir()) == before


def _cut(src: Path, dst: Path, keep: int) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[:keep])
    return dst


@pytest.mark.parametrize("words", [["tcp"], ["handshakes"], ["rtt"], ["flows"], ["tcptrace"], ["lab", "tcp"],
                                   ["expert"], ["iostat"]],
                         ids=lambda w: " ".join(w))
def test_a_cut_file_is_reported_after_the_output(words: list[str], tmp_path: Path) -> None:
    """As ``read`` and tshark: every readable packet is used, then one error line naming
    the file and the offset, and exit status 1."""
    source = CORPUS / "labs" / "tcp-ethereal-trace-1"
    if not source.exists():
        pytest.skip("corpus missing")
    size = source.stat().st_size
    cut = _cut(source, tmp_path / "cut.pcap", size - 700)
    out = tmp_path / "out.csv"
    proc = pcapkit(*words, str(cut), "-o", str(out))
    line = one_error_line(proc)
    assert str(cut) in line and "offset" in line
    assert out.exists() and out.stat().st_size > 0


@pytest.mark.parametrize(("words", "capture"), COMMANDS, ids=IDS)
def test_standard_output_full_is_one_line(words: list[str], capture: str) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "pcapkit", *words, capture], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=REPO, timeout=300, check=False)
    line = one_error_line(proc)  # type: ignore[arg-type]
    assert "No space left on device" in line


def test_html_report_targets_are_one_line(tmp_path: Path) -> None:
    """``report`` writes HTML only: a missing directory, a directory, a full disk and a
    non-HTML extension each end in one line."""
    assert "does not exist" in one_error_line(pcapkit("report", TCP, "-o", str(tmp_path / "no" / "r.html")))
    (tmp_path / "d.html").mkdir()
    assert "directory" in one_error_line(pcapkit("report", TCP, "-o", str(tmp_path / "d.html")))
    one_error_line(pcapkit("report", TCP, "-o", "/dev/full"))  # not an .html name: refused before writing
    one_error_line(pcapkit("report", TCP, "-o", str(tmp_path / "r.csv")))
    assert not (tmp_path / "r.csv").exists()


@pytest.mark.parametrize("table", ["packets", "tcp"])
def test_export_targets_are_one_line(table: str, tmp_path: Path) -> None:
    """export to a Parquet file in a folder that does not exist, or where the file cannot
    be made (procfs), or onto /dev/full: one error line (before: pyarrow's FileNotFoundError
    as a traceback)."""
    target = tmp_path / "no" / "such" / "out.parquet"
    line = one_error_line(pcapkit("export", TCP, "--table", table, "-o", str(target)))
    assert "does not exist" in line and not target.parent.exists()
    line = one_error_line(pcapkit("export", TCP, "--table", table, "-o", "/proc/out.parquet"))
    assert line.startswith("pcapkit: error: /proc/out.parquet: cannot write:")
    line = one_error_line(pcapkit("export", TCP, "--table", table, "-o", "/dev/full"))
    assert "No space left on device" in line and Path("/dev/full").is_char_device()
