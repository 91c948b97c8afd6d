"""Network-namespace helpers for live-capture tests: two namespaces joined by a veth pair.

``veth_pair()`` makes namespaces ``pkA<id>`` and ``pkB<id>``, a veth pair between them
(``pkA<id>`` side 10.99.<n>.1/24, ``pkB<id>`` side 10.99.<n>.2/24), IPv6 off (no
router-solicitation noise), and removes everything on exit. (This kernel has no 8021q
module, so VLAN-tagged traffic is sent as raw frames: :func:`send_raw_frames`.) Only root can do this; :func:`netns_available` says whether
it works here. Addresses never leave the namespaces.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

IP = shutil.which("ip") or "/usr/sbin/ip"


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


def netns_available() -> bool:
    """Root, the ip tool, and namespaces that can be made."""
    if os.geteuid() != 0 or not os.path.exists(IP):
        return False
    name = f"pkprobe{os.getpid() % 100000}"
    if _run(IP, "netns", "add", name, check=False).returncode != 0:
        return False
    _run(IP, "netns", "del", name, check=False)
    return True


@dataclass
class VethPair:
    ns_a: str
    ns_b: str
    if_a: str
    if_b: str
    addr_a: str
    addr_b: str
    mac_a: str = ""
    mac_b: str = ""

    def exec_a(self, *cmd: str, **kw: object) -> list[str]:
        return [IP, "netns", "exec", self.ns_a, *cmd]

    def exec_b(self, *cmd: str) -> list[str]:
        return [IP, "netns", "exec", self.ns_b, *cmd]

    def run_b(self, *cmd: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.exec_b(*cmd), capture_output=True, text=True, timeout=timeout,
                              check=False)

    def run_a(self, *cmd: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.exec_a(*cmd), capture_output=True, text=True, timeout=timeout,
                              check=False)


@contextlib.contextmanager
def veth_pair(n: int = 1) -> Iterator[VethPair]:
    """Two namespaces joined by a veth pair (and a VLAN 100 on top); removed on exit."""
    tag = f"{os.getpid() % 10000}{n}"
    pair = VethPair(ns_a=f"pkA{tag}", ns_b=f"pkB{tag}", if_a=f"pka{tag}", if_b=f"pkb{tag}",
                    addr_a=f"10.99.{n}.1", addr_b=f"10.99.{n}.2")
    try:
        _run(IP, "netns", "add", pair.ns_a)
        _run(IP, "netns", "add", pair.ns_b)
        _run(IP, "link", "add", pair.if_a, "netns", pair.ns_a, "type", "veth", "peer", "name",
             pair.if_b, "netns", pair.ns_b)
        for ns, ifc, addr in ((pair.ns_a, pair.if_a, pair.addr_a), (pair.ns_b, pair.if_b, pair.addr_b)):
            ex = [IP, "netns", "exec", ns]
            _run(*ex, "sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=1")
            _run(*ex, "sysctl", "-q", "-w", "net.ipv6.conf.default.disable_ipv6=1")
            _run(IP, "-n", ns, "link", "set", "lo", "up")
            _run(IP, "-n", ns, "addr", "add", f"{addr}/24", "dev", ifc)
            _run(IP, "-n", ns, "link", "set", ifc, "up")
        pair.mac_a = _run(IP, "netns", "exec", pair.ns_a, "cat", f"/sys/class/net/{pair.if_a}/address").stdout.strip()
        pair.mac_b = _run(IP, "netns", "exec", pair.ns_b, "cat", f"/sys/class/net/{pair.if_b}/address").stdout.strip()
        yield pair
    finally:
        _run(IP, "netns", "del", pair.ns_a, check=False)
        _run(IP, "netns", "del", pair.ns_b, check=False)


def wait_for_line(proc: subprocess.Popen[bytes], needle: bytes, timeout: float = 15) -> bytes:
    """Read the process's stderr until a line contains ``needle``; return what was read."""
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    seen = b""
    end = time.monotonic() + timeout
    while needle not in seen:
        left = end - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {needle!r} from {proc.args!r}; got {seen!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"{proc.args!r} ended: {seen!r}")
            seen += chunk
    return seen


RAW_SENDER = r"""
import socket, sys
ifname = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
for hexframe in sys.argv[2:]:
    s.send(bytes.fromhex(hexframe))
"""


def send_raw_frames(pair: VethPair, frames: list[bytes]) -> None:
    """Send whole Ethernet frames (e.g. 802.1Q-tagged) from namespace B's veth."""
    import sys

    r = subprocess.run([IP, "netns", "exec", pair.ns_b, sys.executable, "-c", RAW_SENDER, pair.if_b,
                        *(f.hex() for f in frames)], capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(r.stderr)
