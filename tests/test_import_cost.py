"""``import pcapkit`` and ``pcapkit --help`` load no numpy, pandas or matplotlib.

A structural check (which modules get imported, from ``python -X importtime``), not a
timing assertion: the timings are in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "pandas", "matplotlib", "pyarrow", "numba", "dask", "scipy")


def _imported(args: list[str]) -> set[str]:
    proc = subprocess.run([sys.executable, "-X", "importtime", *args], capture_output=True, text=True,
                          check=False, timeout=600)
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


SMALL = str(REPO / "captures" / "tcp-download.pcapng")  # 466 kB: a small input (pcapkit.capture.compiled)


def test_read_of_a_small_file_is_light() -> None:
    """One line per packet of a small capture: the per-packet path, no batch machinery."""
    assert not _heavy(_imported(["-m", "pcapkit", "read", SMALL, "-c", "5"]))


@pytest.mark.parametrize("argv", [["tcp", "--format", "csv"], ["flows"], ["tcptrace"], ["lab", "tcp"]])
def test_reports_on_a_small_file_import_no_numba(argv: list[str]) -> None:
    """numba and its cached kernels cost more than the interpreted paths on a small input."""
    names = _imported(["-m", "pcapkit", *argv, SMALL])
    assert "pcapkit.cli.main" in names
    assert not any(n.split(".")[0] == "numba" for n in names)


def test_reports_on_a_big_file_do_import_numba(tmp_path: Path) -> None:
    """The check above can fail: past the size limit the compiled kernels run."""
    from pcapkit.capture.compiled import SMALL_INPUT_BYTES, numba_installed

    if not numba_installed():
        pytest.skip("numba not installed")
    big = tmp_path / "big.pcapng"
    data = Path(SMALL).read_bytes()
    # the same capture with one more section per copy: still a valid pcapng file
    big.write_bytes(data * (SMALL_INPUT_BYTES // len(data) + 1))
    assert any(n.split(".")[0] == "numba" for n in _imported(["-m", "pcapkit", "flows", str(big)]))
