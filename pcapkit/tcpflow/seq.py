"""Sequence-number arithmetic modulo 2^32 (RFC 793/1982 serial comparison).

Every comparison of TCP sequence or acknowledgement numbers in pcapkit goes through
these helpers; they accept any int and reduce it mod 2^32.
"""

from __future__ import annotations

MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31


def seq_diff(a: int, b: int) -> int:
    """Signed distance a - b in [-2^31, 2^31): positive when a is after b."""
    d = (a - b) & MASK
    return d - MOD if d >= HALF else d


def seq_lt(a: int, b: int) -> bool:
    """a < b modulo 2^32 (as Wireshark's LT_SEQ: (int32)(a - b) < 0)."""
    return seq_diff(a, b) < 0


def seq_le(a: int, b: int) -> bool:
    return seq_diff(a, b) <= 0


def seq_gt(a: int, b: int) -> bool:
    return seq_diff(a, b) > 0


def seq_ge(a: int, b: int) -> bool:
    return seq_diff(a, b) >= 0


def seq_add(a: int, n: int) -> int:
    """a + n reduced modulo 2^32."""
    return (a + n) & MASK


def seq_sub(a: int, n: int) -> int:
    """a - n reduced modulo 2^32 (the unsigned difference)."""
    return (a - n) & MASK


def seq_max(a: int, b: int) -> int:
    return a if seq_ge(a, b) else b


def seq_min(a: int, b: int) -> int:
    return a if seq_le(a, b) else b
