"""Check that ``pcapkit congestion`` writes the same bytes as a reference checkout of pcapkit
(before a rewrite of the report), on every capture given.

    python benchmarks/congestion/cli_equal.py --ref CHECKOUT [--corpus DIR] [--ref-cache FILE] CAPTURE...

Runs itself twice, as a child process, once with ``CHECKOUT`` first on ``PYTHONPATH`` (the
reference) and once with this checkout; each runs, in one process (click's runner, the
CLI's own code: its output is the whole process' one, which
tests/cli/test_small_file_imports_more.py checks), every variant of :data:`VARIANTS` on
every capture, and keeps per run the exit code, a digest of standard output and, for
``--format parquet``, digests of the file's bytes and of the table read back (values and
dtypes). ``--stream`` variants take the capture's first and last stream. Prints each
difference and exits 1 if there is one. ``--corpus``: also every capture of that corpus
whose INDEX.tsv lists tcp.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[2]
PARQUET = "{parquet}"
FIRST_STREAM, LAST_STREAM = "{first}", "{last}"
VARIANTS = [[], ["--format", "csv"], ["--format", "json"], ["-o", PARQUET],
            ["--summary"], ["--summary", "--format", "csv"], ["--summary", "--format", "json"],
            ["--summary", "-o", PARQUET],
            ["--stream", FIRST_STREAM], ["--stream", LAST_STREAM, "--format", "csv"],
            ["--stream", LAST_STREAM, "--summary"]]


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:16]


def _streams(path: str) -> tuple[int, int]:
    """The first and last tcp.stream of ``path`` (0, 0 without TCP)."""
    from pcapkit.reports.congestion import congestion_summary_table

    try:
        ids = congestion_summary_table(path)["tcp.stream"].values
    except Exception:
        return 0, 0
    return (int(ids.min()), int(ids.max())) if len(ids) else (0, 0)


def _parquet(target: Path) -> dict[str, str]:
    import pandas as pd

    if not target.exists():
        return {"parquet": "none"}
    frame = pd.read_parquet(target)
    table = frame.to_csv(index=False).encode() + repr(list(frame.dtypes.astype(str))).encode()
    return {"parquet_bytes": digest(target.read_bytes()), "parquet_table": digest(table)}


def dump(paths: list[str]) -> dict[str, Any]:
    """What this process' ``pcapkit congestion`` writes for ``paths`` (see the module doc)."""
    from click.testing import CliRunner

    from pcapkit.cli.main import cli

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for path in paths:
            first, last = _streams(path)
            runs: dict[str, Any] = {}
            for variant in VARIANTS:
                target = Path(tmp) / "out.parquet"
                target.unlink(missing_ok=True)
                values = {PARQUET: str(target), FIRST_STREAM: str(first), LAST_STREAM: str(last)}
                argv = ["congestion", path, *[values.get(a, a) for a in variant]]
                result = CliRunner().invoke(cli, argv, env={"COLUMNS": "120"})
                run = {"exit": result.exit_code, "stdout": digest(result.stdout_bytes)}
                if PARQUET in variant:
                    run.update(_parquet(target))
                runs[" ".join(variant) or "(table)"] = run
            out[path] = runs
    return out


def captures(args: argparse.Namespace) -> list[str]:
    found = [str(Path(p)) for p in args.captures]
    if args.corpus:
        with open(Path(args.corpus) / "INDEX.tsv", newline="") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                if "tcp" in row["protocols"].split(","):
                    found.append(str(Path(args.corpus) / row["path"]))
    return found


def run_side(checkout: Path, paths: list[str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        listing, result = Path(tmp) / "paths.json", Path(tmp) / "out.json"
        listing.write_text(json.dumps(paths))
        env = dict(os.environ, PYTHONPATH=str(checkout))
        subprocess.run([sys.executable, __file__, "--dump", str(listing), str(result)], env=env, check=True)
        return json.loads(result.read_text())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("captures", nargs="*")
    ap.add_argument("--ref", help="the reference checkout (its directory holds the pcapkit package)")
    ap.add_argument("--corpus", help="a corpus directory with INDEX.tsv")
    ap.add_argument("--ref-cache", help="keep the reference's runs in this JSON file, and reuse them when it "
                    "holds every capture (the reference does not change between runs)")
    ap.add_argument("--dump", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.dump:
        paths = json.loads(Path(args.dump[0]).read_text())
        Path(args.dump[1]).write_text(json.dumps(dump(paths)))
        return 0
    if not args.ref:
        ap.error("--ref is needed")
    paths = captures(args)
    cache = Path(args.ref_cache) if args.ref_cache else None
    ref = json.loads(cache.read_text()) if cache is not None and cache.exists() else {}
    if not set(paths) <= set(ref):
        ref.update(run_side(Path(args.ref), [p for p in paths if p not in ref]))
        if cache is not None:
            cache.write_text(json.dumps(ref))
    new = run_side(HERE, paths)
    differences = runs = 0
    for path in paths:
        for variant, run in ref[path].items():
            runs += 1
            if new[path].get(variant) != run:
                differences += 1
                print(f"{path} [{variant}]: {run} != {new[path].get(variant)}")
    print(f"{len(paths)} captures, {runs} runs compared, {differences} differences")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
