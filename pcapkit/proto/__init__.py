"""Protocol knowledge, declared once: one :class:`~pcapkit.proto.spec.Header` per protocol
(offsets, widths, masks, Wireshark names, length rule, checks, dispatch key), the constants,
the TCP option walk and the Internet checksum. (Addresses as tshark prints them are in the
ground layer, :mod:`pcapkit.fields`, for every layer.)

The per-packet dissectors (:mod:`pcapkit.dissect`) and the columnar decoder
(:mod:`pcapkit.columnar`) read headers only through what these declarations generate
(:mod:`pcapkit.proto.codegen`, :mod:`pcapkit.proto.gather`). Nothing here imports numpy.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pcapkit.fields import FieldSpec
    from pcapkit.proto.spec import Header

# modules declaring headers (HEADER and other Header constants) or extra FieldSpecs
MODULES: tuple[str, ...] = (
    "pcapkit.proto.ethernet", "pcapkit.proto.vlan", "pcapkit.proto.sll", "pcapkit.proto.null",
    "pcapkit.proto.raw", "pcapkit.proto.arp", "pcapkit.proto.ipv4", "pcapkit.proto.ipv6",
    "pcapkit.proto.tcp", "pcapkit.proto.udp", "pcapkit.proto.icmp", "pcapkit.proto.erf",
    "pcapkit.proto.tcp_analysis", "pcapkit.proto.dns",
)


def headers() -> list[Header]:
    """Every declared header."""
    from pcapkit.proto.spec import Header

    out: list[Header] = []
    for name in MODULES:
        module = import_module(name)
        out += [v for v in vars(module).values() if isinstance(v, Header) and v not in out]
    return out


def field_specs() -> dict[str, FieldSpec]:
    """The FieldSpec of every field declared here (fixed fields, derived values such as
    ``tcp.len`` and the TCP options, the TCP analysis fields), by name; one name, one spec."""
    from pcapkit.fields import FieldSpec

    out: dict[str, FieldSpec] = {}

    def add(spec: FieldSpec) -> None:
        if out.setdefault(spec.name, spec) != spec:
            raise ValueError(f"{spec.name} declared twice with different specs")

    for header in headers():
        for spec in header.specs:
            add(spec)
    for name in MODULES:
        for attr in ("DERIVED", "PRESENCE", "FIELDS"):
            for spec in getattr(import_module(name), attr, ()):
                if isinstance(spec, FieldSpec):
                    add(spec)
    return out
