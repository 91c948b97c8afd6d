"""pcapkit's own classic BPF interpreter (what libpcap's ``bpf_filter`` does).

Two entry points:

* :func:`run_program` runs one program over one packet (``data`` = captured bytes,
  ``wirelen`` = the ``len`` the program sees, as in the kernel and in libpcap), and
  returns the program's return value: 0 rejects, anything else accepts (and is the
  snapshot length the kernel would keep).
* :func:`run_batch` runs it over many packets at once with numpy: every packet keeps
  its own program counter; because classic BPF only jumps forward, one pass over the
  instructions, each applied to the packets standing on it, runs them all.

Semantics follow libpcap's ``bpf_filter``: registers and scratch memory start at 0;
a load that reaches past the captured bytes ends the program with 0 (reject); division
or modulo by a zero X rejects; shifts by 32 or more give 0; arithmetic is 32-bit
unsigned. Linux ancillary loads (``SKF_AD_OFF + n``) have no meaning offline and, like
libpcap's userland filter, fall outside the packet and reject.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pcapkit.capture.bpf_program import (
    BPF_A,
    BPF_ABS,
    BPF_ADD,
    BPF_ALU,
    BPF_AND,
    BPF_B,
    BPF_DIV,
    BPF_H,
    BPF_IMM,
    BPF_IND,
    BPF_JA,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_JMP,
    BPF_JSET,
    BPF_LD,
    BPF_LDX,
    BPF_LEN,
    BPF_LSH,
    BPF_MEM,
    BPF_MISC,
    BPF_MOD,
    BPF_MSH,
    BPF_MUL,
    BPF_NEG,
    BPF_OR,
    BPF_RET,
    BPF_RSH,
    BPF_ST,
    BPF_STX,
    BPF_SUB,
    BPF_TAX,
    BPF_W,
    BPF_X,
    BPF_XOR,
    SKF_AD_OFF,
    BpfInsn,
    BpfProgram,
    s32,
)

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MASK32 = 0xFFFFFFFF
MAX_STEPS = 1 << 16  # a program that loops longer (backward jumps) rejects
BPF_MEMWORDS = 16

_U32 = struct.Struct("!I").unpack_from
_U16 = struct.Struct("!H").unpack_from


class BpfProgramError(ValueError):
    """The program is not valid classic BPF (bad opcode, jump out of range)."""


def validate(insns: Sequence[BpfInsn]) -> None:
    """Check what the kernel's sk_chk_filter checks: known opcodes, forward jumps that
    stay inside the program, scratch indices below 16, a final return."""
    n = len(insns)
    if n == 0 or n > 4096:
        raise BpfProgramError(f"program length {n} outside 1..4096")
    for pc, ins in enumerate(insns):
        cls = ins.code & 0x07
        if cls == BPF_JMP:
            if (ins.code & 0xF0) == BPF_JA:
                # libpcap sign-extends k: "ip6 protochain" loops with backward jumps
                if not 0 <= pc + 1 + s32(ins.k) < n:
                    raise BpfProgramError(f"({pc:03d}) ja out of range")
            elif pc + 1 + max(ins.jt, ins.jf) >= n:
                raise BpfProgramError(f"({pc:03d}) jump out of range")
        if (ins.code in (BPF_ST, BPF_STX, BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM)
                and ins.k >= BPF_MEMWORDS):
            raise BpfProgramError(f"({pc:03d}) scratch index {ins.k} >= 16")
        if cls == BPF_ALU and not ins.code & BPF_X:
            op = ins.code & 0xF0
            if op in (BPF_DIV, BPF_MOD) and ins.k == 0:
                raise BpfProgramError(f"({pc:03d}) division by constant 0")
            if op in (BPF_LSH, BPF_RSH) and ins.k >= 32:
                raise BpfProgramError(f"({pc:03d}) shift by {ins.k} >= 32")
    if (insns[-1].code & 0x07) != BPF_RET:
        raise BpfProgramError("program does not end with a return")


def _load(data: bytes, caplen: int, off: int, size: int) -> int | None:
    if off < 0 or off + size > caplen:
        return None
    if size == 4:
        return int(_U32(data, off)[0])
    if size == 2:
        return int(_U16(data, off)[0])
    return data[off]


_SIZES = {BPF_W: 4, BPF_H: 2, BPF_B: 1}
_AUX_VLAN = (SKF_AD_OFF + 48, SKF_AD_OFF + 44)  # SKF_AD_VLAN_TAG_PRESENT, SKF_AD_VLAN_TAG


def run_program(program: BpfProgram | Sequence[BpfInsn], data: bytes, wirelen: int | None = None,
                aux: tuple[int, int] | None = None) -> int:
    """Run ``program`` over one packet; return its result (0 = reject).

    ``aux`` = (vlan_tag_present, vlan_tci) gives the Linux ancillary byte loads
    ``ldb [vlanp]`` / ``ldb [vlan_tci]`` their values, as libpcap's
    ``bpf_filter_with_aux_data`` does for live captures filtered in user space; without
    it they reject."""
    insns = program.insns if isinstance(program, BpfProgram) else program
    caplen = len(data)
    plen = caplen if wirelen is None else wirelen
    a = 0
    x = 0
    mem = [0] * BPF_MEMWORDS
    pc = 0
    n = len(insns)
    steps = 0
    while pc < n:
        steps += 1
        if steps > MAX_STEPS:
            return 0
        ins = insns[pc]
        code = ins.code
        k = ins.k
        pc += 1
        cls = code & 0x07
        if cls == BPF_RET:
            return (a if (code & 0x18) == BPF_A else k) & MASK32
        if cls == BPF_LD:
            mode = code & 0xE0
            if mode in (BPF_ABS, BPF_IND):
                off = k if mode == BPF_ABS else x + k
                if mode == BPF_IND and off > MASK32:
                    return 0
                size = _SIZES.get(code & 0x18, 0)
                if aux is not None and size == 1 and mode == BPF_ABS and k in _AUX_VLAN:
                    a = aux[0] if k == _AUX_VLAN[0] else aux[1] & 0x0FFF
                    continue
                v = _load(data, caplen, off, size)
                if v is None:
                    return 0
                a = v
            elif mode == BPF_IMM:
                a = k
            elif mode == BPF_LEN:
                a = plen & MASK32
            elif mode == BPF_MEM:
                a = mem[k]
            else:
                raise BpfProgramError(f"unknown opcode 0x{code:x}")
        elif cls == BPF_LDX:
            mode = code & 0xE0
            if mode == BPF_IMM:
                x = k
            elif mode == BPF_LEN:
                x = plen & MASK32
            elif mode == BPF_MEM:
                x = mem[k]
            elif mode == BPF_MSH:
                if k >= caplen:
                    return 0
                x = (data[k] & 0x0F) << 2
            else:
                raise BpfProgramError(f"unknown opcode 0x{code:x}")
        elif cls == BPF_ST:
            mem[k] = a
        elif cls == BPF_STX:
            mem[k] = x
        elif cls == BPF_JMP:
            op = code & 0xF0
            if op == BPF_JA:
                pc += k - 0x100000000 if k & 0x80000000 else k
                continue
            src = x if code & BPF_X else k
            if op == BPF_JEQ:
                cond = a == src
            elif op == BPF_JGT:
                cond = a > src
            elif op == BPF_JGE:
                cond = a >= src
            elif op == BPF_JSET:
                cond = (a & src) != 0
            else:
                raise BpfProgramError(f"unknown opcode 0x{code:x}")
            pc += ins.jt if cond else ins.jf
        elif cls == BPF_ALU:
            op = code & 0xF0
            if op == BPF_NEG:
                a = (-a) & MASK32
                continue
            src = x if code & BPF_X else k
            if op == BPF_ADD:
                a = (a + src) & MASK32
            elif op == BPF_SUB:
                a = (a - src) & MASK32
            elif op == BPF_MUL:
                a = (a * src) & MASK32
            elif op == BPF_DIV:
                if src == 0:
                    return 0
                a //= src
            elif op == BPF_MOD:
                if src == 0:
                    return 0
                a %= src
            elif op == BPF_AND:
                a &= src
            elif op == BPF_OR:
                a |= src
            elif op == BPF_XOR:
                a ^= src
            elif op == BPF_LSH:
                a = (a << src) & MASK32 if src < 32 else 0
            elif op == BPF_RSH:
                a = a >> src if src < 32 else 0
            else:
                raise BpfProgramError(f"unknown opcode 0x{code:x}")
        elif cls == BPF_MISC:
            if (code & 0xF8) == BPF_TAX:
                x = a
            else:
                a = x
        else:  # pragma: no cover - all 8 classes handled
            raise BpfProgramError(f"unknown opcode 0x{code:x}")
    raise BpfProgramError("fell off the end of the program")


def pack_batch(buffers: Sequence[bytes]) -> tuple[npt.NDArray[Any], npt.NDArray[Any], npt.NDArray[Any]]:
    """Packets as one flat uint8 array plus each one's start offset and captured length."""
    import numpy as np

    caplens = np.fromiter((len(b) for b in buffers), dtype=np.int64, count=len(buffers))
    starts = np.zeros(len(buffers), dtype=np.int64)
    if len(buffers) > 1:
        np.cumsum(caplens[:-1], out=starts[1:])
    flat = np.frombuffer(b"".join(buffers) + bytes(4), dtype=np.uint8)
    return flat, starts, caplens


def run_batch(program: BpfProgram | Sequence[BpfInsn], buffers: Sequence[bytes] | None = None,
              wirelens: Sequence[int] | npt.NDArray[Any] | None = None, *,
              flat: npt.NDArray[Any] | bytes | None = None,
              starts: Sequence[int] | npt.NDArray[Any] | None = None,
              caplens: Sequence[int] | npt.NDArray[Any] | None = None) -> npt.NDArray[np.uint32]:
    """Run ``program`` over many packets with numpy; return each packet's result (uint32,
    0 = reject), identical to :func:`run_program` packet by packet.

    Give the packets as a list of bytes, or (the columnar path: no copy per packet) as
    one ``flat`` buffer holding them all with each one's ``starts`` offset and
    ``caplens``. ``wirelens`` (what ``len`` loads) defaults to the captured lengths.
    """
    import numpy as np

    insns = program.insns if isinstance(program, BpfProgram) else tuple(program)
    if flat is None:
        if buffers is None:
            raise ValueError("give buffers, or flat + starts + caplens")
        data, base, cap = pack_batch(list(buffers))
    else:
        if starts is None or caplens is None:
            raise ValueError("flat needs starts and caplens")
        data = np.frombuffer(flat, dtype=np.uint8) if isinstance(flat, (bytes, bytearray, memoryview)) \
            else np.asarray(flat, dtype=np.uint8)
        base = np.asarray(starts, dtype=np.int64)
        cap = np.asarray(caplens, dtype=np.int64)
    if len(data) < 4:
        data = np.concatenate([data, np.zeros(4, dtype=np.uint8)])
    n = len(cap)
    plen = cap.astype(np.uint64) if wirelens is None else np.asarray(wirelens, dtype=np.uint64)
    plen = (plen & np.uint64(MASK32)).astype(np.uint64)
    last = max(len(data) - 1, 0)
    a = np.zeros(n, dtype=np.uint64)
    x = np.zeros(n, dtype=np.uint64)
    mem = np.zeros((BPF_MEMWORDS, n), dtype=np.uint64)
    pc = np.zeros(n, dtype=np.int64)
    result = np.zeros(n, dtype=np.uint64)
    done = np.zeros(n, dtype=bool)

    def load(sel: npt.NDArray[np.intp], off: npt.NDArray[np.uint64], size: int) -> tuple[
            npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
        ok = off + np.uint64(size) <= cap[sel].astype(np.uint64)
        pos = base[sel] + np.where(ok, off, 0).astype(np.int64)
        pos = np.minimum(pos, last - (size - 1))
        v = data[pos].astype(np.uint64)
        for j in range(1, size):
            v = (v << np.uint64(8)) | data[pos + j].astype(np.uint64)
        return v, ok

    backward = any((i.code == (BPF_JMP | BPF_JA)) and i.k & 0x80000000 for i in insns)
    for _pass in range(MAX_STEPS if backward else 1):
        for i, ins in enumerate(insns):
            sel = np.nonzero((pc == i) & ~done)[0]
            if sel.size == 0:
                continue
            code, k = ins.code, ins.k
            cls = code & 0x07
            uk = np.uint64(k)
            if cls == BPF_RET:
                result[sel] = a[sel] if (code & 0x18) == BPF_A else uk
                done[sel] = True
                continue
            nxt = i + 1
            if cls == BPF_LD or (cls == BPF_LDX and (code & 0xE0) == BPF_MSH):
                mode = code & 0xE0
                if mode in (BPF_ABS, BPF_IND, BPF_MSH):
                    size = 1 if mode == BPF_MSH else {BPF_W: 4, BPF_H: 2, BPF_B: 1}[code & 0x18]
                    off = np.full(sel.size, k, dtype=np.uint64)
                    if mode == BPF_IND:
                        off = off + x[sel]
                    v, ok = load(sel, off, size)
                    bad = sel[~ok]
                    result[bad] = 0
                    done[bad] = True
                    good = sel[ok]
                    if mode == BPF_MSH:
                        x[good] = (v[ok] & np.uint64(0x0F)) << np.uint64(2)
                    else:
                        a[good] = v[ok]
                    pc[good] = nxt
                    continue
                if mode == BPF_IMM:
                    a[sel] = uk
                elif mode == BPF_LEN:
                    a[sel] = plen[sel]
                elif mode == BPF_MEM:
                    a[sel] = mem[k, sel]
                else:
                    raise BpfProgramError(f"unknown opcode 0x{code:x}")
            elif cls == BPF_LDX:
                mode = code & 0xE0
                if mode == BPF_IMM:
                    x[sel] = uk
                elif mode == BPF_LEN:
                    x[sel] = plen[sel]
                elif mode == BPF_MEM:
                    x[sel] = mem[k, sel]
                else:
                    raise BpfProgramError(f"unknown opcode 0x{code:x}")
            elif cls == BPF_ST:
                mem[k, sel] = a[sel]
            elif cls == BPF_STX:
                mem[k, sel] = x[sel]
            elif cls == BPF_JMP:
                op = code & 0xF0
                if op == BPF_JA:
                    pc[sel] = nxt + (k - 0x100000000 if k & 0x80000000 else k)
                    continue
                av = a[sel]
                src = x[sel] if code & BPF_X else uk
                if op == BPF_JEQ:
                    cond = av == src
                elif op == BPF_JGT:
                    cond = av > src
                elif op == BPF_JGE:
                    cond = av >= src
                elif op == BPF_JSET:
                    cond = (av & src) != 0
                else:
                    raise BpfProgramError(f"unknown opcode 0x{code:x}")
                pc[sel] = np.where(cond, nxt + ins.jt, nxt + ins.jf)
                continue
            elif cls == BPF_ALU:
                op = code & 0xF0
                av = a[sel]
                m32 = np.uint64(MASK32)
                if op == BPF_NEG:
                    a[sel] = (np.uint64(1 << 32) - av) & m32
                    pc[sel] = nxt
                    continue
                srcv = x[sel] if code & BPF_X else np.full(sel.size, k, dtype=np.uint64)
                if op in (BPF_DIV, BPF_MOD):
                    zero = srcv == 0
                    if zero.any():
                        result[sel[zero]] = 0
                        done[sel[zero]] = True
                    safe = np.where(zero, np.uint64(1), srcv)
                    r = av // safe if op == BPF_DIV else av % safe
                elif op == BPF_ADD:
                    r = (av + srcv) & m32
                elif op == BPF_SUB:
                    r = (av + (np.uint64(1 << 32) - srcv)) & m32
                elif op == BPF_MUL:
                    r = (av * srcv) & m32
                elif op == BPF_AND:
                    r = av & srcv
                elif op == BPF_OR:
                    r = av | srcv
                elif op == BPF_XOR:
                    r = av ^ srcv
                elif op in (BPF_LSH, BPF_RSH):
                    big = srcv >= 32
                    sh = np.where(big, np.uint64(0), srcv)
                    r = ((av << sh) & m32) if op == BPF_LSH else (av >> sh)
                    r = np.where(big, np.uint64(0), r)
                else:
                    raise BpfProgramError(f"unknown opcode 0x{code:x}")
                a[sel] = r
            elif cls == BPF_MISC:
                if (code & 0xF8) == BPF_TAX:
                    x[sel] = a[sel]
                else:
                    a[sel] = x[sel]
            pc[sel] = nxt
        if not backward or done.all():
            break
    result[~done] = 0  # a program still looping after MAX_STEPS passes rejects
    return result.astype(np.uint32)


__all__ = [
    "BPF_IMM",
    "BPF_LDX",
    "BpfProgramError",
    "pack_batch",
    "run_batch",
    "run_program",
    "validate",
]
