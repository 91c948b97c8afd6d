"""Answers to the Kurose & Ross "Wireshark lab: Getting started" questions (v8.0 / v8.1).

The protocols in the trace, the time from the HTTP GET to the HTTP OK, the addresses of
the web server and of the host, and the two messages' first lines. The messages are the
HTTP dissector's (:mod:`pcapkit.dissect.http`): each on the frame that completes it, as
Wireshark shows it, with its ``http.time`` (the time from the request's frame); a first
line is answered at the frame that holds the message's first byte.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

from pcapkit.reports.lab_common import (
    Answers,
    first_segment,
    get,
    http_messages,
    response_to,
    secs,
)
from pcapkit.reports.lab_read import read_selected

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable

_PSEUDO = ("data", "ethertype", "http")  # not protocols a student sees in the Protocol column; http is added last


def lab_intro(path: str | PathLike[str]) -> pd.DataFrame:
    """The introductory lab's questions and answers (question / answer / frames rows)."""
    return lab_intro_table(path).to_pandas()


def lab_intro_table(path: str | PathLike[str]) -> ColumnTable:
    """:func:`lab_intro` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI writes,
    without pandas)."""
    trace = read_selected(path, None)  # every frame but the fragments that stay pending
    out = Answers()
    seen: dict[str, int] = dict.fromkeys(trace.skipped_protocols, 0)
    for p in trace:
        for x in p.layers:
            seen.setdefault(x.protocol, p.frame.number)
    messages = http_messages(trace)
    request = next((m for m in messages if m.fields.get("http.request.method") == "GET"), None)
    response = None if request is None else response_to(messages, request)
    protocols = sorted(name for name in seen if name not in _PSEUDO)
    out.add("protocols in the trace (pcapkit's names)",
            (", ".join(protocols) or "none decoded") + (", http (from the TCP payloads)" if messages else ""), "")
    if request is None:
        out.missing("time from the HTTP GET to the HTTP OK", "no TCP segment starts with an HTTP GET")
        return out.table(trace.error, trace.warnings)
    question = "time from the HTTP GET to the HTTP OK (s)"
    if response is None:
        out.missing(question, "the trace holds no HTTP response to the GET", [request.packet])
    else:
        out.add(question, f"{secs(response.fields['http.time'])} (GET at {secs(trace.rel(request.packet))}, "
                f"OK at {secs(trace.rel(response.packet))}, its last segment)", [request.packet, response.packet])
    out.add("Internet address of the web server (gaia.cs.umass.edu)", get(request.packet, "ip", "ip.dst"),
            [request.packet])
    out.add("Internet address of the host", get(request.packet, "ip", "ip.src"), [request.packet])
    out.add("the HTTP GET message's first line", " ".join(
        str(request.fields[f]) for f in ("http.request.method", "http.request.uri", "http.request.version")
        if f in request.fields), [request.packet])
    if response is not None:
        start = first_segment(trace.packets, response)
        out.add("the HTTP OK message's first line", " ".join(
            str(response.fields[f]) for f in ("http.response.version", "http.response.code", "http.response.phrase")
            if f in response.fields), [response.packet if start is None else start[0]])
    return out.table(trace.error, trace.warnings)
