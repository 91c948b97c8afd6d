"""Compare the columnar packets table with tshark, field by field (shared by tests)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from oracle import tshark_fields

from pcapkit.columnar import dtypes as dt
from pcapkit.columnar.api import read_packets
from pcapkit.errors import PcapkitError

# absolute SACK edges, as the columnar table holds them
TSHARK_OPTIONS = ("tcp.relative_sequence_numbers:FALSE",)
FIRST_OF_LIST = {"tcp.options.sack_le", "tcp.options.sack_re"}
PRESENCE = {"tcp.options.sack_perm"}


def render(spec: Any, value: Any) -> str | None:
    """Our value as tshark prints it (None: missing)."""
    if value is None or value is pd.NaT or (not isinstance(value, str) and pd.isna(value)):
        return None
    if spec.ftype == "time_ns":
        from pcapkit.frame import format_epoch_ns

        return format_epoch_ns(int(pd.Timestamp(value).value))
    if spec.ftype == "bool":
        return "1" if bool(value) else "0"
    if spec.ftype in ("uint", "int", "framenum"):
        return str(spec.render(int(value)))
    return str(value)


def compare(path: Path) -> tuple[int, int, list[str]]:
    """(rows compared, rows marked fallback, mismatch descriptions)."""
    columns = [c for c in dt.COLUMNS]
    rows = tshark_fields(path, columns, options=TSHARK_OPTIONS)
    try:
        df = read_packets(path, strict=False)
    except PcapkitError as exc:
        return 0, 0, [f"raised {exc}"] if rows else []
    specs = dt.specs()
    problems: list[str] = []
    if len(df) != len(rows):
        problems.append(f"frame count {len(df)} != tshark {len(rows)}")
    fb = df[dt.FALLBACK].to_numpy(dtype=bool)
    values = {c: df[c].astype(object).to_numpy() for c in columns}
    compared = 0
    for i, trow in enumerate(rows[: len(df)]):
        if fb[i]:
            continue
        compared += 1
        for c in columns:
            ours = render(specs[c], values[c][i])
            theirs = trow.get(c)
            if c in PRESENCE:
                ok = (ours == "1") == (theirs is not None)
            elif c in FIRST_OF_LIST and theirs is not None:
                ok = ours == theirs.split(",")[0]
            else:
                ok = ours == theirs
            if not ok:
                problems.append(f"frame {i + 1} {c}: ours {ours!r} tshark {theirs!r}")
    return compared, int(fb.sum()), problems
