"""Field specifications: one declaration per Wireshark field name.

The same :class:`FieldSpec` serves the per-packet dissectors (what a value means and
how tshark prints it), every DataFrame (the dtype of its column: :func:`dtype_for`) and
the tshark comparison tests. Header fields are declared in :mod:`pcapkit.proto`, whose
headers generate their FieldSpecs; each dissector module lists its ``FIELDS`` and the
registry (:func:`pcapkit.dissect.registry.field_specs`) collects them.

Values inside pcapkit are native Python values (int, bool, str for addresses,
bytes); :func:`render_value` turns one into the text ``tshark -T fields`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from socket import AF_INET6 as _AF_INET6
from socket import inet_ntop as _inet_ntop
from typing import Any, Literal

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
    doc: one line meaning (RFC name); nullable: False for a field every row of a table
    has (``frame.number``), whose column then needs no missing-value mask."""

    name: str
    ftype: FieldType
    bits: int = 0
    base: Base = "dec"
    doc: str = ""
    nullable: bool = True

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


def dtype_for(spec: FieldSpec) -> Any:
    """The pandas dtype of a column holding ``spec``'s values, the same in every table.

    ==============  ======================================================
    ftype           pandas dtype
    ==============  ======================================================
    uint / int      ``UInt8/16/32/64`` / ``Int..`` by ``bits`` (nullable);
                    ``uint32`` ... when the spec is not nullable
    framenum        ``UInt32`` (``uint32`` when not nullable)
    bool            ``boolean`` (nullable)
    ipv4/ipv6/ether ``category`` of the text tshark prints
    time_ns         ``datetime64[ns]``; reltime_ns: ``timedelta64[ns]``
    float           ``float64`` (NaN when missing)
    anything else   ``string``
    ==============  ======================================================
    """
    import pandas as pd

    name = dtype_name(spec)
    if name == "boolean":
        return pd.BooleanDtype()
    if name == "string":
        return pd.StringDtype()
    if name[0] in "IUiu":  # (integers: pandas' nullable ones, or numpy's)
        return pd.api.types.pandas_dtype(name)
    return name


def dtype_name(spec: FieldSpec) -> str:
    """The name of :func:`dtype_for`'s dtype (``UInt16``, ``uint32``, ``boolean``,
    ``category``, ``datetime64[ns]``, ``float64``, ``string``...), without importing pandas
    (for the tables the command line formats from numpy columns)."""
    t = spec.ftype
    if t in ("uint", "int", "framenum"):
        bits = spec.bits or 32
        width = 8 if bits <= 8 else 16 if bits <= 16 else 32 if bits <= 32 else 64
        name = ("Int" if t == "int" else "UInt") + str(width)
        return name if spec.nullable else name.lower()
    if t == "bool":
        return "boolean"
    if t in ("ipv4", "ipv6", "ether"):
        return "category"
    if t == "time_ns":
        return "datetime64[ns]"
    if t == "reltime_ns":
        return "timedelta64[ns]"
    if t == "float":
        return "float64"
    return "string"


# addresses as tshark prints them: one helper per kind, for every layer

def ipv4_text(raw: bytes | bytearray | memoryview) -> str:
    """Dotted quad of (the first) 4 bytes."""
    return f"{raw[0]}.{raw[1]}.{raw[2]}.{raw[3]}"


def ipv6_text(raw: bytes | bytearray | memoryview) -> str:
    """RFC 5952 text as tshark prints it, IPv4-mapped and IPv4-compatible addresses with their
    dotted quad ("::ffff:1.2.3.4", "::1.2.3.4"), which is glibc's inet_ntop (the ipaddress
    module writes "::ffff:102:304"); also about 20 times faster than ipaddress."""
    return _inet_ntop(_AF_INET6, bytes(raw))


def ether_text(raw: bytes | bytearray | memoryview) -> str:
    """Colon-separated lower-case hex ("00:1b:21:3c:4d:5e")."""
    return bytes(raw).hex(":")
