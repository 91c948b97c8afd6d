"""``import pcapkit`` and ``pcapkit --help`` load no numpy, pandas or matplotlib.

A structural check (which modules get imported, from ``python -X importtime``), not a
timing assertion: the timings are in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "pandas", "matplotlib", "pyarrow", "numba", "dask", "scipy")


def _imported(args: list[str]) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True,
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name)
    assert names, "python -X importtime printed nothing"
    return names


def _heavy(names: set[str]) -> set[str]:
    return {n for n in names if n.split(".")[0] in HEAVY}


def test_import_pcapkit_is_light() -> None:
    names = _imported(["-c", "import pcapkit"])
    assert "pcapkit" in names
    assert not _heavy(names)


@pytest.mark.parametrize("argv", [["--help"], ["export", "--help"]])
def test_cli_help_is_light(argv: list[str]) -> None:
    names = _imported(["-m", "pcapkit", *argv])
    assert "pcapkit.cli.main" in names
    assert not _heavy(names)


def test_the_check_can_fail() -> None:
    """The parser really sees heavy modules when they are imported."""
    assert "numpy" in _heavy(_imported(["-c", "import pcapkit.columnar.api"]))
