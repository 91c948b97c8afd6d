"""pcapkit's BPF interpreter against libpcap's own ``bpf_filter`` (called through ctypes)
on random valid programs and random packets, and the numpy batch path against both."""

from __future__ import annotations

import ctypes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcapkit.capture.bpf import _CInsn, _libpcap, compile_filter
from pcapkit.capture.bpf_program import BpfInsn, BpfProgram
from pcapkit.capture.bpf_vm import run_batch, run_program, validate


def _libpcap_filter(insns: tuple[BpfInsn, ...], data: bytes, wirelen: int) -> int:
    lib = _libpcap()
    fn = lib.bpf_filter
    fn.argtypes = [ctypes.POINTER(_CInsn), ctypes.c_char_p, ctypes.c_uint, ctypes.c_uint]
    fn.restype = ctypes.c_uint
    arr = (_CInsn * len(insns))(*[_CInsn(i.code, i.jt, i.jf, i.k) for i in insns])
    return int(fn(arr, data, wirelen, len(data)))


# opcodes of every class libpcap's bpf_validate accepts
LOADS = [0x20, 0x28, 0x30, 0x40, 0x48, 0x50, 0x00, 0x80, 0x60, 0x01, 0x81, 0x61, 0xB1]
ALU = [op | src for op in (0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0)
       for src in (0x04, 0x0C)] + [0x84]
JMP = [op | src for op in (0x10, 0x20, 0x30, 0x40) for src in (0x05, 0x0D)]
MISC = [0x07, 0x87, 0x02, 0x03]


@st.composite
def programs(draw: st.DrawFn) -> tuple[BpfInsn, ...]:
    n = draw(st.integers(1, 24))
    out = []
    small_k = st.one_of(st.integers(0, 80), st.integers(0, 0xFFFFFFFF), st.sampled_from([0x800, 0x86DD, 6, 17]))
    for pc in range(n):
        kind = draw(st.sampled_from(["ld", "alu", "jmp", "misc", "ret"]))
        left = n - pc - 1  # instructions after this one, before the final return
        if kind == "ld":
            code = draw(st.sampled_from(LOADS))
            k = draw(st.integers(0, 15)) if code in (0x60, 0x61) else draw(small_k)
            out.append(BpfInsn(code, 0, 0, k))
        elif kind == "alu":
            code = draw(st.sampled_from(ALU))
            k = draw(st.one_of(st.integers(0, 40), st.integers(0, 0xFFFFFFFF)))
            if code in (0x34, 0x94) and k == 0:  # the kernel refuses div/mod by constant 0
                k = 1
            if code in (0x64, 0x74):  # ... and constant shifts of 32 or more
                k %= 32
            out.append(BpfInsn(code, 0, 0, k))
        elif kind == "jmp":
            if draw(st.booleans()):
                out.append(BpfInsn(0x05, 0, 0, draw(st.integers(0, left))))
            else:
                code = draw(st.sampled_from(JMP))
                out.append(BpfInsn(code, draw(st.integers(0, min(left, 255))),
                                   draw(st.integers(0, min(left, 255))), draw(small_k)))
        elif kind == "misc":
            code = draw(st.sampled_from(MISC))
            k = draw(st.integers(0, 15))
            out.append(BpfInsn(code, 0, 0, k))
        else:
            out.append(BpfInsn(draw(st.sampled_from([0x06, 0x16])), 0, 0, draw(small_k)))
    out.append(BpfInsn(0x16, 0, 0, 0))  # ret a
    # libpcap's bpf_filter leaves scratch memory uninitialised (the kernel's checker
    # refuses programs that read it before a store): define all 16 words first
    seed = draw(st.integers(0, 0xFFFFFFFF))
    prefix = [BpfInsn(0x00, 0, 0, seed)]
    for m in range(16):
        prefix += [BpfInsn(0x02, 0, 0, m), BpfInsn(0x04, 0, 0, 0x9E3779B9)]
    prefix.append(BpfInsn(0x00, 0, 0, 0))
    return tuple(prefix + out)


packets = st.binary(min_size=0, max_size=96)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), packets, st.integers(0, 2000))
def test_interpreter_equals_libpcap_bpf_filter(insns: tuple[BpfInsn, ...], data: bytes, extra: int) -> None:
    validate(insns)
    wirelen = len(data) + extra
    assert run_program(insns, data, wirelen) == _libpcap_filter(insns, data, wirelen)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.lists(packets, min_size=1, max_size=20))
def test_batch_equals_libpcap(insns: tuple[BpfInsn, ...], bufs: list[bytes]) -> None:
    expected = [_libpcap_filter(insns, b, len(b)) for b in bufs]
    assert run_batch(insns, bufs).tolist() == expected
    # the columnar form: one flat buffer (with a gap between packets) plus offsets
    flat = b"".join(b + b"\xaa" * 3 for b in bufs)
    starts, pos = [], 0
    for b in bufs:
        starts.append(pos)
        pos += len(b) + 3
    got = run_batch(insns, flat=flat, starts=starts, caplens=[len(b) for b in bufs])
    assert got.tolist() == expected


@pytest.mark.parametrize("expr", ["tcp port 80", "ip[2:2] > 576", "vlan and udp",
                                  "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420"])
@settings(max_examples=80, deadline=None)
@given(data=st.binary(min_size=0, max_size=120))
def test_compiled_filters_equal_libpcap(expr: str, data: bytes) -> None:
    prog: BpfProgram = compile_filter(expr)
    # make the random bytes look like IPv4/TCP often enough to reach deep branches
    pkt = bytes(12) + b"\x08\x00\x45" + data
    assert run_program(prog, pkt, len(pkt)) == _libpcap_filter(prog.insns, pkt, len(pkt))


@settings(max_examples=150, deadline=None)
@given(data=st.binary(min_size=0, max_size=160))
def test_protochain_backward_jumps_equal_libpcap(data: bytes) -> None:
    """``ip6 protochain`` compiles to a loop (a backward ``ja``): scalar and batch
    interpreters must follow it like libpcap's bpf_filter does."""
    prog = compile_filter("ip6 protochain 6")
    assert any(i.code == 0x05 and i.k & 0x80000000 for i in prog.insns)
    # IPv6 header whose next header is hop-by-hop (0), so the chain walk starts
    pkt = bytes(12) + b"\x86\xdd" + b"\x60\x00\x00\x00\x00\x40" + bytes([data[0] % 61 if data else 0]) + b"\x40" + bytes(32) + data
    expected = _libpcap_filter(prog.insns, pkt, len(pkt))
    assert run_program(prog, pkt, len(pkt)) == expected
    assert run_batch(prog, [pkt, pkt[:60]]).tolist() == [expected, _libpcap_filter(prog.insns, pkt[:60], 60)]
