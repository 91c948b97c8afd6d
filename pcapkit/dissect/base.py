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
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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


@dataclass(slots=True)
class Layer:
    """One decoded protocol layer.

    protocol:   Wireshark protocol name as in ``frame.protocols`` ("eth", "vlan", "ip").
    offset:     where the layer starts in the frame.
    length:     header bytes consumed (captured bytes actually decoded).
    fields:     Wireshark field name -> native value; a field that occurs several
                times holds a list in order of occurrence (see :meth:`add`).
    findings:   truncated / malformed / ... findings for this layer.
    summary:    tcpdump-style summary text of this layer ("Flags [S], seq 1, ...").
    tree:       optional nested display items for ``pcapkit show`` (label, children).
    """

    protocol: str
    offset: int
    length: int = 0
    fields: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    summary: str = ""

    def add(self, name: str, value: Any) -> None:
        """Set a field; a second occurrence turns the value into a list."""
        if name in self.fields:
            old = self.fields[name]
            if isinstance(old, list) and getattr(old, "_multi", False):
                old.append(value)
            else:
                multi = _Multi([old, value])
                self.fields[name] = multi
        else:
            self.fields[name] = value

    def finding(self, kind: FindingKind, offset: int, reason: str) -> None:
        self.findings.append(Finding(kind, self.protocol, offset, reason))

    def truncated(self, offset: int, reason: str) -> None:
        self.finding(FindingKind.TRUNCATED, offset, reason)

    def malformed(self, offset: int, reason: str) -> None:
        self.finding(FindingKind.MALFORMED, offset, reason)


class _Multi(list[Any]):
    """A list made by repeated occurrences of one field (as opposed to a list value)."""

    _multi = True


@dataclass(frozen=True, slots=True)
class Next:
    """Where the payload goes: dispatch ``table`` with ``key``; payload at [offset, end)."""

    table: str
    key: int | str
    offset: int
    end: int
    reported_end: int | None = None  # payload end had nothing been snapped


@dataclass(slots=True)
class Context:
    """Per-frame facts a dissector may read (never write, except ``extra``)."""

    frame_number: int = 0
    ts_ns: int = 0
    caplen: int = 0
    wirelen: int = 0
    linktype: int = 1
    reported_end: int = 0          # end of this layer's bytes had the frame not been snapped
    check_checksums: bool = False  # Wireshark's default: off (offloaded captures)
    layers: list[Layer] = field(default_factory=list)   # layers decoded so far (outer first)
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. ("ip.src", "ip.dst") for the TCP pseudo-header


Result = tuple[Layer, Next | None]
Dissector = Callable[[bytes, int, int, Context], Result]
