"""Prove the columnar frame stacks equal the per-frame dissection on many captures.

For each capture (files, or every capture under directories, e.g. the corpus): every
frame's ``frame.protocols`` and wire length, and every expert item of the dissectors
(findings and TFO notes, every frame taken as a SYN so the TFO check runs everywhere),
from :func:`pcapkit.reports.expert_findings.finding_items` (fast path) and
``finding_items_per_frame`` (every frame dissected); the protocol hierarchy from
:func:`pcapkit.columnar.protocols.protocol_hierarchy` and the per-frame one.

    python benchmarks/check_frame_stacks.py $PCAPKIT_CORPUS [FILE ...]

Prints one line per file (served by the fast path or not, same or DIFF, CPU seconds of
both) and a summary; exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

SUFFIXES = (".pcap", ".pcapng", ".cap", ".gz", ".erf", ".snoop", ".ntar", ".dmp", "")


def _captures(paths: list[str]) -> list[Path]:
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in SUFFIXES
                          and f.name not in ("INDEX.tsv",) and not f.name.endswith((".md", ".txt", ".tsv")))
        else:
            out.append(p)
    return out


def check(path: Path) -> tuple[bool, str]:
    from pcapkit.columnar import protocols as stacks
    from pcapkit.dissect import hierarchy
    from pcapkit.errors import PcapkitError
    from pcapkit.reports import expert_findings

    every = np.arange(1, 1 << 22)
    t0 = time.process_time()
    served = True
    try:
        fast_pairs: list[tuple[str, int]] = []
        fast = expert_findings.finding_items(path, None, every, fast_pairs)
        fast_hier = stacks.protocol_hierarchy(path)
        try:
            stacks.stack_counts(path)
        except stacks.NeedsPerFrame:
            served = False
    except PcapkitError as exc:
        fast_pairs, fast, fast_hier = [], [], [("error", str(exc))]  # type: ignore[list-item]
    t1 = time.process_time()
    try:
        ref_pairs: list[tuple[str, int]] = []
        ref = expert_findings.finding_items_per_frame(path, None, every, ref_pairs)
        ref_hier = hierarchy.protocol_hierarchy(path)
    except PcapkitError as exc:
        ref_pairs, ref, ref_hier = [], [], [("error", str(exc))]  # type: ignore[list-item]
    t2 = time.process_time()
    same = fast == ref and fast_pairs == ref_pairs and fast_hier == ref_hier
    how = "fast" if served else "per-frame"
    return same, f"{'same' if same else 'DIFF'} {how:9} {t1 - t0:6.2f} {t2 - t1:6.2f}  {path}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="+", help="capture files or directories")
    args = ap.parse_args()
    files = _captures(args.paths)
    bad = 0
    for path in files:
        same, line = check(path)
        bad += not same
        print(line, flush=True)
    print(f"{len(files) - bad} of {len(files)} files identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
