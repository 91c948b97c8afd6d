"""Vectorised header-field extraction for a whole batch of records.

Every layer is decoded for all packets that reach it at once: the packets' header
bytes are gathered into an ``(m, width)`` uint8 matrix with one numpy fancy-index and
the fields are column arithmetic on it. TCP options are walked with one cursor per
packet, all packets advancing together.

A packet the fast path cannot decode completely is *marked* (``fallback``): tunnels
and encapsulations whose inner headers tshark would also show (IP-in-IP, GRE, VXLAN,
ICMP errors quoting a datagram, MPLS, PPPoE, Q-in-Q, ...), IP fragments (tshark
reassembles them), IPv6 extension headers, headers cut short by the snap length,
self-contradicting headers (IHL < 5, total length beyond the frame, bad option
lengths) and link types other than Ethernet, SLL, SLL2, raw IP and null/loopback.
Fields decoded before the point where the fast path gave up are kept; the rest stay
missing until the per-packet dissectors fill them (see :mod:`pcapkit.columnar.api`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pcapkit.capture.batch import RecordBatch
from pcapkit.columnar.dtypes import LOCAL_SPECS, numpy_dtype
from pcapkit.columnar.rows import gather_rows

I64 = np.int64

# EtherTypes after which no field of the packets table can follow: decoding stops
# there and the row is complete. Any other unknown EtherType might carry IP (MPLS,
# PPPoE, VN-Tag, TEB, ...), so such rows are marked for the per-packet path.
LEAF_ETHERTYPES = frozenset({
    0x88CC,  # LLDP
    0x888E,  # EAPOL
    0x8808,  # Ethernet flow control
    0x88F7,  # PTP
    0x9000,  # loopback (configuration test protocol)
    0x0842,  # wake-on-LAN
    0x88E1,  # HomePlug AV
    0x8899,  # Realtek
    0x8863,  # PPPoE discovery
    0x88B5, 0x88B6,  # local experimental
    0x8137,  # IPX
    0x809B,  # AppleTalk
    0x80F3,  # AARP
    0x6002, 0x6003, 0x6004,  # DEC MOP / DECnet / LAT
    0x88D9,  # LLTD
    0x893A,  # IEEE 1905
})

# IP protocols after which nothing of the table follows (besides TCP/UDP/ICMP we decode)
LEAF_IP_PROTOCOLS = frozenset({2, 6, 17, 1, 58, 88, 89, 103, 112, 132, 59})
# UDP ports whose payload tshark dissects into IP / Ethernet again (tunnels)
TUNNEL_UDP_PORTS = frozenset({4789, 6081, 2152, 3544, 1701, 4500, 4341, 5246, 5247, 8472, 1293,
                              6633, 6653, 4754, 5555, 2123, 3386, 6635})  # 6635: MPLS in UDP
# ICMP types whose body quotes the offending datagram (tshark decodes it: ip.src twice)
ICMP_ERRORS = (3, 4, 5, 11, 12, 31)
ICMPV6_ERRORS = (1, 2, 3, 4)
IPV6_AF = (10, 24, 28, 30)
IPV6_EXT = (0,)  # hop-by-hop options: walked by the fast path (others: per-packet path)
# internal columns for the segment source (not part of the packets table): where the TCP
# header starts in the frame, and the transport protocol after IPv6 extension headers
TCP_OFFSET = "pcapkit.tcp_offset"
TRANSPORT_PROTO = "pcapkit.transport_proto"


_DTYPES: dict[str, Any] = {s.name: numpy_dtype(s) for s in LOCAL_SPECS}


class Columns:
    """Accumulates columns for ``n`` rows: values plus a validity mask each."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.values: dict[str, np.ndarray] = {}
        self.valid: dict[str, np.ndarray] = {}
        self.fallback = np.zeros(n, dtype=bool)

    def set(self, name: str, idx: np.ndarray, values: Any, dtype: Any = None) -> None:
        arr = self.values.get(name)
        dense = idx.shape[0] == self.n  # every row (row indices are always sorted and unique)
        if arr is None and dense and isinstance(values, np.ndarray) and values.shape == (self.n,):
            # first write covers every row: keep the values themselves (no fill, no copy)
            dt = _DTYPES.get(name, np.uint64) if dtype is None else dtype
            v = values.astype(dt, copy=False)
            if v.base is not None or not v.flags.c_contiguous:
                v = v.copy()  # never keep a view of a (larger) gather matrix alive
            self.values[name] = v
            self.valid[name] = np.ones(self.n, dtype=bool)
            return
        if arr is None:
            arr = np.zeros(self.n, dtype=_DTYPES.get(name, np.uint64) if dtype is None else dtype)
            self.values[name] = arr
            self.valid[name] = np.zeros(self.n, dtype=bool)
        if dense:
            arr[:] = values
            self.valid[name][:] = True
        else:
            arr[idx] = values
            self.valid[name][idx] = True

    def mark(self, idx: np.ndarray) -> None:
        self.fallback[idx] = True

    def mark_not(self, idx: np.ndarray, ok: np.ndarray) -> None:
        """Mark the rows ``idx`` where ``ok`` is False."""
        if not ok.all():
            self.fallback[idx[~ok]] = True


class _Batch:
    def __init__(self, rb: RecordBatch, use_kernel: bool = True) -> None:
        self.buf = rb.buf
        self.base = rb.data_off
        self.cap = rb.caplen
        self.wire = rb.wirelen
        self._windows: dict[int, np.ndarray] = {}
        self.use_kernel = use_kernel

    def win(self, idx: np.ndarray, rel: np.ndarray, width: int) -> np.ndarray:
        """(len(idx), width) uint8 matrix of bytes [rel, rel+width) of each packet.
        Callers guarantee rel + width <= caplen."""
        start = self.base[idx] + rel
        if not self.use_kernel:
            # rows of a sliding-window view: one contiguous copy of ``width`` bytes per packet
            rows = self._windows.get(width)
            if rows is None:
                rows = np.lib.stride_tricks.sliding_window_view(self.buf, width)
                self._windows[width] = rows
            return rows[start]
        return gather_rows(self.buf, start, width)


def _sel(mask: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
    """``arrays`` restricted to ``mask`` (no copy when every row passes)."""
    if mask.all():
        return arrays
    return tuple(a[mask] for a in arrays)


def _be16(w: np.ndarray, k: int) -> np.ndarray:
    return (w[:, k].astype(I64) << 8) | w[:, k + 1]


def _be32(w: np.ndarray, k: int) -> np.ndarray:
    return (w[:, k].astype(I64) << 24) | (w[:, k + 1].astype(I64) << 16) | (w[:, k + 2].astype(I64) << 8) | w[:, k + 3]


def _mac(w: np.ndarray, k: int) -> np.ndarray:
    v = np.zeros(w.shape[0], dtype=np.uint64)
    for j in range(6):
        v = (v << np.uint64(8)) | w[:, k + j].astype(np.uint64)
    return v


def decode_batch(rb: RecordBatch, use_kernel: bool = True) -> Columns:
    """Decode every header field of the packets table for the records of ``rb``.

    ``use_kernel``: gather header bytes with numba's compiled loop when numba is
    installed (else, or when False, with numpy's sliding-window rows)."""
    n = len(rb)
    out = Columns(n)
    b = _Batch(rb, use_kernel)
    all_idx = np.arange(n, dtype=I64)
    out.set("frame.len", all_idx, rb.wirelen)
    out.set("frame.cap_len", all_idx, rb.caplen)
    if rb.pcapng:
        has_if = np.nonzero(rb.interface_id >= 0)[0]
        out.set("frame.interface_id", has_if, rb.interface_id[has_if])
    out.mark(np.nonzero(rb.linktype < 0)[0])  # pcapng records that are not packets

    l3off = np.zeros(n, dtype=I64)
    l3type = np.zeros(n, dtype=I64)   # EtherType of the network layer (0: none)
    lt = rb.linktype
    for linktype in np.unique(lt).tolist():
        sel = np.nonzero(lt == linktype)[0]
        _link(b, out, int(linktype), sel, l3off, l3type)

    ip4 = np.nonzero(l3type == 0x0800)[0]
    ip6 = np.nonzero(l3type == 0x86DD)[0]
    arp = np.nonzero((l3type == 0x0806) | (l3type == 0x8035))[0]
    # transport: (index, offset, payload length, protocol)
    t_idx: list[np.ndarray] = []
    t_off: list[np.ndarray] = []
    t_len: list[np.ndarray] = []
    t_proto: list[np.ndarray] = []
    if ip4.size:
        _ipv4(b, out, ip4, l3off[ip4], t_idx, t_off, t_len, t_proto)
    if ip6.size:
        _ipv6(b, out, ip6, l3off[ip6], t_idx, t_off, t_len, t_proto)
    if arp.size:
        _arp(b, out, arp, l3off[arp])
    if t_idx:
        idx = np.concatenate(t_idx)
        off = np.concatenate(t_off)
        plen = np.concatenate(t_len)
        proto = np.concatenate(t_proto)
        if len(t_idx) > 1:  # IPv4 and IPv6 rows: back to row order (Columns.set relies on it)
            order = np.argsort(idx, kind="stable")
            idx, off, plen, proto = idx[order], off[order], plen[order], proto[order]
        out.set(TRANSPORT_PROTO, idx, proto)
        for p, fn in ((6, _tcp), (17, _udp), (1, _icmp), (58, _icmpv6)):
            s = proto == p
            if s.any():
                fn(b, out, idx[s], off[s], plen[s])
    return out


# --------------------------------------------------------------------------------------
# link layers

def _erf_stripped(b: _Batch, out: Columns, sel: np.ndarray) -> np.ndarray:
    """LINKTYPE_ERF rows: those from ERF files hold the Ethernet frame alone (the reader
    strips the ERF header, as wiretap) and go on as Ethernet; whole records (pcap /
    pcapng LINKTYPE_ERF: frame.len = wlen + header length, see pcapkit.dissect.erf) are
    left to the per-packet path."""
    long = sel[b.cap[sel] >= 16]
    if long.size:
        w = b.win(long, np.zeros(long.size, I64), 16)
        extra = b.wire[long] - _be16(w, 14)   # header length, for a whole record
        whole = long[(extra >= 16) & (extra <= 16 + 8 * 16 + 4) & (_be16(w, 12) < 0x0600)]
        out.mark(whole)
        sel = np.setdiff1d(sel, whole, assume_unique=True)
    return sel


def _link(b: _Batch, out: Columns, linktype: int, sel: np.ndarray, l3off: np.ndarray,
          l3type: np.ndarray) -> None:
    if linktype == 197:
        sel = _erf_stripped(b, out, sel)
    cap = b.cap[sel]
    if linktype in (1, 197):
        short = cap < 14
        out.mark(sel[short])
        idx = sel[~short]
        if idx.size == 0:
            return
        w = b.win(idx, np.zeros(idx.size, I64), 14)
        out.set("eth.dst", idx, _mac(w, 0), np.uint64)
        out.set("eth.src", idx, _mac(w, 6), np.uint64)
        etype = _be16(w, 12)
        is_type = etype >= 0x600
        out.set("eth.type", idx[is_type], etype[is_type])
        llc = idx[~is_type]
        if llc.size:
            # 802.3 length + LLC; SNAP (AA AA) may carry IP: per-packet path
            ok = b.cap[llc] >= 16
            out.mark(llc[~ok])
            llc = llc[ok]
            w2 = b.win(llc, np.full(llc.size, 14, I64), 2)
            et3 = etype[~is_type][ok]
            # a zero / impossible length makes tshark guess otherwise: per-packet path
            snap = (w2[:, 0] == 0xAA) | (w2[:, 1] == 0xAA) | (et3 > 1500) | (et3 == 0)
            out.mark(llc[snap])
        idx = idx[is_type]
        etype = etype[is_type]
        off = np.full(idx.size, 14, I64)
        _ethertype(b, out, idx, off, etype, l3off, l3type)
    elif linktype in (113, 276):
        hlen, pos = (16, 14) if linktype == 113 else (20, 0)
        short = cap < hlen
        out.mark(sel[short])
        idx = sel[~short]
        if idx.size == 0:
            return
        w = b.win(idx, np.zeros(idx.size, I64), hlen)
        proto = _be16(w, pos)
        hatype = _be16(w, 2) if linktype == 113 else _be16(w, 8)
        # netlink (824) and other non-Ethernet-typed headers: per-packet path
        good = (proto >= 0x600) & (hatype != 824)
        out.mark_not(idx, good)
        idx = idx[good]
        _ethertype(b, out, idx, np.full(idx.size, hlen, I64), proto[good], l3off, l3type)
    elif linktype in (101, 12, 14, 228, 229):
        short = cap < 1
        out.mark(sel[short])
        idx = sel[~short]
        if linktype == 228:
            ver = np.full(idx.size, 4, I64)
        elif linktype == 229:
            ver = np.full(idx.size, 6, I64)
        else:
            ver = b.buf[b.base[idx]].astype(I64) >> 4
        et = np.where(ver == 4, 0x0800, np.where(ver == 6, 0x86DD, 0))
        out.mark(idx[et == 0])
        l3off[idx] = 0
        l3type[idx] = et
    elif linktype in (0, 108):
        short = cap < 4
        out.mark(sel[short])
        idx = sel[~short]
        w = b.win(idx, np.zeros(idx.size, I64), 4)
        be = _be32(w, 0)
        if linktype == 108:
            af = be
        else:
            le = (w[:, 3].astype(I64) << 24) | (w[:, 2].astype(I64) << 16) | (w[:, 1].astype(I64) << 8) | w[:, 0]
            # host byte order of the capturing machine: the small value is the right one
            af = np.where((le & 0xFFFF0000) != 0, be, le)
        et = np.where(af == 2, 0x0800, np.where(np.isin(af, IPV6_AF), 0x86DD, 0))
        out.mark(idx[et == 0])
        l3off[idx] = 4
        l3type[idx] = et
    else:
        out.mark(sel)


def _ethertype(b: _Batch, out: Columns, idx: np.ndarray, off: np.ndarray, etype: np.ndarray,
               l3off: np.ndarray, l3type: np.ndarray) -> None:
    """Dispatch on EtherType (after Ethernet / SLL); handles one 802.1Q tag."""
    vlan = etype == 0x8100  # tshark 4.0 decodes 0x88A8 / 0x9100 otherwise: per-packet path
    if vlan.any():
        v = idx[vlan]
        voff = off[vlan]
        ok = b.cap[v] >= voff + 4
        out.mark(v[~ok])
        v, voff = _sel(ok, v, voff)
        w = b.win(v, voff, 4)
        out.set("vlan.id", v, _be16(w, 0) & 0xFFF)
        inner = _be16(w, 2)
        out.set("vlan.etype", v, inner)
        # Q-in-Q or an 802.3 length after the tag: per-packet path
        nested = (inner == 0x8100) | (inner == 0x88A8) | (inner == 0x9100) | (inner < 0x600)
        out.mark(v[nested])
        keep = ~nested
        etype = etype.copy()
        off = off.copy()
        pos = np.nonzero(vlan)[0][ok][keep]
        etype[pos] = inner[keep]
        off[pos] = voff[keep] + 4
        drop = np.nonzero(vlan)[0]
        drop = np.setdiff1d(drop, pos)
        etype[drop] = 0x88B5  # decoded as far as possible (and marked): stop here
    known = np.isin(etype, (0x0800, 0x86DD, 0x0806, 0x8035))
    leaf = np.isin(etype, list(LEAF_ETHERTYPES))
    out.mark(idx[~known & ~leaf])
    l3off[idx[known]] = off[known]
    l3type[idx[known]] = etype[known]


# --------------------------------------------------------------------------------------
# network layers

def _ipv4(b: _Batch, out: Columns, idx: np.ndarray, off: np.ndarray, t_idx: list[np.ndarray],
          t_off: list[np.ndarray], t_len: list[np.ndarray], t_proto: list[np.ndarray]) -> None:
    ok = b.cap[idx] >= off + 20
    out.mark_not(idx, ok)
    idx, off = _sel(ok, idx, off)
    if idx.size == 0:
        return
    w = b.win(idx, off, 20)
    ver = w[:, 0].astype(I64) >> 4
    out.set("ip.version", idx, ver)
    good = ver == 4
    out.mark_not(idx, good)
    idx, off, w = _sel(good, idx, off, w)
    hl = (w[:, 0].astype(I64) & 0x0F) * 4
    out.set("ip.hdr_len", idx, hl)
    total = _be16(w, 2)
    bad = hl < 20
    out.mark(idx[bad])
    idx, off, w, hl, total = _sel(~bad, idx, off, w, hl, total)
    out.set("ip.dsfield", idx, w[:, 1])
    out.set("ip.len", idx, total)
    out.set("ip.id", idx, _be16(w, 4))
    fl = _be16(w, 6)
    out.set("ip.flags.df", idx, (fl & 0x4000) != 0, bool)
    out.set("ip.flags.mf", idx, (fl & 0x2000) != 0, bool)
    out.set("ip.frag_offset", idx, fl & 0x1FFF)
    out.set("ip.ttl", idx, w[:, 8])
    proto = w[:, 9].astype(I64)
    out.set("ip.proto", idx, proto)
    out.set("ip.src", idx, _be32(w, 12))
    out.set("ip.dst", idx, _be32(w, 16))
    # the header must be captured whole, the lengths consistent, the datagram unfragmented;
    # a total length beyond the frame is cut to the frame, as tshark does
    reported = b.wire[idx] - off
    stop = ((b.cap[idx] < off + hl) | (total < hl) | (reported < hl)
            | ((fl & 0x3FFF) != 0) | ~np.isin(proto, list(LEAF_IP_PROTOCOLS)))
    out.mark(idx[stop])
    go = ~stop
    t_idx.append(idx[go])
    t_off.append(off[go] + hl[go])
    t_len.append(np.minimum(total[go], reported[go]) - hl[go])
    t_proto.append(proto[go])


def _ipv6(b: _Batch, out: Columns, idx: np.ndarray, off: np.ndarray, t_idx: list[np.ndarray],
          t_off: list[np.ndarray], t_len: list[np.ndarray], t_proto: list[np.ndarray]) -> None:
    ok = b.cap[idx] >= off + 40
    out.mark_not(idx, ok)
    idx, off = _sel(ok, idx, off)
    if idx.size == 0:
        return
    w = b.win(idx, off, 40)
    ver = w[:, 0].astype(I64) >> 4
    out.set("ip.version", idx, ver)  # tshark shows ip.version in IPv6 headers too
    good = ver == 6
    out.mark_not(idx, good)
    idx, off, w = _sel(good, idx, off, w)
    plen = _be16(w, 4)
    nxt = w[:, 6].astype(I64)
    out.set("ipv6.plen", idx, plen)
    out.set("ipv6.nxt", idx, nxt)
    out.set("ipv6.hlim", idx, w[:, 7])
    for name, k in (("ipv6.src", 8), ("ipv6.dst", 24)):
        hi = np.zeros(idx.size, dtype=np.uint64)
        lo = np.zeros(idx.size, dtype=np.uint64)
        for j in range(8):
            hi = (hi << np.uint64(8)) | w[:, k + j].astype(np.uint64)
            lo = (lo << np.uint64(8)) | w[:, k + 8 + j].astype(np.uint64)
        out.set(name + ".hi", idx, hi, np.uint64)
        out.set(name + ".lo", idx, lo, np.uint64)
    reported = b.wire[idx] - off - 40
    # hop-by-hop options headers: walk them (all rows at once)
    proto = nxt.copy()
    ext = np.zeros(idx.size, dtype=I64)       # bytes of extension headers
    bad = np.zeros(idx.size, dtype=bool)
    for _ in range(4):
        walk = np.nonzero(np.isin(proto, IPV6_EXT) & ~bad)[0]
        if walk.size == 0:
            break
        pos = off[walk] + 40 + ext[walk]
        short = (b.cap[idx[walk]] < pos + 2) | (ext[walk] + 2 > plen[walk])
        bad[walk[short]] = True
        walk, pos = walk[~short], pos[~short]
        w = b.win(idx[walk], pos, 2)
        hl = (w[:, 1].astype(I64) + 1) * 8
        cut = (b.cap[idx[walk]] < pos + hl) | (ext[walk] + hl > plen[walk])
        bad[walk[cut]] = True
        keep = ~cut
        walk = walk[keep]
        proto[walk] = w[keep, 0]
        ext[walk] += hl[keep]
    stop = (bad | (plen == 0) | (plen > reported)
            | ~np.isin(proto, (6, 17, 58, 59, 132, 88, 89, 103, 112, 2)))
    out.mark(idx[stop])
    go = ~stop
    t_idx.append(idx[go])
    t_off.append(off[go] + 40 + ext[go])
    t_len.append(plen[go] - ext[go])
    t_proto.append(proto[go])


def _arp(b: _Batch, out: Columns, idx: np.ndarray, off: np.ndarray) -> None:
    ok = b.cap[idx] >= off + 8
    out.mark_not(idx, ok)
    idx, off = _sel(ok, idx, off)
    if idx.size == 0:
        return
    w = b.win(idx, off, 8)
    out.set("arp.opcode", idx, _be16(w, 6))
    ptype = _be16(w, 2)
    hlen = w[:, 4].astype(I64)
    plen = w[:, 5].astype(I64)
    need = off + 8 + 2 * hlen + 2 * plen
    v4 = (ptype == 0x0800) & (plen == 4) & (b.cap[idx] >= need)
    out.mark(idx[~v4 & (b.cap[idx] < need)])
    out.mark(idx[(ptype == 0x0800) & (plen != 4)])
    i4 = idx[v4]
    if i4.size:
        h = hlen[v4]
        o = off[v4]
        src = b.win(i4, o + 8 + h, 4)
        dst = b.win(i4, o + 8 + 2 * h + 4, 4)
        out.set("arp.src.proto_ipv4", i4, _be32(src, 0))
        out.set("arp.dst.proto_ipv4", i4, _be32(dst, 0))


# --------------------------------------------------------------------------------------
# transport layers

def _tcp(b: _Batch, out: Columns, idx: np.ndarray, off: np.ndarray, plen: np.ndarray) -> None:
    ok = (b.cap[idx] >= off + 20) & (plen >= 20)
    out.mark_not(idx, ok)
    # tshark still shows ports etc. when the header is cut short; we leave them to the
    # per-packet path
    idx, off, plen = _sel(ok, idx, off, plen)
    if idx.size == 0:
        return
    w = b.win(idx, off, 20)
    out.set(TCP_OFFSET, idx, off)
    out.set("tcp.srcport", idx, _be16(w, 0))
    out.set("tcp.dstport", idx, _be16(w, 2))
    out.set("tcp.seq_raw", idx, _be32(w, 4))
    out.set("tcp.ack_raw", idx, _be32(w, 8))
    doff = (w[:, 12].astype(I64) >> 4) * 4
    out.set("tcp.hdr_len", idx, doff)
    out.set("tcp.flags", idx, ((w[:, 12].astype(I64) & 0x0F) << 8 | w[:, 13]) & 0xFFF)
    out.set("tcp.window_size_value", idx, _be16(w, 14))
    out.set("tcp.urgent_pointer", idx, _be16(w, 18))
    bad = (doff < 20) | (doff > plen) | (b.cap[idx] < off + doff)
    out.mark(idx[bad])
    good = ~bad
    idx, off, plen, doff = _sel(good, idx, off, plen, doff)
    out.set("tcp.len", idx, plen - doff)
    out.set("tcp.options.sack_perm", idx, False, bool)  # True below when the option is there
    has_opt = doff > 20
    if has_opt.any():
        idx, off, doff = _sel(has_opt, idx, off, doff)
        # the common layout first: NOP NOP Timestamps (12 option bytes), no per-option walk
        ts12 = np.nonzero(doff == 32)[0]
        if ts12.size:
            w = b.win(idx[ts12], off[ts12] + 20, 12)
            hit = (w[:, 0] == 1) & (w[:, 1] == 1) & (w[:, 2] == 8) & (w[:, 3] == 10)
            hi = idx[ts12[hit]]
            out.set("tcp.options.timestamp.tsval", hi, _be32(w[hit], 4))
            out.set("tcp.options.timestamp.tsecr", hi, _be32(w[hit], 8))
            rest = np.ones(idx.size, dtype=bool)
            rest[ts12[hit]] = False
            idx, off, doff = _sel(rest, idx, off, doff)
        if idx.size:
            _tcp_options(b, out, idx, off, doff)


def _tcp_options(b: _Batch, out: Columns, idx: np.ndarray, off: np.ndarray, doff: np.ndarray) -> None:
    """Walk the options of all packets at once, one cursor each."""
    start = b.base[idx] + off          # absolute position of each TCP header
    cur = np.full(idx.size, 20, I64)
    end = doff
    buf = b.buf
    seen = np.zeros((idx.size, 4), dtype=I64)  # MSS, WS, SACK_PERM, TS occurrences
    sack_seen = np.zeros(idx.size, dtype=I64)
    active = np.arange(idx.size, dtype=I64)
    malformed = np.zeros(idx.size, dtype=bool)
    while active.size:
        c = cur[active]
        kind = buf[start[active] + c].astype(I64)
        eol = kind == 0
        nop = kind == 1
        cur[active[nop]] += 1
        rest = active[~eol & ~nop]
        if rest.size:
            c = cur[rest]
            has_len = c + 1 < end[rest]
            malformed[rest[~has_len]] = True
            rest = rest[has_len]
            c = cur[rest]
            k = buf[start[rest] + c].astype(I64)
            ln = buf[start[rest] + c + 1].astype(I64)
            bad = (ln < 2) | (c + ln > end[rest])
            # known options must have their exact length
            bad |= ((k == 2) & (ln != 4)) | ((k == 3) & (ln != 3)) | ((k == 4) & (ln != 2))
            bad |= ((k == 8) & (ln != 10)) | ((k == 5) & (((ln - 2) % 8 != 0) | (ln < 10)))
            malformed[rest[bad]] = True
            good = ~bad
            r, c, k, ln = rest[good], c[good], k[good], ln[good]
            p = start[r] + c + 2
            for code, slot in ((2, 0), (3, 1), (4, 2), (8, 3)):
                s = k == code
                if not s.any():
                    continue
                rs, ps = r[s], p[s]
                seen[rs, slot] += 1
                gi = idx[rs]
                if code == 2:
                    out.set("tcp.options.mss_val", gi, (buf[ps].astype(I64) << 8) | buf[ps + 1])
                elif code == 3:
                    out.set("tcp.options.wscale.shift", gi, buf[ps])
                elif code == 4:
                    out.set("tcp.options.sack_perm", gi, True, bool)
                else:
                    out.set("tcp.options.timestamp.tsval", gi, _u32at(buf, ps))
                    out.set("tcp.options.timestamp.tsecr", gi, _u32at(buf, ps + 4))
            s = k == 5
            if s.any():
                rs, ps = r[s], p[s]
                sack_seen[rs] += 1
                gi = idx[rs]
                out.set("tcp.options.sack.count", gi, (ln[s] - 2) // 8)
                out.set("tcp.options.sack_le", gi, _u32at(buf, ps))
                out.set("tcp.options.sack_re", gi, _u32at(buf, ps + 4))
            cur[r] += ln
        cont = active[~eol]
        cont = cont[~malformed[cont]]
        active = cont[cur[cont] < end[cont]]
    multi = (seen > 1).any(axis=1) | (sack_seen > 1)
    out.mark(idx[malformed | multi])


def _u32at(buf: np.ndarray, p: np.ndarray) -> np.ndarray:
    return (buf[p].astype(I64) << 24) | (buf[p + 1].astype(I64) << 16) | (buf[p + 2].astype(I64) << 8) | buf[p + 3]


def _udp(b: _Batch, out: Columns, idx: np.ndarray, off: np.ndarray, plen: np.ndarray) -> None:
    ok = (b.cap[idx] >= off + 8) & (plen >= 8)
    out.mark_not(idx, ok)
    idx, off = _sel(ok, idx, off)
    if idx.size == 0:
        return
    w = b.win(idx, off, 8)
    sp, dp = _be16(w, 0), _be16(w, 2)
    out.set("udp.srcport", idx, sp)
    out.set("udp.dstport", idx, dp)
    ln = _be16(w, 4)
    out.set("udp.length", idx, ln)
    tunnels = list(TUNNEL_UDP_PORTS)
    tun = np.isin(sp, tunnels) | np.isin(dp, tunnels)
    out.mark(idx[tun])


def _icmp_family(prefix: str, errors: Any) -> Any:
    """The decoder of ICMP or ICMPv6 (same header start: type, code); error messages, which
    quote a packet, go to the per-packet path."""

    def decode(b: _Batch, out: Columns, idx: np.ndarray, off: np.ndarray, plen: np.ndarray) -> None:
        ok = (b.cap[idx] >= off + 4) & (plen >= 4)
        out.mark_not(idx, ok)
        idx, off = _sel(ok, idx, off)
        if idx.size == 0:
            return
        w = b.win(idx, off, 2)
        t = w[:, 0].astype(I64)
        out.set(f"{prefix}.type", idx, t)
        out.set(f"{prefix}.code", idx, w[:, 1])
        out.mark(idx[np.isin(t, errors)])

    return decode


_icmp = _icmp_family("icmp", ICMP_ERRORS)
_icmpv6 = _icmp_family("icmpv6", ICMPV6_ERRORS)
