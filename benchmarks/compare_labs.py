"""Every one-trace lab's answers on every corpus capture, written down to compare two checkouts.

    PYTHONPATH=CHECKOUT python benchmarks/compare_labs.py --corpus CORPUS --out answers.json
    python benchmarks/compare_labs.py --compare before.json after.json

The first form runs ``lab intro|ip|udp|dns|http`` (and the DNS lab's message table) through
the API on each capture listed in the corpus's INDEX.tsv (``--only labs/`` keeps a folder)
and records each answer table as CSV text with its attrs, or the error it raised (type and
message). The second prints every capture/lab whose record differs and exits 1 if any does:
reading fewer frames must not change an answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

LABS: dict[str, tuple[str, str]] = {
    "intro": ("pcapkit.reports.lab_intro", "lab_intro"),
    "ip": ("pcapkit.reports.lab_ip", "lab_ip"),
    "udp": ("pcapkit.reports.lab_udp", "lab_udp"),
    "dns": ("pcapkit.reports.lab_dns", "lab_dns"),
    "dns-messages": ("pcapkit.reports.lab_dns", "lab_dns_messages"),
    "http": ("pcapkit.reports.lab_http", "lab_http"),
}


def record(run: Callable[[str], Any], path: str) -> str:
    try:
        df = run(path)
    except Exception as exc:
        return f"error {type(exc).__name__}: {exc}"
    attrs = {k: v for k, v in sorted(df.attrs.items())}
    return df.to_csv(index=False) + "\nattrs " + repr(attrs)


def collect(corpus: Path, only: str, out: Path) -> None:
    rows = [line.split("\t")[0] for line in (corpus / "INDEX.tsv").read_text().splitlines()[1:] if line]
    answers: dict[str, dict[str, str]] = {}
    for rel in rows:
        if not rel.startswith(only):
            continue
        path = str(corpus / rel)
        start = time.perf_counter()
        answers[rel] = {name: record(getattr(import_module(module), function), path)
                        for name, (module, function) in LABS.items()}
        print(f"{rel}: {time.perf_counter() - start:.2f} s", file=sys.stderr)
    out.write_text(json.dumps(answers, indent=1, sort_keys=True))


def compare(before: Path, after: Path) -> int:
    a, b = json.loads(before.read_text()), json.loads(after.read_text())
    differ = 0
    for rel in sorted(set(a) | set(b)):
        for lab in sorted(set(a.get(rel, {})) | set(b.get(rel, {}))):
            if a.get(rel, {}).get(lab) != b.get(rel, {}).get(lab):
                differ += 1
                print(f"DIFFERS {rel} {lab}\n--- before\n{a.get(rel, {}).get(lab)}\n--- after\n"
                      f"{b.get(rel, {}).get(lab)}\n")
    total = sum(len(v) for v in b.values())
    print(f"{len(b)} captures, {total} lab answers, {differ} differ")
    return 1 if differ else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--only", default="", help="keep the INDEX.tsv rows under this folder (e.g. labs/)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare))
    if args.corpus is None or args.out is None:
        ap.error("--corpus and --out, or --compare")
    collect(args.corpus, args.only, args.out)


if __name__ == "__main__":
    main()
