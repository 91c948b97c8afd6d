"""Application columns of the packets table (``read_packets(..., application=True)``):
the main DNS, HTTP and TLS fields, from pcapkit's per-packet dissectors.

The fast path decodes headers only. With ``application=True`` each batch hands the frames
that can carry a DNS, HTTP or TLS message to :func:`pcapkit.dissect.driver.dissect`, in file
order through one :class:`~pcapkit.dissect.driver.DissectSession` for the whole file (so
TCP streams are reassembled and a message spanning segments lands in the frame with its
last byte, as in tshark). Those frames are the ones with a TCP or UDP port the registry
dispatches to the DNS, HTTP or TLS dissector (either side: the dissector decides), plus
the rows the fast path left to the per-packet path (IP fragments, tunnels: their inner
ports are unknown here). Every other frame is not dissected, and its application columns
are missing -- the cost grows with those frames, and nothing changes for callers who do
not ask. The per-packet rows are dissected a second time, in this session of their own.

A field that occurs several times in a frame (two questions, two handshake messages)
holds its first occurrence, as ``tshark -T fields -E occurrence=f``. Dtypes are those of
the fields' specs (:func:`pcapkit.fields.dtype_for`), as in every other table, whatever
``dtype_backend``. HTTP over UDP (SSDP) and HTTP that tshark's heuristic finds on other TCP
ports, which the per-packet dissection shows, are not looked for here: their columns stay
missing.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from pcapkit.capture.batch import RecordBatch
from pcapkit.columnar.columns import Columns

APPLICATION_COLUMNS: tuple[str, ...] = (
    "dns.id", "dns.flags.response", "dns.qry.name",
    "http.request.method", "http.request.uri", "http.host", "http.response.code",
    "tls.handshake.type", "tls.handshake.extensions_server_name",
)
_WANTED = frozenset(APPLICATION_COLUMNS)
_DISSECTORS = ("pcapkit.dissect.dns", "pcapkit.dissect.http", "pcapkit.dissect.tls")


@functools.lru_cache(maxsize=1)
def specs() -> dict[str, Any]:
    """The FieldSpec of each application column (the dissectors' declarations)."""
    from pcapkit.dissect.registry import field_specs

    declared = field_specs()
    return {name: declared[name] for name in APPLICATION_COLUMNS}


def dtypes() -> dict[str, Any]:
    """Application column -> pandas dtype."""
    from pcapkit.fields import dtype_for

    return {name: dtype_for(spec) for name, spec in specs().items()}


@functools.lru_cache(maxsize=2)
def application_ports(transport: str) -> np.ndarray:
    """The ``transport`` ("tcp"/"udp") ports the registry hands to the DNS, HTTP or TLS dissector."""
    from pcapkit.dissect import registry

    keys = [int(key) for key, target in registry.table(transport + ".port").items()
            if target.partition(":")[0] in _DISSECTORS]
    return np.array(sorted(keys), dtype=np.uint16)


def _on_port(cols: Columns, transport: str) -> np.ndarray:
    ports = application_ports(transport)
    hit = np.zeros(cols.n, dtype=bool)
    for side in ("srcport", "dstport"):
        name = f"{transport}.{side}"
        values = cols.values.get(name)
        if values is not None:
            hit |= cols.valid[name] & np.isin(values, ports)
    return hit


def candidate_rows(cols: Columns) -> np.ndarray:
    """The rows of a decoded batch that are dissected for the application columns."""
    return np.flatnonzero(cols.fallback | _on_port(cols, "tcp") | _on_port(cols, "udp"))


def _first(value: Any) -> Any:
    if isinstance(value, list):
        return value[0] if value else None
    return value


def fill(rb: RecordBatch, cols: Columns, session: Any) -> None:
    """Set ``cols.application``: per application column, the rows that have a value and
    the values (sparse: most frames have none)."""
    from pcapkit.columnar.perpacket import gc_paused
    from pcapkit.dissect.driver import dissect
    from pcapkit.frame import Frame

    out: dict[str, tuple[list[int], list[Any]]] = {name: ([], []) for name in APPLICATION_COLUMNS}
    buf = rb.buf
    with gc_paused():
        for i in candidate_rows(cols).tolist():
            lt = int(rb.linktype[i])
            if lt < 0:
                continue  # a pcapng record that is not a packet
            off, cap = int(rb.data_off[i]), int(rb.caplen[i])
            frame = Frame(rb.first_number + i, int(rb.ts_ns[i]), cap, int(rb.wirelen[i]), lt,
                          max(0, int(rb.interface_id[i])), buf[off:off + cap].tobytes())
            seen: set[str] = set()
            for layer in dissect(frame, session).layers:
                lf = layer.fields
                for name in (_WANTED & lf.keys()) - seen:  # the first occurrence wins
                    value = _first(lf[name])
                    if value is not None:
                        seen.add(name)
                        rows, values = out[name]
                        rows.append(i)
                        values.append(value)
    cols.application = out


def to_array(sparse: tuple[list[int], list[Any]] | None, n: int, dtype: Any) -> Any:
    """An application column's pandas array of ``n`` rows from its (rows, values); missing
    elsewhere. Built from the few values, then spread by a take (a pandas array built from
    ``n`` mostly-None objects costs ~20 ms per 100,000 rows and column)."""
    import pandas as pd

    rows, values = sparse if sparse is not None else ([], [])
    indexer = np.full(n, -1, dtype=np.intp)
    indexer[np.asarray(rows, dtype=np.intp)] = np.arange(len(rows), dtype=np.intp)
    return pd.array(values, dtype=dtype).take(indexer, allow_fill=True)


def concat(parts: list[tuple[int, tuple[list[int], list[Any]] | None]]) -> tuple[list[int], list[Any]]:
    """One column's (rows, values) out of consecutive batches' ((rows in batch, (rows, values)))."""
    rows: list[int] = []
    values: list[Any] = []
    start = 0
    for n, sparse in parts:
        if sparse is not None:
            rows.extend(r + start for r in sparse[0])
            values.extend(sparse[1])
        start += n
    return rows, values
