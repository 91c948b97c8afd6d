"""The report commands on a 200-frame capture import neither pandas nor numba (issue 13:
a command on a small file in about tshark's time; pandas alone is a quarter of a second),
and their whole-process output is the bytes the in-process CLI writes (where pandas is
imported: the library's DataFrame path)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS

from pcapkit.cli.main import cli

REPO = Path(__file__).resolve().parent.parent.parent
SMALL = "labs/tcp-ethereal-trace-1"  # 213 frames
COMMANDS = [["flows"], ["flows", "--proto", "tcp"], ["tcp", "--format", "csv"], ["tcp"], ["tcp", "--format", "json"],
            ["handshakes"], ["handshakes", "--format", "csv"], ["rtt"], ["rtt", "--summary"], ["lab", "tcp"],
            ["tcptrace"], ["tcptrace", "--format", "csv"]]

# run the CLI, then say which of the heavy modules were imported
PROBE = """
import runpy, sys
def report():
    sys.stderr.write("IMPORTED " + " ".join(m for m in ("pandas", "numba") if m in sys.modules) + "\\n")
import atexit
atexit.register(report)
sys.argv = ["pcapkit", *sys.argv[1:]]
runpy.run_module("pcapkit", run_name="__main__")
"""


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_report_on_a_small_file_imports_no_pandas(argv: list[str]) -> None:
    small = CORPUS / SMALL
    if not small.is_file():
        pytest.skip(f"{SMALL} not in corpus")
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="120")
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv, str(small)], capture_output=True, env=env,
                          timeout=600, check=False)
    imported = [line for line in proc.stderr.decode().splitlines() if line.startswith("IMPORTED")]
    assert imported == ["IMPORTED "], proc.stderr.decode()[-2000:]
    # the same bytes as the CLI run where pandas is imported (this test's process)
    runner = CliRunner()
    result = runner.invoke(cli, [*argv, str(small)], env={"COLUMNS": "120"})
    assert proc.returncode == result.exit_code
    assert proc.stdout == result.stdout_bytes
