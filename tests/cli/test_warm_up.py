"""``scripts/dev.sh setup`` builds numba's cache (``python -m pcapkit.cli.warm_up``): after it,
with an otherwise empty cache, a user's first command on a big capture compiles nothing.
Big input is simulated on corpus files by turning the compiled kernels on as a big file
does (``compiled.SMALL_INPUT_BYTES = 0``); numba's compile events are counted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CAPTURES, CORPUS

from pcapkit.capture import compiled
from pcapkit.cli.warm_up import COMMANDS

# the line of scripts/dev.sh setup that builds the cache
WARM_UP = ".venv/bin/python -m pcapkit.cli.warm_up tests/data/congestion-rwnd/s1301-036-reno-head.pcap"


def test_setup_runs_the_warm_up() -> None:
    assert WARM_UP in (CAPTURES.parent / "scripts" / "dev.sh").read_text()


@pytest.mark.slow
def test_no_command_compiles_after_the_warm_up(tmp_path: Path) -> None:
    if not compiled.numba_installed():
        pytest.skip("numba not installed: nothing is compiled")
    sources = [CORPUS / "labs/tcp-ethereal-trace-1", CORPUS / "ip/fragmented-1.pcap", CORPUS / "tcp/dsack.dmp.gz",
               CAPTURES / "mixed.pcapng"]
    sources = [p for p in sources if p.exists()]
    assert len(sources) >= 3, "corpus files missing"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-m", *WARM_UP.split()[2:]], capture_output=True, env=env, check=True,
                   cwd=CAPTURES.parent)
    script = f"""
import os
from numba.core import event
from pcapkit.capture import compiled
from pcapkit.cli.main import cli
from pcapkit.cli.read_lines import write_lines
from pcapkit.columnar.api import read_packets
compiled.SMALL_INPUT_BYTES = 0
names = []
class Count(event.Listener):
    def on_start(self, ev): names.append(getattr(ev.data.get("dispatcher"), "__qualname__", "?"))
    def on_end(self, ev): pass
event.register("numba:compile", Count())
for path in {[str(p) for p in sources]!r}:
    for args in {[list(c) for c in COMMANDS]!r}:
        try:
            cli.main(args=[*args, path, "-o", os.devnull], prog_name="pcapkit", standalone_mode=False)
        except Exception as exc:  # (a command with nothing to say about this file)
            pass
    read_packets(path)
    with open(os.devnull, "w") as out:
        write_lines(path, out, True, None, lambda frame: "")
print(sorted(set(names)))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
