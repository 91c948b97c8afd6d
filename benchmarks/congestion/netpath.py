"""A three-namespace path with a bottleneck: sender -- relay -- receiver.

    sender ns            relay ns                                  receiver ns
    snd0 10.96.N.1 --- rly0 [delay_bridge.py: RTT/2 each way,  rly1 --- rcv0 10.96.N.2
                              random loss on sender->receiver]  +tbf

The kernel here has no netem, so the delay and the random loss come from the
user-space relay (captures/tools/delay_bridge.py) and the rate limit with its queue
from a ``tc tbf`` qdisc on the relay's interface towards the receiver (the relay's
packet socket sends through it; a full queue drops, as a router's would). Offloads are
off on every interface so the sender emits MSS-sized segments as a real NIC does.

Namespace names carry the process id and a flow index, so two generators never
collide; :meth:`NetPath.close` (called from ``finally``) removes everything, including
processes still running inside.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

RELAY = Path(__file__).resolve().parents[2] / "captures" / "tools" / "delay_bridge.py"
SENDER_IF, RELAY_IF_SENDER, RELAY_IF_RECEIVER, RECEIVER_IF = "snd0", "rly0", "rly1", "rcv0"
MTU_FRAME = 1514


def _run(args: list[str], timeout: float = 10.0) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {proc.stderr.strip()}")


@dataclass
class NetPath:
    """One path; ``index`` picks the /24 (10.96.index.0) and the namespace names."""

    index: int
    sender_ns: str = ""
    relay_ns: str = ""
    receiver_ns: str = ""
    sender_addr: str = ""
    receiver_addr: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        tag = f"{os.getpid()}x{self.index}"
        self.sender_ns, self.relay_ns, self.receiver_ns = (f"pkcc{tag}{r}" for r in "srx")
        subnet = self.index % 250 + 1
        self.sender_addr, self.receiver_addr = f"10.96.{subnet}.1", f"10.96.{subnet}.2"

    def in_sender(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.sender_ns, *cmd]

    def in_receiver(self, *cmd: str) -> list[str]:
        return ["ip", "netns", "exec", self.receiver_ns, *cmd]

    def build(self, *, timestamps: bool, sack: bool) -> None:
        s, r, x = self.sender_ns, self.relay_ns, self.receiver_ns
        for ns in (s, r, x):
            _run(["ip", "netns", "add", ns])
        _run(["ip", "link", "add", SENDER_IF, "netns", s, "type", "veth", "peer", "name", RELAY_IF_SENDER, "netns", r])
        _run(["ip", "link", "add", RECEIVER_IF, "netns", x, "type", "veth", "peer", "name", RELAY_IF_RECEIVER, "netns", r])
        # the relay's own interfaces stay silent (no IPv6 router solicitations from the middle)
        _run(["ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
              "net.ipv6.conf.default.disable_ipv6=1"])
        for ns, ifname in ((s, SENDER_IF), (r, RELAY_IF_SENDER), (r, RELAY_IF_RECEIVER), (x, RECEIVER_IF)):
            _run(["ip", "-n", ns, "link", "set", "lo", "up"])
            _run(["ip", "-n", ns, "link", "set", ifname, "up"])
            _run(["ip", "netns", "exec", ns, "ethtool", "-K", ifname, "tso", "off", "gso", "off", "gro", "off", "tx", "off"])
        _run(["ip", "-n", s, "addr", "add", f"{self.sender_addr}/24", "dev", SENDER_IF])
        _run(["ip", "-n", x, "addr", "add", f"{self.receiver_addr}/24", "dev", RECEIVER_IF])
        # the sender's TCP options: both ends of a connection must offer them, so set both
        for ns in (s, x):
            _run(["ip", "netns", "exec", ns, "sysctl", "-qw", f"net.ipv4.tcp_timestamps={int(timestamps)}",
                  f"net.ipv4.tcp_sack={int(sack)}", "net.ipv4.tcp_no_metrics_save=1"])

    def bottleneck(self, *, rate_bps: int, queue_bytes: int) -> None:
        """A token bucket towards the receiver: ``rate_bps`` and a queue of ``queue_bytes``."""
        burst = max(4 * MTU_FRAME, rate_bps // 8 // 1000)  # about 1 ms of tokens
        _run(["ip", "netns", "exec", self.relay_ns, "tc", "qdisc", "add", "dev", RELAY_IF_RECEIVER,
              "root", "tbf", "rate", f"{rate_bps}bit", "burst", str(burst),
              "limit", str(max(queue_bytes, 2 * MTU_FRAME))])

    def start_relay(self, *, one_way_delay_ms: float, loss_percent: float, seed: int,
                    duration_s: float, stats_path: Path) -> None:
        cmd = self._relay_cmd(one_way_delay_ms, loss_percent, seed, duration_s, stats_path)
        self.processes.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(0.3)

    def _relay_cmd(self, delay: float, loss: float, seed: int, duration: float, stats: Path) -> list[str]:
        # side a is the sender's: its TCP data frames are the ones dropped at random
        return ["ip", "netns", "exec", self.relay_ns, sys.executable, str(RELAY), RELAY_IF_SENDER,
                RELAY_IF_RECEIVER, "--delay-ms", f"{delay:.3f}", "--drop-from", "a", "--loss", f"{loss:.4f}",
                "--seed", str(seed), "--buffer-bytes", str(32 << 20), "--stats", str(stats),
                "--duration", f"{duration:.1f}"]

    def start(self, cmd: list[str], **kw: object) -> subprocess.Popen[bytes]:
        proc: subprocess.Popen[bytes] = subprocess.Popen(cmd, **kw)  # type: ignore[call-overload]
        self.processes.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 5.0) -> None:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout)

    def close(self) -> None:
        for proc in reversed(self.processes):
            with contextlib.suppress(Exception):
                self.stop(proc, timeout=2.0)
        for ns in (self.sender_ns, self.relay_ns, self.receiver_ns):
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True, timeout=5,
                                  check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), signal.SIGKILL)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10, check=False)
