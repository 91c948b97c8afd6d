"""Answers to the Kurose & Ross "Wireshark Lab: HTTP" questions (v8.0 / v8.1).

Five parts, each with its own trace: 1 the basic GET/response, 2 the conditional GET,
3 a long document, 4 a page with embedded objects, 5 basic authentication. The messages
are the HTTP dissector's (:mod:`pcapkit.dissect.http`), each on the frame that completes
it, as Wireshark shows it. :func:`lab_http` answers every part whose data the trace holds
(part 1 always); ``part=N`` answers that part's questions only, and on a trace that is not
the part's the questions it cannot answer say so.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING

from pcapkit.reports.lab_common import (
    Answers,
    HttpMessage,
    Trace,
    endpoints,
    first_segment,
    get,
    http_messages,
    response_to,
    secs,
)
from pcapkit.reports.lab_read import has, read_selected

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable

PARTS = (1, 2, 3, 4, 5)


def header(message: HttpMessage, name: str) -> str | None:
    """The value of header ``name`` (any case) in ``message``, from the dissector's header lines
    (tshark has no field of its own for most headers, If-Modified-Since among them)."""
    lines = message.fields.get("http.request.line" if message.is_request else "http.response.line") or []
    for line in lines if isinstance(lines, list) else [lines]:
        key, sep, value = str(line).removesuffix("\\r\\n").partition(":")
        if sep and key.strip().lower() == name.lower():
            return value.strip()
    return None


def header_names(message: HttpMessage) -> list[str]:
    lines = message.fields.get("http.request.line" if message.is_request else "http.response.line") or []
    return [str(line).partition(":")[0].strip() for line in (lines if isinstance(lines, list) else [lines])]


def status(message: HttpMessage | None) -> str:
    if message is None:
        return ""
    return f"{message.fields.get('http.response.code')} {message.fields.get('http.response.phrase', '')}".strip()


def segments(trace: Trace, message: HttpMessage) -> list[int]:
    """The frames whose TCP payload carries bytes of ``message``: from the frame with its first
    byte to the frame that completes it, in its direction (tshark's ``tcp.segment`` list)."""
    start = first_segment(trace.packets, message)
    if start is None:
        return [message.number]
    flow = endpoints(message.packet)
    return [p.frame.number for p in trace.packets
            if start[0].frame.number <= p.frame.number <= message.number
            and endpoints(p) == flow and get(p, "tcp", "tcp.len")]


class _Lab:
    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.messages = http_messages(trace)
        self.gets = [m for m in self.messages if m.is_request and m.fields.get("http.request.method") == "GET"]
        self.out = Answers()

    def response(self, request: HttpMessage) -> HttpMessage | None:
        return response_to(self.messages, request)

    def has(self, part: int) -> bool:
        """Whether the trace holds the data part ``part`` is about."""
        if part == 1:
            return True
        if part == 2:
            return any(header(m, "If-Modified-Since") for m in self.gets)
        if part == 3:
            resp = self.response(self.gets[0]) if self.gets else None
            return resp is not None and len(segments(self.trace, resp)) > 1
        if part == 4:
            return len({get(m.packet, "ip", "ip.dst") for m in self.gets}) > 1
        return any(m.fields.get("http.response.code") == 401 or header(m, "Authorization") for m in self.messages)

    def part1(self) -> None:
        q = "1: "
        if not self.gets:
            self.out.missing(q + "the browser's HTTP version", "the trace holds no HTTP GET")
            return
        get_ = self.gets[0]
        resp = self.response(get_)
        self.out.add(q + "the browser's HTTP version", get_.fields.get("http.request.version"), [get_.packet])
        language = get_.fields.get("http.accept_language")
        if language is None:
            self.out.missing(q + "languages the browser accepts (Accept-Language)", "the GET has no Accept-Language header",
                             [get_.packet])
        else:
            self.out.add(q + "languages the browser accepts (Accept-Language)", language, [get_.packet])
        self.out.add(q + "the computer's IP address", get(get_.packet, "ip", "ip.src"), [get_.packet])
        self.out.add(q + "the server's IP address", get(get_.packet, "ip", "ip.dst"), [get_.packet])
        if resp is None:
            self.out.missing(q + "the server's HTTP version", "no response to the first GET", [get_.packet])
            return
        self.out.add(q + "the server's HTTP version", resp.fields.get("http.response.version"), [resp.packet])
        self.out.add(q + "the status code returned", status(resp), [resp.packet])
        modified = resp.fields.get("http.last_modified")
        if modified is None:
            self.out.missing(q + "when the file was last modified (Last-Modified)", "the response has no Last-Modified header",
                             [resp.packet])
        else:
            self.out.add(q + "when the file was last modified (Last-Modified)", modified, [resp.packet])
        length = resp.fields.get("http.content_length")
        if length is None:
            self.out.missing(q + "content bytes returned (Content-Length)", "the response has no Content-Length header",
                             [resp.packet])
        else:
            self.out.add(q + "content bytes returned (Content-Length)", length, [resp.packet])

    def part2(self) -> None:
        q = "2: "
        first = self.gets[0] if self.gets else None
        second = None if first is None else next(
            (m for m in self.gets[1:] if m.fields.get("http.request.uri") == first.fields.get("http.request.uri")),
            None)
        if first is None:
            self.out.missing(q + "If-Modified-Since in the first GET", "the trace holds no HTTP GET")
            return
        since = header(first, "If-Modified-Since")
        self.out.add(q + "If-Modified-Since in the first GET", since or "no such line", [first.packet])
        resp = self.response(first)
        self._returned(q + "did the server return the file's contents (first GET)", resp)
        if second is None:
            self.out.missing(q + "If-Modified-Since in the second GET", "the browser does not GET the same URI again")
            return
        since = header(second, "If-Modified-Since")
        self.out.add(q + "If-Modified-Since in the second GET", since or "no such line", [second.packet])
        resp = self.response(second)
        if resp is not None:
            self.out.add(q + "status code and phrase of the response to the second GET", status(resp), [resp.packet])
        self._returned(q + "did the server return the file's contents (second GET)", resp)

    def _returned(self, question: str, resp: HttpMessage | None) -> None:
        if resp is None:
            self.out.missing(question, "no response")
            return
        length = resp.fields.get("http.content_length")
        code = status(resp)
        if length:
            self.out.add(question, f"yes: {code}, Content-Length {length}", [resp.packet])
        else:
            self.out.add(question, f"no: {code}, no body", [resp.packet])

    def part3(self) -> None:
        q = "3: "
        self.out.add(q + "GET requests the browser sent", len(self.gets), [m.packet for m in self.gets])
        if not self.gets:
            self.out.missing(q + "frame with the GET", "the trace holds no HTTP GET")
            return
        get_ = self.gets[0]
        self.out.add(q + "frame with the GET", get_.number, [get_.packet])
        resp = self.response(get_)
        if resp is None:
            self.out.missing(q + "frame with the response's status code and phrase", "no response to the GET")
            return
        frames = segments(self.trace, resp)
        self.out.add(q + "frame with the response's status code and phrase", frames[0], str(frames[0]))
        self.out.add(q + "status code and phrase of the response", status(resp), str(frames[0]))
        self.out.add(q + "TCP segments that carried the response", len(frames), ", ".join(map(str, frames)))

    def part4(self) -> None:
        q = "4: "
        self.out.add(q + "GET requests the browser sent", len(self.gets), [m.packet for m in self.gets])
        if not self.gets:
            self.out.missing(q + "addresses the GETs were sent to", "the trace holds no HTTP GET")
            return
        self.out.add(q + "addresses the GETs were sent to", ", ".join(
            f"{get(m.packet, 'ip', 'ip.dst')} ({m.fields.get('http.host', '')})"
            for m in self.gets), [m.packet for m in self.gets])
        objects = self.gets[1:]
        objects = [m for m in objects if m.fields.get("http.request.uri") != "/favicon.ico"]
        question = q + "the embedded objects: downloaded serially or in parallel"
        if len(objects) < 2:
            self.out.missing(question, "fewer than two GETs after the page's")
            return
        first, second = objects[0], objects[1]
        done = self.response(first)
        if done is None:
            self.out.missing(question, "no response to the first object's GET", [first.packet])
            return
        parallel = second.packet.frame.ts_ns < done.packet.frame.ts_ns
        self.out.add(question, f"{'in parallel' if parallel else 'serially'}: the second object's GET at "
                     f"{secs(self.trace.rel(second.packet))} s, the first object's response complete at "
                     f"{secs(self.trace.rel(done.packet))} s", [first.packet, second.packet, done.packet])

    def part5(self) -> None:
        q = "5: "
        if not self.gets:
            self.out.missing(q + "the server's response to the first GET", "the trace holds no HTTP GET")
            return
        first = self.gets[0]
        resp = self.response(first)
        if resp is None:
            self.out.missing(q + "the server's response to the first GET", "no response", [first.packet])
        else:
            self.out.add(q + "the server's response to the first GET", status(resp), [resp.packet])
        second = next((m for m in self.gets[1:] if header(m, "Authorization")), None)
        if second is None:
            self.out.missing(q + "the new field in the second GET", "no later GET carries an Authorization header")
            return
        new = [n for n in header_names(second) if n.lower() not in {x.lower() for x in header_names(first)}]
        basic = second.fields.get("http.authbasic")
        self.out.add(q + "the new field in the second GET", "; ".join(
            f"{n}: {header(second, n)}" for n in new) + (f" (decoded {basic})" if basic else ""), [second.packet])


def lab_http(path: str | PathLike[str], part: int | None = None) -> pd.DataFrame:
    """The HTTP lab's questions and answers (question / answer / frames rows); each question
    starts with its part's number."""
    return lab_http_table(path, part).to_pandas()


def lab_http_table(path: str | PathLike[str], part: int | None = None) -> ColumnTable:
    """:func:`lab_http` as a :class:`~pcapkit.columnar.column_table.ColumnTable` (what the CLI writes,
    without pandas)."""
    # TCP frames only (tshark's HTTP heuristic may claim any port; undecoded frames are read too)
    lab = _Lab(read_selected(path, lambda cols: has(cols, "tcp.srcport")))
    for n in PARTS if part is None else (part,):
        if part is not None or lab.has(n):
            getattr(lab, f"part{n}")()
    return lab.out.table(lab.trace.error, lab.trace.warnings)
