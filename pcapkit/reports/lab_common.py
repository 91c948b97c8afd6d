"""What every ``pcapkit lab`` module shares: the dissected trace and the question rows.

A lab trace is small (tens to a few thousand frames), so :func:`read_trace` keeps every
dissected packet in memory once and each lab walks the list as often as its questions
need. :class:`Answers` collects (question, answer, frames) rows in the lab's order; a
question the trace cannot answer gets an answer starting with ``"no answer: "`` and the
reason, so a reader (and a test) can tell it from an answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from os import PathLike
from typing import TYPE_CHECKING, Any

from pcapkit.errors import PcapkitError

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.dissect.base import Layer
    from pcapkit.dissect.driver import Packet

NO_ANSWER = "no answer: "


class LabError(PcapkitError):
    """The capture holds nothing the lab's questions can be answered on."""


def secs(ns: int | None) -> str:
    """Integer nanoseconds as exact seconds text ("1.025000000"), as tshark writes times."""
    if ns is None:
        return ""
    sign = "-" if ns < 0 else ""
    s, r = divmod(abs(ns), 1_000_000_000)
    return f"{sign}{s}.{r:09d}"


@dataclass(slots=True)
class Trace:
    """Every dissected packet of one capture, the first frame's time and what stopped the
    reader early (None when the file was read to its end)."""

    path: str
    packets: list[Packet]
    t0: int
    error: str | None
    warnings: list[str] = field(default_factory=list)  # (the limit that stopped the reading, if one did)

    def __iter__(self) -> Iterator[Packet]:
        return iter(self.packets)

    def rel(self, packet: Packet) -> int:
        """``frame.time_relative`` of ``packet`` in nanoseconds."""
        return packet.frame.ts_ns - self.t0

    def with_layer(self, protocol: str) -> list[Packet]:
        return [p for p in self.packets if layer(p, protocol) is not None]


# A lab trace is tens to a few thousand frames; every dissected packet is kept (about 1 KB
# each), so a capture of millions would need gigabytes: the labs read this many at most.
LAB_MAX_PACKETS = 250_000


def read_trace(path: str | PathLike[str], max_packets: int = LAB_MAX_PACKETS) -> Trace:
    """Dissect the capture at ``path`` (with IP reassembly and stream state), its first
    ``max_packets`` packets at most (the trace's ``warnings`` say so when that cut it)."""
    import itertools

    from pcapkit.dissect.driver import dissect_file

    warnings: list[str] = []
    packets = list(itertools.islice(dissect_file(str(path), warnings=warnings), max_packets + 1))
    limits = []
    if len(packets) > max_packets:
        del packets[max_packets:]
        limits.append(f"{path}: the labs read the first {max_packets:,} packets only (a lab trace is a few "
                      f"thousand); the answers are about those")
    if not packets:
        raise LabError(warnings[0] if warnings else f"{path}: no packets")
    return Trace(str(path), packets, packets[0].frame.ts_ns, warnings[0] if warnings else None, limits)


def layer(packet: Packet, protocol: str, nth: int = 0) -> Layer | None:
    """The ``nth`` layer (outer first) of ``protocol`` in ``packet``, or None."""
    for candidate in packet.layers:
        if candidate.protocol == protocol:
            if nth == 0:
                return candidate
            nth -= 1
    return None


def get(packet: Packet, protocol: str, name: str, nth: int = 0) -> Any:
    """Field ``name`` of the ``nth`` ``protocol`` layer (None when absent); a repeated field
    gives its first occurrence."""
    found = layer(packet, protocol, nth)
    value = None if found is None else found.fields.get(name)
    return value[0] if isinstance(value, list) else value


def tcp_payload(packet: Packet) -> bytes:
    """The bytes after the (first) TCP header of this frame, as captured."""
    tcp = layer(packet, "tcp")
    if tcp is None:
        return b""
    ip = layer(packet, "ip")
    end = len(packet.frame.data)
    if ip is not None and isinstance(ip.fields.get("ip.len"), int):
        end = min(end, ip.offset + ip.fields["ip.len"])  # Ethernet padding is not payload
    return packet.frame.data[tcp.offset + tcp.length:end]


def frames(packets: Iterable[Packet]) -> str:
    return ", ".join(str(p.frame.number) for p in packets)


@dataclass(slots=True)
class Answers:
    """The lab's rows in order: question, answer, the frames the answer came from."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, question: str, answer: object, at: str | int | Iterable[Packet] = "") -> None:
        where = at if isinstance(at, str) else str(at) if isinstance(at, int) else frames(at)
        self.rows.append((question, str(answer), where))

    def missing(self, question: str, reason: str, at: str | int | Iterable[Packet] = "") -> None:
        self.add(question, NO_ANSWER + reason, at)

    def table(self, error: str | None = None, warnings: Iterable[str] = ()) -> ColumnTable:
        """The rows as a table of three text columns (``string``); ``error`` (the input was
        cut short) and ``warnings`` (a limit cut the reading) go with it for the command to
        report. The CLI writes it as it is (no pandas: a lab on a 200-frame trace in about
        tshark's time); :meth:`frame` is its DataFrame."""
        return answer_table(self.rows, error, warnings)

    def frame(self, error: str | None = None, warnings: Iterable[str] = ()) -> pd.DataFrame:
        """:meth:`table` as a DataFrame (three ``string`` columns, the same ``attrs``)."""
        return self.table(error, warnings).to_pandas()


ANSWER_COLUMNS = {"question": "string", "answer": "string", "frames": "string"}


def answer_table(rows: Iterable[tuple[str, str, str]], error: str | None = None,
                 warnings: Iterable[str] = ()) -> ColumnTable:
    """(question, answer, frames) rows as the labs' table (see :meth:`Answers.table`)."""
    from pcapkit.reports.typed_rows import typed_columns

    attrs: dict[str, Any] = {}
    if error:
        attrs["pcapkit.error"] = error
    warnings = list(warnings)
    if warnings:
        attrs["warnings"] = warnings
    rows = list(rows)
    values = {name: [row[i] for row in rows] for i, name in enumerate(ANSWER_COLUMNS)}
    return typed_columns(values, ANSWER_COLUMNS, attrs)


@dataclass(frozen=True, slots=True)
class HttpMessage:
    """One HTTP request or response as the HTTP dissector gives it: the frame that completes
    it (where tshark shows it) and its ``http`` layer's fields."""

    packet: Packet
    fields: dict[str, Any]

    @property
    def number(self) -> int:
        return self.packet.frame.number

    @property
    def is_request(self) -> bool:
        return bool(self.fields.get("http.request"))


def http_messages(packets: Iterable[Packet]) -> list[HttpMessage]:
    """Every HTTP request and response (``http`` layers with a first line) in frame order."""
    return [HttpMessage(p, x.fields) for p in packets for x in p.layers
            if x.protocol == "http" and ("http.request" in x.fields or "http.response" in x.fields)]


def endpoints(p: Packet) -> tuple[tuple[str, int], tuple[str, int]]:
    """((source address, port), (destination address, port)) of a TCP/IP packet."""
    return ((get(p, "ip", "ip.src"), get(p, "tcp", "tcp.srcport")),
            (get(p, "ip", "ip.dst"), get(p, "tcp", "tcp.dstport")))


def response_to(messages: list[HttpMessage], request: HttpMessage) -> HttpMessage | None:
    """The response the dissector matched to ``request`` (its ``http.request_in``)."""
    return next((m for m in messages if not m.is_request and m.fields.get("http.request_in") == request.number
                 and endpoints(m.packet) == endpoints(request.packet)[::-1]), None)


_MOD = 1 << 32


def first_segment(packets: list[Packet], message: HttpMessage) -> tuple[Packet, int] | None:
    """The frame holding the first byte of ``message`` (tshark's first ``tcp.segment``) and
    that byte's offset in its TCP payload; None when the stream cannot be followed to it.

    The messages of one direction are contiguous in its byte stream: the message starts at
    the direction's first byte (after the SYN) plus the lengths of the ``http`` layers the
    dissector gave that direction before it."""
    flow = endpoints(message.packet)
    start: int | None = None
    before = 0
    for p in packets:
        if p.frame.number > message.number:
            break
        if endpoints(p) != flow:
            continue
        if get(p, "tcp", "tcp.flags.syn"):
            start, before = (get(p, "tcp", "tcp.seq_raw") + 1) % _MOD, 0
        elif start is None and get(p, "tcp", "tcp.len"):
            start = get(p, "tcp", "tcp.seq_raw")
        for x in p.layers:
            if x.protocol == "http":
                if x.fields is message.fields:
                    break
                before += x.length
    if start is None:
        return None
    first = (start + before) % _MOD
    for p in packets:
        if p.frame.number > message.number:
            break
        size = get(p, "tcp", "tcp.len")
        at = (first - (get(p, "tcp", "tcp.seq_raw") or 0)) % _MOD
        if endpoints(p) == flow and size and at < size:
            return p, at
    return None
