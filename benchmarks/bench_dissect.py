"""Per-packet dissection speed: pcapkit's driver vs dpkt on the same Ethernet/IPv4/TCP frames.

Frames are read into memory first (file reading is not timed). Each tool decodes every
frame down to TCP and touches the same handful of values (addresses, ports, seq, flags),
so lazy parsers cannot skip work. Best of ``--repeat`` runs.

pcapkit decodes a header at once only as far as choosing the next layer needs; fields,
findings and summaries are decoded on first access (``Layer.defer``), a single fixed field
can be read alone (``Layer.get``). The "all layers + fields()" row materialises every field
of every layer (about 80 per frame), which dpkt never does.

    .venv/bin/python benchmarks/bench_dissect.py [FILE ...] [--repeat 7] [--built]

Default FILEs: the corpus's tcp/zwnd.dmp.gz (26 690 Ethernet/IPv4/TCP frames, 68-byte
snaplen), tcp/dsack.dmp.gz (15 712), tcp/urgent.dmp.gz (9 476) and captures/tcp-download.pcapng
(whole 1514-byte frames). The repeats are interleaved (each round runs every row once, in
turn) so that a change in the machine's load hits all rows alike; each row keeps its best
round. The last column is the row's speed over dpkt's on the same frames.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"
DEFAULT = CORPUS / "tcp" / "zwnd.dmp.gz"
DEFAULTS = (DEFAULT, CORPUS / "tcp" / "dsack.dmp.gz", CORPUS / "tcp" / "urgent.dmp.gz",
            REPO / "captures" / "tcp-download.pcapng")


def load(path: Path) -> list[Any]:
    from pcapkit.capture.files import read_frames

    return list(read_frames(path))


def run_pcapkit_link_network(frames: list[Any]) -> int:
    """pcapkit: Ethernet + IPv4 only (the layers of this part), by calling the two dissectors."""
    from pcapkit.dissect.base import Context
    from pcapkit.dissect.ethernet import dissect_ethernet
    from pcapkit.dissect.ipv4 import dissect_ipv4

    n = 0
    for f in frames:
        ctx = Context(reported_end=f.wirelen)
        _eth, nxt = dissect_ethernet(f.data, 0, f.caplen, ctx)
        if nxt is not None and nxt.key == 0x0800:
            ip, _ = dissect_ipv4(f.data, nxt.offset, nxt.end, ctx)
            n += ip.fields["ip.ttl"] > 0
    return n


def run_pcapkit_full(frames: list[Any]) -> int:
    """pcapkit: the whole driver (link type -> ... -> TCP), fields merged per packet."""
    from pcapkit.dissect.driver import dissect

    n = 0
    for f in frames:
        p = dissect(f)
        fields = p.fields()
        n += bool(fields.get("ip.src")) and fields.get("tcp.srcport", 0) >= 0
    return n


def _read_tcp_values(frames: list[Any], session: Any) -> int:
    """The whole driver (link type -> ... -> TCP, options included), then the values the dpkt
    row touches, read through the Packet API (Packet.layer + Layer.get)."""
    from pcapkit.dissect.driver import dissect

    n = 0
    for f in frames:
        p = dissect(f, session)
        ip = p.layer("ip")
        tcp = p.layer("tcp")
        if ip is not None and tcp is not None:
            n += (bool(ip.get("ip.src")) and tcp.get("tcp.srcport") >= 0 and tcp.get("tcp.seq_raw") >= 0
                  and tcp.get("tcp.flags") >= 0)
    return n


def run_pcapkit_driver(frames: list[Any]) -> int:
    """pcapkit: the driver without a session (no IP reassembly, no TCP stream dissectors)."""
    return _read_tcp_values(frames, None)


def run_pcapkit_session(frames: list[Any]) -> int:
    """pcapkit: with the DissectSession that dissect_file and the CLI use (IP reassembly, TCP
    streams handed to stream-level dissectors such as BGP)."""
    from pcapkit.dissect.driver import DissectSession

    return _read_tcp_values(frames, DissectSession())


def run_dpkt(frames: list[Any]) -> int:
    import dpkt

    n = 0
    for f in frames:
        eth = dpkt.ethernet.Ethernet(f.data)
        ip = eth.data
        if isinstance(ip, dpkt.ip.IP):
            tcp = ip.data
            if isinstance(tcp, dpkt.tcp.TCP):
                n += bool(ip.src) and tcp.sport >= 0 and tcp.seq >= 0 and tcp.flags >= 0
    return n


MIN_FRAMES_PER_ROUND = 10_000
ROWS: tuple[tuple[str, Callable[[list[Any]], int]], ...] = (
    ("dpkt (eth/ip/tcp objects)", run_dpkt),
    ("pcapkit eth+ipv4 dissectors", run_pcapkit_link_network),
    ("pcapkit driver, same values via Layer.get", run_pcapkit_driver),
    ("  the same, with a DissectSession", run_pcapkit_session),
    ("pcapkit driver, all layers + fields()", run_pcapkit_full),
)


def bench(frames: list[Any], repeat: int,
          rows: tuple[tuple[str, Callable[[list[Any]], int]], ...] = ROWS) -> list[float]:
    """Best time of each row over ``repeat`` interleaved rounds."""
    best = [float("inf")] * len(rows)
    for _ in range(repeat):
        for i, (_name, fn) in enumerate(rows):
            start = time.perf_counter()
            fn(frames)
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def run_dpkt_other(frames: list[Any]) -> int:
    """dpkt on the other stacks: Ethernet (802.1Q tags are dpkt's part of Ethernet), IPv4 or
    IPv6, TCP or UDP; the source address and port, and TCP's seq or UDP's length."""
    import dpkt

    n = 0
    for f in frames:
        net = dpkt.ethernet.Ethernet(f.data).data
        if isinstance(net, dpkt.ip.IP | dpkt.ip6.IP6):
            tr = net.data
            if isinstance(tr, dpkt.tcp.TCP):
                n += bool(net.src) and tr.sport >= 0 and tr.seq >= 0
            elif isinstance(tr, dpkt.udp.UDP):
                n += bool(net.src) and tr.sport >= 0 and tr.ulen >= 0
    return n


def run_pcapkit_other(frames: list[Any]) -> int:
    """pcapkit on the other stacks, the same values, with a DissectSession."""
    from pcapkit.dissect.driver import DissectSession, dissect

    session = DissectSession()
    n = 0
    for f in frames:
        p = dissect(f, session)
        net = p.layer("ip") or p.layer("ipv6")
        tcp = p.layer("tcp")
        if net is not None and tcp is not None:
            n += (bool(net.get("ip.src" if net.protocol == "ip" else "ipv6.src")) and tcp.get("tcp.srcport") >= 0
                  and tcp.get("tcp.seq_raw") >= 0)
            continue
        udp = p.layer("udp")
        if net is not None and udp is not None:
            n += (bool(net.get("ip.src" if net.protocol == "ip" else "ipv6.src")) and udp.get("udp.srcport") >= 0
                  and udp.get("udp.length") >= 0)
    return n


OTHER_ROWS: tuple[tuple[str, Callable[[list[Any]], int]], ...] = (
    ("dpkt (eth/vlan/ip|ip6/tcp|udp objects)", run_dpkt_other),
    ("pcapkit driver + session, via Layer.get", run_pcapkit_other),
)


def built_frames(kind: str, count: int = 20_000) -> list[Any]:
    """Frames of a stack the corpus has few of, built in memory: "vlan-udp" (802.1Q, IPv4,
    UDP, 100-byte payloads) or "ipv6-tcp" (IPv6, TCP ACKs with 100 bytes)."""
    import struct

    from pcapkit.frame import Frame

    macs = bytes.fromhex("00305c003447" "00e0ed016ebd")
    frames = []
    for i in range(count):
        if kind == "vlan-udp":
            udp = struct.pack("!HHHH", 40000 + i % 100, 5000, 108, 0) + bytes(100)
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0x4000, 64, 17, 0,
                             bytes((10, 0, 0, 1)), bytes((10, 0, 0, 2)))
            data = macs + struct.pack("!HHH", 0x8100, 0x2064, 0x0800) + ip + udp
        else:
            tcp = struct.pack("!HHIIBBHHH", 40000, 443, i * 100 & 0xFFFFFFFF, 5, 0x50, 0x10, 1000, 0, 0) + bytes(100)
            ip6 = struct.pack("!IHBB", 6 << 28, len(tcp), 6, 64) + bytes.fromhex("20010db8" + "00" * 11 + "01")
            data = macs + b"\x86\xdd" + ip6 + bytes.fromhex("20010db8" + "00" * 11 + "02") + tcp
        frames.append(Frame(number=i + 1, ts_ns=1_000_000_000 + i * 100_000, caplen=len(data), wirelen=len(data),
                            linktype=1, interface_id=0, data=data))
    return frames


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("files", nargs="*", type=Path, default=list(DEFAULTS))
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--built", action="store_true",
                    help="also VLAN+IPv4+UDP and IPv6+TCP frames built in memory (20,000 each)")
    args = ap.parse_args(argv)
    for path in args.files:
        if not path.is_file():
            print(f"{path}: not found, skipped")
            continue
        frames = load(path)
        counts = {fn(frames) for _name, fn in ROWS}
        print(f"{path.name}: {len(frames)} frames, {max(counts)} Ethernet/IPv4/TCP")
        # a small file is run several times over per round, so a round lasts long enough to time
        frames = frames * max(1, MIN_FRAMES_PER_ROUND // len(frames))
        times = bench(frames, args.repeat)
        for (name, _fn), t in zip(ROWS, times, strict=True):
            print(f"  {name:<42} {len(frames) / t:>10,.0f} packets/s  ({t * 1e6 / len(frames):5.2f} us/packet)"
                  f"  {times[0] / t:5.2f}x dpkt")
    if args.built:
        for kind in ("vlan-udp", "ipv6-tcp"):
            frames = built_frames(kind)
            read = [fn(frames) for _name, fn in OTHER_ROWS]
            print(f"built {kind}: {len(frames)} frames, read by dpkt / pcapkit: {read[0]} / {read[1]}")
            times = bench(frames, args.repeat, OTHER_ROWS)
            for (name, _fn), t in zip(OTHER_ROWS, times, strict=True):
                print(f"  {name:<42} {len(frames) / t:>10,.0f} packets/s  ({t * 1e6 / len(frames):5.2f} us/packet)"
                      f"  {times[0] / t:5.2f}x dpkt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
