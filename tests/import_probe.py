"""Run the command line in a fresh interpreter and say which heavy modules it imported
(issue 13: a report on a small capture imports neither pandas nor numba)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("pandas", "numba")

# run the CLI, then say on stderr which of the heavy modules were imported
PROBE = f"""
import atexit, runpy, sys
def report():
    sys.stderr.write("IMPORTED " + " ".join(m for m in {HEAVY!r} if m in sys.modules) + "\\n")
atexit.register(report)
sys.argv = ["pcapkit", *sys.argv[1:]]
runpy.run_module("pcapkit", run_name="__main__")
"""


def run_probed(argv: list[str]) -> tuple[subprocess.CompletedProcess[bytes], list[str]]:
    """``pcapkit ARGV`` in a fresh interpreter (this checkout first, 120 columns): the
    finished process and its "IMPORTED ..." lines (one, ``"IMPORTED "``, when none of
    :data:`HEAVY` was imported)."""
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="120")
    proc = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, env=env, timeout=600,
                          check=False)
    return proc, [line for line in proc.stderr.decode().splitlines() if line.startswith("IMPORTED")]
