"""Sequence arithmetic modulo 2^32: against C's (int32_t)(a - b) semantics (Wireshark's
LT_SEQ/GT_SEQ macros), computed independently with ctypes; as plain Python, compiled by
numba, and written into a caller by the TCP analysis' code generator."""

from __future__ import annotations

import ast
import ctypes
import itertools
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pcapkit.proto.seq import (
    HELPERS,
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
from pcapkit.tcpflow import backends

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


# values around 0, 2^31 and 2^32 - 1, and beyond 32 bits (the helpers reduce any int)
EDGES = sorted({v + d for v in (0, 2**31, 2**32 - 1, 2**32) for d in (-2, -1, 0, 1, 2)} | {12345, -(2**31)})


def _reference(name: str, a: int, b: int) -> Any:
    d = ctypes.c_int32(ctypes.c_uint32(a - b).value).value
    return {"seq_diff": d, "seq_lt": d < 0, "seq_le": d <= 0, "seq_gt": d > 0, "seq_ge": d >= 0,
            "seq_max": a if d >= 0 else b, "seq_min": a if d <= 0 else b,
            "seq_add": ctypes.c_uint32(a + b).value, "seq_sub": ctypes.c_uint32(a - b).value}[name]


# module-level callers of each helper, for the code generator to write the helper into
def _calls_seq_diff(a: int, b: int) -> Any:
    return seq_diff(a, b)


def _calls_seq_lt(a: int, b: int) -> Any:
    return seq_lt(a, b)


def _calls_seq_le(a: int, b: int) -> Any:
    return seq_le(a, b)


def _calls_seq_gt(a: int, b: int) -> Any:
    return seq_gt(a, b)


def _calls_seq_ge(a: int, b: int) -> Any:
    return seq_ge(a, b)


def _calls_seq_add(a: int, b: int) -> Any:
    return seq_add(a, b)


def _calls_seq_sub(a: int, b: int) -> Any:
    return seq_sub(a, b)


def _calls_seq_max(a: int, b: int) -> Any:
    return seq_max(a, b)


def _calls_seq_min(a: int, b: int) -> Any:
    return seq_min(a, b)


def _written_in(helper: Callable[..., Any]) -> Callable[[int, int], Any]:
    """A caller of ``helper`` with the call replaced by the helper's expression, as the
    analysis' code generator writes it into its callers."""
    caller = globals()[f"_calls_{helper.__name__}"]
    (_, module), = backends.generate([caller], expressions=HELPERS)
    assert not any(isinstance(n, ast.Call) for n in ast.walk(module)), ast.unparse(module)
    namespace: dict[str, Any] = {}
    exec(compile(module, __file__, "exec"), namespace)
    return namespace[caller.__name__]  # type: ignore[no-any-return]


@pytest.mark.parametrize("helper", HELPERS, ids=[h.__name__ for h in HELPERS])
def test_edges_interpreted_inlined_and_compiled(helper: Callable[..., Any]) -> None:
    forms = {"python": helper, "inlined": _written_in(helper)}
    if backends.compiled_available():
        import numba

        forms["compiled"] = numba.njit(helper)
        forms["compiled inlined"] = numba.njit(_written_in(helper))
    for a, b in itertools.product(EDGES, EDGES):
        expected = _reference(helper.__name__, a, b)
        for name, fn in forms.items():
            if name.startswith("compiled") and not (-(2**62) < a < 2**62 and -(2**62) < b < 2**62):
                continue  # (int64 in numba)
            got = fn(a, b)
            assert got == expected and type(got) is type(expected), (name, helper.__name__, a, b, got, expected)
