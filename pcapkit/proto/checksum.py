"""The Internet checksum (RFC 1071), once for IPv4 headers, TCP, UDP, ICMP and ICMPv6."""

from __future__ import annotations

import struct


def ones_complement_sum(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """The 16-bit ones' complement sum of ``data`` plus ``start`` (odd length padded with a
    zero byte). A message whose checksum is right sums to 0xFFFF."""
    b = bytes(data)
    if len(b) % 2:
        b += b"\x00"
    total = start + sum(struct.unpack(f"!{len(b) // 2}H", b))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def internet_checksum(data: bytes | bytearray | memoryview) -> int:
    """The checksum to put in a header: the ones' complement of the ones' complement sum."""
    return ~ones_complement_sum(data) & 0xFFFF
