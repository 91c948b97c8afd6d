"""What the scripts that check a rewrite against a reference checkout share
(``paths_equal.py``, ``cli_equal.py``): their command line, the captures it names, and
running the script itself as a child process in each checkout, which writes its dump of
every capture as JSON (the reference's may be kept in a cache file: it does not change).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[2]  # this checkout


def both_sides(doc: str | None, script: str,
               dump: Callable[[list[str]], dict[str, Any]]) -> tuple[list[str], dict[str, Any], dict[str, Any]] | None:
    """The captures, the reference checkout's dump and this checkout's; None in the child
    process (``--dump``), which writes ``dump(paths)`` and is done."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("captures", nargs="*", help="captures, or directories of them")
    ap.add_argument("--ref", help="the reference checkout (its directory holds the pcapkit package)")
    ap.add_argument("--corpus", help="a corpus directory with INDEX.tsv")
    ap.add_argument("--ref-cache", help="keep the reference's dump in this JSON file, and reuse it for the "
                    "captures it holds (the reference does not change between runs)")
    ap.add_argument("--dump", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dump:
        paths = json.loads(Path(args.dump[0]).read_text())
        Path(args.dump[1]).write_text(json.dumps(dump(paths)))
        return None
    if not args.ref:
        ap.error("--ref is needed")
    paths = captures(args.captures, args.corpus)
    cache = Path(args.ref_cache) if args.ref_cache else None
    ref = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    if not set(paths) <= set(ref):
        ref.update(run_side(script, Path(args.ref), [p for p in paths if p not in ref]))
        if cache is not None:
            cache.write_text(json.dumps(ref))
    return paths, ref, run_side(script, HERE, paths)


def captures(items: list[str], corpus: str | None) -> list[str]:
    """The captures named (a directory: its pcap files), and with ``corpus`` every capture
    of its INDEX.tsv that lists tcp."""
    found: list[str] = []
    for item in items:
        p = Path(item)
        found += sorted(str(f) for f in p.glob("*.pcap*")) if p.is_dir() else [str(p)]
    if corpus:
        with open(Path(corpus) / "INDEX.tsv", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if "tcp" in row["protocols"].split(","):
                    found.append(str(Path(corpus) / row["path"]))
    return found


def run_side(script: str, checkout: Path, paths: list[str]) -> dict[str, Any]:
    """``script --dump`` run with ``checkout`` first on PYTHONPATH: its dump of ``paths``."""
    with tempfile.TemporaryDirectory() as tmp:
        listing, result = Path(tmp) / "paths.json", Path(tmp) / "out.json"
        listing.write_text(json.dumps(paths))
        env = dict(os.environ, PYTHONPATH=str(checkout))
        subprocess.run([sys.executable, script, "--dump", str(listing), str(result)], env=env, check=True)
        return json.loads(result.read_text())
