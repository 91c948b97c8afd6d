"""tshark as the oracle: run it once per (file, fields, options) and cache the answer.

``tshark_fields(path, fields)`` returns one dict per frame (all frames, in order):
field name -> the text tshark prints, with every occurrence joined by ','
(``-E occurrence=a -E aggregator=,``); absent fields are missing from the dict.
"""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

TSHARK = "tshark"


@functools.lru_cache(maxsize=256)
def _run(path: str, fields: tuple[str, ...], options: tuple[str, ...], display_filter: str,
         two_pass: bool = False) -> tuple[str, int]:
    cmd = [TSHARK, *(["-2"] if two_pass else []), "-n", "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
           "-E", "separator=\t", "-E", "quote=n"]
    for opt in options:
        cmd += ["-o", opt]
    if display_filter:
        cmd += ["-Y", display_filter]
    for f in fields:
        cmd += ["-e", f]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False,
                          timeout=900)  # (a hung tshark fails the test, not the whole run)
    return proc.stdout, proc.returncode


def tshark_fields(path: Path | str, fields: list[str] | tuple[str, ...], *,
                  options: tuple[str, ...] = (), display_filter: str = "",
                  two_pass: bool = False) -> list[dict[str, str]]:
    """two_pass: tshark -2 (the fields naming later frames, such as http.response_in, are filled)."""
    out, _ = _run(str(path), tuple(fields), tuple(options), display_filter, two_pass)
    rows: list[dict[str, str]] = []
    for line in out.splitlines():
        values = line.split("\t")
        rows.append({f: v for f, v in zip(fields, values, strict=False) if v != ""})
    return rows


def tshark_returncode(path: Path | str) -> int:
    return _run(str(path), ("frame.number",), (), "")[1]
