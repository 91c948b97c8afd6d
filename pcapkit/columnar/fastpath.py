"""The common shape in one compiled pass: Ethernet, IPv4, then TCP or UDP.

Most frames of most captures are Ethernet / IPv4 / TCP or UDP. For them the general
decoder (:mod:`pcapkit.columnar.decode`) copies each record's first bytes into a matrix,
gathers each header into another, reads each field as int64 and converts it to the
column's dtype: five passes over memory per field. Here one loop compiled by numba
(:func:`fast_kernel`) reads every field of those three headers straight from the record
into its column, at the column's width. Where the fields are comes from the header
declarations (:mod:`pcapkit.proto`: offset, size, shift, mask, scale of each field, as a
small table the loop is given at run time); the decisions are the general decoder's: the
same validity checks (``Header.valid``, ``Header.slow``) and conditions, evaluated on the
whole batch with numpy afterwards. A row that fails any of them, or has another shape
(VLAN, IPv6, ARP, other link types, ...), is decoded by the general decoder, which sees it
exactly as before; :func:`decode_batch` merges the two. ``tests/columnar/test_fastpath.py``
compares the merged columns with the general decoder's alone on every capture of the corpus.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pcapkit.capture.batch import RecordBatch
from pcapkit.columnar.columns import (
    TCP_OFFSET,
    TRANSPORT_PROTO,
    TUNNEL_UDP_PORTS,
    Columns,
    option_walk,
    passes,
)
from pcapkit.proto import consts as c
from pcapkit.proto import ethernet, ipv4, tcp, tcp_options, udp
from pcapkit.proto.spec import Header

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
LAYER_ETH, LAYER_IP, LAYER_TCP, LAYER_UDP = range(4)
# output groups: the numpy dtype of the matrix a field's column is a row of
GROUPS = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.uint32), np.dtype(np.uint64), np.dtype(bool))
# kind of a row after the kernel: which transport header it reached
KIND_NONE, KIND_TCP, KIND_UDP = 0, 1, 2


def _group(name: str, ftype: str) -> int:
    from pcapkit.columnar.columns import _DTYPES

    dtype = np.dtype(np.uint64) if ftype == "ether" else _DTYPES[name]
    return GROUPS.index(dtype)


def _layout() -> tuple[np.ndarray, dict[str, tuple[int, int]], list[int]]:
    """The kernel's table (one row per field: layer, offset, size, shift, mask, scale,
    output group, row in the group's matrix), each field's (group, row), the group sizes."""
    rows = []
    where: dict[str, tuple[int, int]] = {}  # (dict order: the table's rows)
    counts = [0] * len(GROUPS)
    for layer, (header, names) in enumerate(LAYERS):
        for name in names:
            f = header[name]
            group = _group(name, f.ftype)
            where[name] = (group, counts[group])
            rows.append((layer, f.off, f.size, f.shift, f.bitmask >> f.shift, f.scale, group, counts[group]))
            counts[group] += 1
    return np.array(rows, dtype=I64), where, counts


LAYOUT, WHERE, GROUP_SIZES = _layout()
assert isinstance(ethernet.HEADER.length, int)
ETH_LEN = ethernet.HEADER.length




def _index(name: str) -> int:
    """The row of ``name`` in LAYOUT."""
    return list(WHERE).index(name)


# the constants of the structure the kernel follows (where each header starts, which
# values lead to the next); only places, not validity: that is checked afterwards
SHAPE = np.array([
    LINKTYPE_ETHERNET, ethernet.HEADER.min_len, ETH_LEN,
    c.ETHERTYPE_IPV4, ipv4.HEADER.min_len, c.IPPROTO_TCP, c.IPPROTO_UDP, tcp.HEADER.min_len, udp.HEADER.min_len,
    _index("eth.type"), _index("ip.hdr_len"), _index("ip.proto"),
], dtype=I64)


def _read(buf: Any, base: Any, lay: Any, k: int) -> Any:
    raw = 0
    at = base + lay[k, 1]
    for j in range(lay[k, 2]):
        raw = (raw << 8) | buf[at + j]
    return ((raw >> lay[k, 3]) & lay[k, 4]) * lay[k, 5]


def fast_kernel(buf: Any, data_off: Any, caplen: Any, linktype: Any, lay: Any, shape: Any, o8: Any, o16: Any,
                o32: Any, o64: Any, ob: Any, kind: Any, l4off: Any) -> None:
    """For every record: the fields of ``lay`` of each layer it reaches (Ethernet, IPv4 in
    it, TCP or UDP in that) written into row ``lay[k, 7]`` of the matrix of group
    ``lay[k, 6]``, zero for the layers it does not reach; ``kind`` the transport reached
    and ``l4off`` where it starts. Reached means: the bytes are captured and the type /
    protocol fields lead there (see ``SHAPE``); nothing is checked beyond that."""
    lt_eth, eth_min, eth_len, et_ipv4, ip_min = shape[0], shape[1], shape[2], shape[3], shape[4]
    p_tcp, p_udp, tcp_min, udp_min = shape[5], shape[6], shape[7], shape[8]
    k_etype, k_hl, k_proto = shape[9], shape[10], shape[11]
    for i in range(data_off.shape[0]):
        p = data_off[i]
        cap = caplen[i]
        reach = -1  # the last layer reached
        l4 = 0
        if linktype[i] == lt_eth and cap >= eth_min:
            reach = 0
            if _read(buf, p, lay, k_etype) == et_ipv4 and cap >= eth_len + ip_min:
                reach = 1
                l4 = eth_len + _read(buf, p + eth_len, lay, k_hl)
                proto = _read(buf, p + eth_len, lay, k_proto)
                if proto == p_tcp and cap >= l4 + tcp_min:
                    reach = 2
                elif proto == p_udp and cap >= l4 + udp_min:
                    reach = 3
        for k in range(lay.shape[0]):
            layer = lay[k, 0]
            v = 0
            if layer == 0 and reach >= 0:
                v = _read(buf, p, lay, k)
            elif layer == 1 and reach >= 1:
                v = _read(buf, p + eth_len, lay, k)
            elif layer >= 2 and reach == layer:
                v = _read(buf, p + l4, lay, k)
            group = lay[k, 6]
            row = lay[k, 7]
            if group == 0:
                o8[row, i] = v
            elif group == 1:
                o16[row, i] = v
            elif group == 2:
                o32[row, i] = v
            elif group == 3:
                o64[row, i] = v
            else:
                ob[row, i] = v != 0
        kind[i] = reach - 1 if reach >= 2 else 0
        l4off[i] = l4 if reach >= 2 else 0


_KERNEL: Any = None


def _kernel() -> Any:
    global _KERNEL
    if _KERNEL is None:
        import types

        import numba

        jit = numba.njit(cache=True, nogil=True)
        scope = dict(fast_kernel.__globals__, _read=jit(_read))
        _KERNEL = jit(types.FunctionType(fast_kernel.__code__, scope, fast_kernel.__name__))
    return _KERNEL


def fast_rows(rb: RecordBatch, out: Columns) -> np.ndarray:
    """Decode the rows of ``rb`` that have the common shape into ``out`` (every field of
    the packets table and the internal columns the general decoder gives them); returns
    the rows left to the general decoder (sorted), whose values here are all zero."""
    n = len(rb)
    mats = [np.empty((count, n), dtype=dt) for count, dt in zip(GROUP_SIZES, GROUPS, strict=True)]
    kind = np.empty(n, dtype=np.int8)
    l4off = np.empty(n, dtype=I64)
    _kernel()(rb.buf, rb.data_off, rb.caplen, rb.linktype, LAYOUT, SHAPE, *mats, kind, l4off)

    def col(name: str) -> np.ndarray:
        group, row = WHERE[name]
        return mats[group][row]

    cap, wire = rb.caplen, rb.wirelen
    is_tcp = kind == KIND_TCP
    is_udp = kind == KIND_UDP
    ip = ipv4.HEADER
    eth_len = ETH_LEN
    names = {n for check in (*ip.valid, *ip.slow) for n in check.names}
    v = {name: _wide(col(name)) for name in names}
    assert not isinstance(ip.length, int) and ip.pdu_len is not None
    hl = ip.length.of(col(ip.length.field).astype(I64))
    total = col(ip.pdu_len[0]).astype(I64)
    reported = wire - eth_len
    # the general decoder's _ipv4 conditions for a row it decodes whole and goes on from
    ok = (is_tcp | is_udp) & passes(ip, v) & ~passes(ip, v, "slow")
    ok &= (cap >= eth_len + hl) & (total != 0) & (reported >= hl)
    plen = np.minimum(total, reported) - hl
    # _tcp's and _udp's
    th = tcp.HEADER
    assert not isinstance(th.length, int)
    doff = th.length.of(col(th.length.field).astype(I64))
    tv = {name: _wide(col(name)) for check in th.valid for name in check.names}
    tcp_ok = is_tcp & ok & (plen >= th.min_len) & passes(th, tv) & (doff <= plen) & (cap >= l4off + doff)
    tunnels = list(TUNNEL_UDP_PORTS)
    udp_ok = is_udp & ok & (plen >= udp.HEADER.min_len) & ~np.isin(col("udp.srcport"), tunnels) \
        & ~np.isin(col("udp.dstport"), tunnels)
    # TCP options: a row with an odd option is the general decoder's
    opt_rows = np.flatnonzero(tcp_ok & (doff > th.min_len))
    opt_values = np.zeros((opt_rows.size, len(tcp_options.COLUMNS)), dtype=I64)
    opt_have = np.zeros((opt_rows.size, len(tcp_options.COLUMNS)), dtype=bool)
    odd = np.zeros(opt_rows.size, dtype=bool)
    if opt_rows.size:
        option_walk(True)(rb.buf, rb.data_off[opt_rows] + l4off[opt_rows], doff[opt_rows], opt_values, opt_have, odd)
        tcp_ok[opt_rows[odd]] = False
    done = tcp_ok | udp_ok
    rest = np.flatnonzero(~done)
    tcp_ok &= done
    if rest.size:
        for m in mats:
            m[:, rest] = 0
    if rest.size == n:
        return rest
    for name in (*ETH_FIELDS, *IPV4_FIELDS):
        _put(out, name, col(name), done)
    if tcp_ok.any():
        for name in TCP_FIELDS:
            _put(out, name, col(name), tcp_ok)
        _put(out, TCP_OFFSET, np.where(tcp_ok, l4off, 0).astype(np.uint64), tcp_ok)
        _put(out, "tcp.len", np.where(tcp_ok, plen - doff, 0).astype(_dtype("tcp.len")), tcp_ok)
        _put(out, "tcp.options.sack_perm", np.zeros(n, dtype=bool), tcp_ok)
        keep = ~odd
        opt_rows, opt_values, opt_have = opt_rows[keep], opt_values[keep], opt_have[keep]
        for k, name in enumerate(tcp_options.COLUMNS):
            rows = np.flatnonzero(opt_have[:, k])
            if rows.size:
                values = opt_values[rows, k].astype(bool) if k == tcp_options.COL_SACK_PERM else opt_values[rows, k]
                out.set(name, opt_rows[rows], values)
    if udp_ok.any():
        for name in UDP_FIELDS:
            _put(out, name, col(name), udp_ok)
    proto = col("ip.proto")
    _put(out, TRANSPORT_PROTO, np.where(done, proto, 0).astype(np.uint64), done)
    return rest


def _wide(values: np.ndarray) -> np.ndarray:
    """Values as the header checks see them (:func:`pcapkit.proto.gather.gather`'s types)."""
    return values if values.dtype == bool else values.astype(I64)


def _dtype(name: str) -> Any:
    from pcapkit.columnar.columns import _DTYPES

    return _DTYPES[name]


def _put(out: Columns, name: str, values: np.ndarray, valid: np.ndarray) -> None:
    """A whole column of the batch (zero where not ``valid``), kept as it is."""
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
        valid = out.valid[name] = out.valid[name].copy()  # (fast_rows shares one mask between columns)
        valid[rows] = part.valid[name]
    out.fallback[rows] = part.fallback
