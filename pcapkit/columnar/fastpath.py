"""The common shape in one compiled pass: Ethernet, IPv4, then TCP (with its options) or UDP.

Most frames of most captures are Ethernet / IPv4 / TCP or UDP. For them the general
decoder (:mod:`pcapkit.columnar.decode`) copies each record's first bytes into a matrix,
gathers each header into another, reads each field as int64 and converts it to the
column's dtype: several passes over memory per field. Here one loop compiled by numba
reads every field of those headers straight from the record into its column, at the
column's width, and walks the TCP options (:func:`pcapkit.proto.tcp_options.walk_options`,
inlined). Its source is generated (:func:`kernel_source`) from the header declarations of
:mod:`pcapkit.proto`: each field's offset, size, shift, mask and scale, the headers' checks
(``Header.valid``, ``Header.slow``) as written there; the other conditions are the general
decoder's (captured and stated lengths, no fragment, no tunnel port, no odd option).

A row that fails any of them, or has another shape (VLAN, IPv6, ARP, other link types,
...), is decoded by the general decoder on a batch of such rows, and :func:`decode` merges
the two: every column as the general decoder alone makes it (values, validity, fallback
marks, internal columns), which ``tests/columnar/test_fastpath.py`` checks on every capture
of the corpus. ``read_packets`` goes one step further (:class:`RecordDecoder`): each pcap
record is decoded while the record walk has its bytes in the cache, one pass over the file
instead of two.
"""

from __future__ import annotations

import hashlib
import re
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from pcapkit.capture.batch import STOPPED_EARLY, RecordBatch
from pcapkit.columnar.columns import (
    TCP_OFFSET,
    TRANSPORT_PROTO,
    TUNNEL_UDP_PORTS,
    Columns,
    frame_columns,
)
from pcapkit.proto import consts as c
from pcapkit.proto import ethernet, ipv4, tcp, tcp_options, udp
from pcapkit.proto.spec import Check, Field, Header

I64 = np.int64
LINKTYPE_ETHERNET = 1

# the fields each layer's kernel reads straight into the table's columns
ETH_FIELDS = ("eth.dst", "eth.src", "eth.type")
IPV4_FIELDS = ("ip.version", "ip.hdr_len", "ip.dsfield", "ip.len", "ip.id", "ip.flags.df", "ip.flags.mf",
               "ip.frag_offset", "ip.ttl", "ip.proto", "ip.src", "ip.dst")
TCP_FIELDS = ("tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len", "tcp.flags",
              "tcp.window_size_value", "tcp.urgent_pointer")
UDP_FIELDS = ("udp.srcport", "udp.dstport", "udp.length")
LAYERS: tuple[tuple[Header, tuple[str, ...]], ...] = (
    (ethernet.HEADER, ETH_FIELDS), (ipv4.HEADER, IPV4_FIELDS), (tcp.HEADER, TCP_FIELDS), (udp.HEADER, UDP_FIELDS))
OPTION_FIELDS = tcp_options.COLUMNS  # the option walk's columns (values and presence)
# output groups: the numpy dtype of the matrix a field's column is a row of
GROUPS = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32), np.dtype(np.uint64), np.dtype(bool))
# kind of a row after the kernel: which transport header it reached
KIND_NONE, KIND_TCP, KIND_UDP = 0, 1, 2


def _group(name: str, ftype: str) -> int:
    from pcapkit.columnar.columns import _DTYPES

    dtype = np.dtype(np.uint64) if ftype == "ether" else _DTYPES[name]
    return GROUPS.index(dtype)


def _places() -> tuple[dict[str, tuple[int, int]], list[int]]:
    """Each field's (group, row in the group's matrix), and the group sizes."""
    where: dict[str, tuple[int, int]] = {}
    counts = [0] * len(GROUPS)
    for header, names in LAYERS:
        for name in names:
            group = _group(name, header[name].ftype)
            where[name] = (group, counts[group])
            counts[group] += 1
    for name in OPTION_FIELDS:
        group = _group(name, "uint")
        where[name] = (group, counts[group])
        counts[group] += 1
    return where, counts


WHERE, GROUP_SIZES = _places()
assert isinstance(ethernet.HEADER.length, int)
ETH_LEN = ethernet.HEADER.length
OUTPUTS = ("o8", "o16", "o32", "o64", "ob")  # the kernel's matrices, by group


# --------------------------------------------------------------------------------------
# the kernel's source, generated from the declarations

def _var(name: str) -> str:
    return "f_" + name.replace(".", "_")


def _value(f: Field, at: str) -> str:
    """Source of ``f``'s value in the header starting at ``buf[at]``: its bytes big-endian,
    then ``((raw >> shift) & mask) * scale`` (``!= 0`` for a flag)."""
    raw = " | ".join(f"(np.int64(buf[{at} + {f.off + j}]) << {8 * (f.size - 1 - j)})" for j in range(f.size))
    expr = f"(({raw}) >> {f.shift}) & {f.bitmask >> f.shift:#x}"
    if f.scale != 1:
        expr = f"({expr}) * {f.scale}"
    return f"({expr}) != 0" if f.ftype == "bool" else expr


def _check(check: Check) -> str:
    """A declared check over the locals holding its fields' values."""
    source = check.expr
    for name in sorted(check.names, key=len, reverse=True):
        source = re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w.])", _var(name), source)
    return f"({source})"


def _all(checks: tuple[Check, ...]) -> str:
    return " and ".join(_check(c) for c in checks) or "True"


def _any(checks: tuple[Check, ...]) -> str:
    return " or ".join(_check(c) for c in checks) or "False"


def _reads(header: Header, names: tuple[str, ...], at: str, pad: str) -> list[str]:
    return [f"{pad}{_var(n)} = {_value(header[n], at)}" for n in names]


def _writes(names: tuple[str, ...], pad: str, zero: bool = False) -> list[str]:
    out = []
    for name in names:
        group, row = WHERE[name]
        value = ("False" if GROUPS[group] == np.dtype(bool) else "0") if zero else _var(name)
        out.append(f"{pad}{OUTPUTS[group]}[{row}, i] = {value}")
    return out


SACK_PERM = OPTION_FIELDS[tcp_options.COL_SACK_PERM]
OPTIONS_AT = 20  # options follow the fixed TCP header (tcp_options.walk_options starts there)


def _option_writes(pad: str, zero: bool = False) -> list[str]:
    out = []
    for col, name in enumerate(OPTION_FIELDS):
        group, row = WHERE[name]
        if zero:
            value = "False" if GROUPS[group] == np.dtype(bool) else "0"
        else:
            value = f"sv[0, {col}] != 0" if GROUPS[group] == np.dtype(bool) else f"sv[0, {col}]"
        out.append(f"{pad}{OUTPUTS[group]}[{row}, i] = {value}")
        out.append(f"{pad}ov[{col}, i] = {'False' if zero else f'sh[0, {col}]'}")
    return out


def kernel_source(digest: str) -> str:
    """Three functions: ``fast_row`` decodes one record (the fields of Ethernet / IPv4 /
    TCP or UDP read into locals, the general decoder's conditions for decoding the row
    whole: the headers' declared checks, captured and stated lengths, no fragment, no
    tunnel port, TCP options walked by :func:`pcapkit.proto.tcp_options.walk_options` and
    none odd; then the values written into the matrices, zeros and ``kind`` 0 for any
    other row); ``fast_loop`` calls it on the records of a batch; ``fast_walk`` on each
    record as the pcap record walk (:mod:`pcapkit.capture.record_walk`) finds it, so the
    record's bytes are read while they are in the cache."""
    ip, th, uh, eh = ipv4.HEADER, tcp.HEADER, udp.HEADER, ethernet.HEADER
    assert not isinstance(ip.length, int) and ip.pdu_len is not None and not isinstance(th.length, int)
    assert ip.length.bias == 0 and th.length.bias == 0 and ip.length.scale == 1 and th.length.scale == 1
    assert th.min_len <= OPTIONS_AT
    p4 = " " * 4
    outs = "o8, o16, o32, o64, ob, ov, kind, l4off, tproto, tcplen, st1, hl1, sv, sh, sodd"
    body = ["k = 0",
            f"if lt == {LINKTYPE_ETHERNET} and cap >= {eh.min_len}:",
            *_reads(eh, ETH_FIELDS, "p", p4),
            f"    if {_var('eth.type')} == {c.ETHERTYPE_IPV4} and cap >= {ETH_LEN + ip.min_len}:",
            f"        q = p + {ETH_LEN}",
            *_reads(ip, IPV4_FIELDS, "q", p4 * 2),
            f"        hl = {_var(ip.length.field)}",
            f"        total = {_var(ip.pdu_len[0])}",
            f"        reported = wire - {ETH_LEN}",
            f"        if ({_all(ip.valid)}) and not ({_any(ip.slow)}) and cap >= {ETH_LEN} + hl \\",
            "                and total != 0 and reported >= hl:",
            "            plen = min(total, reported) - hl",
            f"            l4 = {ETH_LEN} + hl",
            "            t = p + l4",
            f"            if {_var('ip.proto')} == {c.IPPROTO_TCP} and cap >= l4 + {th.min_len} "
            f"and plen >= {th.min_len}:",
            *_reads(th, TCP_FIELDS, "t", p4 * 4),
            f"                doff = {_var(th.length.field)}",
            f"                if ({_all(th.valid)}) and doff <= plen and cap >= l4 + doff:",
            "                    k = 1",
            f"                    for col in range({len(OPTION_FIELDS)}):",
            "                        sv[0, col] = 0",
            "                        sh[0, col] = False",
            f"                    if doff > {OPTIONS_AT}:",
            "                        st1[0] = t",
            "                        hl1[0] = doff",
            "                        sodd[0] = False",
            "                        walk_options(buf, st1, hl1, sv, sh, sodd)",
            "                        if sodd[0]:",
            "                            k = 0",
            f"            elif {_var('ip.proto')} == {c.IPPROTO_UDP} and cap >= l4 + {uh.min_len} "
            f"and plen >= {uh.min_len}:",
            *_reads(uh, UDP_FIELDS, "t", p4 * 4),
            "                k = 2",
            "                for port in tunnels:",
            f"                    if {_var('udp.srcport')} == port or {_var('udp.dstport')} == port:",
            "                        k = 0",
            "kind[i] = k",
            "if k == 0:",
            *_writes((*ETH_FIELDS, *IPV4_FIELDS, *TCP_FIELDS, *UDP_FIELDS), p4, zero=True),
            *_option_writes(p4, zero=True),
            "    l4off[i] = 0",
            "    tproto[i] = 0",
            "    tcplen[i] = 0",
            "else:",
            *_writes((*ETH_FIELDS, *IPV4_FIELDS), p4),
            f"    tproto[i] = {_var('ip.proto')}",
            "    if k == 1:",
            *_writes(TCP_FIELDS, p4 * 2),
            *_writes(UDP_FIELDS, p4 * 2, zero=True),
            *_option_writes(p4 * 2),
            "        l4off[i] = l4",
            "        tcplen[i] = plen - doff",
            "    else:",
            *_writes(TCP_FIELDS, p4 * 2, zero=True),
            *_writes(UDP_FIELDS, p4 * 2),
            *_option_writes(p4 * 2, zero=True),
            "        l4off[i] = 0",
            "        tcplen[i] = 0"]
    # the body is written into both loops (a call per record passing some twenty arrays
    # costs more than the decoding itself)
    lines = [f"def fast_loop_{digest}(buf, data_off, caplen, wirelen, linktype, tunnels, {outs}):",
             "    for i in range(data_off.shape[0]):",
             "        p = data_off[i]",
             "        cap = caplen[i]",
             "        wire = wirelen[i]",
             "        lt = linktype[i]",
             *(p4 * 2 + line for line in body),
             "",
             "",
             f"def fast_walk_{digest}(buf, pos, big, hdrlen, swap, limit, max_n, off_a, sec_a, frac_a, cap_a, wlen_a,",
             f"        lt, tunnels, {outs}):",
             "    i = 0",
             "    while i < max_n:",
             "        sec, frac, cap, wire, status = pcap_record(buf, pos, big, hdrlen, swap, limit)",
             "        if status == 1:",
             "            return i, pos, 1",
             "        if status == 2:",
             "            break",
             "        p = pos + hdrlen",
             "        off_a[i] = p",
             "        sec_a[i] = sec",
             "        frac_a[i] = frac",
             "        cap_a[i] = cap",
             "        wlen_a[i] = wire",
             "        pos = p + cap",
             *(p4 * 2 + line for line in body),
             "        i += 1",
             "    return i, pos, 0",
             ""]
    return "\n".join(lines)


_KERNELS: tuple[Any, Any] | None = None


def _kernels() -> tuple[Any, Any]:
    """(fast_loop, fast_walk) compiled by numba, cached under names that carry the digest
    of their source and of the walks they call: a changed declaration or walk compiles
    new ones."""
    global _KERNELS
    if _KERNELS is None:
        from pcapkit.capture import record_walk
        from pcapkit.capture.compiled import numba_module

        numba = numba_module()

        called = (Path(record_walk.__file__).read_bytes(), Path(tcp_options.__file__).read_bytes())
        digest = hashlib.sha256(kernel_source("").encode() + b"".join(called)).hexdigest()[:16]
        # the walks are inlined into the loops (numba's IR inlining); numba's cache finds
        # the module of the generated functions by ``__name__``
        inline = numba.njit(inline="always")
        walk = tcp_options.walk_options
        scope = dict(walk.__globals__, option_at=inline(tcp_options.option_at), u32=inline(tcp_options.u32))
        namespace: dict[str, Any] = {
            "np": np, "__name__": __name__,
            "walk_options": inline(types.FunctionType(walk.__code__, scope, walk.__name__)),
            "pcap_record": inline(record_walk.pcap_record)}
        exec(compile(kernel_source(digest), __file__, "exec"), namespace)
        jit = numba.njit(cache=True, nogil=True)
        for kind in ("loop", "walk"):
            name = f"fast_{kind}_{digest}"
            namespace[name] = jit(namespace[name])
        _KERNELS = namespace[f"fast_loop_{digest}"], namespace[f"fast_walk_{digest}"]
    return _KERNELS


class Outputs:
    """The arrays the kernels fill for ``n`` records (and their scratch space)."""

    def __init__(self, n: int) -> None:
        self.mats = [np.empty((count, n), dtype=dt) for count, dt in zip(GROUP_SIZES, GROUPS, strict=True)]
        self.have = np.empty((len(OPTION_FIELDS), n), dtype=bool)
        self.kind = np.empty(n, dtype=np.int8)
        self.l4off = np.empty(n, dtype=np.uint64)
        self.tproto = np.empty(n, dtype=np.uint64)
        self.tcplen = np.empty(n, dtype=_dtype("tcp.len"))
        self.scratch = (np.zeros(1, I64), np.zeros(1, I64), np.zeros((1, len(OPTION_FIELDS)), I64),
                        np.zeros((1, len(OPTION_FIELDS)), bool), np.zeros(1, bool))

    def args(self) -> tuple[Any, ...]:
        return (*self.mats, self.have, self.kind, self.l4off, self.tproto, self.tcplen, *self.scratch)

    def cut(self, n: int) -> Outputs:
        """The first ``n`` records' outputs (views)."""
        self.mats = [m[:, :n] for m in self.mats]
        self.have = self.have[:, :n]
        self.kind, self.l4off, self.tproto, self.tcplen = self.kind[:n], self.l4off[:n], self.tproto[:n], self.tcplen[:n]
        return self


class RecordDecoder:
    """The pcap record walk with the common shape decoded on the way (see
    :func:`pcapkit.capture.batch.iter_records`'s ``decoder``): ``walker(linktype)`` is a walk
    with the record walk's arguments and answer; ``take(n)`` the outputs of its last call."""

    PROBE = 4096  # records of the first walk, which measures the file's bytes per record

    def __init__(self) -> None:
        self._last: Outputs | None = None
        self._record_bytes = 0.0

    def walker(self, linktype: int) -> Any:
        """The walk. Its outputs are allocated for the records the chunk is expected to hold
        (from the bytes per record so far), not for the walk's maximum: the table keeps them,
        and numpy backs large arrays with huge pages, all resident once touched. When
        they are full it answers STOPPED_EARLY and the batch reader walks on."""
        if linktype != LINKTYPE_ETHERNET:
            from pcapkit.capture.record_walk import kernels

            return kernels(True)[0]  # nothing to decode on the way
        fast_walk = _kernels()[1]

        def walk(buf: np.ndarray, pos: int, big: bool, hdrlen: int, swap: int, limit: int, max_n: int,
                 off: np.ndarray, sec: np.ndarray, frac: np.ndarray, cap: np.ndarray,
                 wlen: np.ndarray) -> tuple[int, int, int]:
            want = self.PROBE if not self._record_bytes else (buf.shape[0] - pos) / self._record_bytes * 1.05 + 64
            want = max(1, min(max_n, int(want)))
            outputs = self._last = Outputs(want)
            n, end, status = fast_walk(buf, pos, big, hdrlen, swap, limit, want, off, sec, frac, cap, wlen,
                                       linktype, TUNNELS, *outputs.args())
            if n:
                self._record_bytes = (end - pos) / n
            if status == 0 and n == want < max_n:
                status = STOPPED_EARLY
            return n, end, status

        return walk

    def take(self, n: int) -> Outputs | None:
        outputs, self._last = self._last, None
        return None if outputs is None else outputs.cut(n)


TUNNELS = np.array(sorted(TUNNEL_UDP_PORTS), dtype=I64)


def decode(rb: RecordBatch, general: Callable[[RecordBatch], Columns]) -> Columns:
    """The columns of ``rb``: the rows of the common shape from here, the others from the
    general decoder (``general``, called on a batch of just those rows)."""
    if rb.decoded is None and not bool((rb.linktype == LINKTYPE_ETHERNET).any()):
        return general(rb)
    out = Columns(len(rb))
    rest = fast_rows(rb, out)
    if rest.size == len(rb):
        return general(rb)
    frame_columns(rb, out)
    if rest.size:
        merge(out, rest, general(rb.select(rest)))
    return out


def fast_rows(rb: RecordBatch, out: Columns) -> np.ndarray:
    """Decode the rows of ``rb`` that have the common shape into ``out`` (every field of
    the packets table and the internal columns the general decoder gives them; decoded
    already when the record walk did it, see :class:`RecordDecoder`); returns the rows left
    to the general decoder (sorted), whose values here are all zero."""
    n = len(rb)
    outputs = rb.decoded
    if not isinstance(outputs, Outputs):
        outputs = Outputs(n)
        _kernels()[0](rb.buf, rb.data_off, rb.caplen, rb.wirelen, rb.linktype, TUNNELS, *outputs.args())
    mats, kind = outputs.mats, outputs.kind

    def col(name: str) -> np.ndarray:
        group, row = WHERE[name]
        return mats[group][row]

    done = kind != KIND_NONE
    rest = np.flatnonzero(~done)
    if rest.size == n:
        return rest
    for name in (*ETH_FIELDS, *IPV4_FIELDS):
        _put(out, name, col(name), done)
    tcp_ok = kind == KIND_TCP
    if tcp_ok.any():
        for name in TCP_FIELDS:
            _put(out, name, col(name), tcp_ok)
        _put(out, TCP_OFFSET, outputs.l4off, tcp_ok)
        _put(out, "tcp.len", outputs.tcplen, tcp_ok)
        for k, name in enumerate(OPTION_FIELDS):
            if name == SACK_PERM:
                _put(out, name, col(name), tcp_ok)   # False where the option is not there
            elif outputs.have[k].any():
                _put(out, name, col(name), outputs.have[k])
    udp_ok = kind == KIND_UDP
    if udp_ok.any():
        for name in UDP_FIELDS:
            _put(out, name, col(name), udp_ok)
    _put(out, TRANSPORT_PROTO, outputs.tproto, done)
    return rest


def _dtype(name: str) -> Any:
    from pcapkit.columnar.columns import _DTYPES

    return _DTYPES[name]


def _put(out: Columns, name: str, values: np.ndarray, valid: np.ndarray) -> None:
    """A whole column of the batch (zero where not ``valid``), kept as it is. Columns share
    ``valid`` (one mask per layer), made read-only: whoever writes a column's validity
    copies it first (:meth:`Columns.set`, the per-packet fill)."""
    valid.flags.writeable = False
    out.values[name] = values
    out.valid[name] = valid


def merge(out: Columns, rows: np.ndarray, part: Columns) -> None:
    """The general decoder's columns ``part`` of the batch's ``rows`` into ``out``."""
    for name, values in part.values.items():
        arr = out.values.get(name)
        if arr is None:
            arr = out.values[name] = np.zeros(out.n, dtype=values.dtype)
            out.valid[name] = np.zeros(out.n, dtype=bool)
        elif arr.dtype != values.dtype:
            raise AssertionError(f"{name}: {arr.dtype} here, {values.dtype} from the general decoder")
        arr[rows] = values
        out.own_valid(name)[rows] = part.valid[name]
    out.fallback[rows] = part.fallback
