"""The shapes every dissector shares: findings, layer records, the dissector signature.

A dissector is a pure function over bytes::

    def dissect_tcp(data: bytes, offset: int, end: int, ctx: Context) -> Result

``data`` is the whole captured frame, the layer starts at ``offset`` and the captured
bytes available to it end at ``end`` (``ctx.reported_end`` is where they would end
had nothing been snapped off). It returns the :class:`Layer` it decoded and, if it
knows one, a :class:`Next` hint naming the dispatch table and key for the payload
(``Next("ip.proto", 6, payload_offset, payload_end)``). It never raises for bad
input: running off the captured bytes gives a partial layer plus a *truncated*
finding; a header that contradicts itself gives *malformed*. Bugs still raise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple


class FindingKind(StrEnum):
    TRUNCATED = "truncated"        # ran off the captured bytes (snaplen, cut file)
    MALFORMED = "malformed"        # the header contradicts itself
    CHECKSUM_BAD = "checksum_bad"  # only when checksum validation is on
    UNSUPPORTED = "unsupported"    # a valid construct we do not decode (kept raw)
    NOTE = "note"                  # informational (e.g. reassembly limit reached)


@dataclass(frozen=True, slots=True)
class Finding:
    kind: FindingKind
    layer: str          # protocol name, e.g. "ip"
    offset: int         # byte offset in the frame where the problem is
    reason: str         # one line, e.g. "header length 4 < 20"

    def __str__(self) -> str:
        return f"{self.layer}: {self.kind.value} at offset {self.offset}: {self.reason}"


class Layer:
    """One decoded protocol layer.

    protocol:   Wireshark protocol name as in ``frame.protocols`` ("eth", "vlan", "ip").
    offset:     where the layer starts in the frame.
    length:     header bytes consumed (captured bytes actually decoded).
    fields:     Wireshark field name -> native value; a field that occurs several
                times holds a list in order of occurrence (see :meth:`add`).
    findings:   truncated / malformed / ... findings for this layer.
    summary:    tcpdump-style summary text of this layer ("Flags [S], seq 1, ...").

    A dissector may defer the decoding of ``fields``, ``findings`` and ``summary`` by
    returning a :class:`LazyLayer`: it records a decoder and its arguments (offsets into
    the frame's bytes), and the first access to any of the three runs it once. The
    values are the same as if they had been decoded at once; only the time differs.
    """

    __slots__ = (
        "_args",
        "_decoder",
        "_fields",
        "_findings",
        "_summarize",
        "_summary",
        "length",
        "offset",
        "protocol",
    )

    def __init__(self, protocol: str, offset: int, length: int = 0,
                 fields: dict[str, Any] | None = None, findings: list[Finding] | None = None,
                 summary: str = "") -> None:
        self.protocol = protocol
        self.offset = offset
        self.length = length
        self._fields: dict[str, Any] = {} if fields is None else fields
        self._findings: list[Finding] | None = findings
        self._summary = summary
        self._decoder: Callable[..., None] | None = None
        self._summarize: Callable[..., str] | None = None
        self._args: tuple[Any, ...] = ()

    def __repr__(self) -> str:
        return (f"Layer(protocol={self.protocol!r}, offset={self.offset}, length={self.length}, "
                f"fields={self.fields!r}, findings={self.findings!r}, summary={self.summary!r})")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Layer):
            return NotImplemented
        return (self.protocol, self.offset, self.length, self.fields, self.findings, self.summary) == (
            other.protocol, other.offset, other.length, other.fields, other.findings, other.summary)

    __hash__ = None  # type: ignore[assignment]  # mutable, like the dataclass it replaces

    def get(self, name: str, default: Any = None) -> Any:
        """``fields.get(name, default)``; on a deferred layer, a field with a registered
        getter (see :func:`quick_fields`) is read alone, without decoding the rest."""
        decoder = self._decoder
        if decoder is not None:
            getter = _QUICK.get(decoder, _NO_GETTERS).get(name)
            if getter is not None:
                return getter(self._args[0], self.offset)
            self._decode()
        return self._fields.get(name, default)

    def _decode(self) -> None:
        decoder = self._decoder
        if decoder is not None:
            self._decoder = None
            self._fields = {}
            self._findings = None
            self._summary = ""
            decoder(self, *self._args)

    @property
    def fields(self) -> dict[str, Any]:
        if self._decoder is not None:
            self._decode()
        return self._fields

    @fields.setter
    def fields(self, value: dict[str, Any]) -> None:
        self._decode()
        self._fields = value

    @property
    def findings(self) -> list[Finding]:
        if self._decoder is not None:
            self._decode()
        found = self._findings
        if found is None:
            found = self._findings = []
        return found

    @findings.setter
    def findings(self, value: list[Finding]) -> None:
        self._decode()
        self._findings = value

    @property
    def summary(self) -> str:
        if self._decoder is not None:
            self._decode()
        summarize = self._summarize
        if summarize is not None:
            self._summarize = None
            self._summary = summarize(self, *self._args)
        return self._summary

    @summary.setter
    def summary(self, value: str) -> None:
        self._decode()
        self._summarize = None
        self._summary = value

    def add(self, name: str, value: Any) -> None:
        """Set a field; a second occurrence turns the value into a list."""
        if self._decoder is not None:
            self._decode()
        fields = self._fields
        if name in fields:
            old = fields[name]
            if old.__class__ is _Multi:
                old.append(value)
            else:
                fields[name] = _Multi([old, value])
        else:
            fields[name] = value

    def finding(self, kind: FindingKind, offset: int, reason: str) -> None:
        self.findings.append(Finding(kind, self.protocol, offset, reason))

    def truncated(self, offset: int, reason: str) -> None:
        self.finding(FindingKind.TRUNCATED, offset, reason)

    def malformed(self, offset: int, reason: str) -> None:
        self.finding(FindingKind.MALFORMED, offset, reason)


class LazyLayer(Layer):
    """A layer decoded on first access: ``decoder(self, *args)`` fills fields and findings
    the first time any of ``fields``, ``findings``, ``summary`` is read; with ``summarize``,
    ``summary`` is ``summarize(self, *args)`` on its own first access instead (a summary is
    only needed for summary lines). ``args`` start with the frame's bytes.

    What the next layer's dispatch needs is read at once by the dissector; everything else
    waits. Built in one call because it is on every packet's path."""

    __slots__ = ()

    def __init__(self, protocol: str, offset: int, length: int, decoder: Callable[..., None],
                 args: tuple[Any, ...], summarize: Callable[..., str] | None = None) -> None:
        # _fields, _findings and _summary are first set by Layer._decode
        self.protocol = protocol
        self.offset = offset
        self.length = length
        self._decoder = decoder
        self._summarize = summarize
        self._args = args


FieldGetter = Callable[[Any, int], Any]
_QUICK: dict[Callable[..., None], dict[str, FieldGetter]] = {}
_NO_GETTERS: dict[str, FieldGetter] = {}


def quick_fields(decoder: Callable[..., None], getters: dict[str, FieldGetter]) -> None:
    """Register ``getters`` (field name -> ``getter(data, layer_offset)``) for the
    :class:`LazyLayer` built with ``decoder``.

    A getter must return exactly what the decoder puts in ``fields[name]`` for every layer
    it is deferred on (tests/dissect/test_lazy_layers.py checks this on the corpus). The
    getters of header fields are generated from their declaration
    (:meth:`pcapkit.proto.spec.Header.getters`), as are the decoders' struct readers."""
    _QUICK[decoder] = getters


class _Multi(list[Any]):
    """A list made by repeated occurrences of one field (as opposed to a list value)."""

    _multi = True


class Next(NamedTuple):
    """Where the payload goes: dispatch ``table`` with ``key``; payload at [offset, end).

    An immutable record (a named tuple: cheaper to build than a frozen dataclass)."""

    table: str
    key: int | str
    offset: int
    end: int
    reported_end: int | None = None  # payload end had nothing been snapped


# The per-packet hot paths build a Next with ``_next(Next, (table, key, offset, end, reported_end))``:
# the same named tuple at half the cost of calling ``Next(...)`` (no Python-level __new__ frame).
_next = tuple.__new__


class Context:
    """Per-frame facts a dissector may read (never write, except ``extra``).

    frame_number, ts_ns, caplen, wirelen, linktype: the frame's.
    reported_end:    end of this layer's bytes had the frame not been snapped.
    check_checksums: Wireshark's default is off (offloaded captures).
    layers:          layers decoded so far (outer first).
    extra:           e.g. "ip.src_raw"/"ip.dst_raw" for the transport pseudo-header.

    A plain slotted class, not a dataclass: one is built per frame, and a written-out
    ``__init__`` with literal defaults costs less than the generated one with factories.
    """

    __slots__ = ("caplen", "check_checksums", "extra", "frame_number", "layers", "linktype", "reported_end",
                 "ts_ns", "wirelen")

    def __init__(self, frame_number: int = 0, ts_ns: int = 0, caplen: int = 0, wirelen: int = 0,
                 linktype: int = 1, reported_end: int = 0, check_checksums: bool = False,
                 layers: list[Layer] | None = None, extra: dict[str, Any] | None = None) -> None:
        self.frame_number = frame_number
        self.ts_ns = ts_ns
        self.caplen = caplen
        self.wirelen = wirelen
        self.linktype = linktype
        self.reported_end = reported_end
        self.check_checksums = check_checksums
        self.layers: list[Layer] = [] if layers is None else layers
        self.extra: dict[str, Any] = {} if extra is None else extra

    def __repr__(self) -> str:
        return (f"Context(frame_number={self.frame_number}, ts_ns={self.ts_ns}, caplen={self.caplen}, "
                f"wirelen={self.wirelen}, linktype={self.linktype}, reported_end={self.reported_end}, "
                f"check_checksums={self.check_checksums}, layers={self.layers!r}, extra={self.extra!r})")


Result = tuple[Layer, Next | None]
Dissector = Callable[[bytes, int, int, Context], Result]
