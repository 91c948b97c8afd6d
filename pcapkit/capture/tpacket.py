"""The Linux side of live capture: AF_PACKET socket options, the TPACKET_V3 ring
layout, the kernel filter, and decoding a ring block into packet records.

A ring block holds ``tpacket3_hdr`` + ``sockaddr_ll`` + packet, one after another. The
:class:`BlockDecoder` turns one block into ``(ts_ns, caplen, wirelen, data)`` records
as libpcap would deliver them: the cooked header built from the ``sockaddr_ll`` for
SOCK_DGRAM sockets (LINUX_SLL or SLL2), the VLAN tag the NIC stripped put back after
the MAC addresses, loopback's outgoing copies dropped, a user-space filter run where
the kernel could not take the program. :mod:`pcapkit.capture.live` drives the ring.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import socket
import struct
from dataclasses import dataclass

from pcapkit.capture.bpf_program import SKF_AD_OFF, BpfInsn, BpfProgram
from pcapkit.capture.bpf_vm import run_program

SOL_PACKET = 263
PACKET_ADD_MEMBERSHIP = 1
PACKET_RX_RING = 5
PACKET_STATISTICS = 6
PACKET_VERSION = 10
PACKET_MR_PROMISC = 1
TPACKET_V3 = 2
SO_ATTACH_FILTER = 26
SO_LOCK_FILTER = 44
ETH_P_ALL = 0x0003

TP_STATUS_KERNEL = 0
TP_STATUS_USER = 1
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40

PACKET_OUTGOING = 4

LINKTYPE_ETHERNET = 1
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276
SLL_HDR_LEN = 16
SLL2_HDR_LEN = 20

SKF_AD_PROTOCOL = 0
SKF_AD_PKTTYPE = 4
SKF_AD_IFINDEX = 8

BLOCK_HDR = struct.Struct("=IIIIII")   # version, offset_to_priv, block_status, num_pkts, offset_to_first_pkt, blk_len
PKT_HDR = struct.Struct("=IIIIIIHHIIH")  # next, sec, nsec, snaplen, len, status, mac, net, rxhash, vlan_tci, vlan_tpid
PKT_FAST = struct.Struct("=IIIIIIH")     # the same, up to tp_mac
SLL = struct.Struct("=HHiHBB8s")        # family, protocol(BE bytes as native u16), ifindex, hatype, pkttype, halen, addr
SLL_OFFSET = 48                          # TPACKET_ALIGN(sizeof(struct tpacket3_hdr))
STATS_V3 = struct.Struct("=III")        # tp_packets, tp_drops, tp_freeze_q_cnt
MEMBERSHIP = struct.Struct("=iHH8s")     # mr_ifindex, mr_type, mr_alen, mr_address

Record = tuple[int, int, int, bytes]  # ts_ns, caplen, wirelen, data


def fix_program_for_cooked(insns: tuple[BpfInsn, ...], linktype: int) -> tuple[BpfInsn, ...] | None:
    """The program for a SOCK_DGRAM socket, where the kernel's filter sees the packet
    from the network header on: offsets lose the cooked header length, loads inside the
    header become Linux ancillary loads (packet type, protocol, ifindex). None if a
    load cannot be translated (the filter must then run in user space), as libpcap's
    ``fix_program``/``fix_offset``."""
    out = []
    for ins in insns:
        cls = ins.code & 0x07
        mode = ins.code & 0xE0
        if cls in (0x00, 0x01) and mode in (0x20, 0x40, 0xA0):  # LD/LDX ABS/IND/MSH
            k = ins.k
            if linktype == LINKTYPE_LINUX_SLL2:
                if k >= SLL2_HDR_LEN:
                    k -= SLL2_HDR_LEN
                elif k == 0:
                    k = SKF_AD_OFF + SKF_AD_PROTOCOL
                elif k == 4:
                    k = SKF_AD_OFF + SKF_AD_IFINDEX
                elif k == 10:
                    k = SKF_AD_OFF + SKF_AD_PKTTYPE
                elif k < 0x80000000:
                    return None
            else:
                if k >= SLL_HDR_LEN:
                    k -= SLL_HDR_LEN
                elif k == 0:
                    k = SKF_AD_OFF + SKF_AD_PKTTYPE
                elif k == 14:
                    k = SKF_AD_OFF + SKF_AD_PROTOCOL
                elif k < 0x80000000:
                    return None
            ins = BpfInsn(ins.code, ins.jt, ins.jf, k & 0xFFFFFFFF)
        out.append(ins)
    return tuple(out)


def sock_fprog(program: tuple[BpfInsn, ...]) -> tuple[bytes, object]:
    """struct sock_fprog {u16 len; struct sock_filter *filter;} pointing at a buffer that
    must stay alive while setsockopt runs."""
    raw = BpfProgram(program).to_bytes()
    buf = ctypes.create_string_buffer(raw, len(raw))
    fprog = struct.pack("HL", len(program), ctypes.addressof(buf))
    return fprog, buf


def bind_ll(sock: socket.socket, ifindex: int, protocol: int) -> None:
    """bind() with a raw sockaddr_ll: ifindex 0 (all interfaces) cannot be said with
    Python's (name, proto) address tuple."""
    libc = ctypes.CDLL(None, use_errno=True)
    addr = struct.pack("=H", socket.AF_PACKET) + struct.pack("!H", protocol) + \
        struct.pack("=iHBB8s", ifindex, 0, 0, 0, b"")
    buf = ctypes.create_string_buffer(addr, len(addr))
    if libc.bind(sock.fileno(), buf, len(addr)) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def round_pow2(n: int) -> int:
    """The smallest power of two >= n (ring blocks are powers of two)."""
    p = 1
    while p < n:
        p <<= 1
    return p


def ring_request(block_size: int, block_count: int, timeout_ms: int, frame_size: int = 2048) -> bytes:
    """struct tpacket_req3 for PACKET_RX_RING."""
    return struct.pack("=IIIIIII", block_size, block_count, frame_size,
                       block_size // frame_size * block_count, timeout_ms, 0, 0)


def block_ready(ring: mmap.mmap, base: int) -> bool:
    """The kernel has handed the block at ``base`` over (TP_STATUS_USER)."""
    return bool(struct.unpack_from("=I", ring, base + 8)[0] & TP_STATUS_USER)


def release_block(ring: mmap.mmap, base: int) -> None:
    """Give the block back to the kernel."""
    struct.pack_into("=I", ring, base + 8, TP_STATUS_KERNEL)


@dataclass(frozen=True, slots=True)
class BlockDecoder:
    """How the packets of one capture are taken out of its ring blocks."""

    linktype: int
    cooked: bool
    snaplen: int
    userland_filter: tuple[BpfInsn, ...] | None = None
    lo_ifindex: int = -1   # drop this interface's outgoing copies (loopback: each packet twice)

    def records(self, ring: mmap.mmap, base: int, room: int) -> list[Record]:
        """The packets of the block at ``base`` (at most ``room``)."""
        _, _, _, num_pkts, first, _ = BLOCK_HDR.unpack_from(ring, base)
        off = base + first
        batch: list[Record] = []
        append = batch.append
        cooked = self.cooked
        sll2 = self.linktype == LINKTYPE_LINUX_SLL2
        eth = self.linktype == LINKTYPE_ETHERNET
        snaplen = self.snaplen
        ufilter = self.userland_filter
        lo_ifindex = self.lo_ifindex
        simple = not cooked and ufilter is None and lo_ifindex < 0
        unpack_pkt = PKT_HDR.unpack_from
        unpack_fast = PKT_FAST.unpack_from
        unpack_sll = SLL.unpack_from
        vlan_flag = TP_STATUS_VLAN_VALID
        for _ in range(num_pkts):
            if len(batch) >= room:
                break
            if simple:
                nxt, sec, nsec, caplen, wirelen, pstatus, mac = unpack_fast(ring, off)
                if not pstatus & vlan_flag:
                    if caplen > snaplen:
                        caplen = snaplen
                    append((sec * 1_000_000_000 + nsec, caplen, wirelen,
                            ring[off + mac:off + mac + caplen]))
                    off += nxt
                    continue
            (nxt, sec, nsec, caplen, wirelen, pstatus, mac, net, _rx, vlan_tci,
             vlan_tpid) = unpack_pkt(ring, off)
            _fam, proto, ifindex, hatype, pkttype, halen, addr = unpack_sll(ring, off + SLL_OFFSET)
            if lo_ifindex >= 0 and pkttype == PACKET_OUTGOING and ifindex == lo_ifindex:
                off += nxt
                continue
            start = off + (net if cooked else mac)
            data = ring[start:start + caplen]
            if cooked:
                if sll2:
                    head = struct.pack("!HHIHBB", socket.ntohs(proto), 0, ifindex, hatype,
                                       pkttype, halen) + addr[:halen].ljust(8, b"\0")
                    hl = SLL2_HDR_LEN
                else:
                    head = (struct.pack("!HHH", pkttype, hatype, halen)
                            + addr[:halen].ljust(8, b"\0") + struct.pack("=H", proto))
                    hl = SLL_HDR_LEN
                data = head + data
                caplen += hl
                wirelen += hl
            # as libpcap: a user-space filter sees the packet before the VLAN tag
            # goes back in, with the tag as ancillary data
            if ufilter is not None and not run_program(
                    ufilter, data, wirelen,
                    aux=(1 if pstatus & vlan_flag else 0, vlan_tci & 0x0FFF)):
                off += nxt
                continue
            if pstatus & vlan_flag:
                tpid = vlan_tpid if pstatus & TP_STATUS_VLAN_TPID_VALID else 0x8100
                voff = 12 if eth else (14 if cooked and not sll2 else -1)
                if voff >= 0 and caplen >= voff:
                    data = data[:voff] + struct.pack("!HH", tpid, vlan_tci & 0xFFFF) + data[voff:]
                    caplen += 4
                    wirelen += 4
            if caplen > snaplen:
                data = data[:snaplen]
                caplen = snaplen
            append((sec * 1_000_000_000 + nsec, caplen, wirelen, data))
            off += nxt
        return batch
