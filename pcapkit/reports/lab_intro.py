"""Answers to the Kurose & Ross "Wireshark lab: Getting started" questions (v8.0 / v8.1).

The protocols in the trace, the time from the HTTP GET to the HTTP OK, the addresses of
the web server and of the host, and the two messages' first lines. pcapkit has no HTTP
dissector yet: the messages are found from TCP payload starts
(:mod:`pcapkit.reports.lab_http_start`), and the GET-to-OK time is given only where the
frames Wireshark shows the messages on can be told exactly; otherwise the answer says it
waits for the HTTP dissector.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

from pcapkit.reports.lab_common import Answers, get, read_trace, secs
from pcapkit.reports.lab_http_start import (
    first_line,
    request_complete,
    requests,
    response_last_segment,
    response_to,
)

if TYPE_CHECKING:
    import pandas as pd

_PSEUDO = ("data", "ethertype")  # not protocols a student sees in the Protocol column


def lab_intro(path: str | PathLike[str]) -> pd.DataFrame:
    """The introductory lab's questions and answers (question / answer / frames rows)."""
    trace = read_trace(path)
    out = Answers()
    seen: dict[str, int] = {}
    for p in trace:
        for x in p.layers:
            seen.setdefault(x.protocol, p.frame.number)
    gets = requests(trace.packets, (b"GET ",))
    request = gets[0] if gets else None
    response = None if request is None else response_to(trace.packets, request)
    protocols = sorted(name for name in seen if name not in _PSEUDO)
    out.add("protocols in the trace (pcapkit's names)",
            (", ".join(protocols) or "none decoded") + (", http (from the TCP payloads)" if request else ""), "")
    if request is None:
        out.missing("time from the HTTP GET to the HTTP OK", "no TCP segment starts with an HTTP GET")
        return out.frame(trace.error)
    question = "time from the HTTP GET to the HTTP OK (s)"
    last = None if response is None else response_last_segment(trace.packets, response)
    if response is None:
        out.missing(question, "no server segment starts the HTTP response", [request])
    elif not request_complete(request):
        out.missing(question, f"the GET starts in frame {request.frame.number} but continues in later segments; "
                    "the frame Wireshark shows it on waits for the HTTP dissector", [request, response])
    elif last is None:
        out.missing(question, f"the response starts in frame {response.frame.number} but where it ends (the frame "
                    "Wireshark shows it on) waits for the HTTP dissector", [request, response])
    else:
        out.add(question, f"{secs(last.frame.ts_ns - request.frame.ts_ns)} (GET at {secs(trace.rel(request))}, "
                f"OK at {secs(trace.rel(last))}, its last segment)", [request, last])
    out.add("Internet address of the web server (gaia.cs.umass.edu)", get(request, "ip", "ip.dst"), [request])
    out.add("Internet address of the host", get(request, "ip", "ip.src"), [request])
    out.add("the HTTP GET message's first line", first_line(request), [request])
    if response is not None:
        out.add("the HTTP OK message's first line", first_line(response), [response])
    return out.frame(trace.error)
