"""Rows the fast path marked, decoded by the per-packet dissectors.

:func:`fill` runs :func:`pcapkit.dissect.driver.dissect` on each marked frame (in file
order, through one :class:`~pcapkit.dissect.driver.DissectSession`, so IP fragments
are reassembled as tshark does) and replaces the row's header fields with the
dissector's, so a value never depends on which path decoded the row. A field that
occurs several times (tunnels, ICMP errors quoting a datagram) keeps its first, outer
occurrence. The ``pcapkit.fallback`` column stays True on these rows: it says which
path decoded them.
"""

from __future__ import annotations

import socket
from typing import Any

import numpy as np

from pcapkit.capture.batch import RecordBatch
from pcapkit.columnar import dtypes
from pcapkit.columnar.decode import Columns

# the columns the file layer gives (never taken from the dissector)
FRAME_COLUMNS = frozenset({"frame.number", "frame.time_epoch", "frame.len", "frame.cap_len",
                           "frame.interface_id"})
_HEADER_SPECS = [spec for name, spec in dtypes.specs().items() if name not in FRAME_COLUMNS]


def new_session() -> Any:
    """A dissection session for one file."""
    from pcapkit.dissect.driver import DissectSession

    return DissectSession()


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def header_values(fields: dict[str, Any]) -> dict[str, Any]:
    """The packets-table values of one dissected frame (native Python values)."""
    out: dict[str, Any] = {}
    for spec in _HEADER_SPECS:
        v = _first(fields.get(spec.name))
        if v is not None:
            out[spec.name] = v
    if "tcp.srcport" in fields:
        kinds = fields.get("tcp.option_kind", [])
        kinds = kinds if isinstance(kinds, list) else [kinds]
        out["tcp.options.sack_perm"] = 4 in kinds
    return out


def _key(ftype: str, value: Any) -> Any:
    """The value as the decoder stores it (addresses as the integer of their bytes)."""
    if ftype == "ether":
        return int(str(value).replace(":", ""), 16)
    if ftype == "ipv4":
        return int.from_bytes(socket.inet_aton(str(value)), "big")
    if ftype == "bool":
        return bool(value)
    return int(value)


def fill(rb: RecordBatch, cols: Columns, session: Any) -> int:
    """Decode the marked rows of ``cols`` with the per-packet path; returns how many."""
    if session is None:
        return 0
    from pcapkit.dissect.driver import dissect
    from pcapkit.frame import Frame

    rows = np.nonzero(cols.fallback)[0]
    if rows.size == 0:
        return 0
    # the per-packet path decides every header field of these rows
    for name, valid in cols.valid.items():
        if name not in FRAME_COLUMNS:
            valid[rows] = False
    buf = rb.buf
    for i in rows.tolist():
        lt = int(rb.linktype[i])
        if lt < 0:
            continue  # a pcapng record that is not a packet
        off = int(rb.data_off[i])
        cap = int(rb.caplen[i])
        frame = Frame(number=rb.first_number + i, ts_ns=int(rb.ts_ns[i]), caplen=cap,
                      wirelen=int(rb.wirelen[i]), linktype=lt,
                      interface_id=max(0, int(rb.interface_id[i])),
                      data=buf[off:off + cap].tobytes())
        values = header_values(dissect(frame, session).fields())
        one = np.array([i], dtype=np.int64)
        for spec in _HEADER_SPECS:
            v = values.get(spec.name)
            if v is None:
                continue
            if spec.ftype == "ipv6":
                n = int.from_bytes(socket.inet_pton(socket.AF_INET6, str(v)), "big")
                cols.set(spec.name + ".hi", one, n >> 64, np.uint64)
                cols.set(spec.name + ".lo", one, n & ((1 << 64) - 1), np.uint64)
                continue
            try:
                cols.set(spec.name, one, _key(spec.ftype, v))
            except (TypeError, ValueError, OverflowError):
                continue  # a value the column cannot hold (e.g. bytes); leave it missing
    return int(rows.size)
