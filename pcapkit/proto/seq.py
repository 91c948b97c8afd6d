"""Sequence-number arithmetic modulo 2^32 (RFC 793/1982 serial comparison).

Every comparison of TCP sequence or acknowledgement numbers in pcapkit goes through
these helpers; they accept any int and reduce it mod 2^32. ``a`` is before ``b`` when
``(a - b) mod 2^32 >= 2^31`` (Wireshark's LT_SEQ: ``(int32)(a - b) < 0``), so of two
numbers exactly 2^31 apart each is before the other and neither is after.

Each helper is a single expression on ints, in the subset of Python that numba
compiles: the TCP analysis (:mod:`pcapkit.tcpflow.analysis`) has them written into its
code where it calls them, in its compiled and its interpreted backend alike
(:mod:`pcapkit.tcpflow.backends`).
"""

from __future__ import annotations

MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31


def seq_diff(a: int, b: int) -> int:
    """Signed distance a - b in [-2^31, 2^31): positive when a is after b."""
    return ((a - b + HALF) & MASK) - HALF


def seq_lt(a: int, b: int) -> bool:
    """a < b modulo 2^32 (as Wireshark's LT_SEQ: (int32)(a - b) < 0)."""
    return ((a - b) & MASK) >= HALF


def seq_le(a: int, b: int) -> bool:
    """a <= b modulo 2^32 ((int32)(a - b) <= 0)."""
    return ((b - a) & MASK) <= HALF


def seq_gt(a: int, b: int) -> bool:
    """a > b modulo 2^32 ((int32)(a - b) > 0)."""
    return 0 < ((a - b) & MASK) < HALF


def seq_ge(a: int, b: int) -> bool:
    """a >= b modulo 2^32 ((int32)(a - b) >= 0)."""
    return ((a - b) & MASK) < HALF


def seq_add(a: int, n: int) -> int:
    """a + n reduced modulo 2^32."""
    return (a + n) & MASK


def seq_sub(a: int, n: int) -> int:
    """a - n reduced modulo 2^32 (the unsigned difference)."""
    return (a - n) & MASK


def seq_max(a: int, b: int) -> int:
    return a if ((a - b) & MASK) < HALF else b


def seq_min(a: int, b: int) -> int:
    return a if ((b - a) & MASK) <= HALF else b


#: the helpers above, for inlining or compiling them into a caller
HELPERS = (seq_diff, seq_lt, seq_le, seq_gt, seq_ge, seq_add, seq_sub, seq_max, seq_min)
