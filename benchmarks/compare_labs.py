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

from collections.abc import Callable
from importlib import import_module
from typing import Any

from corpus_answers import main

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


def answers(path: str) -> dict[str, str]:
    return {name: record(getattr(import_module(module), function), path) for name, (module, function) in LABS.items()}


if __name__ == "__main__":
    main(__doc__, answers, "lab answers")
