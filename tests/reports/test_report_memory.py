"""Peak memory of the flow reports grows with the flows by a bounded amount per flow.

A resource test, not a timing test: each report runs in a fresh process over a capture
of one-SYN flows (benchmarks/make_hostile.py's ``syns`` input, the worst case for
per-flow state) and reports its peak RSS; the growth from 1,000 to 200,000 flows,
divided by the flows added, is the per-flow cost of the whole pipeline (segment table,
analysis, models, the report's frame). The bounds are what the reports cost now with
some room (measured 0.83, 0.52 and 0.55 KB per flow); before the models ran in groups
and each stage's input was let go first they cost 1.49, 0.82 and 0.70 KB (1M flows:
flows 1.3 GB, over issue 11's 1 GB).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

SMALL, LARGE = 1_000, 200_000
# bytes of peak RSS per one-SYN flow added
BOUNDS = {"flows": 1024, "handshakes": 700, "tcp_frames": 650}
MODULES = {"flows": "flows", "handshakes": "handshakes", "tcp_frames": "tcp"}


def _captures(tmp_path: Path) -> dict[int, Path]:
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from make_hostile import syns, write
    finally:
        sys.path.pop(0)
    out = {}
    for n in (SMALL, LARGE):
        out[n] = tmp_path / f"syns-{n}.pcap"
        write(out[n], syns(n))
    return out


def _peak_mb(report: str, path: Path) -> float:
    """Peak RSS (MB) of a fresh process that imports and runs ``report`` on ``path``."""
    code = f"""
import resource, sys
from pcapkit.reports.{MODULES[report]} import {report}
df = {report}(sys.argv[1])
assert len(df) == int(sys.argv[2]), len(df)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    expected = path.stem.split("-")[1]
    proc = subprocess.run([sys.executable, "-c", code, str(path), expected], capture_output=True, text=True,
                          cwd=REPO, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return int(proc.stdout.strip()) / 1024  # (ru_maxrss: KB on Linux)


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ru_maxrss is in KB on Linux only")
@pytest.mark.parametrize("report", sorted(BOUNDS))
def test_peak_memory_per_flow_is_bounded(tmp_path: Path, report: str) -> None:
    captures = _captures(tmp_path)
    small, large = _peak_mb(report, captures[SMALL]), _peak_mb(report, captures[LARGE])
    per_flow = (large - small) * 2**20 / (LARGE - SMALL)
    assert per_flow <= BOUNDS[report], (
        f"{report}: {per_flow:.0f} B of peak RSS per flow ({small:.0f} MB at {SMALL} flows, "
        f"{large:.0f} MB at {LARGE}); bound {BOUNDS[report]} B")
