"""``pcapkit http``: one row per HTTP/1.x request with the response the HTTP dissector matched.

A request is shown at the frame that completes it (where tshark shows it), with that
frame's ``frame.number`` and ``frame.time_epoch``, the client (``ip.src``/``ipv6.src``,
``tcp.srcport``) and the server (the destination), ``http.host``,
``http.request.method`` and ``http.request.uri``. The response is the one whose
``http.request_in`` names the request's frame on the same connection, reversed (the
dissector's one-pass matching, as tshark's): ``http.response_in`` (its frame, as
``tshark -2`` shows it on the request), ``http.response.code``, ``http.content_length``
(the response's Content-Length; empty without the header) and ``http.time`` (seconds
from the request to the response). A request without response keeps those empty.

``filter``: a tcpdump expression choosing the requests listed (responses are matched over
the whole capture).
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.reports.dns_report import addressing

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.dissect.driver import Packet

COLUMNS: dict[str, str] = {
    "frame.number": "uint32",
    "frame.time_epoch": "datetime64[ns]",
    "ip.src": "category", "ipv6.src": "category", "tcp.srcport": "UInt16",
    "ip.dst": "category", "ipv6.dst": "category", "tcp.dstport": "UInt16",
    "http.host": "string",
    "http.request.method": "string",
    "http.request.uri": "string",
    "http.response_in": "Int64",
    "http.response.code": "UInt16",
    "http.content_length": "Int64",
    "http.time": "timedelta64[ns]",
}

_ENDS = ("ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport")


def _ends(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(k) for k in _ENDS)


def _reversed(ends: tuple[Any, ...]) -> tuple[Any, ...]:
    return ends[3:] + ends[:3]


def http_requests(path: str | PathLike[str], *, filter: str | None = None, selective: bool = True) -> pd.DataFrame:
    """One row per HTTP request of the capture at ``path`` (see the module docstring); standard
    input and a FIFO are read once (the filter needs a second pass over a copy).
    ``selective`` False: dissect every frame (what the frame selection is checked against)."""
    from pcapkit.reports.typed_rows import to_frame

    return to_frame(http_requests_table(path, filter=filter, selective=selective))


def http_requests_table(path: str | PathLike[str], *, filter: str | None = None,
                        selective: bool = True) -> ColumnTable:
    """:func:`http_requests` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what
    the CLI writes, without pandas)."""
    from pcapkit.reports.app_frames import report_table

    return report_table(path, filter, "http", _requests, selective)


def _requests(packets: Iterable[Packet], warnings: list[str], keep: set[int] | None) -> ColumnTable:
    """The report's table from the packets (those without HTTP are passed over)."""
    from pcapkit.reports.typed_rows import typed_table

    rows: list[dict[str, Any]] = []
    by_frame: dict[int, list[dict[str, Any]]] = {}
    for packet in packets:
        number = packet.frame.number
        for at, layer in enumerate(packet.layers):
            if layer.protocol != "http":
                continue  # (before .fields: the other layers' fields are decoded on first use)
            f = layer.fields
            if f.get("http.request"):
                row = {"frame.number": number, "frame.time_epoch": packet.frame.ts_ns, **addressing(packet, at),
                       "http.host": f.get("http.host"), "http.request.method": f.get("http.request.method"),
                       "http.request.uri": f.get("http.request.uri")}
                by_frame.setdefault(number, []).append(row)
                if keep is None or number in keep:
                    rows.append(row)
            elif f.get("http.response") and "http.request_in" in f:
                ends = _reversed(_ends(addressing(packet, at)))
                request = next((r for r in by_frame.get(f["http.request_in"], [])
                                if "http.response_in" not in r and _ends(r) == ends), None)
                if request is not None:
                    request.update({"http.response_in": number, "http.response.code": f.get("http.response.code"),
                                    "http.content_length": f.get("http.content_length"),
                                    "http.time": f.get("http.time")})
    return typed_table(rows, COLUMNS, {"pcapkit.error": warnings[0]} if warnings else None)
