"""tcpdump filter expressions compiled to classic BPF by the system libpcap.

``compile_filter(expr)`` calls libpcap's ``pcap_open_dead`` + ``pcap_compile``
through :mod:`ctypes` (no C extension to build) and returns a :class:`BpfProgram`:
a tuple of :class:`BpfInsn` (:mod:`pcapkit.capture.bpf_program`, which also prints it
like ``tcpdump -d/-dd/-ddd``), run offline by pcapkit's own interpreter
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
from typing import Any

from pcapkit.capture.bpf_program import BpfInsn, BpfProgram
from pcapkit.capture.pcap import FILE_HEADER, MAGIC_US
from pcapkit.errors import FilterError, LiveCaptureError
from pcapkit.frame import Frame

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


def dlt_name(value: int) -> str:
    """libpcap's DLT name of a link type, as tcpdump prints it ("EN10MB", "LINUX_SLL2");
    :func:`pcapkit.capture.linktypes.linktype_name` gives the LINKTYPE_ name ("ETHERNET")."""
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
    header = struct.pack(order + FILE_HEADER, MAGIC_US, 2, 4, 0, 0, snaplen, linktype)
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


# --- offline filtering ------------------------------------------------------------------

class FilterPrograms:
    """A tcpdump expression compiled once per link type it meets, as libpcap compiles it
    for a file of that link type (``linktype`` overrides each frame's own)."""

    def __init__(self, expr: str, linktype: int | None = None, snaplen: int = 262144) -> None:
        import sys

        self.expr = expr
        self.linktype = linktype
        self.snaplen = snaplen
        self._programs: dict[tuple[int, bool], tuple[BpfInsn, ...]] = {}
        self._little = sys.byteorder == "little"

    def for_frame(self, linktype: int, head: bytes) -> tuple[BpfInsn, ...]:
        """The program for a frame of ``linktype`` whose captured bytes start with ``head``."""
        lt = linktype if self.linktype is None else self.linktype
        swapped = False
        if lt in (0, 109):  # DLT_NULL / DLT_ENC: address family in the writer's byte order
            writer_big = len(head) >= 4 and head[:2] == b"\0\0" and head[2:4] != b"\0\0"
            swapped = writer_big == self._little
        insns = self._programs.get((lt, swapped))
        if insns is None:
            insns = compile_filter(self.expr, lt, self.snaplen, savefile=True, swapped=swapped).insns
            self._programs[(lt, swapped)] = insns
        return insns


def match_records(programs: FilterPrograms, buf: Any, starts: Any, caplens: Any, wirelens: Any,
                  linktypes: Any) -> Any:
    """Which records of a batch (one buffer, each record's start, captured and wire
    length, link type) the filter accepts: a boolean array, as :func:`filter_frames`
    decides frame by frame."""
    import numpy as np

    from pcapkit.capture.bpf_vm import run_batch

    n = len(starts)
    keep = np.zeros(n, dtype=bool)
    if n == 0:
        return keep
    groups: dict[int, list[int]] = {}
    progs: dict[int, tuple[BpfInsn, ...]] = {}
    data = np.asarray(buf)
    for i, (lt, start) in enumerate(zip(np.asarray(linktypes).tolist(), np.asarray(starts).tolist(), strict=True)):
        if lt < 0:
            continue  # a pcapng record that is not a packet: no filter accepts it
        insns = programs.for_frame(lt, data[start:start + 4].tobytes() if lt in (0, 109) else b"")
        groups.setdefault(id(insns), []).append(i)
        progs[id(insns)] = insns
    for key, idx in groups.items():
        sel = np.asarray(idx, dtype=np.int64)
        res = run_batch(progs[key], flat=data, starts=np.asarray(starts)[sel], caplens=np.asarray(caplens)[sel],
                        wirelens=np.asarray(wirelens)[sel])
        keep[sel] = res != 0
    return keep


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
    from pcapkit.capture.bpf_vm import run_batch, run_program

    if not expr.strip():
        yield from frames
        return
    programs = FilterPrograms(expr, linktype, snaplen)

    def program_for(frame: Frame) -> tuple[BpfInsn, ...]:
        return programs.for_frame(frame.linktype, frame.data[:4])

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
        if frame.linktype < 0:  # (a record that is no packet, a pcapng custom block: no filter matches it)
            continue
        pending.append(frame)
        if len(pending) >= chunk:
            yield from flush()
            pending.clear()
    if pending:
        yield from flush()
