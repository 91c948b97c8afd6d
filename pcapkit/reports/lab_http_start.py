"""HTTP messages found from TCP payload starts, for the labs until an HTTP dissector lands.

A request is a TCP segment whose payload starts with "GET " (or another method); the
response is the first segment of the server's answer on the same connection that starts
with "HTTP/". Wireshark shows a message on the segment that completes it: the request's
when its header block ends in that segment (a GET has no body); the response's when its
header block ends in its first segment and a Content-Length says where the body ends,
and a later server segment ends exactly there. Anything else (chunked bodies, headers
over several segments, gaps) gets None, so a lab can say the answer waits for the HTTP
dissector instead of guessing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from pcapkit.reports.lab_common import get, tcp_payload

if TYPE_CHECKING:
    from collections.abc import Iterable

    from pcapkit.dissect.driver import Packet

METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ")
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_MOD = 1 << 32


def endpoints(p: Packet) -> tuple[tuple[str, int], tuple[str, int]]:
    return ((get(p, "ip", "ip.src"), get(p, "tcp", "tcp.srcport")),
            (get(p, "ip", "ip.dst"), get(p, "tcp", "tcp.dstport")))


def requests(packets: Iterable[Packet], methods: tuple[bytes, ...] = METHODS) -> list[Packet]:
    return [p for p in packets if tcp_payload(p).startswith(methods)]


def response_to(packets: list[Packet], request: Packet) -> Packet | None:
    """The first segment of the server's answer to ``request`` (payload starting "HTTP/")."""
    client, server = endpoints(request)
    return next((p for p in packets if p.frame.number > request.frame.number and endpoints(p) == (server, client)
                 and tcp_payload(p).startswith(b"HTTP/")), None)


def request_complete(request: Packet) -> bool:
    """Does the request's header block end in this segment (where Wireshark shows it)?"""
    return b"\r\n\r\n" in tcp_payload(request)


def response_last_segment(packets: list[Packet], first: Packet) -> Packet | None:
    """The segment that completes the response starting in ``first`` (``first`` itself when it
    holds it all), or None when that cannot be told without an HTTP dissector."""
    payload = tcp_payload(first)
    head = payload.find(b"\r\n\r\n")
    if head < 0:
        return None
    found = _CONTENT_LENGTH.search(payload[:head + 2])
    if found is None:
        return None
    length = head + 4 + int(found.group(1))
    if len(payload) >= length:
        return first
    end = (get(first, "tcp", "tcp.seq_raw") + length) % _MOD
    flow = endpoints(first)
    return next((p for p in packets if p.frame.number > first.frame.number and endpoints(p) == flow
                 and (get(p, "tcp", "tcp.seq_raw") + len(tcp_payload(p))) % _MOD == end), None)


def first_line(p: Packet) -> str:
    return tcp_payload(p).split(b"\r\n", 1)[0].decode("latin-1")
