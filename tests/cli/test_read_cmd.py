"""``pcapkit read`` against tshark and tcpdump on corpus files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, corpus_id, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.read_cmd import read

JSON_FIELDS = ("frame.number", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.interface_id",
               "frame.encap_type", "frame.comment")

FILES = [CORPUS / n for n in ("labs/NAT_home_side.pcap", "formats/le_test202.pcapng",
                              "formats/be_test101.pcapng", "formats/le_test009.pcapng",
                              "formats/pcapng-multi-interface.pcapng", "tcp/tcp.dmp.gz",
                              "labs/Wireshark_802_11.pcap", "broken/unsupported-link-type-dbus.pcap",
                              "formats/finger.snoop.gz")]


def run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(read, args)
    return result.exit_code, result.stdout, result.stderr


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_json_rows_equal_tshark(path: Path) -> None:
    code, out, err = run([str(path), "--format", "json"])
    assert code == 0, err
    ours = [json.loads(line) for line in out.splitlines()]
    theirs = tshark_fields(path, JSON_FIELDS)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        a = {k: str(v).replace("\n", ",") for k, v in a.items() if k in JSON_FIELDS}
        assert a == b


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES[:3], ids=corpus_id)
def test_text_and_csv_have_one_row_per_tshark_frame(path: Path) -> None:
    theirs = tshark_fields(path, ("frame.number",))
    code, out, _ = run([str(path)])
    assert code == 0
    assert len(out.splitlines()) == len(theirs)
    code, out, _ = run([str(path), "--format", "csv"])
    lines = out.splitlines()
    assert code == 0 and lines[0].split(",")[:4] == ["frame.number", "frame.time_epoch", "frame.len",
                                                     "frame.cap_len"]
    assert [ln.split(",")[0] for ln in lines[1:]] == [r["frame.number"] for r in theirs]


def test_count_limits_output() -> None:
    path = CORPUS / "labs" / "NAT_home_side.pcap"
    code, out, _ = run([str(path), "-c", "7"])
    assert code == 0 and len(out.splitlines()) == 7
    code, out, _ = run([str(path), "-c", "0"])
    assert code == 0 and out == ""


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
@pytest.mark.parametrize("expr", ["tcp port 80", "udp", "host 192.168.1.100 and not tcp"])
def test_filter_selects_what_tcpdump_selects(expr: str) -> None:
    try:
        from pcapkit.capture.bpf import filter_frames  # noqa: F401
    except ImportError:
        pytest.skip("pcapkit.capture.bpf not available")
    path = CORPUS / "labs" / "NAT_home_side.pcap"
    ref = subprocess.run(["tcpdump", "-nn", "-tt", "-r", str(path), expr], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    code, out, err = run([str(path), *expr.split(), "--no-number"])
    assert code == 0, err
    ours = out.splitlines()
    assert len(ours) == len(ref)
    # same packets: the time stamps (first word) agree line by line
    assert [ln.split()[0] for ln in ours] == [ln.split()[0] for ln in ref]


@pytest.mark.parametrize("name", ["broken/pcap-invalid-version-1.pcap", "broken/pcapng-invalid-vers-2.pcapng",
                                  "broken/shb-option-too-long.pcapng", "broken/pcapng-invalid-vers-1.pcapng"])
def test_bad_file_is_one_error_line(name: str) -> None:
    # a real process: stderr must hold exactly one line and no traceback
    proc = subprocess.run([sys.executable, "-m", "pcapkit", "read", str(CORPUS / name)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("pcapkit: error: ") and str(CORPUS / name) in lines[0]
    assert "Traceback" not in proc.stderr


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("name", ["broken/bad_rsn_parsing_overrides_ssid.pcap", "broken/le_test901.pcapng"])
def test_damaged_file_prints_good_packets_then_error(name: str) -> None:
    path = CORPUS / name
    theirs = tshark_fields(path, ("frame.number", "frame.time_epoch"))
    code, out, err = run([str(path), "--format", "json"])
    assert code == 1
    ours = [json.loads(line) for line in out.splitlines()]
    assert [str(r["frame.number"]) for r in ours] == [r["frame.number"] for r in theirs]
    assert [r.get("frame.time_epoch") for r in ours] == [r.get("frame.time_epoch") for r in theirs]
    assert err.count("\n") == 1 and err.startswith("pcapkit: error: ")


def test_missing_file_is_one_error_line() -> None:
    code, out, err = run(["/nonexistent/file.pcap"])
    assert code == 1 and out == ""
    assert err.startswith("pcapkit: error: /nonexistent/file.pcap") and err.count("\n") == 1


def test_stdin() -> None:
    data = (CORPUS / "tcp" / "tcp.dmp.gz").read_bytes()
    result = CliRunner().invoke(read, ["-", "--format", "json"], input=data)
    assert result.exit_code == 0, result.stderr
    theirs = tshark_fields(CORPUS / "tcp" / "tcp.dmp.gz", ("frame.time_epoch",)) if shutil.which("tshark") else None
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert rows
    if theirs is not None:
        assert [r["frame.time_epoch"] for r in rows] == [t["frame.time_epoch"] for t in theirs]
