"""``pcapkit top`` through a pseudo-terminal: a TCP transfer across a user-space delay
bridge (captures/tools/delay_bridge.py, 25 ms each way) between two network
namespaces; the screen shows the connection, the terminal is resized, ``q`` quits,
and the SRTT it reports is within 10 % of the kernel's (``ss -ti``). Needs root."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from netns import IP, netns_available

REPO = Path(__file__).resolve().parent.parent.parent
BRIDGE = REPO / "captures" / "tools" / "delay_bridge.py"
DELAY_MS = 25
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")

pytestmark = [pytest.mark.netns, pytest.mark.slow,
              pytest.mark.skipif(sys.platform != "linux", reason="AF_PACKET is Linux only"),
              pytest.mark.skipif(shutil.which("ss") is None, reason="ss (iproute2) not installed")]

SINK = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5201)); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
while c.recv(65536):
    pass
"""

WARM_UP = "from pcapkit.reports.live import warm_up; warm_up('rtt'); warm_up('flows')"
SENDER = r"""
import socket, sys, time
c = socket.create_connection((sys.argv[1], 5201))
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    c.sendall(b"z" * 8192)
    time.sleep(0.02)
c.close()
"""


def _run(*args: str) -> None:
    subprocess.run(list(args), check=True, capture_output=True)


@contextlib.contextmanager
def _bridged() -> Iterator[tuple[str, str, str, str]]:
    """Client and server namespaces joined through a bridge namespace that delays every
    frame DELAY_MS each way: (client ns, client interface, server ns, server address)."""
    tag = f"{os.getpid() % 10000}"
    c, b, s = f"ptC{tag}", f"ptB{tag}", f"ptS{tag}"
    relay = None
    try:
        for ns in (c, b, s):
            _run(IP, "netns", "add", ns)
            _run(IP, "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
            _run(IP, "-n", ns, "link", "set", "lo", "up")
        _run(IP, "link", "add", "c0", "netns", c, "type", "veth", "peer", "name", "b0", "netns", b)
        _run(IP, "link", "add", "s0", "netns", s, "type", "veth", "peer", "name", "b1", "netns", b)
        _run(IP, "-n", c, "addr", "add", "10.97.0.1/24", "dev", "c0")
        _run(IP, "-n", s, "addr", "add", "10.97.0.2/24", "dev", "s0")
        for ns, ifc in ((c, "c0"), (s, "s0"), (b, "b0"), (b, "b1")):
            _run(IP, "-n", ns, "link", "set", ifc, "up")
        # (no offloads: the relay forwards frames as they are, at most one MTU, checksums filled in)
        for ns, ifc in ((c, "c0"), (s, "s0"), (b, "b0"), (b, "b1")):
            subprocess.run([IP, "netns", "exec", ns, "ethtool", "-K", ifc, "tso", "off", "gso", "off", "gro",
                            "off", "tx", "off"], capture_output=True, check=False)
        relay = subprocess.Popen([IP, "netns", "exec", b, sys.executable, str(BRIDGE), "b0", "b1", "--delay-ms",
                                  str(DELAY_MS), "--duration", "600"])  # (outlives a slow start under load)
        time.sleep(0.5)
        yield c, "c0", s, "10.97.0.2"
    finally:
        if relay is not None:
            relay.terminate()
            relay.wait(timeout=10)
        for ns in (c, b, s):
            subprocess.run([IP, "netns", "del", ns], capture_output=True, check=False)


def _read_until(fd: int, pattern: bytes, timeout: float, seen: bytearray) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if re.search(pattern, ANSI.sub(b"", bytes(seen))):
            return True
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                return False
            if not chunk:
                return False
            seen += chunk
    return bool(re.search(pattern, ANSI.sub(b"", bytes(seen))))


def _reap(pid: int, fd: int, seen: bytearray) -> int:
    """top's exit status: it is given 30 s to quit (after "q"), then SIGTERM and 10 s, then
    SIGKILL; the terminal is read all the while, so that a top writing its summary to a
    full pseudo-terminal cannot hang the test."""
    for wait, sig in ((30.0, signal.SIGTERM), (10.0, signal.SIGKILL), (10.0, None)):
        end = time.monotonic() + wait
        while time.monotonic() < end:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return 0
            if done:
                return status
            _read_until(fd, rb"(?!)", 0.1, seen)  # (drain; the pattern never matches)
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
    raise AssertionError("pcapkit top outlived SIGKILL")


def _diagnosis(pid: int, fd: int, seen: bytearray, sender: subprocess.Popen[bytes], client_ns: str) -> str:
    """Why no connection showed: top's last screen, the sender's state, the client's
    sockets, and where top's threads are (faulthandler, on SIGABRT)."""
    text = ANSI.sub(b"", bytes(seen)).decode(errors="replace")
    screens = text.split("pcapkit top ")
    ss = subprocess.run([IP, "netns", "exec", client_ns, "ss", "-tin"], capture_output=True, text=True,
                        check=False).stdout
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGABRT)
    stack = bytearray()
    _read_until(fd, rb"(?!)", 3.0, stack)
    return (f"screens drawn: {len(screens) - 1}; the last one:\n{screens[-1][:2000]}\n"
            f"sender exit status: {sender.poll()}\nclient sockets:\n{ss}\n"
            f"top's stack:\n{ANSI.sub(b'', bytes(stack)).decode(errors='replace')[-3000:]}")


def _resize(fd: int, rows: int, cols: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def test_top_shows_the_connection_and_the_kernels_srtt() -> None:
    if not netns_available():
        pytest.skip("needs root and network namespaces")
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["TERM"] = "xterm"
    env["PYTHONFAULTHANDLER"] = "1"  # (a top that never shows the connection says where it is)
    for fixed in ("COLUMNS", "LINES"):  # (pytest-xdist's workers export 80x24, which rich obeys over the
        env.pop(fixed, None)            # terminal's size: the row was cut to 80 columns in every -n run)
    # the engine's compiled code, cached before the clock starts (a fresh clone under the
    # suite's load compiles for longer than the test waits)
    subprocess.run([sys.executable, "-c", WARM_UP], env=env, check=True, capture_output=True, timeout=600)
    with _bridged() as (client_ns, ifc, server_ns, server):
        sink = subprocess.Popen([IP, "netns", "exec", server_ns, sys.executable, "-c", SINK, server],
                                stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
        pid, fd = pty.fork()
        if pid == 0:  # the child: pcapkit top on the pseudo-terminal
            os.execvpe(IP, [IP, "netns", "exec", client_ns, sys.executable, "-m", "pcapkit", "top", "-i", ifc,
                            "tcp"], env)
        _resize(fd, 40, 160)
        seen = bytearray()
        sender = None
        try:
            assert _read_until(fd, rb"pcapkit top", 60, seen), bytes(seen)[-500:]
            sender = subprocess.Popen([IP, "netns", "exec", client_ns, sys.executable, "-c", SENDER, server, "600"])
            # the screen shows the connection with an SRTT
            if not _read_until(fd, rb"10\.97\.0\.2:5201\s+\S+\s+[\d.]+ \S+\s+[\d.]+ \S+\s+\d+\.\d", 120, seen):
                raise AssertionError(_diagnosis(pid, fd, seen, sender, client_ns))
            _resize(fd, 24, 100)  # (the kernel sends SIGWINCH to the terminal's processes)
            time.sleep(2.5)
            ss = subprocess.run([IP, "netns", "exec", client_ns, "ss", "-tin", "dst", f"{server}:5201"],
                                capture_output=True, text=True, check=True).stdout
            kernel = re.search(r"\brtt:([\d.]+)/", ss)
            assert kernel, ss
            os.write(fd, b"q")
            _read_until(fd, rb"packets? dropped by kernel", 30, seen)
        finally:
            if sender is not None:  # (it sends until stopped here: a slow first screen still finds it)
                sender.terminate()
                sender.wait(timeout=30)
            status = _reap(pid, fd, seen)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(sink.pid, signal.SIGKILL)
            sink.wait()
        text = ANSI.sub(b"", bytes(seen)).decode(errors="replace")
        assert "Traceback" not in text, text[-2000:]
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, text[-2000:]
        assert "tcp.stream" in text, text[-3000:]
        summary = text[text.rindex("tcp.stream"):]
        row = next(line for line in summary.splitlines() if f"{server}:5201" in line)
        srtt = float(row.split()[6])
        kernel_srtt = float(kernel.group(1))
        print(f"top SRTT {srtt:.1f} ms, kernel (ss -ti) {kernel_srtt:.1f} ms")
        assert kernel_srtt > 2 * DELAY_MS * 0.9
        assert abs(srtt - kernel_srtt) <= 0.10 * kernel_srtt, (srtt, kernel_srtt, row)
