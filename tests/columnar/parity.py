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


def compare(path: Path, include_fallback: bool = False) -> tuple[int, int, list[str]]:
    """(rows compared, rows marked fallback, mismatch descriptions).

    Fast-path rows are compared exactly. With ``include_fallback`` the rows decoded by
    the per-packet path are compared too, against tshark's first occurrence of each
    field (the table keeps the outer header of tunnels / quoted datagrams)."""
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
        if fb[i] and not include_fallback:
            continue
        compared += 1
        for c in columns:
            ours = render(specs[c], values[c][i])
            theirs = trow.get(c)
            if fb[i] and theirs is not None:
                theirs = theirs.split(",")[0]
            if c in PRESENCE:
                ok = (ours == "1") == (theirs is not None)
            elif c in FIRST_OF_LIST and theirs is not None:
                ok = ours == theirs.split(",")[0]
            else:
                ok = ours == theirs
            if not ok:
                problems.append(f"frame {i + 1} {c}: ours {ours!r} tshark {theirs!r}")
    return compared, int(fb.sum()), problems


def compare_driver(path: Path) -> tuple[int, int, list[str]]:
    """Fast-path rows against the per-packet dissectors (pcapkit.dissect.driver), every column.

    Returns (rows compared, non-missing values compared, mismatch descriptions)."""
    from pcapkit.columnar.perpacket import header_values
    from pcapkit.dissect.driver import DissectSession, dissect
    from pcapkit.frame import Frame

    try:
        df = read_packets(path, strict=False)
    except PcapkitError:
        return 0, 0, []
    specs = dt.specs()
    columns = [c for c in dt.COLUMNS if c not in ("frame.number", "frame.interface_id")]
    fb = df[dt.FALLBACK].to_numpy(dtype=bool)
    values = {c: df[c].astype(object).to_numpy() for c in columns}
    from pcapkit.capture.batch import iter_records

    session = DissectSession()
    problems: list[str] = []
    compared = nonnull = 0
    try:
        for rb in iter_records(str(path)):
            for j in range(len(rb)):
                i = rb.first_number - 1 + j
                lt = int(rb.linktype[j])
                if lt < 0:
                    continue
                off, cap = int(rb.data_off[j]), int(rb.caplen[j])
                frame = Frame(number=i + 1, ts_ns=int(rb.ts_ns[j]), caplen=cap, wirelen=int(rb.wirelen[j]),
                              linktype=lt, interface_id=max(0, int(rb.interface_id[j])),
                              data=rb.buf[off:off + cap].tobytes())
                fields = dissect(frame, session).fields()
                if fb[i]:
                    continue
                compared += 1
                theirs_all = header_values(fields)
                for c in columns:
                    ours = render(specs[c], values[c][i])
                    if c == "frame.time_epoch":
                        theirs = None if ours is None else render(specs[c], pd.Timestamp(int(rb.ts_ns[j]), unit="ns"))
                    elif c in ("frame.len", "frame.cap_len"):
                        theirs = str(fields.get(c))
                    else:
                        v = theirs_all.get(c)
                        theirs = None if v is None else render(specs[c], v)
                    if ours != theirs:
                        problems.append(f"frame {i + 1} {c}: columnar {ours!r} per-packet {theirs!r}")
                    elif ours is not None:
                        nonnull += 1
    except PcapkitError:
        pass
    return compared, nonnull, problems
