"""Answers to the Kurose & Ross "Wireshark lab: DNS" questions, from pcapkit's DNS dissector.

:func:`lab_dns_messages` gives one row per DNS message: frame, time, transport, addresses and
ports, transaction ID, query or response, the question (name, type), the section counts, the
records of each section as "TYPE value" text, and the query a response answers with the time
it took. :func:`lab_dns` turns them into the lab's questions, for every query and its
response in the trace (the v8.0 traces hold one browsing session or one nslookup each):

* are the messages sent over UDP or TCP; the query's destination port and the response's
  source port; the server the query was sent to;
* the query's type and whether it holds answers; how many answers the response holds and
  what each contains; the name servers of the authority section and whether the additional
  section gives their addresses;
* the first TCP SYN after the last response: is its destination among the answers' addresses;
* names queried more than once (does the host query again before each image?).

A question the trace cannot answer says so. Times are relative to the first frame.
"""

from __future__ import annotations

from collections import Counter
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.reports.dns_records import record_texts, type_name
from pcapkit.reports.lab_common import LabError
from pcapkit.reports.lab_read import column, has, port_in, read_selected
from pcapkit.reports.typed_rows import records as rows_of
from pcapkit.reports.typed_rows import typed_table

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.columnar.columns import Columns

_PROTOCOLS = ("dns", "mdns", "llmnr")
_UDP_PORTS = (53, 5353, 5355)   # the registry's DNS, mDNS and LLMNR ports
_TCP_PORTS = (53,)
_SYN, _ACK = 0x002, 0x010
_TEXT, _INT = "string", "Int64"
# the columns of :func:`lab_dns_messages` and their dtypes (``time``: since the first frame)
MESSAGE_COLUMNS: dict[str, str] = {
    "frame": "int64", "time": "timedelta64[ns]", "protocol": _TEXT, "transport": _TEXT, "src": _TEXT,
    "sport": _INT, "dst": _TEXT, "dport": _INT, "id": _TEXT, "kind": _TEXT, "name": _TEXT, "type": _TEXT,
    "answers": _INT, "authority": _INT, "additional": _INT, "answer_records": _TEXT, "authority_records": _TEXT,
    "additional_records": _TEXT, "response_to": _INT, "response_time": "timedelta64[ns]",
}


def _wanted(cols: Columns) -> np.ndarray:
    """The frames the lab looks at: DNS ports, TCP SYNs, and ICMP (an error quotes a datagram)."""
    flags, tcp = column(cols, "tcp.flags")
    return (port_in(cols, "udp", _UDP_PORTS) | port_in(cols, "tcp", _TCP_PORTS)
            | (tcp & (flags & (_SYN | _ACK) == _SYN)) | has(cols, "icmp.type") | has(cols, "icmpv6.type"))


def _list(value: Any) -> list[Any]:
    return [] if value is None else list(value) if isinstance(value, list) else [value]


def lab_dns_messages(path: str | PathLike[str]) -> pd.DataFrame:
    """One row per DNS message of the capture at ``path`` (see the module docstring)."""
    return lab_dns_messages_table(path).to_pandas()


def lab_dns_messages_table(path: str | PathLike[str]) -> ColumnTable:
    """:func:`lab_dns_messages` as a :class:`~pcapkit.columnar.column_table.ColumnTable`
    (what the CLI writes, without pandas); ``attrs["pcapkit.syns"]``: (frame, time,
    destination) of each TCP SYN, for :func:`lab_dns_table`."""
    trace = read_selected(path, _wanted)
    t0 = trace.t0
    rows: list[dict[str, Any]] = []
    syns: list[tuple[int, int, str]] = []
    for packet in trace:
        fr = packet.frame
        net = next((x for x in packet.layers if x.protocol in ("ip", "ipv6")), None)
        src = dst = None
        if net is not None:
            v4 = net.protocol == "ip"
            src, dst = net.get("ip.src" if v4 else "ipv6.src"), net.get("ip.dst" if v4 else "ipv6.dst")
        tcp = next((x for x in packet.layers if x.protocol == "tcp"), None)
        if tcp is not None and tcp.get("tcp.flags.syn") and not tcp.get("tcp.flags.ack") and dst is not None:
            syns.append((fr.number, fr.ts_ns - t0, str(dst)))
        for at, layer in enumerate(packet.layers):
            if layer.protocol not in _PROTOCOLS or "dns.flags" not in layer.fields:
                continue
            f = layer.fields
            transport = next((x.protocol for x in reversed(packet.layers[:at]) if x.protocol in ("udp", "tcp")), "")
            ports = next((x for x in reversed(packet.layers[:at]) if x.protocol in ("udp", "tcp")), None)
            answers, authority, additional = record_texts(f)
            qnames, qtypes = _list(f.get("dns.qry.name")), _list(f.get("dns.qry.type"))
            rows.append({
                "frame": fr.number, "time": fr.ts_ns - t0, "protocol": layer.protocol,
                "transport": transport.upper(), "src": src, "sport": ports.get(f"{transport}.srcport") if ports else None,
                "dst": dst, "dport": ports.get(f"{transport}.dstport") if ports else None,
                "id": f"0x{f['dns.id']:04x}", "kind": "response" if f.get("dns.flags.response") else "query",
                "name": qnames[0] if qnames else None, "type": type_name(qtypes[0]) if qtypes else None,
                "answers": f.get("dns.count.answers"), "authority": f.get("dns.count.auth_rr"),
                "additional": f.get("dns.count.add_rr"),
                "answer_records": "; ".join(answers), "authority_records": "; ".join(authority),
                "additional_records": "; ".join(additional),
                "response_to": f.get("dns.response_to"), "response_time": f.get("dns.time"),
            })
    if not rows:
        raise LabError(trace.error or f"{path}: no DNS messages")
    attrs: dict[str, Any] = {"pcapkit.syns": syns}
    if trace.error:
        attrs["pcapkit.error"] = trace.error
    return typed_table(rows, MESSAGE_COLUMNS, attrs)


def lab_dns(path: str | PathLike[str], messages: pd.DataFrame | None = None) -> pd.DataFrame:
    """The DNS lab's questions and their answers (question / answer / frames rows), from
    ``messages`` (:func:`lab_dns_messages`; default: those of ``path``)."""
    if messages is None:
        return lab_dns_table(path).to_pandas()
    import pandas as pd

    found = [{str(k): (None if v is pd.NA or v is pd.NaT else v) for k, v in r.items()}
             for r in messages.to_dict("records")]
    return _answers(found, messages.attrs.get("pcapkit.syns", [])).to_pandas()


def lab_dns_table(path: str | PathLike[str], messages: ColumnTable | None = None) -> ColumnTable:
    """:func:`lab_dns` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the
    CLI writes, without pandas), from ``messages`` (:func:`lab_dns_messages_table`)."""
    table = lab_dns_messages_table(path) if messages is None else messages
    return _answers(rows_of(table), table.attrs.get("pcapkit.syns", []))


def _answers(records: list[dict[str, Any]], syns: list[tuple[int, int, str]]) -> ColumnTable:
    """The lab's rows from the messages' rows (missing values None) and the TCP SYNs."""
    from pcapkit.reports.lab_common import answer_table

    rows: list[tuple[str, str, str]] = []
    transports = sorted({str(r["transport"]) for r in records if r["transport"]})
    rows.append(("are the DNS messages sent over UDP or TCP", " and ".join(transports) or "no answer: no transport",
                 ", ".join(str(r["frame"]) for r in records)))
    queries = [r for r in records if r["kind"] == "query"]
    if not queries:
        rows.append(("queries", "no answer: the trace holds no DNS query", ""))
    for q in queries:
        resp = next((r for r in records if r["kind"] == "response" and r["response_to"] == q["frame"]), None)
        label = f"query {q['name']} ({q['type']})"
        at = str(q["frame"])
        rows.append((f"{label}: destination port of the query", str(q["dport"]), at))
        rows.append((f"{label}: the query was sent to (the local DNS server unless nslookup names one)",
                     str(q["dst"]), at))
        rows.append((f"{label}: type of the query", str(q["type"]), at))
        rows.append((f"{label}: answers in the query", str(q["answers"]), at))
        if resp is None:
            rows.append((f"{label}: response", "no answer: no response to this query in the trace", at))
            continue
        rat = str(resp["frame"])
        rows.append((f"{label}: source port of the response", str(resp["sport"]), rat))
        rows.append((f"{label}: answers in the response", str(resp["answers"]), rat))
        rows.append((f"{label}: what the answers contain", str(resp["answer_records"] or "nothing"), rat))
        if resp["authority"]:
            rows.append((f"{label}: authority records (name servers)", str(resp["authority_records"]), rat))
        if resp["additional"]:
            rows.append((f"{label}: additional records (the name servers' addresses)",
                         str(resp["additional_records"]), rat))
        rows.append((f"{label}: response time (s)", _secs(resp["response_time"]), f"{at}, {rat}"))
    rows += _syn_rows(records, syns)
    repeated = {n: c for n, c in Counter(str(q["name"]) for q in queries if q["name"]).items() if c > 1}
    rows.append(("names queried more than once (new queries before each object?)",
                 ", ".join(f"{n} ({c} times)" for n, c in repeated.items()) or "none: each name is queried once",
                 ""))
    return answer_table(rows)


def _syn_rows(records: list[dict[str, Any]], syns: list[tuple[int, int, str]]) -> list[tuple[str, str, str]]:
    responses = [r for r in records if r["kind"] == "response"]
    question = "the first TCP SYN after the last response: is its destination an address of the answers"
    if not responses:
        return [(question, "no answer: no DNS response in the trace", "")]
    last = max(int(r["frame"]) for r in responses)
    syn = next(((n, dst) for n, _, dst in syns if n > last), None)
    if syn is None:
        return [(question, "no answer: no TCP SYN after the DNS responses", "")]
    addresses = {x.rsplit(" ", 1)[1] for r in responses
                 for x in str(r["answer_records"] or "").split("; ") if " A " in x or " AAAA " in x}
    found = syn[1] in addresses
    return [(question, f"{'yes' if found else 'no'}: SYN to {syn[1]}", str(syn[0]))]


def _secs(value: Any) -> str:
    """A time in nanoseconds (an int, or a pandas Timedelta) as exact seconds text."""
    if value is None:
        return ""
    ns = int(getattr(value, "value", value))
    s, r = divmod(ns, 1_000_000_000)
    return f"{s}.{r:09d}"
