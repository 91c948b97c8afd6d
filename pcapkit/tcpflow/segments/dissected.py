"""Segment rows through the per-packet dissectors: what the fast path left (IP
fragments, reassembled in file order by one session; tunnels; link types it does not
walk; cut or self-contradicting headers; several SACK blocks)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.columnar.fragments import candidates, walk_rows
from pcapkit.columnar.perpacket import gc_paused
from pcapkit.fields import MISSING
from pcapkit.frame import Frame
from pcapkit.proto.tcp_options import (
    MSS,
    OPT_EOL,
    OPT_NOP,
    OPT_OK,
    SACK_PERM,
    TIMESTAMP,
    WSCALE,
    option_at,
    u32,
)
from pcapkit.tcpflow.segments.columns import payload_limit
from pcapkit.tcpflow.segments.table import (
    I64,
    INT_COLUMNS,
    KIND_FIRST_FRAGMENT,
    KIND_REASSEMBLED,
    KIND_TUNNELLED,
    MAX_SACK_BLOCKS,
    PACKET_COLUMNS,
    PacketRows,
    Rows,
)

if TYPE_CHECKING:
    from pcapkit.capture.batch import RecordBatch
    from pcapkit.dissect.base import Layer
    from pcapkit.dissect.driver import DissectSession
    from pcapkit.dissect.fragment_bulk import FragmentRows


_NET = ("ip", "ipv6")


_V4_KEYS: dict[str, tuple[int, int, int]] = {}  # (a hostile file repeats a few addresses a million times)


def _address_key(version: int, text: str) -> tuple[int, int, int]:
    if version == 4:
        key = _V4_KEYS.get(text)
        if key is None:
            if len(_V4_KEYS) >= 1 << 16:
                _V4_KEYS.clear()
            key = _V4_KEYS[text] = (4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big"), 0)
        return key
    raw = socket.inet_pton(socket.AF_INET6, text)
    return 6, int.from_bytes(raw[:8], "big"), int.from_bytes(raw[8:], "big")


def _one(value: Any) -> Any:
    """The last occurrence of a field that occurs several times (an option given twice:
    the last one counts, as the analysis reads options in order)."""
    return value[-1] if isinstance(value, list) else value


def _transport(layers: Sequence[Layer]) -> tuple[Layer, Layer, int] | None:
    """(the IP layer carrying TCP, the TCP layer, how many IP layers enclose it) of the
    TCP segment tshark analyses in ``layers``: the first TCP layer not quoted by an ICMP
    error; None when there is none."""
    net: Layer | None = None
    depth = 0
    for layer in layers:
        proto = layer.protocol
        if proto in _NET:
            net = layer
            depth += 1
        elif proto in ("icmp", "icmpv6"):
            return None
        elif proto == "tcp":
            return (net, layer, depth) if net is not None else None
    return None


def _row_of(frame: Frame, net: Layer, tcp: Layer, kind: int) -> tuple[dict[str, int], tuple[int, int, int],
                                                                    tuple[int, int, int], list[tuple[int, int]]] | None:
    """One segment's values from its dissected IP and TCP layers, or None when the TCP
    header is not complete enough to analyse (as tshark: cut before 20 bytes, or a
    header length below 20)."""
    get = tcp.get
    hl = get("tcp.hdr_len")
    if hl is None or hl < 20 or get("tcp.ack_raw") is None or get("tcp.flags") is None:
        return None
    f = tcp.fields
    v6 = net.protocol == "ipv6"
    nf = net.fields
    seglen = f.get("tcp.len")
    kinds = f.get("tcp.option_kind", ())
    kinds = kinds if isinstance(kinds, list) else [kinds]
    sack_l = f.get("tcp.options.sack_le", [])
    sack_r = f.get("tcp.options.sack_re", [])
    sack_l = sack_l if isinstance(sack_l, list) else [sack_l]
    sack_r = sack_r if isinstance(sack_r, list) else [sack_r]
    mss = _one(f.get("tcp.options.mss_val", -1))
    ws = _one(f.get("tcp.options.wscale.shift", -1))
    tsval = _one(f.get("tcp.options.timestamp.tsval", -1))
    tsecr = _one(f.get("tcp.options.timestamp.tsecr", -1))
    version = 6 if v6 else 4
    row = {
        "frame": frame.number, "ts_ns": frame.ts_ns, "wirelen": frame.wirelen, "caplen": frame.caplen,
        "kind": kind, "ip_version": version,
        "sport": get("tcp.srcport"), "dport": get("tcp.dstport"), "seq": get("tcp.seq_raw"),
        "ack": get("tcp.ack_raw"), "flags": get("tcp.flags"), "window": get("tcp.window_size_value"),
        "seglen": -1 if seglen is None else seglen, "hdr_len": hl, "urgent": get("tcp.urgent_pointer"),
        "ip_id": 0 if v6 else int(nf.get("ip.id", 0)),
        "ip_len": int(nf.get("ipv6.plen", 0)) if v6 else int(nf.get("ip.len", 0)),
        # IPv6: the fixed header and the extension headers up to TCP
        "ip_hdr_len": tcp.offset - net.offset if v6 else int(nf.get("ip.hdr_len", 20)),
        "tcp_offset": tcp.offset,
        # a reassembled datagram holds every byte; else what the frame captured of the payload
        "captured": max(0, seglen or 0) if kind & KIND_REASSEMBLED
        else max(0, min(frame.caplen - tcp.offset - hl, -1 if seglen is None else seglen)),
        "mss": mss, "wscale": ws, "sack_perm": int(4 in kinds), "tsval": tsval, "tsecr": tsecr,
        "sack_n": min(len(sack_l), len(sack_r)),
    }
    src = _address_key(version, str(nf["ipv6.src" if v6 else "ip.src"]))
    dst = _address_key(version, str(nf["ipv6.dst" if v6 else "ip.dst"]))
    return row, src, dst, list(zip(sack_l, sack_r, strict=False))


def dissected_rows(rb: RecordBatch, numbers: np.ndarray, rows: np.ndarray, session: DissectSession,
               keep_payload: bool | int, packets: bool,
               fragments: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[Rows, PacketRows | None]:
    """Segments (and, with ``packets``, conversation facts) of the rows the columnar fast
    path left to the per-packet dissectors.

    ``fragments``: (values, valid) of the fast path's ``FRAGMENT_IP_OFFSET`` column: such
    a fragment that leaves its datagram incomplete only goes through the session's
    reassembler (its facts come from its IPv4 header; it carries no analysed segment);
    runs of them are added in bulk (:mod:`pcapkit.columnar.fragments`)."""
    found: list[tuple[dict[str, int], tuple[int, int, int], tuple[int, int, int], list[tuple[int, int]]]] = []
    payloads: list[bytes] = []
    packet_rows: list[tuple[dict[str, int], tuple[int, int, int], tuple[int, int, int]]] = []
    bulk_packets: list[PacketRows] = []
    quiet = session.reassembler.add_if_incomplete if fragments is not None and session.reassemble_ip else None
    row_list = rows.tolist()
    with gc_paused():
        def per_row(p: int) -> None:
            _dissect_row(rb, numbers, row_list[p], session, keep_payload, packets, fragments, quiet, found,
                         payloads, packet_rows)

        if quiet is None or fragments is None:
            for p in range(len(row_list)):
                per_row(p)
        else:
            positions, frags = candidates(rb, numbers, rows, fragments[1], fragments[0])
            reassembler = session.reassembler

            def on_bulk(lo: int, hi: int) -> None:
                assert frags is not None
                _bulk_fragments(rb, numbers, rows[positions[lo:hi]], frags, lo, hi, found,
                                payloads if keep_payload else None, bulk_packets if packets else None)

            walk_rows(len(row_list), positions, lambda lo, hi: reassembler.add_pending_batch(frags, lo, hi),
                      per_row, on_bulk)
    packed = _pack(found, payloads if keep_payload else None)
    if not packets:
        return packed, None
    return packed, _merged_packets([_pack_packets(packet_rows), *bulk_packets])


def _dissect_row(rb: RecordBatch, numbers: np.ndarray, r: int, session: DissectSession,
                 keep_payload: bool | int, packets: bool, fragments: tuple[np.ndarray, np.ndarray] | None,
                 quiet: Any, found: list[Any], payloads: list[bytes], packet_rows: list[Any]) -> None:
    """:func:`dissected_rows`'s work on one row (``r`` of the batch), in file order."""
    from pcapkit.dissect.driver import dissect
    from pcapkit.dissect.ipreassembly import ipv4_fragment

    buf = rb.buf
    start = int(rb.data_off[r])
    cap = int(rb.caplen[r])
    if quiet is not None and fragments is not None and fragments[1][r]:
        ip_off = start + int(fragments[0][r])
        frag_info, payload = ipv4_fragment(buf, ip_off)
        if quiet(frag_info, payload, int(numbers[r]), int(rb.ts_ns[r])):
            _pending_fragment(rb, numbers, r, ip_off, frag_info, payload, found, payloads if keep_payload else None,
                              packet_rows if packets else None)
            return
    frame = Frame(int(numbers[r]), int(rb.ts_ns[r]), cap, int(rb.wirelen[r]), int(rb.linktype[r]),
                  max(0, int(rb.interface_id[r])), buf[start:start + cap].tobytes())
    packet = dissect(frame, session)
    layers = packet.layers
    if packets:
        info = _packet_row(frame, layers)
        if info is not None:
            packet_rows.append(info)
    first_fragment = _first_fragment(frame, layers)
    if first_fragment is not None:
        found.append(first_fragment)
        if keep_payload:
            payloads.append(b"")
    hit = _transport(layers)
    if hit is None:
        return
    net, tcp, depth = hit
    kind = (KIND_TUNNELLED if depth > 1 else 0) | (KIND_REASSEMBLED if _reassembled(layers, net) else 0)
    row = _row_of(frame, net, tcp, kind)
    if row is None:
        return
    found.append(row)
    if keep_payload:
        payloads.append(_payload_of(tcp, frame, row[0])[:payload_limit(keep_payload)])


def _bulk_fragments(rb: RecordBatch, numbers: np.ndarray, r: np.ndarray, frags: FragmentRows, lo: int, hi: int,
                    found: list[Any], payloads: list[bytes] | None, packets: list[PacketRows] | None) -> None:
    """What :func:`_pending_fragment` takes from each of the fragments ``lo:hi`` of
    ``frags`` (rows ``r`` of the batch), which the reassembler took in bulk: the facts of
    their headers as columns; the segment of each first fragment of TCP, dissected."""
    proto = frags.proto[lo:hi]
    if packets is not None:
        m = hi - lo
        cols = {"frame": numbers[r], "ts_ns": rb.ts_ns[r].astype(I64), "wirelen": rb.wirelen[r].astype(I64),
                "ip_version": np.full(m, 4, dtype=I64), "proto": proto.astype(I64),
                "sport": np.full(m, -1, dtype=I64), "dport": np.full(m, -1, dtype=I64),
                "udp_payload": np.zeros(m, dtype=I64)}
        src = np.zeros((m, 3), dtype=np.uint64)
        dst = np.zeros((m, 3), dtype=np.uint64)
        src[:, 0] = dst[:, 0] = 4
        src[:, 1] = frags.src[lo:hi]
        dst[:, 1] = frags.dst[lo:hi]
        packets.append((cols, src, dst))
    # a first fragment of TCP with room for a header of 20 bytes or more (see _pending_fragment)
    start = frags.data_start[lo:hi]
    tcp = (proto == 6) & (frags.offset[lo:hi] == 0) & (frags.length[lo:hi] >= 20)
    if not tcp.any():
        return
    tcp[tcp] = (frags.buf[start[tcp] + 12] >> 4) >= 5
    for j in np.flatnonzero(tcp).tolist():
        row = int(r[j])
        off, cap = int(rb.data_off[row]), int(rb.caplen[row])
        frame = Frame(int(numbers[row]), int(rb.ts_ns[row]), cap, int(rb.wirelen[row]), int(rb.linktype[row]),
                      max(0, int(rb.interface_id[row])), rb.buf[off:off + cap].tobytes())
        segment = _plain_first_fragment(frame, int(start[j]) - off + int(frags.length[lo + j]))
        if segment is not None:
            found.append(segment)
            if payloads is not None:
                payloads.append(b"")


def _merged_packets(pieces: list[PacketRows]) -> PacketRows:
    """Conversation facts from several builders, in file order (one row per frame)."""
    pieces = [p for p in pieces if p[0]["frame"].size] or pieces[:1]
    if len(pieces) == 1:
        return pieces[0]
    order = np.argsort(np.concatenate([p[0]["frame"] for p in pieces]), kind="stable")
    cols = {name: np.concatenate([p[0][name] for p in pieces])[order] for name in PACKET_COLUMNS}
    return cols, np.concatenate([p[1] for p in pieces])[order], np.concatenate([p[2] for p in pieces])[order]


def _pending_fragment(rb: RecordBatch, numbers: np.ndarray, r: int, ip_off: int, info: tuple[Any, ...],
                      payload: bytes, found: list[Any], payloads: list[bytes] | None,
                      packet_rows: list[Any] | None) -> None:
    """What :func:`dissected_rows` takes from an IPv4 fragment left pending: the facts of
    its header and, for a first fragment of TCP, the segment a tool that does not
    reassemble reads (tcptrace)."""
    number, ts_ns, wirelen = int(numbers[r]), int(rb.ts_ns[r]), int(rb.wirelen[r])
    _, src_text, dst_text, _, proto, offset, _, _ = info
    src = _address_key(4, src_text)
    dst = _address_key(4, dst_text)
    if packet_rows is not None:
        packet_rows.append(({"frame": number, "ts_ns": ts_ns, "wirelen": wirelen, "ip_version": 4, "proto": proto,
                             "sport": -1, "dport": -1, "udp_payload": 0}, src, dst))
    if proto != 6 or offset != 0:
        return
    # tshark's TCP dissector stops before the analysed fields (no row) when fewer than
    # 20 bytes are there or the header length is below 20: no need to dissect it then
    if len(payload) < 20 or payload[12] >> 4 < 5:
        return
    start, cap = int(rb.data_off[r]), int(rb.caplen[r])
    frame = Frame(number, ts_ns, cap, wirelen, int(rb.linktype[r]), max(0, int(rb.interface_id[r])),
                  rb.buf[start:start + cap].tobytes())
    hdr_len = (int(rb.buf[ip_off]) & 0x0F) * 4
    row = _plain_first_fragment(frame, ip_off - start + hdr_len + len(payload))
    if row is not None:
        found.append(row)
        if payloads is not None:
            payloads.append(b"")


def _packet_row(frame: Frame, layers: Sequence[Layer]) -> tuple[dict[str, int], tuple[int, int, int],
                                                                 tuple[int, int, int]] | None:
    """Conversation facts of one dissected frame: its outermost IP header and the TCP or
    UDP header right after it (and its extension headers), if any."""
    for i, layer in enumerate(layers):
        if layer.protocol not in _NET:
            continue
        v6 = layer.protocol == "ipv6"
        f = layer.fields
        src, dst = f.get("ipv6.src" if v6 else "ip.src"), f.get("ipv6.dst" if v6 else "ip.dst")
        if src is None or dst is None:
            return None
        proto = f.get("ipv6.nxt" if v6 else "ip.proto", 0)
        nxt = i + 1
        while v6 and nxt < len(layers) and layers[nxt].protocol.startswith("ipv6."):  # extension headers
            proto = _one(layers[nxt].fields.get(f"{layers[nxt].protocol}.nxt", proto))
            nxt += 1
        sport = dport = -1
        udp_payload = 0
        if nxt < len(layers) and layers[nxt].protocol in ("tcp", "udp"):
            t = layers[nxt]
            name = t.protocol
            sport = int(t.get(f"{name}.srcport", -1) if t.get(f"{name}.srcport") is not None else -1)
            dport = int(t.get(f"{name}.dstport", -1) if t.get(f"{name}.dstport") is not None else -1)
            if name == "udp" and t.get("udp.length") is not None:
                udp_payload = max(int(t.get("udp.length")) - 8, 0)
        version = 6 if v6 else 4
        row = {"frame": frame.number, "ts_ns": frame.ts_ns, "wirelen": frame.wirelen, "ip_version": version,
               "proto": int(_one(proto) or 0), "sport": sport, "dport": dport, "udp_payload": udp_payload}
        return row, _address_key(version, str(src)), _address_key(version, str(dst))
    return None


def _pack_packets(found: list[tuple[dict[str, int], tuple[int, int, int], tuple[int, int, int]]]) -> PacketRows:
    m = len(found)
    # column by column from Python lists (setting numpy elements one by one costs more)
    cols = {name: np.fromiter((row.get(name, 0) for row, _, _ in found), dtype=I64, count=m)
            for name in PACKET_COLUMNS}
    src = np.array([s for _, s, _ in found], dtype=np.uint64).reshape(m, 3)
    dst = np.array([d for _, _, d in found], dtype=np.uint64).reshape(m, 3)
    return cols, src, dst


def _reassembled(layers: Sequence[Layer], net: Layer) -> bool:
    """Whether the TCP header of ``net`` comes from a reassembled datagram: an enclosing
    or the carrying IP layer is a fragment."""
    for layer in layers:
        if layer.protocol == "ip" and (layer.get("ip.flags.mf") or layer.get("ip.frag_offset")):
            return True
        if layer.protocol == "ipv6.fraghdr":
            return True
        if layer is net:
            break
    return False


def _first_fragment(frame: Frame, layers: Sequence[Layer]) -> tuple[dict[str, int], tuple[int, int, int],
                                                                    tuple[int, int, int],
                                                                    list[tuple[int, int]]] | None:
    """The TCP header of a first IPv4 fragment, as a tool that does not reassemble reads
    it (tcptrace), or None."""
    for layer in layers:
        if layer.protocol in ("icmp", "icmpv6"):
            return None
        if layer.protocol != "ip" or layer.get("ip.proto") != 6:
            continue
        if not layer.get("ip.flags.mf") or layer.get("ip.frag_offset"):
            continue
        return _plain_first_fragment(frame, int(layer.get("ip.len", 0)) + layer.offset)
    return None


def _plain_first_fragment(frame: Frame, ip_end: int) -> tuple[dict[str, int], tuple[int, int, int],
                                                            tuple[int, int, int], list[tuple[int, int]]] | None:
    """The segment row of a first IPv4 fragment carrying TCP, dissected without reassembly;
    ``ip_end``: where its datagram ends in the frame."""
    from pcapkit.dissect.driver import dissect

    plain = dissect(frame, None)  # without reassembly the first fragment's TCP is dissected
    hit = _transport(plain.layers)
    if hit is None or hit[2] > 1:
        return None
    found = _row_of(frame, hit[0], hit[1], KIND_FIRST_FRAGMENT)
    if found is not None and hit[1].get("tcp.options") is MISSING:
        _options_before_cut(found[0], frame, hit[1].offset, ip_end)
    return found


def _options_before_cut(row: dict[str, int], frame: Frame, tcp_offset: int, ip_end: int) -> None:
    """The options of a TCP header the fragment cuts (tshark stops at the bound with an
    error and no option fields; tcptrace reads the options that are there): the whole ones
    before the cut fill the row, as tcptrace's ``mss requested`` and window scale need."""
    buf = frame.data
    pos, end = tcp_offset + 20, tcp_offset + row["hdr_len"]
    cap_end = min(end, ip_end, len(buf))
    while pos < cap_end:
        kind, olen, status = option_at(buf, pos, end, cap_end)
        if status == OPT_EOL:
            break
        if status != OPT_NOP and status != OPT_OK:
            break
        if status == OPT_OK:
            if kind == MSS and olen == 4:
                row["mss"] = (buf[pos + 2] << 8) | buf[pos + 3]
            elif kind == WSCALE and olen == 3:
                row["wscale"] = buf[pos + 2]
            elif kind == SACK_PERM and olen == 2:
                row["sack_perm"] = 1
            elif kind == TIMESTAMP and olen == 10:
                row["tsval"], row["tsecr"] = u32(buf, pos + 2), u32(buf, pos + 6)
        pos += olen


def _payload_of(tcp: Layer, frame: Frame, row: dict[str, int]) -> bytes:
    payload = tcp.fields.get("tcp.payload")
    if isinstance(payload, bytes | bytearray | memoryview):
        return bytes(payload)[:max(0, row["seglen"])]
    return b""


def _pack(found: list[tuple[dict[str, int], tuple[int, int, int], tuple[int, int, int], list[tuple[int, int]]]],
          payloads: list[bytes] | None) -> Rows:
    m = len(found)
    part = {name: np.zeros(m, dtype=I64) for name in INT_COLUMNS if name not in ("src", "dst")}
    src = np.zeros((m, 3), dtype=np.uint64)
    dst = np.zeros((m, 3), dtype=np.uint64)
    sack_rows = [blocks for _, _, _, blocks in found if blocks]
    sl = np.zeros((len(sack_rows), MAX_SACK_BLOCKS), dtype=I64)
    sr = np.zeros_like(sl)
    k = 0
    for j, (row, s, d, blocks) in enumerate(found):
        for name, value in row.items():
            part[name][j] = value
        src[j] = s
        dst[j] = d
        if blocks:
            for b, (left, right) in enumerate(blocks[:MAX_SACK_BLOCKS]):
                sl[k, b] = left
                sr[k, b] = right
            k += 1
    # sack_n counts every block; the table keeps the first four
    return part, src, dst, sl, sr, payloads
