"""DNS records as text, for the DNS lab and ``pcapkit dns``: a record type's name as
tshark prints it, and each answer/authority/additional record as "owner TYPE value"."""

from __future__ import annotations

from typing import Any

# record type -> the field holding its value (a type without one shows the type alone)
_VALUE_FIELDS = {1: "dns.a", 2: "dns.ns", 5: "dns.cname", 6: "dns.soa.mname", 12: "dns.ptr.domain_name",
                 15: "dns.mx.mail_exchange", 28: "dns.aaaa", 33: "dns.srv.target"}


def _list(value: Any) -> list[Any]:
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def type_name(rtype: int) -> str:
    """tshark's name of a record type (``TYPE<n>`` for one it does not name)."""
    from pcapkit.dissect.dns import TYPE_NAMES

    return TYPE_NAMES.get(rtype, f"TYPE{rtype}")


def record_texts(f: dict[str, Any]) -> tuple[list[str], list[str], list[str]]:
    """The answer, authority and additional records as "owner TYPE value" texts, in order.
    Values are taken per type in the order the dissector found them (an SRV record's owner
    is in ``dns.srv.*``, not ``dns.resp.name``; NSEC type bitmaps, which tshark lists as
    more ``dns.resp.type`` values, are not expected in lab traces)."""
    types = _list(f.get("dns.resp.type"))
    owners = _list(f.get("dns.resp.name"))
    queues = {t: _list(f.get(name)) for t, name in _VALUE_FIELDS.items()}
    texts: list[str] = []
    for rtype in types:
        queue = queues.get(rtype)
        value = queue.pop(0) if queue else None
        owner = "" if rtype == 33 or not owners else f"{owners.pop(0)} "
        texts.append(f"{owner}{type_name(rtype)}" + ("" if value is None else f" {value}"))
    counts = [f.get(n) or 0 for n in ("dns.count.answers", "dns.count.auth_rr", "dns.count.add_rr")]
    a, b = counts[0], counts[0] + counts[1]
    return texts[:a], texts[a:b], texts[b:]
