"""``pcapkit dns``: one row per DNS query with the response the DNS dissector matched to it.

The matching is the dissector's (:mod:`pcapkit.dissect.dns_track`, tshark 4.0's one pass):
a response carries ``dns.response_to`` (the query's frame) and ``dns.time``; this report
turns that round into the query's ``dns.response_in``, as ``tshark -2`` shows it. A query
nobody answered (or a retransmitted query, whose answer tshark gives to the first copy)
keeps empty response columns. Names are Wireshark's where the value is Wireshark's field:
the query's ``frame.number``, ``frame.time_epoch``, addresses and ports, ``dns.id``,
``dns.qry.name``, ``dns.qry.type``; then the response's ``dns.response_in``, ``dns.time``
(seconds), ``dns.flags.rcode``, ``dns.count.answers`` and ``answers`` (the answer records
as "owner TYPE value" text, "; " between them). ``type`` is ``dns.qry.type``'s name.

``filter``: a tcpdump expression choosing the queries listed (their responses are matched
over the whole capture, as tshark matches them before ``-Y``).
"""

from __future__ import annotations

from collections.abc import Iterable
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.reports.dns_records import record_texts, type_name

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.dissect.driver import Packet

COLUMNS: dict[str, str] = {
    "frame.number": "uint32",
    "frame.time_epoch": "datetime64[ns]",
    "ip.src": "category", "ipv6.src": "category", "udp.srcport": "UInt16", "tcp.srcport": "UInt16",
    "ip.dst": "category", "ipv6.dst": "category", "udp.dstport": "UInt16", "tcp.dstport": "UInt16",
    "dns.id": "UInt16",
    "dns.qry.name": "string",
    "dns.qry.type": "UInt16",
    "type": "string",
    "dns.retransmission": "boolean",
    "dns.response_in": "Int64",
    "dns.time": "timedelta64[ns]",
    "dns.flags.rcode": "UInt16",
    "dns.count.answers": "UInt16",
    "answers": "string",
}


def addressing(packet: Packet, upto: int) -> dict[str, Any]:
    """The addresses and ports of the innermost IP and UDP/TCP layers before layer ``upto``."""
    out: dict[str, Any] = {}
    for layer in reversed(packet.layers[:upto]):
        proto = layer.protocol
        if proto in ("udp", "tcp") and not any(k.endswith("port") for k in out):
            out[f"{proto}.srcport"], out[f"{proto}.dstport"] = layer.get(f"{proto}.srcport"), layer.get(f"{proto}.dstport")
        elif proto in ("ip", "ipv6"):
            out[f"{proto}.src"], out[f"{proto}.dst"] = str(layer.get(f"{proto}.src")), str(layer.get(f"{proto}.dst"))
            break
    return out


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def dns_queries(path: str | PathLike[str], *, filter: str | None = None, selective: bool = True) -> pd.DataFrame:
    """One row per DNS query of the capture at ``path`` (see the module docstring); standard
    input and a FIFO are read once (the filter needs a second pass over a copy).
    ``selective`` False: dissect every frame (what the frame selection is checked against)."""
    from pcapkit.reports.typed_rows import to_frame

    return to_frame(dns_queries_table(path, filter=filter, selective=selective))


def dns_queries_table(path: str | PathLike[str], *, filter: str | None = None,
                      selective: bool = True) -> ColumnTable:
    """:func:`dns_queries` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what
    the CLI writes, without pandas)."""
    from pcapkit.reports.app_frames import report_table

    return report_table(path, filter, "dns", _queries, selective)


def _queries(packets: Iterable[Packet], warnings: list[str], keep: set[int] | None) -> ColumnTable:
    """The report's table from the packets (those without DNS are passed over)."""
    from pcapkit.reports.typed_rows import typed_table

    queries: dict[int, dict[str, Any]] = {}
    for packet in packets:
        for at, layer in enumerate(packet.layers):
            if layer.protocol != "dns":
                continue  # (before .fields: the other layers' fields are decoded on first use)
            f = layer.fields
            if "dns.flags" not in f:
                continue
            number = packet.frame.number
            if not f.get("dns.flags.response"):
                if (keep is None or number in keep) and number not in queries:
                    qtype = _first(f.get("dns.qry.type"))
                    queries[number] = {
                        "frame.number": number, "frame.time_epoch": packet.frame.ts_ns, **addressing(packet, at),
                        "dns.id": f.get("dns.id"), "dns.qry.name": _first(f.get("dns.qry.name")),
                        "dns.qry.type": qtype, "type": None if qtype is None else type_name(qtype),
                        "dns.retransmission": bool(f.get("dns.retransmission")),
                    }
                continue
            query = queries.get(f.get("dns.response_to"))  # type: ignore[arg-type]
            if query is None or query.get("dns.response_in") is not None:
                continue
            query.update({"dns.response_in": number, "dns.time": f.get("dns.time"),
                          "dns.flags.rcode": f.get("dns.flags.rcode"),
                          "dns.count.answers": f.get("dns.count.answers"),
                          "answers": "; ".join(record_texts(f)[0])})
    return typed_table(list(queries.values()), COLUMNS, {"pcapkit.error": warnings[0]} if warnings else None)
