"""``pcapkit dns`` and ``pcapkit http`` on every corpus capture, written down to compare two checkouts.

    PYTHONPATH=CHECKOUT python benchmarks/compare_app_reports.py --corpus CORPUS --out reports.json
    python benchmarks/compare_app_reports.py --compare before.json after.json

The first form runs, in one process, the command line (click's runner: exit code, standard
output, standard error, and the bytes of the file ``-o`` wrote) of ``dns`` and ``http`` on
each capture listed in the corpus's INDEX.tsv, in every format (table, csv, json, parquet),
then as a table from standard input and with a filter; and the library's DataFrames
(``dns_queries``, ``http_requests``: CSV text, dtypes and attrs). The second prints every
capture/run whose record differs and exits 1 if any does: reading only the frames that can
hold DNS or HTTP must give what reading them all gave.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from corpus_answers import main

FORMATS = ("table", "csv", "json", "parquet")
FILTERS = {"dns": "udp or icmp", "http": "tcp"}


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cli_record(command: str, args: list[str], stdin: bytes | None, target: Path | None) -> str:
    from click.testing import CliRunner

    from pcapkit.cli.main import cli

    if target is not None:
        target.unlink(missing_ok=True)
    result = CliRunner().invoke(cli, [command, *args], input=stdin)
    written = target.read_bytes() if target is not None and target.exists() else b""
    error = "" if result.exception is None or isinstance(result.exception, SystemExit) else repr(result.exception)
    return (f"exit {result.exit_code} {error}\nstdout {_digest(result.stdout_bytes)}\n"
            f"stderr {result.stderr_bytes.decode(errors='replace')}\nfile {_digest(written)}")


def library_record(command: str, path: str) -> str:
    from pcapkit.reports.dns_report import dns_queries
    from pcapkit.reports.http_report import http_requests

    try:
        df = (dns_queries if command == "dns" else http_requests)(path)
    except Exception as exc:
        return f"error {type(exc).__name__}: {exc}"
    attrs = {k: v for k, v in sorted(df.attrs.items())}
    return f"{df.to_csv(index=False)}\ndtypes {df.dtypes.astype(str).to_dict()}\nattrs {attrs!r}"


def records(path: str) -> dict[str, str]:
    # (the same -o path in both checkouts' runs: it appears in no output)
    scratch = Path(tempfile.gettempdir()) / "pcapkit-compare-app-reports"
    scratch.mkdir(exist_ok=True)
    out: dict[str, str] = {}
    for command in ("dns", "http"):
        for fmt in FORMATS:
            target = scratch / f"out.{fmt}" if fmt == "parquet" else None
            args = [path, "--format", fmt] + (["-o", str(target)] if target is not None else [])
            out[f"{command} {fmt}"] = cli_record(command, args, None, target)
        out[f"{command} stdin"] = cli_record(command, ["-"], Path(path).read_bytes(), None)
        out[f"{command} filter"] = cli_record(command, [path, FILTERS[command]], None, None)
        out[f"{command} library"] = library_record(command, path)
    return out


if __name__ == "__main__":
    main(__doc__, records, "runs")
