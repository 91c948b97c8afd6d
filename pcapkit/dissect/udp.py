"""UDP (RFC 768): ports, length, checksum; the payload goes to the ``udp.port`` table.

Wireshark tries the lower port first, then the higher one; we pick the first of the two
that has a dissector registered (or the lower port if neither has one).

Checksums are only verified when ``ctx.check_checksums`` is set (Wireshark's default is
off, so ``udp.checksum.status`` is 2 "unverified"); the pseudo-header comes from
``ctx.extra`` ("ip.src_raw", "ip.dst_raw", "ip.version") set by the IP layer.
"""

from __future__ import annotations

import struct

from pcapkit.dissect.base import Context, Layer, Next, Result
from pcapkit.fields import FieldSpec

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("udp.srcport", "uint", 16, doc="Source Port"),
    FieldSpec("udp.dstport", "uint", 16, doc="Destination Port"),
    FieldSpec("udp.port", "uint", 16, doc="Source or Destination Port"),
    FieldSpec("udp.length", "uint", 16, doc="Length in octets including this header and the data"),
    FieldSpec("udp.checksum", "uint", 16, "hex", doc="Checksum"),
    FieldSpec("udp.checksum.status", "uint", 8, doc="0 bad, 1 good, 2 unverified, 3 not present"),
    FieldSpec("udp.payload", "bytes", doc="UDP payload (captured bytes)"),
)

# Wireshark's checksum status values (proto_checksum_enum_e)
CHECKSUM_BAD, CHECKSUM_GOOD, CHECKSUM_UNVERIFIED, CHECKSUM_NOT_PRESENT = 0, 1, 2, 3


def ones_complement_sum(data: bytes | memoryview, start: int = 0) -> int:
    """The 16-bit one's complement sum of ``data`` (odd length padded with a zero byte)."""
    b = bytes(data)
    if len(b) % 2:
        b += b"\x00"
    total = start + sum(struct.unpack(f"!{len(b) // 2}H", b))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


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


def pick_port(table: str, sport: int, dport: int) -> int:
    """The port to dispatch on: the lower one first, then the higher (Wireshark's order)."""
    from pcapkit.dissect import registry

    low, high = (sport, dport) if sport <= dport else (dport, sport)
    registered = registry.tables().get(table, {})
    for port in (low, high):
        if port in registered:
            return port
    return low


def dissect_udp(data: bytes, offset: int, end: int, ctx: Context) -> Result:
    layer = Layer("udp", offset)
    reported_end = max(ctx.reported_end, end)
    if end - offset < 8:
        layer.length = max(0, end - offset)
        if end - offset >= 4:
            sport = int.from_bytes(data[offset:offset + 2], "big")
            dport = int.from_bytes(data[offset + 2:offset + 4], "big")
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
    sport = int.from_bytes(data[offset:offset + 2], "big")
    dport = int.from_bytes(data[offset + 2:offset + 4], "big")
    ulen = int.from_bytes(data[offset + 4:offset + 6], "big")
    csum = int.from_bytes(data[offset + 6:offset + 8], "big")
    layer.length = 8
    layer.add("udp.srcport", sport)
    layer.add("udp.dstport", dport)
    layer.add("udp.port", sport)
    layer.add("udp.port", dport)
    layer.add("udp.length", ulen)
    layer.add("udp.checksum", csum)

    ip_payload = reported_end - offset
    payload_reported_end = reported_end
    bad_length = False  # < 8: nothing to hand on
    too_long = False    # > IP payload: the IP payload is handed on
    in_error = bool(ctx.extra.get("in_error_pkt"))
    if in_error:
        # quoted in an ICMP error: the datagram is cut short on purpose
        if 8 <= ulen <= ip_payload:
            payload_reported_end = offset + ulen
    elif ulen < 8:
        # IPv6 jumbograms use 0; otherwise a length under 8 contradicts the header
        if not (ulen == 0 and ctx.extra.get("ip.version") == 6):
            layer.malformed(offset + 4, f"bad length value {ulen} < 8")
            bad_length = True
    elif ulen > ip_payload:
        # tshark flags it and still hands the IP payload to the next dissector
        layer.malformed(offset + 4, f"bad length value {ulen} > IP payload length {ip_payload}")
        too_long = True
    else:
        payload_reported_end = offset + ulen

    status = CHECKSUM_UNVERIFIED
    if csum == 0 and ctx.extra.get("ip.version", 4) == 4:
        status = CHECKSUM_NOT_PRESENT
    elif ctx.check_checksums and not bad_length and not too_long and not in_error:
        ok = verify_checksum(data, offset, payload_reported_end - offset, ctx, 17)
        if ok is True:
            status = CHECKSUM_GOOD
        elif ok is False:
            status = CHECKSUM_BAD
            from pcapkit.dissect.base import FindingKind

            layer.finding(FindingKind.CHECKSUM_BAD, offset + 6, f"bad UDP checksum 0x{csum:04x}")
    layer.add("udp.checksum.status", status)

    payload_end = min(end, payload_reported_end)
    payload_start = offset + 8
    # tshark's udp.payload runs to the end of the IP payload even when udp.length is
    # shorter; the next layer only gets udp.length bytes
    if end > payload_start:
        layer.add("udp.payload", data[payload_start:end])
    if payload_end < payload_reported_end and payload_end == end and not in_error:
        layer.truncated(end, f"UDP payload cut short: {payload_end - payload_start} of "
                        f"{payload_reported_end - payload_start} bytes captured")
    layer.summary = f"UDP, length {max(0, (ip_payload if bad_length or too_long else ulen) - 8)}"
    if bad_length:
        return layer, None
    key = pick_port("udp.port", sport, dport)
    return layer, Next("udp.port", key, payload_start, payload_end, payload_reported_end)
