"""Answers to the Kurose & Ross "Wireshark lab: UDP" questions (v8.0 / v8.1).

The first UDP segment of the trace: its frame, what it carries, the header's fields and
their sizes, what the Length field counts (checked on that segment), the largest payload
and port number the header allows, the IP protocol number for UDP; then the first
segment sent by the host and the reply to it, and how their ports relate.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

from pcapkit.reports.lab_common import Answers, LabError, get, layer
from pcapkit.reports.lab_read import has, read_selected

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable

UDP_FIELDS = ("Source Port", "Destination Port", "Length", "Checksum")
UDP_HEADER = 8  # four 16-bit fields
NO_HEADER = "not a whole 8-byte header"


def _carried(protocols: list[str]) -> str:
    """What pcapkit found above UDP ("dns"; "data" when it decodes nothing there)."""
    above = protocols[protocols.index("udp") + 1:]
    return ":".join(above) or "nothing (empty payload)"


def lab_udp(path: str | PathLike[str]) -> pd.DataFrame:
    """The UDP lab's questions and answers (question / answer / frames rows)."""
    return lab_udp_table(path).to_pandas()


def lab_udp_table(path: str | PathLike[str]) -> ColumnTable:
    """:func:`lab_udp` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI writes,
    without pandas)."""
    trace = read_selected(path, lambda cols: has(cols, "udp.srcport"))  # the UDP frames (and any undecoded)
    udp = [p for p in trace if layer(p, "udp") is not None and layer(p, "ip") is not None]
    if not udp:
        raise LabError(trace.error or f"{path}: no UDP over IPv4")
    out = Answers()
    first = udp[0]
    u = layer(first, "udp")
    assert u is not None
    names = [x.protocol for x in first.layers]
    out.add("first UDP segment: frame number", first.frame.number, [first])
    out.add("first UDP segment: application-layer protocol it carries", _carried(names), [first])
    out.add("how many fields in the UDP header, and their names",
            f"{len(UDP_FIELDS)}: {', '.join(UDP_FIELDS)}", [first])
    out.add("length of each UDP header field (bytes)",
            f"2 each ({u.length}-byte header)" if u.length == UDP_HEADER
            else f"{NO_HEADER} ({u.length} bytes decoded)", [first])
    length = u.fields.get("udp.length")
    ip_len, ip_hdr = get(first, "ip", "ip.len"), get(first, "ip", "ip.hdr_len")
    payload = ip_len - ip_hdr - UDP_HEADER
    out.add("the Length field is the length of what (checked on this segment)",
            f"header plus payload: Length {length} = {UDP_HEADER} header + {payload} payload bytes "
            f"(IP total length {ip_len} - IP header {ip_hdr} - {UDP_HEADER})"
            + ("" if length == payload + UDP_HEADER else " (the Length field disagrees!)"), [first])
    out.add("largest UDP payload (bytes)",
            "65527 = 65535 (largest 16-bit Length) - 8 header bytes; over IPv4 at most 65507 "
            "(65535 - 20 IP header bytes - 8)")
    out.add("largest possible source port number", "65535 (a 16-bit field)")
    proto = get(first, "ip", "ip.proto")
    out.add("IP protocol number for UDP (decimal and hexadecimal)", f"{proto} (0x{proto:02x})", [first])
    host = get(first, "ip", "ip.src")
    sent = next((p for p in udp if get(p, "ip", "ip.src") == host), None)
    reply = None
    if sent is not None:
        key = (get(sent, "ip", "ip.dst"), get(sent, "udp", "udp.dstport"), host, get(sent, "udp", "udp.srcport"))
        reply = next((p for p in udp if p.frame.number > sent.frame.number and (
            get(p, "ip", "ip.src"), get(p, "udp", "udp.srcport"), get(p, "ip", "ip.dst"),
            get(p, "udp", "udp.dstport")) == key), None)
    question = "a segment sent by the host and its reply: frames and how their ports relate"
    if sent is None or reply is None:
        out.missing(question, "no UDP segment from the host is answered from the port it was sent to",
                    [] if sent is None else [sent])
    else:
        sp, dp = get(sent, "udp", "udp.srcport"), get(sent, "udp", "udp.dstport")
        out.add(question, f"frames {sent.frame.number} and {reply.frame.number}: the reply's source port "
                f"({dp}) is the request's destination port and its destination port ({sp}) the request's "
                f"source port", [sent, reply])
    return out.table(trace.error, trace.warnings)

