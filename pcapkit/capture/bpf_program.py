"""Classic BPF programs as data: opcodes, :class:`BpfInsn`, :class:`BpfProgram`, and the
text ``tcpdump -d/-dd/-ddd`` prints for them.

What the compiler (:mod:`pcapkit.capture.bpf`, libpcap through ctypes), the
interpreter (:mod:`pcapkit.capture.bpf_vm`) and the live socket
(:mod:`pcapkit.capture.live`) share; it imports none of them.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

# classic BPF instruction classes / fields (<net/bpf.h>)
BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC = range(8)
BPF_W, BPF_H, BPF_B = 0x00, 0x08, 0x10
BPF_IMM, BPF_ABS, BPF_IND, BPF_MEM, BPF_LEN, BPF_MSH = 0x00, 0x20, 0x40, 0x60, 0x80, 0xA0
BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND = 0x00, 0x10, 0x20, 0x30, 0x40, 0x50
BPF_LSH, BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR = 0x60, 0x70, 0x80, 0x90, 0xA0
BPF_JA, BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET = 0x00, 0x10, 0x20, 0x30, 0x40
BPF_K, BPF_X, BPF_A = 0x00, 0x08, 0x10
BPF_TAX, BPF_TXA = 0x00, 0x80

# Linux "ancillary data" offsets (linux/filter.h): SKF_AD_OFF + n, named as bpf_image does
SKF_AD_OFF = 0xFFFFF000  # -0x1000 as u32
SKF_AD_NAMES: dict[int, str] = {
    0: "proto", 4: "type", 8: "ifidx", 12: "nla", 16: "nlan", 20: "mark", 24: "queue",
    28: "hatype", 32: "rxhash", 36: "cpu", 40: "xor_x", 44: "vlan_tci", 48: "vlanp",
    52: "poff", 56: "random", 60: "vlan_tpid",
}
SKF_AD_MAX = 64

@dataclass(frozen=True, slots=True)
class BpfInsn:
    """One classic BPF instruction (struct bpf_insn)."""

    code: int
    jt: int
    jf: int
    k: int


@dataclass(frozen=True, slots=True)
class BpfProgram:
    """A compiled filter: the instructions plus what it was compiled for."""

    insns: tuple[BpfInsn, ...]
    expr: str = ""
    linktype: int = 1
    snaplen: int = 262144

    def __len__(self) -> int:
        return len(self.insns)

    def to_bytes(self) -> bytes:
        """The program as an array of struct sock_filter / bpf_insn (native order)."""
        return b"".join(struct.pack("=HBBI", i.code, i.jt, i.jf, i.k) for i in self.insns)

    def image(self) -> str:
        """``tcpdump -d`` text."""
        return format_program(self, "d")



# --- tcpdump -d / -dd / -ddd ------------------------------------------------------------

def s32(k: int) -> int:
    """``k`` read as a signed 32-bit number (libpcap prints offsets and jumps so)."""
    return k - (1 << 32) if k & 0x80000000 else k


def _abs_operand(k: int) -> str:
    off = k - SKF_AD_OFF
    if k >= SKF_AD_OFF and off < SKF_AD_MAX and off in SKF_AD_NAMES:
        return f"[{SKF_AD_NAMES[off]}]"
    return f"[{s32(k)}]"


# opcode -> (mnemonic, operand style); styles: "d" #%d, "x" #0x%x, "X" literal x, "" none
_ALU_NAMES = {BPF_ADD: "add", BPF_SUB: "sub", BPF_MUL: "mul", BPF_DIV: "div", BPF_MOD: "mod",
              BPF_AND: "and", BPF_OR: "or", BPF_XOR: "xor", BPF_LSH: "lsh", BPF_RSH: "rsh"}
_ALU_HEX = {BPF_AND, BPF_OR, BPF_XOR}
_JMP_NAMES = {BPF_JGT: "jgt", BPF_JGE: "jge", BPF_JEQ: "jeq", BPF_JSET: "jset"}


def insn_image(insn: BpfInsn, n: int) -> str:
    """One line of ``tcpdump -d`` (libpcap's bpf_image) for instruction ``n``."""
    code, k = insn.code, insn.k
    cls = code & 0x07
    op = "unimp"
    operand = f"0x{code:x}"
    size = code & 0x18
    mode = code & 0xE0
    if code == BPF_RET | BPF_K:
        op, operand = "ret", f"#{s32(k)}"
    elif code == BPF_RET | BPF_A:
        op, operand = "ret", ""
    elif cls == BPF_LD and mode == BPF_ABS and size in (BPF_W, BPF_H, BPF_B):
        op = {BPF_W: "ld", BPF_H: "ldh", BPF_B: "ldb"}[size]
        operand = _abs_operand(k)
    elif code == BPF_LD | BPF_W | BPF_LEN:
        op, operand = "ld", "#pktlen"
    elif cls == BPF_LD and mode == BPF_IND and size in (BPF_W, BPF_H, BPF_B):
        op = {BPF_W: "ld", BPF_H: "ldh", BPF_B: "ldb"}[size]
        operand = f"[x + {s32(k)}]"
    elif code == BPF_LD | BPF_IMM:
        op, operand = "ld", f"#0x{k:x}"
    elif code == BPF_LDX | BPF_IMM:
        op, operand = "ldx", f"#0x{k:x}"
    elif code == BPF_LDX | BPF_MSH | BPF_B:
        op, operand = "ldxb", f"4*([{s32(k)}]&0xf)"
    elif code == BPF_LD | BPF_MEM:
        op, operand = "ld", f"M[{s32(k)}]"
    elif code == BPF_LDX | BPF_MEM:
        op, operand = "ldx", f"M[{s32(k)}]"
    elif code == BPF_ST:
        op, operand = "st", f"M[{s32(k)}]"
    elif code == BPF_STX:
        op, operand = "stx", f"M[{s32(k)}]"
    elif code == BPF_JMP | BPF_JA:
        op, operand = "ja", f"{s32((n + 1 + k) & 0xFFFFFFFF)}"
    elif cls == BPF_JMP and (code & 0xF0) in _JMP_NAMES and (code & ~0xF8) == BPF_JMP:
        op = _JMP_NAMES[code & 0xF0]
        operand = "x" if code & BPF_X else f"#0x{k:x}"
    elif cls == BPF_ALU and (code & 0xF0) in _ALU_NAMES and (code & ~0xF8) == BPF_ALU:
        aop = code & 0xF0
        op = _ALU_NAMES[aop]
        if code & BPF_X:
            operand = "x"
        else:
            operand = f"#0x{k:x}" if aop in _ALU_HEX else f"#{s32(k)}"
    elif code == BPF_ALU | BPF_NEG:
        op, operand = "neg", ""
    elif code == BPF_MISC | BPF_TAX:
        op, operand = "tax", ""
    elif code == BPF_MISC | BPF_TXA:
        op, operand = "txa", ""
    if cls == BPF_JMP and (code & 0xF0) != BPF_JA:
        return f"({n:03d}) {op:<8s} {operand:<16s} jt {n + 1 + insn.jt}\tjf {n + 1 + insn.jf}"
    return f"({n:03d}) {op:<8s} {operand}"


def format_program(program: BpfProgram | Iterable[BpfInsn], style: str = "d") -> str:
    """The text ``tcpdump -d`` (style "d"), ``-dd`` ("dd") or ``-ddd`` ("ddd") prints,
    one instruction per line, with a final newline."""
    insns = list(program.insns if isinstance(program, BpfProgram) else program)
    if style == "ddd":
        lines = [str(len(insns))] + [f"{i.code} {i.jt} {i.jf} {i.k}" for i in insns]
    elif style == "dd":
        lines = [f"{{ 0x{i.code:x}, {i.jt}, {i.jf}, 0x{i.k:08x} }}," for i in insns]
    elif style == "d":
        lines = [insn_image(i, n) for n, i in enumerate(insns)]
    else:
        raise ValueError(f"unknown format {style!r} (d, dd or ddd)")
    return "".join(line + "\n" for line in lines)
