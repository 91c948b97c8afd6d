#!/usr/bin/env python3
"""A user-space Ethernet bridge that delays (and optionally drops) frames.

The kernel here has no netem, so the traces in captures/ get their round-trip time
from this relay: it runs in a middle network namespace, reads every frame arriving
on one interface with an AF_PACKET socket and sends it out of the other after a
fixed delay. Drops are deterministic (the Nth, Mth... TCP data frame from the side
named with --drop-from), so a remade trace shows the same kind of losses; --loss adds
random drops of that side's TCP data frames (seeded, so reproducible for one frame
order). A rate limit and its queue are not done here but by the kernel: a ``tc tbf``
qdisc on the outgoing interface (benchmarks/congestion/ does that); --buffer-bytes
enlarges the relay's socket buffers so that a queue held there does not overflow the
packet socket first. SIGTERM ends the relay early; --stats writes its counters as JSON.

Usage: delay_bridge.py IF_A IF_B --delay-ms 20 [--drop-from b --drop 40,41,120]
       [--loss 0.5 --seed 7] [--buffer-bytes 16000000] [--stats FILE] [--duration 60]
"""

from __future__ import annotations

import argparse
import heapq
import json
import os
import random
import select
import signal
import socket
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def open_socket(ifname: str, buffer_bytes: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    if buffer_bytes:
        # the FORCE variants pass the net.core.[rw]mem_max caps (root only, as the relay is)
        sock.setsockopt(socket.SOL_SOCKET, 33, buffer_bytes)  # SO_RCVBUFFORCE
        sock.setsockopt(socket.SOL_SOCKET, 32, buffer_bytes)  # SO_SNDBUFFORCE
    sock.bind((ifname, 0))
    sock.setblocking(False)
    return sock


def is_tcp_data(frame: bytes) -> bool:
    """An IPv4 TCP segment carrying payload (the only frames we ever drop)."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00" or frame[23] != 6:
        return False
    ihl = (frame[14] & 0x0F) * 4
    total = int.from_bytes(frame[16:18], "big")
    tcp = 14 + ihl
    if len(frame) < tcp + 13:
        return False
    doff = (frame[tcp + 12] >> 4) * 4
    return total - ihl - doff > 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("if_a")
    ap.add_argument("if_b")
    ap.add_argument("--delay-ms", type=float, default=20.0)
    ap.add_argument("--drop-from", choices=("a", "b"), default="b")
    ap.add_argument("--drop", default="", help="comma-separated 1-based indices of TCP data frames to drop")
    ap.add_argument("--loss", type=float, default=0.0, help="percent of that side's TCP data frames dropped at random")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--buffer-bytes", type=int, default=0, help="socket buffer size (0: the kernel's default)")
    ap.add_argument("--stats", default="", help="write the relay's counters (JSON) to this file on exit")
    ap.add_argument("--duration", type=float, default=120.0)
    args = ap.parse_args()

    drops = {int(x) for x in args.drop.split(",") if x}
    rng = random.Random(args.seed)
    loss = args.loss / 100.0
    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    stats = {"relayed": 0, "dropped_listed": 0, "dropped_random": 0, "send_errors": 0}
    sa, sb = open_socket(args.if_a, args.buffer_bytes), open_socket(args.if_b, args.buffer_bytes)
    peer = {sa: sb, sb: sa}
    side = {sa: "a", sb: "b"}
    delay = args.delay_ms / 1000.0
    queue: list[tuple[float, int, socket.socket, bytes]] = []
    counter = 0
    data_seen = 0
    deadline = time.monotonic() + args.duration
    while time.monotonic() < deadline and not stopping:
        timeout = max(0.0, queue[0][0] - time.monotonic()) if queue else 0.05
        try:
            readable, _, _ = select.select([sa, sb], [], [], min(timeout, 0.05))
        except InterruptedError:
            continue
        now = time.monotonic()
        for sock in readable:
            while True:
                try:
                    frame, addr = sock.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue  # our own transmissions on this interface
                if side[sock] == args.drop_from and is_tcp_data(frame):
                    data_seen += 1
                    if data_seen in drops:
                        stats["dropped_listed"] += 1
                        continue
                    if loss and rng.random() < loss:
                        stats["dropped_random"] += 1
                        continue
                counter += 1
                heapq.heappush(queue, (now + delay, counter, peer[sock], frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
                stats["relayed"] += 1
            except OSError:
                stats["send_errors"] += 1  # the outgoing queue (a tbf qdisc) was full: a drop
    if args.stats:
        with open(args.stats, "w") as f:
            json.dump(stats, f)
    os._exit(0)


if __name__ == "__main__":
    main()
