"""Answers to the Kurose & Ross "Wireshark lab: Getting started" questions (v8.0 / v8.1).

The protocols in the trace, the time from the HTTP GET to the HTTP OK, the addresses of
the web server and of the host, and the two messages' first lines. pcapkit has no HTTP
dissector yet: the GET is the first TCP segment whose payload starts with "GET " and the
response the first segment of the server's answer that starts with "HTTP/". Wireshark
shows a response on its last segment; when the response does not fit in its first
segment (its Content-Length runs past it), the GET-to-OK time as Wireshark shows it waits
for the HTTP dissector, and the answer says so.
"""

from __future__ import annotations

import re
from os import PathLike
from typing import TYPE_CHECKING

from pcapkit.reports.lab_common import Answers, get, read_trace, secs, tcp_payload
from pcapkit.reports.lab_ethernet import first_http_exchange

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.dissect.driver import Packet

_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_PSEUDO = ("data", "ethertype")  # not protocols a student sees in the Protocol column


def _whole(response: Packet) -> bool:
    """Does the response (headers and Content-Length body) end inside this segment?"""
    payload = tcp_payload(response)
    end = payload.find(b"\r\n\r\n")
    if end < 0:
        return False
    found = _CONTENT_LENGTH.search(payload[:end + 2])
    return found is not None and len(payload) >= end + 4 + int(found.group(1))


def lab_intro(path: str | PathLike[str]) -> pd.DataFrame:
    """The introductory lab's questions and answers (question / answer / frames rows)."""
    trace = read_trace(path)
    out = Answers()
    seen: dict[str, int] = {}
    for p in trace:
        for x in p.layers:
            seen.setdefault(x.protocol, p.frame.number)
    request, response = first_http_exchange(trace)
    http = [] if request is None else [request] + ([response] if response is not None else [])
    protocols = sorted(name for name in seen if name not in _PSEUDO)
    out.add("protocols in the trace (pcapkit's names)",
            ", ".join(protocols) + (", http (from the TCP payloads)" if http else ""), "")
    if request is None:
        out.missing("time from the HTTP GET to the HTTP OK", "no TCP segment starts with an HTTP GET")
        return out.frame(trace.error)
    if response is None:
        out.missing("time from the HTTP GET to the HTTP OK", "no server segment starts the HTTP response",
                    [request])
    elif b"\r\n\r\n" not in tcp_payload(request):
        out.missing("time from the HTTP GET to the HTTP OK (s)",
                    f"the GET starts in frame {request.frame.number} but continues in later segments; the frame "
                    "Wireshark shows it on waits for the HTTP dissector", [request, response])
    elif _whole(response):
        out.add("time from the HTTP GET to the HTTP OK (s)",
                f"{secs(response.frame.ts_ns - request.frame.ts_ns)} (GET at {secs(trace.rel(request))}, "
                f"OK at {secs(trace.rel(response))})", [request, response])
    else:
        out.missing("time from the HTTP GET to the HTTP OK (s)",
                    f"the response starts in frame {response.frame.number} "
                    f"({secs(response.frame.ts_ns - request.frame.ts_ns)} s after the GET) but continues in later "
                    "segments; the frame Wireshark shows it on waits for the HTTP dissector", [request, response])
    out.add("Internet address of the web server (gaia.cs.umass.edu)", get(request, "ip", "ip.dst"), [request])
    out.add("Internet address of the host", get(request, "ip", "ip.src"), [request])
    for what, message in (("GET", request), ("OK", response)):
        if message is not None:
            line = tcp_payload(message).split(b"\r\n", 1)[0].decode("latin-1")
            out.add(f"the HTTP {what} message's first line", line, [message])
    return out.frame(trace.error)
