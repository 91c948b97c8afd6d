"""What the scripts that write down a checkout's answers on every corpus capture share
(``compare_labs.py``, ``compare_app_reports.py``): their two forms,

    PYTHONPATH=CHECKOUT python SCRIPT --corpus CORPUS [--only FOLDER/] --out answers.json
    python SCRIPT --compare before.json after.json

the first recording ``answers(path)`` (name -> text) for each capture of the corpus's
INDEX.tsv, the second printing every capture/answer whose record differs (exit 1 if any).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def main(doc: str | None, answers: Callable[[str], dict[str, str]], what: str) -> None:
    """The script's command line; ``what`` names the answers in the summary line."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", type=Path)
    ap.add_argument("--only", default="", help="keep the INDEX.tsv rows under this folder (e.g. labs/)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    args = ap.parse_args()
    if args.compare:
        sys.exit(compare(*args.compare, what))
    if args.corpus is None or args.out is None:
        ap.error("--corpus and --out, or --compare")
    collect(args.corpus, args.only, args.out, answers)


def collect(corpus: Path, only: str, out: Path, answers: Callable[[str], dict[str, str]]) -> None:
    rows = [line.split("\t")[0] for line in (corpus / "INDEX.tsv").read_text().splitlines()[1:] if line]
    written: dict[str, dict[str, str]] = {}
    for rel in rows:
        if not rel.startswith(only):
            continue
        start = time.perf_counter()
        written[rel] = answers(str(corpus / rel))
        print(f"{rel}: {time.perf_counter() - start:.2f} s", file=sys.stderr)
    out.write_text(json.dumps(written, indent=1, sort_keys=True))


def compare(before: Path, after: Path, what: str) -> int:
    a: dict[str, Any] = json.loads(before.read_text())
    b: dict[str, Any] = json.loads(after.read_text())
    differ = 0
    for rel in sorted(set(a) | set(b)):
        for name in sorted(set(a.get(rel, {})) | set(b.get(rel, {}))):
            if a.get(rel, {}).get(name) != b.get(rel, {}).get(name):
                differ += 1
                print(f"DIFFERS {rel} {name}\n--- before\n{a.get(rel, {}).get(name)}\n--- after\n"
                      f"{b.get(rel, {}).get(name)}\n")
    total = sum(len(v) for v in b.values())
    print(f"{len(b)} captures, {total} {what}, {differ} differ")
    return 1 if differ else 0
