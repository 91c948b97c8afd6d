"""compiled.numba_module: a kernel loaded from numba's disk cache skips numba's context
refresh (its cost is the point) and still gives the right answer; a kernel missing from
the cache is still compiled with the contexts refreshed, so it can use anything numba
implements. Each process starts on its own cache directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CAPTURES

from pcapkit.capture import compiled

SCRIPT = """
import json, sys
import numpy as np
from numba.core import base
refreshes = []
original = base.BaseContext.refresh
def counted(self):
    refreshes.append(1)
    return original(self)
base.BaseContext.refresh = counted

from pcapkit.capture import batch, compiled, record_walk
compiled.numba_module()
walk, _ = record_walk.kernels(True)
data = np.fromfile(sys.argv[1], dtype=np.uint8)
n = 4096
outs = [np.zeros(n, np.int64) for _ in range(5)]
count, pos, status = walk(data, 24, False, 16, 0, 1 << 20, n, *outs)
loaded = len(refreshes)
struct_outs = [np.zeros(n, np.int64) for _ in range(5)]
expected = record_walk._walk_pcap_struct(data, 24, False, 16, 0, 1 << 20, n, *struct_outs)

@compiled.numba_module().njit
def fresh(x):  # (not in any cache: compiled now)
    return np.sum(np.sqrt(x)) + len(str(3))

value = fresh(np.arange(4.0))
print(json.dumps({"count": int(count), "same": [int(count), int(pos), int(status)] == list(expected)
                  and all(bool((a[:count] == b[:count]).all()) for a, b in zip(outs, struct_outs)),
                  "refreshes_loading": loaded, "refreshes_after_compile": len(refreshes), "value": value}))
"""


def _run(path: Path, cache: Path) -> dict[str, object]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(path)], capture_output=True, text=True, env=env,
                          cwd=CAPTURES.parent, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.slow
def test_cached_kernels_load_without_refresh_and_compiles_still_refresh(tmp_path: Path) -> None:
    if not compiled.numba_installed():
        pytest.skip("numba not installed")
    path = CAPTURES / "tcp-upload.pcap"
    assert path.read_bytes()[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")  # (little-endian pcap: the walk's arguments)
    first = _run(path, tmp_path)  # compiles the walk, fills the cache
    assert first["refreshes_loading"] and first["same"]
    again = _run(path, tmp_path)  # loads it
    assert again["count"] == first["count"] and int(str(again["count"])) > 100
    assert again["same"]
    assert again["refreshes_loading"] == 0
    assert int(str(again["refreshes_after_compile"])) >= 1
    assert again["value"] == pytest.approx(sum(k ** 0.5 for k in range(4)) + 1)
