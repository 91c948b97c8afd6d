"""The report commands on a 200-frame capture import neither pandas nor numba (issue 13:
a command on a small file in about tshark's time; pandas alone is a quarter of a second),
and their whole-process output is the bytes the in-process CLI writes (where pandas is
imported: the library's DataFrame path)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import CORPUS
from import_probe import run_probed

from pcapkit.cli.main import cli

SMALL = "labs/tcp-ethereal-trace-1"  # 213 frames
COMMANDS = [["flows"], ["flows", "--proto", "tcp"], ["tcp", "--format", "csv"], ["tcp"], ["tcp", "--format", "json"],
            ["handshakes"], ["handshakes", "--format", "csv"], ["rtt"], ["rtt", "--summary"], ["lab", "tcp"],
            ["tcptrace"], ["tcptrace", "--format", "csv"]]



@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_a_report_on_a_small_file_imports_no_pandas(argv: list[str]) -> None:
    small = CORPUS / SMALL
    if not small.is_file():
        pytest.skip(f"{SMALL} not in corpus")
    proc, imported = run_probed([*argv, str(small)])
    assert imported == ["IMPORTED "], proc.stderr.decode()[-2000:]
    # the same bytes as the CLI run where pandas is imported (this test's process)
    runner = CliRunner()
    result = runner.invoke(cli, [*argv, str(small)], env={"COLUMNS": "120"})
    assert proc.returncode == result.exit_code
    assert proc.stdout == result.stdout_bytes
