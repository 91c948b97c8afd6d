"""Raw IP link types: LINKTYPE_RAW (101, and the old 12/14) carry IPv4 or IPv6 chosen by
the version nibble; tshark shows them as "raw:ip". LINKTYPE_IPV4 (228) and
LINKTYPE_IPV6 (229) have no link layer at all (tshark: "ip", "ipv6"), so their
dissectors return a layer with an empty protocol, which the driver drops.
"""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.fields import FieldSpec
from pcapkit.proto.raw import HEADER

FIELDS: tuple[FieldSpec, ...] = ()

_VERSION = HEADER.getter("raw.version")


def dissect_raw_ip(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("raw", offset)
    if end <= offset:
        layer.truncated(offset, "empty raw IP packet")
        return layer, None
    version = _VERSION(data, offset)
    if version == 4:
        return layer, Next("raw.version", 4, offset, end)
    if version == 6:
        return layer, Next("raw.version", 6, offset, end)
    layer.malformed(offset, f"IP version {version} is neither 4 nor 6")
    return layer, None


def dissect_raw_ipv4(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return Layer("", offset), Next("raw.version", 4, offset, end)


def dissect_raw_ipv6(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    return Layer("", offset), Next("raw.version", 6, offset, end)
