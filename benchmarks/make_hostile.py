"""Hostile inputs for the resource benchmarks (GitHub issue 11), and a capture of many short
connections, written to benchmarks/data/.

    .venv/bin/python benchmarks/make_hostile.py [--syns 1000000] [--fragments 200000] [--ooo 100000]
        [--shorts 20000]

syns.pcap: one SYN per flow from distinct source ports/addresses (a million one-packet
flows); frags.pcap: first fragments that never complete; ooo.pcap: one TCP connection
whose data segments arrive out of order with a hole after every other one; shorts.pcap:
short HTTP connections (handshake, a GET, its 200 response, an ACK: six packets each),
the shape of a web server's traffic, where every connection's payload is dissected (the
million-packet benchmark capture is five long connections).
"""

from __future__ import annotations

import argparse
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
ETH = bytes.fromhex("020000000002" "020000000001" "0800")
PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1)


def ipv4(src: bytes, dst: bytes, payload: bytes, ident: int = 1, frag: int = 0x4000, proto: int = 6) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, frag, 64, proto, 0,
                       src, dst) + payload


def tcp(sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4, flags, 65535,
                       0, 0) + payload


def write(path: Path, packets: Iterable[bytes]) -> None:
    with open(path, "wb") as f:
        f.write(PCAP_HEADER)
        t = 1_700_000_000 * 10**9
        for pkt in packets:
            data = ETH + pkt
            t += 1000
            f.write(struct.pack("<IIII", t // 10**9, t % 10**9, len(data), len(data)))
            f.write(data)


def syns(n: int) -> Iterator[bytes]:
    for i in range(n):
        src = bytes([10, 1 + (i >> 24) % 200, (i >> 16) & 0xFF, 1 + (i >> 8) % 250])
        yield ipv4(src, bytes([10, 0, 0, 2]), tcp(1024 + i % 60000, 80, i * 7919, 0, 0x02))


def fragments(n: int) -> Iterator[bytes]:
    for i in range(n):
        src = bytes([10, 2, (i >> 16) & 0xFF, 1])
        yield ipv4(src, bytes([10, 0, 0, 2]), b"\x00" * 24, ident=i, frag=0x2000)


def out_of_order(n: int) -> Iterator[bytes]:
    a, b = bytes([10, 3, 0, 1]), bytes([10, 3, 0, 2])
    yield ipv4(a, b, tcp(40000, 80, 0, 0, 0x02))
    yield ipv4(b, a, tcp(80, 40000, 0, 1, 0x12))
    yield ipv4(a, b, tcp(40000, 80, 1, 1, 0x10))
    # segments of 100 bytes sent in reverse order, every third one missing (holes)
    for k in range(n, 0, -1):
        if k % 3 == 0:
            continue
        yield ipv4(a, b, tcp(40000, 80, 1 + 100 * k, 1, 0x18, b"d" * 100))


def short_connections(n: int) -> Iterator[bytes]:
    server = bytes([10, 4, 0, 1])
    request = b"GET /health HTTP/1.1\r\nHost: 10.4.0.1\r\nUser-Agent: probe\r\n\r\n"
    response = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"
    for i in range(n):
        client = bytes([10, 5, (i >> 8) & 0xFF, 1 + i % 250])
        port, c, s = 1024 + i % 60000, 1000 * i, 5000 * i
        yield ipv4(client, server, tcp(port, 80, c, 0, 0x02))
        yield ipv4(server, client, tcp(80, port, s, c + 1, 0x12))
        yield ipv4(client, server, tcp(port, 80, c + 1, s + 1, 0x10))
        yield ipv4(client, server, tcp(port, 80, c + 1, s + 1, 0x18, request))
        yield ipv4(server, client, tcp(80, port, s + 1, c + 1 + len(request), 0x18, response))
        yield ipv4(client, server, tcp(port, 80, c + 1 + len(request), s + 1 + len(response), 0x10))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--syns", type=int, default=1_000_000)
    ap.add_argument("--fragments", type=int, default=200_000)
    ap.add_argument("--ooo", type=int, default=100_000)
    ap.add_argument("--shorts", type=int, default=20_000)
    args = ap.parse_args()
    out = HERE / "data"
    out.mkdir(exist_ok=True)
    write(out / "syns.pcap", syns(args.syns))
    write(out / "frags.pcap", fragments(args.fragments))
    write(out / "ooo.pcap", out_of_order(args.ooo))
    write(out / "shorts.pcap", short_connections(args.shorts))
    for name in ("syns.pcap", "frags.pcap", "ooo.pcap", "shorts.pcap"):
        print(out / name, (out / name).stat().st_size)


if __name__ == "__main__":
    main()
