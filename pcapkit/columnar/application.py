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
the fields' specs (:func:`pcapkit.fields.dtype_for`), as in every other table.
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
    """Set ``cols.application``: one object array (None: missing) per application column."""
    from pcapkit.columnar.perpacket import gc_paused
    from pcapkit.dissect.driver import dissect
    from pcapkit.frame import Frame

    n = cols.n
    out = {name: np.full(n, None, dtype=object) for name in APPLICATION_COLUMNS}
    buf = rb.buf
    with gc_paused():
        for i in candidate_rows(cols).tolist():
            lt = int(rb.linktype[i])
            if lt < 0:
                continue  # a pcapng record that is not a packet
            off, cap = int(rb.data_off[i]), int(rb.caplen[i])
            frame = Frame(rb.first_number + i, int(rb.ts_ns[i]), cap, int(rb.wirelen[i]), lt,
                          max(0, int(rb.interface_id[i])), buf[off:off + cap].tobytes())
            for layer in dissect(frame, session).layers:
                lf = layer.fields
                for name in _WANTED & lf.keys():
                    column = out[name]
                    if column[i] is None:
                        column[i] = _first(lf[name])
    cols.application = out


def to_array(values: np.ndarray | None, n: int, dtype: Any) -> Any:
    """An application column's pandas array (all missing when ``values`` is None)."""
    import pandas as pd

    if values is None:
        values = np.full(n, None, dtype=object)
    return pd.array(values, dtype=dtype)
