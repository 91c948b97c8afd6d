"""Build numba's on-disk cache of every command's compiled kernels (``scripts/dev.sh setup``
runs ``python -m pcapkit.cli.warm_up``).

A command on a big capture runs compiled kernels (the record walks, the columnar decoder,
the TCP analysis, the Zeek, tcptrace and congestion models); compiling them the first time
takes tens of seconds (``flows`` on a 100,000-packet capture with an empty cache: 26 s, then
1.4 s). Here each command runs once on the small captures of ``captures/`` with the
compiled kernels forced on (they are chosen by input size, see
:mod:`pcapkit.capture.compiled`: the argument types, hence the compiled code, do not depend
on it), so that a user's first command finds them compiled. Output goes to /dev/null.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# every command whose big-input path runs compiled kernels, as a user types it
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("flows",), ("tcp", "--format", "csv"), ("tcptrace",), ("rtt",), ("handshakes",), ("congestion",),
    ("lab", "tcp"), ("stats",), ("expert",),
)


def warm_up(captures: list[str]) -> float:
    """Run :data:`COMMANDS` on each of ``captures`` with the compiled kernels on, then
    ``read_packets``, ``pcapkit read``'s batched path and the live reports; return the
    seconds it took."""
    from pcapkit.capture import compiled
    from pcapkit.cli import read_lines
    from pcapkit.cli.main import cli
    from pcapkit.columnar.api import read_packets
    from pcapkit.reports import live

    start = time.perf_counter()
    small, compiled.SMALL_INPUT_BYTES = compiled.SMALL_INPUT_BYTES, 0
    try:
        for capture in captures:
            for args in COMMANDS:
                cli.main(args=[*args, capture, "-o", os.devnull], prog_name="pcapkit", standalone_mode=False)
            read_packets(capture)
    finally:
        compiled.SMALL_INPUT_BYTES = small
    read_lines.warm_up()
    for report in ("rtt", "flows"):
        live.warm_up(report)
    return time.perf_counter() - start


def main() -> None:
    """``python -m pcapkit.cli.warm_up [CAPTURE...]``: captures/' two TCP captures and any
    given (a kernel runs only on the traffic that needs it: e.g. the congestion model's
    HyStart check, on a slow start without loss)."""
    repo = Path(__file__).resolve().parents[2]
    captures = [str(repo / "captures" / name) for name in ("tcp-upload.pcap", "tcp-download.pcapng")]
    captures += sys.argv[1:]
    missing = [c for c in captures if not os.path.exists(c)]
    if missing:
        sys.exit(f"pcapkit: error: warm-up captures missing: {', '.join(missing)}")
    seconds = warm_up(captures)
    print(f"pcapkit: numba's cache built for every command in {seconds:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
