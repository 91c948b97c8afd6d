"""Vectorised header-field extraction for a whole batch of records.

Every layer is decoded for all packets that reach it at once: the packets' header
bytes are gathered into an ``(m, width)`` uint8 matrix and the fields are read from it
by :func:`pcapkit.proto.gather.gather`, from the same header declarations the per-packet
dissectors use (offsets, masks, validity checks, slow-path conditions, lengths, dispatch
keys). TCP options go through the one option walk
(:func:`pcapkit.proto.tcp_options.walk_options`), compiled by numba.

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

from collections.abc import Callable

import numpy as np

from pcapkit.capture.batch import RecordBatch
from pcapkit.capture.compiled import compiled_kernels
from pcapkit.columnar.columns import (
    FRAGMENT_IP_OFFSET,
    TCP_OFFSET,
    TRANSPORT_PROTO,
    TUNNEL_UDP_PORTS,
    Batch,
    Columns,
    frame_columns,
    option_walk,
    passes,
    select,
)
from pcapkit.proto import (
    arp,
    erf,
    ethernet,
    icmp,
    ipv4,
    ipv6,
    null,
    raw,
    sll,
    tcp,
    tcp_options,
    udp,
    vlan,
)
from pcapkit.proto import consts as c
from pcapkit.proto.gather import address_key, gather
from pcapkit.proto.spec import Header

I64 = np.int64
__all__ = ["FRAGMENT_IP_OFFSET", "TCP_OFFSET", "TRANSPORT_PROTO", "Columns", "decode_batch"]

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
NETWORK_ETHERTYPES = (c.ETHERTYPE_IPV4, c.ETHERTYPE_IPV6, c.ETHERTYPE_ARP, c.ETHERTYPE_RARP)

# IP protocols after which nothing of the table follows (besides TCP/UDP/ICMP we decode)
_LEAF_COMMON = (c.IPPROTO_IGMP, c.IPPROTO_TCP, c.IPPROTO_UDP, c.IPPROTO_ICMPV6, c.IPPROTO_EIGRP, c.IPPROTO_OSPF,
                c.IPPROTO_PIM, c.IPPROTO_VRRP, c.IPPROTO_SCTP, c.IPPROTO_NONE)
LEAF_IP_PROTOCOLS = frozenset({*_LEAF_COMMON, c.IPPROTO_ICMP})
LEAF_IPV6_PROTOCOLS = frozenset(_LEAF_COMMON)
IPV6_EXT = (c.IPPROTO_HOPOPTS,)  # hop-by-hop options: walked by the fast path (others: per-packet path)
MAX_IPV6_EXT = 4                 # hop-by-hop headers walked per packet
FAST_MIN_ROWS = 64  # smaller batches: the general decoder alone (as for the header matrix)


def decode_batch(rb: RecordBatch, use_kernel: bool = True, fast: bool = True) -> Columns:
    """Decode every header field of the packets table for the records of ``rb``.

    ``use_kernel``: numba's compiled loops (header gather, TCP option walk) when numba is
    installed; False (or without numba): numpy's sliding-window rows and the option walk
    interpreted, the same source. With the compiled loops, ``fast``: the rows of the common
    shape (Ethernet / IPv4 / TCP or UDP) in one compiled pass
    (:mod:`pcapkit.columnar.fastpath`), the others here; same columns."""
    if fast and use_kernel and len(rb) >= FAST_MIN_ROWS and compiled_kernels():
        from pcapkit.columnar import fastpath

        return fastpath.decode(rb, lambda part: _decode(part, use_kernel))
    return _decode(rb, use_kernel)


def _decode(rb: RecordBatch, use_kernel: bool) -> Columns:
    n = len(rb)
    out = Columns(n)
    b = Batch(rb, use_kernel)
    frame_columns(rb, out)
    out.mark(np.nonzero(rb.linktype < 0)[0])  # pcapng records that are not packets

    l3off = np.zeros(n, dtype=I64)
    l3type = np.zeros(n, dtype=I64)   # EtherType of the network layer (0: none)
    lt = rb.linktype
    for linktype in np.unique(lt).tolist():
        sel = np.nonzero(lt == linktype)[0]
        _link(b, out, int(linktype), sel, l3off, l3type)

    ip4 = np.nonzero(l3type == c.ETHERTYPE_IPV4)[0]
    ip6 = np.nonzero(l3type == c.ETHERTYPE_IPV6)[0]
    arp_rows = np.nonzero((l3type == c.ETHERTYPE_ARP) | (l3type == c.ETHERTYPE_RARP))[0]
    # transport: (index, offset, payload length, protocol)
    t_idx: list[np.ndarray] = []
    t_off: list[np.ndarray] = []
    t_len: list[np.ndarray] = []
    t_proto: list[np.ndarray] = []
    if ip4.size:
        _ipv4(b, out, ip4, l3off[ip4], t_idx, t_off, t_len, t_proto)
    if ip6.size:
        _ipv6(b, out, ip6, l3off[ip6], t_idx, t_off, t_len, t_proto)
    if arp_rows.size:
        _arp(b, out, arp_rows, l3off[arp_rows])
    if t_idx:
        idx = np.concatenate(t_idx)
        off = np.concatenate(t_off)
        plen = np.concatenate(t_len)
        proto = np.concatenate(t_proto)
        if len(t_idx) > 1:  # IPv4 and IPv6 rows: back to row order (Columns.set relies on it)
            order = np.argsort(idx, kind="stable")
            idx, off, plen, proto = idx[order], off[order], plen[order], proto[order]
        out.set(TRANSPORT_PROTO, idx, proto)
        for p, fn in ((c.IPPROTO_TCP, _tcp), (c.IPPROTO_UDP, _udp), (c.IPPROTO_ICMP, _icmp),
                      (c.IPPROTO_ICMPV6, _icmpv6)):
            s = proto == p
            if s.any():
                fn(b, out, idx[s], off[s], plen[s])
    return out


# --------------------------------------------------------------------------------------
# link layers

def _erf_stripped(b: Batch, out: Columns, sel: np.ndarray) -> np.ndarray:
    """LINKTYPE_ERF rows: those from ERF files hold the Ethernet frame alone (the reader
    strips the ERF header, as wiretap) and go on as Ethernet; whole records (pcap /
    pcapng LINKTYPE_ERF: frame.len = wlen + header length, see pcapkit.dissect.erf) are
    left to the per-packet path."""
    long = sel[b.cap[sel] >= erf.HEADER.min_len]
    if long.size:
        v = gather(erf.HEADER, b.win(long, np.zeros(long.size, I64), erf.HEADER.min_len), ("erf.lctr", "erf.wlen"))
        extra = b.wire[long] - v["erf.wlen"]   # header length, for a whole record
        most = erf.HEADER.min_len + erf.EXT_HEADER_BYTES * erf.MAX_EXT_HEADERS + erf.MAX_SUBHEADER
        whole = long[(extra >= erf.HEADER.min_len) & (extra <= most) & (v["erf.lctr"] < c.ETHERTYPE_MIN)]
        out.mark(whole)
        sel = np.setdiff1d(sel, whole, assume_unique=True)
    return sel


def _link(b: Batch, out: Columns, linktype: int, sel: np.ndarray, l3off: np.ndarray,
          l3type: np.ndarray) -> None:
    if linktype == 197:
        sel = _erf_stripped(b, out, sel)
    cap = b.cap[sel]
    if linktype in (1, 197):
        eth = ethernet.HEADER
        short = cap < eth.min_len
        out.mark(sel[short])
        idx = sel[~short]
        if idx.size == 0:
            return
        v = gather(eth, b.win(idx, np.zeros(idx.size, I64), eth.min_len), ("eth.dst", "eth.src", "eth.type"))
        out.set("eth.dst", idx, v["eth.dst"], np.uint64)
        out.set("eth.src", idx, v["eth.src"], np.uint64)
        etype = v["eth.type"]
        is_type = etype >= c.ETHERTYPE_MIN
        out.set("eth.type", idx[is_type], etype[is_type])
        llc = idx[~is_type]
        if llc.size:
            # 802.3 length + LLC; SNAP (AA AA) may carry IP: per-packet path
            sap_bytes = ethernet.LLC["llc.ssap"].end
            ok = b.cap[llc] >= eth.min_len + sap_bytes
            out.mark(llc[~ok])
            llc = llc[ok]
            saps = gather(ethernet.LLC, b.win(llc, np.full(llc.size, eth.length, I64), sap_bytes),
                          ("llc.dsap", "llc.ssap"))
            et3 = etype[~is_type][ok]
            # a zero / impossible length makes tshark guess otherwise: per-packet path
            snap = ((saps["llc.dsap"] == ethernet.LLC_SAP_SNAP) | (saps["llc.ssap"] == ethernet.LLC_SAP_SNAP)
                    | (et3 > c.ETHERNET_MAX_LENGTH) | (et3 == 0))
            out.mark(llc[snap])
        idx = idx[is_type]
        etype = etype[is_type]
        _ethertype(b, out, idx, np.full(idx.size, eth.length, I64), etype, l3off, l3type)
    elif linktype in (113, 276):
        header = sll.HEADER if linktype == 113 else sll.SLL2
        short = cap < header.min_len
        out.mark(sel[short])
        idx = sel[~short]
        if idx.size == 0:
            return
        v = gather(header, b.win(idx, np.zeros(idx.size, I64), header.min_len), ("sll.etype", "sll.hatype"))
        proto = v["sll.etype"]
        # netlink and other non-Ethernet-typed headers: per-packet path
        good = (proto >= c.ETHERTYPE_MIN) & (v["sll.hatype"] != sll.ARPHRD_NETLINK)
        out.mark_not(idx, good)
        idx = idx[good]
        _ethertype(b, out, idx, np.full(idx.size, header.min_len, I64), proto[good], l3off, l3type)
    elif linktype in (101, 12, 14, 228, 229):
        short = cap < raw.HEADER.min_len
        out.mark(sel[short])
        idx = sel[~short]
        if linktype == 228:
            ver = np.full(idx.size, 4, I64)
        elif linktype == 229:
            ver = np.full(idx.size, 6, I64)
        else:
            ver = gather(raw.HEADER, b.win(idx, np.zeros(idx.size, I64), raw.HEADER.min_len))["raw.version"]
        et = np.where(ver == 4, c.ETHERTYPE_IPV4, np.where(ver == 6, c.ETHERTYPE_IPV6, 0))
        out.mark(idx[et == 0])
        l3off[idx] = 0
        l3type[idx] = et
    elif linktype in (0, 108):
        short = cap < null.HEADER.min_len
        out.mark(sel[short])
        idx = sel[~short]
        be = gather(null.HEADER, b.win(idx, np.zeros(idx.size, I64), null.HEADER.min_len),
                    ("null.family",))["null.family"]
        if linktype == 108:
            af = be
        else:
            le = be.astype(np.uint32).byteswap().astype(I64)
            # host byte order of the capturing machine: the small value is the right one
            af = np.where((le & 0xFFFF0000) != 0, be, le)
        et = np.where(af == c.AF_IPV4, c.ETHERTYPE_IPV4, np.where(np.isin(af, list(c.AF_IPV6)), c.ETHERTYPE_IPV6, 0))
        out.mark(idx[et == 0])
        l3off[idx] = null.HEADER.length
        l3type[idx] = et
    else:
        out.mark(sel)


def _ethertype(b: Batch, out: Columns, idx: np.ndarray, off: np.ndarray, etype: np.ndarray,
               l3off: np.ndarray, l3type: np.ndarray) -> None:
    """Dispatch on EtherType (after Ethernet / SLL); handles one 802.1Q tag."""
    tag = vlan.HEADER
    is_vlan = etype == c.ETHERTYPE_VLAN  # tshark 4.0 decodes 0x88A8 / 0x9100 otherwise: per-packet path
    if is_vlan.any():
        v = idx[is_vlan]
        voff = off[is_vlan]
        ok = b.cap[v] >= voff + tag.min_len
        out.mark(v[~ok])
        v, voff = select(ok, v, voff)
        values = gather(tag, b.win(v, voff, tag.min_len), ("vlan.id", "vlan.etype"))
        out.set("vlan.id", v, values["vlan.id"])
        inner = values["vlan.etype"]
        out.set("vlan.etype", v, inner)
        # Q-in-Q or an 802.3 length after the tag: per-packet path
        nested = np.isin(inner, c.VLAN_TPIDS) | (inner < c.ETHERTYPE_MIN)
        out.mark(v[nested])
        keep = ~nested
        etype = etype.copy()
        off = off.copy()
        pos = np.nonzero(is_vlan)[0][ok][keep]
        etype[pos] = inner[keep]
        off[pos] = voff[keep] + tag.length
        drop = np.setdiff1d(np.nonzero(is_vlan)[0], pos)
        etype[drop] = 0x88B5  # decoded as far as possible (and marked): stop here
    known = np.isin(etype, NETWORK_ETHERTYPES)
    leaf = np.isin(etype, list(LEAF_ETHERTYPES))
    out.mark(idx[~known & ~leaf])
    l3off[idx[known]] = off[known]
    l3type[idx[known]] = etype[known]


# --------------------------------------------------------------------------------------
# network layers

_IPV4_COLUMNS = ("ip.version", "ip.hdr_len", "ip.dsfield", "ip.len", "ip.id", "ip.flags.df", "ip.flags.mf",
                 "ip.frag_offset", "ip.ttl", "ip.proto", "ip.src", "ip.dst")


def _ipv4(b: Batch, out: Columns, idx: np.ndarray, off: np.ndarray, t_idx: list[np.ndarray],
          t_off: list[np.ndarray], t_len: list[np.ndarray], t_proto: list[np.ndarray]) -> None:
    ip = ipv4.HEADER
    ok = b.cap[idx] >= off + ip.min_len
    out.mark_not(idx, ok)
    idx, off = select(ok, idx, off)
    if idx.size == 0:
        return
    v = gather(ip, b.win(idx, off, ip.min_len), _IPV4_COLUMNS)
    out.set("ip.version", idx, v["ip.version"])
    good = passes(ip, v)   # version 4, header length >= 20, total length >= it (or 0)
    out.mark_not(idx, good)
    idx, off = select(good, idx, off)
    if not good.all():
        v = {name: values[good] for name, values in v.items()}
    for name in _IPV4_COLUMNS[1:]:
        out.set(name, idx, v[name])
    assert ip.pdu_len is not None and ip.next is not None and isinstance(ip.next.key, str)
    assert not isinstance(ip.length, int)
    hl = ip.length.of(v[ip.length.field])
    total = v[ip.pdu_len[0]]
    proto = v[ip.next.key]
    # the header must be captured whole, the lengths consistent, the datagram unfragmented;
    # a total length beyond the frame is cut to the frame, as tshark does; a zero total
    # length (TSO) is left to the per-packet path
    reported = b.wire[idx] - off
    fragment = passes(ip, v, "slow")
    stop = ((b.cap[idx] < off + hl) | (total == 0) | (reported < hl) | fragment
            | ~np.isin(proto, list(LEAF_IP_PROTOCOLS)))
    # a fragment is marked for reassembly; when nothing else marked the row and the whole
    # datagram was captured, say where its header is (see FRAGMENT_IP_OFFSET)
    whole = fragment & (total != 0) & (reported >= total) & (b.cap[idx] >= off + total) & ~out.fallback[idx]
    if whole.any():
        out.set(FRAGMENT_IP_OFFSET, idx[whole], off[whole], I64)
    out.mark(idx[stop])
    go = ~stop
    t_idx.append(idx[go])
    t_off.append(off[go] + hl[go])
    t_len.append(np.minimum(total[go], reported[go]) - hl[go])
    t_proto.append(proto[go])


def _ipv6(b: Batch, out: Columns, idx: np.ndarray, off: np.ndarray, t_idx: list[np.ndarray],
          t_off: list[np.ndarray], t_len: list[np.ndarray], t_proto: list[np.ndarray]) -> None:
    ip = ipv6.HEADER
    ok = b.cap[idx] >= off + ip.min_len
    out.mark_not(idx, ok)
    idx, off = select(ok, idx, off)
    if idx.size == 0:
        return
    v = gather(ip, b.win(idx, off, ip.min_len),
               ("ipv6.version", "ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src", "ipv6.dst"))
    out.set("ip.version", idx, v["ipv6.version"])  # tshark shows ip.version in IPv6 headers too
    good = passes(ip, v)
    out.mark_not(idx, good)
    idx, off = select(good, idx, off)
    if not good.all():
        v = {name: values[good] for name, values in v.items()}
    for name in ("ipv6.plen", "ipv6.nxt", "ipv6.hlim", "ipv6.src.hi", "ipv6.src.lo", "ipv6.dst.hi", "ipv6.dst.lo"):
        out.set(name, idx, v[name], np.uint64 if name.endswith((".hi", ".lo")) else None)
    plen = v["ipv6.plen"]
    reported = b.wire[idx] - off - ip.min_len
    # hop-by-hop options headers: walk them (all rows at once)
    hop = ipv6.HOPOPTS
    proto = v["ipv6.nxt"].copy()
    ext = np.zeros(idx.size, dtype=I64)       # bytes of extension headers
    bad = np.zeros(idx.size, dtype=bool)
    for _ in range(MAX_IPV6_EXT):
        walk = np.nonzero(np.isin(proto, IPV6_EXT) & ~bad)[0]
        if walk.size == 0:
            break
        pos = off[walk] + ip.min_len + ext[walk]
        short = (b.cap[idx[walk]] < pos + hop.min_len) | (ext[walk] + hop.min_len > plen[walk])
        bad[walk[short]] = True
        walk, pos = walk[~short], pos[~short]
        h = gather(hop, b.win(idx[walk], pos, hop.min_len))
        hl = ipv6.EXT_LEN.of(h["ipv6.hopopts.len"])
        cut = (b.cap[idx[walk]] < pos + hl) | (ext[walk] + hl > plen[walk])
        bad[walk[cut]] = True
        keep = ~cut
        walk = walk[keep]
        proto[walk] = h["ipv6.hopopts.nxt"][keep]
        ext[walk] += hl[keep]
    stop = bad | (plen == 0) | (plen > reported) | ~np.isin(proto, list(LEAF_IPV6_PROTOCOLS))
    out.mark(idx[stop])
    go = ~stop
    t_idx.append(idx[go])
    t_off.append(off[go] + ip.min_len + ext[go])
    t_len.append(plen[go] - ext[go])
    t_proto.append(proto[go])


def _arp(b: Batch, out: Columns, idx: np.ndarray, off: np.ndarray) -> None:
    head = arp.HEADER
    ok = b.cap[idx] >= off + head.min_len
    out.mark_not(idx, ok)
    idx, off = select(ok, idx, off)
    if idx.size == 0:
        return
    v = gather(head, b.win(idx, off, head.min_len), ("arp.proto.type", "arp.hw.size", "arp.proto.size", "arp.opcode"))
    out.set("arp.opcode", idx, v["arp.opcode"])
    ptype, hlen, plen = v["arp.proto.type"], v["arp.hw.size"], v["arp.proto.size"]
    need = off + arp.total_length(hlen, plen)
    is_ipv4 = ptype == c.ETHERTYPE_IPV4
    size = arp.IPV4_SIZE
    v4 = is_ipv4 & (plen == size) & (b.cap[idx] >= need)
    out.mark(idx[~v4 & (b.cap[idx] < need)])
    out.mark(idx[is_ipv4 & (plen != size)])
    i4 = idx[v4]
    if i4.size:
        _, spa, _, tpa = arp.address_offsets(hlen[v4], size)
        o = off[v4]
        out.set("arp.src.proto_ipv4", i4, address_key(b.win(i4, o + spa, size), 0, size).astype(np.uint32))
        out.set("arp.dst.proto_ipv4", i4, address_key(b.win(i4, o + tpa, size), 0, size).astype(np.uint32))


# --------------------------------------------------------------------------------------
# transport layers

_TCP_COLUMNS = ("tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.hdr_len", "tcp.flags",
                "tcp.window_size_value", "tcp.urgent_pointer")


def _tcp(b: Batch, out: Columns, idx: np.ndarray, off: np.ndarray, plen: np.ndarray) -> None:
    head = tcp.HEADER
    ok = (b.cap[idx] >= off + head.min_len) & (plen >= head.min_len)
    out.mark_not(idx, ok)
    # tshark still shows ports etc. when the header is cut short; we leave them to the
    # per-packet path
    idx, off, plen = select(ok, idx, off, plen)
    if idx.size == 0:
        return
    v = gather(head, b.win(idx, off, head.min_len), _TCP_COLUMNS)
    out.set(TCP_OFFSET, idx, off)
    for name in _TCP_COLUMNS:
        out.set(name, idx, v[name])
    assert not isinstance(head.length, int)
    doff = head.length.of(v[head.length.field])
    bad = ~passes(head, v) | (doff > plen) | (b.cap[idx] < off + doff)
    out.mark(idx[bad])
    good = ~bad
    idx, off, plen, doff = select(good, idx, off, plen, doff)
    out.set("tcp.len", idx, plen - doff)
    out.set("tcp.options.sack_perm", idx, False, bool)  # True below when the option is there
    has_opt = doff > head.min_len
    if has_opt.any():
        idx, off, doff = select(has_opt, idx, off, doff)
        _tcp_options(b, out, idx, off, doff)


def _tcp_options(b: Batch, out: Columns, idx: np.ndarray, off: np.ndarray, doff: np.ndarray) -> None:
    """The options of every header, by the one option walk (compiled when numba is there)."""
    n = idx.size
    values = np.zeros((n, len(tcp_options.COLUMNS)), dtype=I64)
    have = np.zeros((n, len(tcp_options.COLUMNS)), dtype=bool)
    odd = np.zeros(n, dtype=bool)
    buf, start = b.at(idx, off, doff)
    option_walk(b.use_kernel)(buf, start, doff, values, have, odd)
    for col, name in enumerate(tcp_options.COLUMNS):
        rows = np.nonzero(have[:, col])[0]
        if rows.size:
            out.set(name, idx[rows], values[rows, col].astype(bool) if col == tcp_options.COL_SACK_PERM
                    else values[rows, col])
    out.mark(idx[odd])


def _udp(b: Batch, out: Columns, idx: np.ndarray, off: np.ndarray, plen: np.ndarray) -> None:
    head = udp.HEADER
    ok = (b.cap[idx] >= off + head.min_len) & (plen >= head.min_len)
    out.mark_not(idx, ok)
    idx, off = select(ok, idx, off)
    if idx.size == 0:
        return
    v = gather(head, b.win(idx, off, head.min_len), ("udp.srcport", "udp.dstport", "udp.length"))
    for name, values in v.items():
        out.set(name, idx, values)
    tunnels = list(TUNNEL_UDP_PORTS)
    tun = np.isin(v["udp.srcport"], tunnels) | np.isin(v["udp.dstport"], tunnels)
    out.mark(idx[tun])


def _icmp_family(head: Header) -> Callable[[Batch, Columns, np.ndarray, np.ndarray, np.ndarray], None]:
    """The decoder of ICMP or ICMPv6 (type and code); error messages, which quote a packet,
    go to the per-packet path."""
    names = (f"{head.proto}.type", f"{head.proto}.code")
    width = max(head[n].end for n in names)

    def decode(b: Batch, out: Columns, idx: np.ndarray, off: np.ndarray, plen: np.ndarray) -> None:
        ok = (b.cap[idx] >= off + head.min_len) & (plen >= head.min_len)
        out.mark_not(idx, ok)
        idx, off = select(ok, idx, off)
        if idx.size == 0:
            return
        v = gather(head, b.win(idx, off, width), names)
        for name in names:
            out.set(name, idx, v[name])
        out.mark(idx[passes(head, v, "slow")])

    return decode


_icmp = _icmp_family(icmp.HEADER)
_icmpv6 = _icmp_family(icmp.ICMPV6)
