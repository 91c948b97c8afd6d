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

import hashlib
import sys
import tempfile
from pathlib import Path
from typing import Any

from checkouts import both_sides

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


def main() -> int:
    sides = both_sides(__doc__, __file__, dump)
    if sides is None:
        return 0
    paths, ref, new = sides
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
