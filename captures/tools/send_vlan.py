#!/usr/bin/env python3
"""Send 802.1Q- and 802.1ad-tagged ICMP echo requests out of an interface.

Used by make_captures.sh where the kernel lacks the 8021q module: the frames are
real transmissions on the veth (and so in the capture), only their tags are
written by hand. Usage: send_vlan.py IFNAME
"""

from __future__ import annotations

import socket
import struct
import sys


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def icmp_echo(src: str, dst: str, ident: int, seq: int) -> bytes:
    payload = b"pcapkit vlan test".ljust(32, b".")
    icmp = struct.pack("!BBHHH", 8, 0, 0, ident, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    total = 20 + len(icmp)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 0x4000 + seq, 0x4000, 64, 1, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return ip + icmp


def main() -> None:
    ifname = sys.argv[1]
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((ifname, 0))
    src_mac = sock.getsockname()[4]
    dst_mac = bytes.fromhex("02000ad50002")
    frames = []
    # 802.1Q, VLAN 10, priority 5
    tci = (5 << 13) | 10
    frames.append(dst_mac + src_mac + struct.pack("!HH", 0x8100, tci) + b"\x08\x00"
                  + icmp_echo("10.213.10.1", "10.213.10.2", 0x0A0A, 1))
    # QinQ: 802.1ad outer tag VLAN 100 (DEI set), inner 802.1Q VLAN 20
    frames.append(dst_mac + src_mac + struct.pack("!HH", 0x88A8, (1 << 12) | 100)
                  + struct.pack("!HH", 0x8100, 20) + b"\x08\x00"
                  + icmp_echo("10.213.20.1", "10.213.20.2", 0x1414, 1))
    for frame in frames:
        sock.send(frame)


if __name__ == "__main__":
    main()
