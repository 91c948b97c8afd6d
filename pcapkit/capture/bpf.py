"""tcpdump filter expressions compiled to classic BPF by the system libpcap.

``compile_filter(expr)`` calls libpcap's ``pcap_open_dead`` + ``pcap_compile``
through :mod:`ctypes` (no C extension to build) and returns a :class:`BpfProgram`:
a tuple of :class:`BpfInsn` that can be printed like ``tcpdump -d/-dd/-ddd``
(:func:`format_program`), run offline by pcapkit's own interpreter
(:mod:`pcapkit.capture.bpf_vm`, :func:`filter_frames`) or attached to a live socket
(:mod:`pcapkit.capture.live`).

For a live interface, ``compile_filter(..., device="eth0")`` opens the interface in
libpcap just to compile, so that the code is exactly what tcpdump attaches there
(on Linux, VLAN tests then read the kernel's ancillary VLAN data: ``ldb [vlanp]``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pcapkit.errors import FilterError, LiveCaptureError
from pcapkit.frame import Frame

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


# --- libpcap through ctypes -------------------------------------------------------------

class _CInsn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint32)]


class _CProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.POINTER(_CInsn))]


_lib: ctypes.CDLL | None = None
_lock = threading.Lock()  # pcap_compile's parser is not re-entrant in every libpcap


def _libpcap() -> ctypes.CDLL:
    global _lib
    if _lib is not None:
        return _lib
    candidates = ["libpcap.so.0.8", "libpcap.so.1", "libpcap.so"]
    found = ctypes.util.find_library("pcap")
    if found:
        candidates.insert(0, found)
    last: OSError | None = None
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
            break
        except OSError as exc:
            last = exc
    else:
        raise FilterError(f"libpcap not found ({last}); install libpcap0.8 (Debian) or libpcap")
    lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_CProgram), ctypes.c_char_p,
                                 ctypes.c_int, ctypes.c_uint32]
    lib.pcap_compile.restype = ctypes.c_int
    lib.pcap_freecode.argtypes = [ctypes.POINTER(_CProgram)]
    lib.pcap_freecode.restype = None
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    lib.pcap_close.restype = None
    lib.pcap_datalink_name_to_val.argtypes = [ctypes.c_char_p]
    lib.pcap_datalink_name_to_val.restype = ctypes.c_int
    lib.pcap_datalink_val_to_name.argtypes = [ctypes.c_int]
    lib.pcap_datalink_val_to_name.restype = ctypes.c_char_p
    lib.pcap_open_offline.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.pcap_open_offline.restype = ctypes.c_void_p
    lib.pcap_create.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    lib.pcap_create.restype = ctypes.c_void_p
    lib.pcap_activate.argtypes = [ctypes.c_void_p]
    lib.pcap_activate.restype = ctypes.c_int
    lib.pcap_set_snaplen.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.pcap_set_snaplen.restype = ctypes.c_int
    lib.pcap_datalink.argtypes = [ctypes.c_void_p]
    lib.pcap_datalink.restype = ctypes.c_int
    lib.pcap_statustostr.argtypes = [ctypes.c_int]
    lib.pcap_statustostr.restype = ctypes.c_char_p
    _lib = lib
    return lib


def linktype_value(name: str | int) -> int:
    """A link type from a number or a DLT/LINKTYPE name (EN10MB, LINUX_SLL, RAW, NULL...)."""
    if isinstance(name, int):
        return name
    text = name.strip()
    if text.isdigit():
        return int(text)
    upper = text.upper()
    for prefix in ("DLT_", "LINKTYPE_"):
        if upper.startswith(prefix):
            upper = upper[len(prefix):]
    if upper == "ETHERNET":
        upper = "EN10MB"
    value = _libpcap().pcap_datalink_name_to_val(upper.encode())
    if value < 0:
        raise FilterError(f"unknown link type name {name!r}")
    return int(value)


def linktype_name(value: int) -> str:
    raw = _libpcap().pcap_datalink_val_to_name(value)
    return raw.decode() if raw else str(value)


def _copy_program(prog: _CProgram) -> tuple[BpfInsn, ...]:
    return tuple(BpfInsn(prog.bf_insns[i].code, prog.bf_insns[i].jt, prog.bf_insns[i].jf,
                         prog.bf_insns[i].k) for i in range(prog.bf_len))


def compile_filter(expr: str, linktype: int | str = 1, snaplen: int = 262144,
                   optimize: bool = True, netmask: int = 0,
                   device: str | None = None, savefile: bool = False,
                   swapped: bool = False) -> BpfProgram:
    """Compile a tcpdump filter expression with libpcap, as ``tcpdump -d -y LINKTYPE`` does.

    ``netmask`` 0 is what tcpdump uses when it reads a file (``ip broadcast`` then needs
    an interface). With ``device`` the interface is opened (root) and the code is the
    one tcpdump would attach there. With ``savefile`` the code is the one ``tcpdump -r``
    compiles for a file of that link type (libpcap's gencode differs for files: e.g.
    ``ip6`` on DLT_NULL then accepts every platform's AF_INET6); ``swapped`` says the
    file was written in the other byte order. Syntax errors raise
    :class:`FilterError` with libpcap's message.
    """
    lib = _libpcap()
    lt = linktype_value(linktype)
    if snaplen <= 0:
        snaplen = 262144
    with _lock:
        if device is not None:
            handle = _open_device(lib, device, snaplen)
            lt = int(lib.pcap_datalink(handle))
        elif savefile:
            handle = _open_savefile(lib, lt, snaplen, swapped)
        else:
            handle = lib.pcap_open_dead(lt, snaplen)
        if not handle:
            raise FilterError("pcap_open_dead failed")
        try:
            prog = _CProgram()
            rc = lib.pcap_compile(handle, ctypes.byref(prog), expr.encode(), 1 if optimize else 0,
                                  netmask)
            if rc != 0:
                msg = lib.pcap_geterr(handle)
                text = msg.decode(errors="replace") if msg else "syntax error"
                raise FilterError(f"filter {expr!r}: {text}")
            try:
                insns = _copy_program(prog)
            finally:
                lib.pcap_freecode(ctypes.byref(prog))
        finally:
            lib.pcap_close(handle)
    return BpfProgram(insns, expr, lt, snaplen)


def _open_savefile(lib: ctypes.CDLL, linktype: int, snaplen: int, swapped: bool) -> int:
    """A pcap_t that libpcap believes reads a file: an empty pcap file of that link type."""
    import os
    import sys
    import tempfile

    native = "<" if sys.byteorder == "little" else ">"
    order = (">" if native == "<" else "<") if swapped else native
    header = struct.pack(order + "IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)
    fd, name = tempfile.mkstemp(suffix=".pcap", prefix="pcapkit-bpf-")
    try:
        os.write(fd, header)
        os.close(fd)
        errbuf = ctypes.create_string_buffer(512)
        handle = lib.pcap_open_offline(name.encode(), errbuf)
    finally:
        os.unlink(name)
    if not handle:
        raise FilterError(f"link type {linktype}: {errbuf.value.decode(errors='replace')}")
    return int(handle)


def _open_device(lib: ctypes.CDLL, device: str, snaplen: int) -> int:
    errbuf = ctypes.create_string_buffer(512)
    handle = lib.pcap_create(device.encode(), errbuf)
    if not handle:
        raise LiveCaptureError(f"{device}: {errbuf.value.decode(errors='replace')}")
    lib.pcap_set_snaplen(handle, snaplen)
    rc = lib.pcap_activate(handle)
    if rc < 0:
        msg = lib.pcap_geterr(handle)
        text = (msg.decode(errors="replace") if msg else "") or lib.pcap_statustostr(rc).decode()
        lib.pcap_close(handle)
        raise LiveCaptureError(f"{device}: {text}")
    return int(handle)


# --- tcpdump -d / -dd / -ddd ------------------------------------------------------------

def _s32(k: int) -> int:
    return k - (1 << 32) if k & 0x80000000 else k


def _abs_operand(k: int) -> str:
    off = k - SKF_AD_OFF
    if k >= SKF_AD_OFF and off < SKF_AD_MAX and off in SKF_AD_NAMES:
        return f"[{SKF_AD_NAMES[off]}]"
    return f"[{_s32(k)}]"


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
        op, operand = "ret", f"#{_s32(k)}"
    elif code == BPF_RET | BPF_A:
        op, operand = "ret", ""
    elif cls == BPF_LD and mode == BPF_ABS and size in (BPF_W, BPF_H, BPF_B):
        op = {BPF_W: "ld", BPF_H: "ldh", BPF_B: "ldb"}[size]
        operand = _abs_operand(k)
    elif code == BPF_LD | BPF_W | BPF_LEN:
        op, operand = "ld", "#pktlen"
    elif cls == BPF_LD and mode == BPF_IND and size in (BPF_W, BPF_H, BPF_B):
        op = {BPF_W: "ld", BPF_H: "ldh", BPF_B: "ldb"}[size]
        operand = f"[x + {_s32(k)}]"
    elif code == BPF_LD | BPF_IMM:
        op, operand = "ld", f"#0x{k:x}"
    elif code == BPF_LDX | BPF_IMM:
        op, operand = "ldx", f"#0x{k:x}"
    elif code == BPF_LDX | BPF_MSH | BPF_B:
        op, operand = "ldxb", f"4*([{_s32(k)}]&0xf)"
    elif code == BPF_LD | BPF_MEM:
        op, operand = "ld", f"M[{_s32(k)}]"
    elif code == BPF_LDX | BPF_MEM:
        op, operand = "ldx", f"M[{_s32(k)}]"
    elif code == BPF_ST:
        op, operand = "st", f"M[{_s32(k)}]"
    elif code == BPF_STX:
        op, operand = "stx", f"M[{_s32(k)}]"
    elif code == BPF_JMP | BPF_JA:
        op, operand = "ja", f"{_s32((n + 1 + k) & 0xFFFFFFFF)}"
    elif cls == BPF_JMP and (code & 0xF0) in _JMP_NAMES and (code & ~0xF8) == BPF_JMP:
        op = _JMP_NAMES[code & 0xF0]
        operand = "x" if code & BPF_X else f"#0x{k:x}"
    elif cls == BPF_ALU and (code & 0xF0) in _ALU_NAMES and (code & ~0xF8) == BPF_ALU:
        aop = code & 0xF0
        op = _ALU_NAMES[aop]
        if code & BPF_X:
            operand = "x"
        else:
            operand = f"#0x{k:x}" if aop in _ALU_HEX else f"#{_s32(k)}"
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


# --- offline filtering ------------------------------------------------------------------

def filter_frames(frames: Iterable[Frame], expr: str, linktype: int | None = None,
                  snaplen: int = 262144, chunk: int = 2048) -> Iterator[Frame]:
    """The frames a tcpdump filter accepts, like ``tcpdump -r FILE EXPR``, in order.

    The expression is compiled once per link type seen (``linktype`` overrides each
    frame's own), as libpcap compiles it for a file of that link type, and pcapkit's
    interpreter (:mod:`pcapkit.capture.bpf_vm`) runs it over each frame's captured bytes
    with the wire length as ``len``. Frames are taken ``chunk`` at a time and run through
    the numpy batch interpreter (a few times faster than one by one); the answer is the
    same. An empty expression accepts everything. Raises :class:`FilterError` if the
    expression does not compile for a link type it meets.
    """
    import sys

    from pcapkit.capture.bpf_vm import run_batch, run_program

    if not expr.strip():
        yield from frames
        return
    programs: dict[tuple[int, bool], tuple[BpfInsn, ...]] = {}
    little = sys.byteorder == "little"

    def program_for(frame: Frame) -> tuple[BpfInsn, ...]:
        lt = frame.linktype if linktype is None else linktype
        swapped = False
        if lt in (0, 109):  # DLT_NULL / DLT_ENC: address family in the writer's byte order
            head = frame.data[:4]
            writer_big = len(head) == 4 and head[:2] == b"\0\0" and head[2:] != b"\0\0"
            swapped = writer_big == little
        insns = programs.get((lt, swapped))
        if insns is None:
            insns = compile_filter(expr, lt, snaplen, savefile=True, swapped=swapped).insns
            programs[(lt, swapped)] = insns
        return insns

    pending: list[Frame] = []

    def flush() -> list[Frame]:
        if len(pending) < 32:
            return [f for f in pending if run_program(program_for(f), f.data, f.wirelen)]
        groups: dict[int, list[int]] = {}
        progs: dict[int, tuple[BpfInsn, ...]] = {}
        for i, f in enumerate(pending):
            insns = program_for(f)
            groups.setdefault(id(insns), []).append(i)
            progs[id(insns)] = insns
        keep = [False] * len(pending)
        for key, idx in groups.items():
            res = run_batch(progs[key], [pending[i].data for i in idx],
                            [pending[i].wirelen for i in idx])
            for i, r in zip(idx, res.tolist(), strict=True):
                keep[i] = r != 0
        return [f for f, k in zip(pending, keep, strict=True) if k]

    for frame in frames:
        pending.append(frame)
        if len(pending) >= chunk:
            yield from flush()
            pending.clear()
    if pending:
        yield from flush()
