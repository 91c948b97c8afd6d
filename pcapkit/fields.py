"""Field specifications: one declaration per Wireshark field name.

The same :class:`FieldSpec` serves the per-packet dissectors (what a value means and
how tshark prints it), the columnar path (the pandas dtype of its column) and the
tshark comparison tests. Each dissector module declares a ``FIELDS`` tuple; the
registry in :mod:`pcapkit.dissect.registry` collects them into :data:`FIELD_SPECS`.

Values inside pcapkit are native Python values (int, bool, str for addresses,
bytes); :func:`render` turns one into the text ``tshark -T fields`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from socket import AF_INET6 as _AF_INET6
from socket import inet_ntop as _inet_ntop
from typing import Literal

FieldType = Literal[
    "uint", "int", "bool", "ipv4", "ipv6", "ether", "bytes", "string", "float",
    "time_ns", "reltime_ns", "framenum", "none",
]
Base = Literal["dec", "hex", "oct", "none"]


class _Missing:
    """The value of an item whose bytes lie past the end of the packet: tshark adds it
    before it gives up on the packet and prints it as "<MISSING>"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """name: Wireshark display-filter name; ftype: value kind; bits: width for uint/int
    (used for hex padding and column dtype); base: how tshark prints integers;
    doc: one line meaning (RFC name)."""

    name: str
    ftype: FieldType
    bits: int = 0
    base: Base = "dec"
    doc: str = ""

    def render(self, value: object) -> str:
        """The text ``tshark -T fields`` prints for ``value``."""
        return render_value(self, value)


def render_value(spec: FieldSpec, value: object) -> str:
    if isinstance(value, list):
        return ",".join(render_value(spec, v) for v in value)
    t = spec.ftype
    if t == "bool":
        # tshark 4.0 prints booleans of bitfields as 1/0 ("True"/"False" in -T json ek)
        return "1" if value else "0"
    if t in ("uint", "int", "framenum"):
        assert isinstance(value, int)
        if spec.base == "hex":
            width = max(1, (spec.bits + 3) // 4) if spec.bits else 1
            return f"0x{value:0{width}x}"
        if spec.base == "oct":
            return f"0{value:o}"
        return str(value)
    if t in ("ipv4", "ipv6", "ether", "string"):
        return str(value)
    if t == "bytes":
        if value is MISSING:
            return "<MISSING>"
        assert isinstance(value, bytes | bytearray | memoryview)
        # tshark -T fields prints FT_BYTES as plain hex, and an empty value as "<none>"
        return bytes(value).hex() or "<none>"
    if t == "time_ns" or t == "reltime_ns":
        from pcapkit.frame import format_epoch_ns

        assert isinstance(value, int)
        return format_epoch_ns(value)
    if t == "float":
        return repr(value)
    return str(value)


def ipv4_text(raw: bytes) -> str:
    return ".".join(str(b) for b in raw)


def ipv6_text(raw: bytes) -> str:
    """RFC 5952 text as tshark prints it, IPv4-mapped and IPv4-compatible addresses with their
    dotted quad ("::ffff:1.2.3.4", "::1.2.3.4"), which is glibc's inet_ntop (the ipaddress
    module writes "::ffff:102:304"); also about 20 times faster than ipaddress."""
    return _inet_ntop(_AF_INET6, bytes(raw))


def ether_text(raw: bytes) -> str:
    return bytes(raw).hex(":")
