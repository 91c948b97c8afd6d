"""UDP (RFC 768): ports, length, checksum; the payload goes to the ``udp.port`` table.

Wireshark tries the lower port first, then the higher one; we pick the first of the two
that has a dissector registered (or the lower port if neither has one).

Checksums are only verified when ``ctx.check_checksums`` is set (Wireshark's default is
off, so ``udp.checksum.status`` is 2 "unverified"); the pseudo-header comes from
``ctx.extra`` ("ip.src_raw", "ip.dst_raw", "ip.version") set by the IP layer.
"""

from __future__ import annotations

from pcapkit.dissect import registry
from pcapkit.dissect.base import (
    Context,
    FindingKind,
    Layer,
    LazyLayer,
    Next,
    Result,
    _Multi,
    _next,
    quick_fields,
)
from pcapkit.dissect.registry import pick_port
from pcapkit.fields import FieldSpec
from pcapkit.proto.checksum import ones_complement_sum
from pcapkit.proto.udp import HEADER

FIELDS: tuple[FieldSpec, ...] = (
    *HEADER.specs,
    FieldSpec("udp.port", "uint", 16, doc="Source or Destination Port"),
    FieldSpec("udp.checksum.status", "uint", 8, doc="0 bad, 1 good, 2 unverified, 3 not present"),
    FieldSpec("udp.payload", "bytes", doc="UDP payload (captured bytes)"),
)

# Wireshark's checksum status values (proto_checksum_enum_e)
CHECKSUM_BAD, CHECKSUM_GOOD, CHECKSUM_UNVERIFIED, CHECKSUM_NOT_PRESENT = 0, 1, 2, 3


def pseudo_header_sum(ctx: Context, proto: int, length: int) -> int | None:
    """Sum of the IPv4/IPv6 pseudo-header from ``ctx.extra``, or None if unknown."""
    src = ctx.extra.get("ip.src_raw")
    dst = ctx.extra.get("ip.dst_raw")
    if not isinstance(src, bytes | bytearray) or not isinstance(dst, bytes | bytearray):
        return None
    if len(src) == 4 and len(dst) == 4:
        ph = bytes(src) + bytes(dst) + bytes((0, proto)) + length.to_bytes(2, "big")
    elif len(src) == 16 and len(dst) == 16:
        ph = bytes(src) + bytes(dst) + length.to_bytes(4, "big") + b"\x00\x00\x00" + bytes((proto,))
    else:
        return None
    return ones_complement_sum(ph)


def verify_checksum(data: bytes, offset: int, length: int, ctx: Context, proto: int) -> bool | None:
    """True/False when the transport checksum can be verified, None when it cannot."""
    if offset + length > len(data):
        return None
    ph = pseudo_header_sum(ctx, proto, length)
    if ph is None:
        return None
    return ones_complement_sum(data[offset:offset + length], ph) == 0xFFFF


def dissect_udp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    reported_end = max(ctx.reported_end, end)
    if end - offset < HEADER.min_len:
        layer = Layer("udp", offset)
        layer.length = max(0, end - offset)
        if end - offset >= _PORTS_END:
            sport, dport = _PORTS(data, offset)
            layer.add("udp.srcport", sport)
            layer.add("udp.dstport", dport)
            layer.add("udp.port", sport)
            layer.add("udp.port", dport)
        if reported_end - offset < 8:
            layer.malformed(offset, f"UDP header needs 8 bytes, {reported_end - offset} present")
        else:
            layer.truncated(offset, f"UDP header cut short at {end - offset} of 8 bytes")
        layer.summary = "UDP, [|udp]"
        return layer, None
    sport, dport, ulen, csum = _HEADER(data, offset)
    extra = ctx.extra
    in_error = bool(extra.get("in_error_pkt"))
    ip_version = extra.get("ip.version")
    payload_reported_end, bad_length, too_long = _extent(ulen, offset, reported_end, in_error, ip_version)
    if ctx.check_checksums:
        # verified now: the pseudo-header in ctx.extra is this datagram's only until the next IP layer
        verified = None
        if not (csum == 0 and (4 if ip_version is None else ip_version) == 4) and not (
                bad_length or too_long or in_error):
            verified = verify_checksum(data, offset, payload_reported_end - offset, ctx, 17)
        layer = Layer("udp", offset, 8)
        _decode(layer, data, end, reported_end, in_error, ip_version, verified)
    else:
        # fields (and the payload's copy), findings and summary on first access
        layer = LazyLayer("udp", offset, 8, _decode, (data, end, reported_end, in_error, ip_version, None))
    if bad_length:
        return layer, None
    key = pick_port(_UDP_PORTS, sport, dport)
    return layer, _next(Next, ("udp.port", key, offset + 8, end if end < payload_reported_end else payload_reported_end,
                               payload_reported_end))


_HEADER = HEADER.unpacker("udp.srcport", "udp.dstport", "udp.length", "udp.checksum")
_PORTS = HEADER.unpacker("udp.srcport", "udp.dstport")
_PORTS_END = HEADER["udp.dstport"].end
_LENGTH_AT = HEADER["udp.length"].off
_CHECKSUM_AT = HEADER["udp.checksum"].off
_UDP_PORTS = registry.table("udp.port")


def _extent(ulen: int, offset: int, reported_end: int, in_error: bool,
            ip_version: int | None) -> tuple[int, bool, bool]:
    """(where the payload would end had nothing been snapped, length < 8 so nothing follows,
    length > the IP payload) for a UDP length field, as tshark decides them."""
    if in_error:
        # quoted in an ICMP error: the datagram is cut short on purpose
        ip_payload = reported_end - offset
        return (offset + ulen if 8 <= ulen <= ip_payload else reported_end), False, False
    if ulen < 8:
        # IPv6 jumbograms use 0; otherwise a length under 8 contradicts the header
        return reported_end, not (ulen == 0 and ip_version == 6), False
    if ulen > reported_end - offset:
        return reported_end, False, True  # tshark flags it and still hands the IP payload on
    return offset + ulen, False, False


def _decode(layer: Layer, data: bytes, end: int, reported_end: int, in_error: bool, ip_version: int | None,
            verified: bool | None) -> None:
    """Fields, findings and summary of a whole UDP header (``verified``: the checksum's
    verification, None when not verified)."""
    offset = layer.offset
    sport, dport, ulen, csum = _HEADER(data, offset)
    f = layer._fields
    f["udp.srcport"] = sport
    f["udp.dstport"] = dport
    f["udp.port"] = _Multi([sport, dport])
    f["udp.length"] = ulen
    f["udp.checksum"] = csum
    ip_payload = reported_end - offset
    payload_reported_end, bad_length, too_long = _extent(ulen, offset, reported_end, in_error, ip_version)
    if bad_length:
        layer.malformed(offset + _LENGTH_AT, f"bad length value {ulen} < 8")
    elif too_long:
        layer.malformed(offset + _LENGTH_AT, f"bad length value {ulen} > IP payload length {ip_payload}")
    status = CHECKSUM_UNVERIFIED
    if csum == 0 and (4 if ip_version is None else ip_version) == 4:
        status = CHECKSUM_NOT_PRESENT
    elif verified is True:
        status = CHECKSUM_GOOD
    elif verified is False:
        status = CHECKSUM_BAD
        layer.finding(FindingKind.CHECKSUM_BAD, offset + _CHECKSUM_AT, f"bad UDP checksum 0x{csum:04x}")
    f["udp.checksum.status"] = status
    payload_end = min(end, payload_reported_end)
    payload_start = offset + HEADER.min_len
    # tshark's udp.payload runs to the end of the IP payload even when udp.length is
    # shorter; the next layer only gets udp.length bytes
    if end > payload_start:
        f["udp.payload"] = data[payload_start:end]
    if payload_end < payload_reported_end and payload_end == end and not in_error:
        layer.truncated(end, f"UDP payload cut short: {payload_end - payload_start} of "
                        f"{payload_reported_end - payload_start} bytes captured")
    layer._summary = f"UDP, length {max(0, (ip_payload if bad_length or too_long else ulen) - 8)}"


quick_fields(_decode, HEADER.getters("udp.srcport", "udp.dstport", "udp.length", "udp.checksum"))
