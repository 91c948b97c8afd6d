"""Sequence arithmetic modulo 2^32: against C's (int32_t)(a - b) semantics (Wireshark's
LT_SEQ/GT_SEQ macros), computed independently with ctypes."""

from __future__ import annotations

import ctypes

from hypothesis import given
from hypothesis import strategies as st

from pcapkit.tcpflow.seq import (
    seq_add,
    seq_diff,
    seq_ge,
    seq_gt,
    seq_le,
    seq_lt,
    seq_max,
    seq_min,
    seq_sub,
)

u32 = st.integers(min_value=0, max_value=2**32 - 1)


def c_diff(a: int, b: int) -> int:
    """(int32_t)((uint32_t)a - (uint32_t)b), as C computes it."""
    return ctypes.c_int32(ctypes.c_uint32(a - b).value).value


@given(u32, u32)
def test_comparisons_match_wireshark_macros(a: int, b: int) -> None:
    d = c_diff(a, b)
    assert seq_diff(a, b) == d
    assert seq_lt(a, b) == (d < 0)
    assert seq_le(a, b) == (d <= 0)
    assert seq_gt(a, b) == (d > 0)
    assert seq_ge(a, b) == (d >= 0)
    assert seq_max(a, b) == (a if d >= 0 else b)
    assert seq_min(a, b) == (a if d <= 0 else b)


@given(u32, st.integers(min_value=-(2**33), max_value=2**33))
def test_add_sub_wrap(a: int, n: int) -> None:
    assert seq_add(a, n) == ctypes.c_uint32(a + n).value
    assert seq_sub(a, n) == ctypes.c_uint32(a - n).value
    assert seq_sub(seq_add(a, n), n) == a


def test_wraparound_table() -> None:
    top = 2**32 - 1
    assert seq_lt(top, 0) and seq_gt(0, top)       # 0 comes right after 2^32-1
    assert seq_add(top, 1) == 0
    assert seq_diff(5, top) == 6
    assert seq_diff(top, 5) == -6
    assert seq_lt(0, 2**31 - 1) and seq_gt(0, 2**31 + 1)   # half-way boundary
    assert seq_diff(2**31, 0) == -(2**31)          # exactly half: "before", as int32_t
