"""The first-ever numba compile is announced on standard error (a terminal's), with its duration."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pcapkit.capture.compiled import numba_installed

PROGRAM = """
from pcapkit.cli.progress import announce_compiles
announce_compiles(enabled={enabled})
import numba

@numba.njit  # not cached: compiled in this process
def plus_one(x):
    return x + 1

print(plus_one(1))
"""


@pytest.mark.skipif(not numba_installed(), reason="numba not installed")
@pytest.mark.parametrize("enabled", [True, False])
def test_a_compile_is_announced(enabled: bool) -> None:
    proc = subprocess.run([sys.executable, "-c", PROGRAM.format(enabled=enabled)], capture_output=True, text=True,
                          timeout=600, check=True)
    assert proc.stdout == "2\n"
    if enabled:
        lines = proc.stderr.splitlines()
        assert lines[0].startswith("pcapkit: compiling plus_one with numba")
        assert lines[1].startswith("pcapkit: compiled in ") and lines[1].endswith(" s")
    else:
        assert "compil" not in proc.stderr
