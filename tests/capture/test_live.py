"""Live capture in network namespaces joined by a veth pair, against tcpdump capturing
the same interface at the same time with the same filter (same bytes, same kernel
timestamps); signals, accounting and errors. Needs root; marked ``netns``."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from netns import VethPair, netns_available, send_raw_frames, veth_pair, wait_for_line

REPO = Path(__file__).resolve().parent.parent.parent
TCPDUMP = shutil.which("tcpdump")
TSHARK = shutil.which("tshark")

pytestmark = [
    pytest.mark.netns,
    pytest.mark.skipif(sys.platform != "linux", reason="AF_PACKET is Linux only"),
    pytest.mark.skipif(TCPDUMP is None, reason="tcpdump not installed"),
]

_AVAILABLE: bool | None = None


def _netns_ok() -> bool:
    global _AVAILABLE
    if _AVAILABLE is None:
        _AVAILABLE = netns_available()
    return _AVAILABLE


@pytest.fixture(scope="module")
def pair() -> Iterator[VethPair]:
    if not _netns_ok():
        pytest.skip("needs root and network namespaces")
    with veth_pair(1) as p:
        yield p


def _pcapkit(*args: str) -> list[str]:
    return [sys.executable, "-m", "pcapkit", "capture", *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def read_pcap(path: Path) -> tuple[int, list[tuple[int, int, bytes]]]:
    """(linktype, [(ts_ns, wirelen, data)]) with an independent minimal pcap reader."""
    data = path.read_bytes()
    magic = data[:4]
    e = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    assert magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack_from(e + "I", data, 20)[0]
    off, out = 24, []
    while off < len(data):
        assert off + 16 <= len(data), "truncated record header"
        sec, frac, incl, orig = struct.unpack_from(e + "IIII", data, off)
        assert off + 16 + incl <= len(data), "truncated record"
        out.append((sec * 10**9 + (frac if nano else frac * 1000), orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return linktype, out


TRAFFIC = r"""
import socket, sys, time
a, va, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(5):
    u.sendto(b"pcapkit-udp-%d" % i, (a, 9999)); time.sleep(0.01)
c = socket.create_connection((a, port), timeout=5)
c.sendall(b"pcapkit-tcp-payload " * 50); c.shutdown(socket.SHUT_WR)
while c.recv(4096): pass
c.close()
"""

SERVER = r"""
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2]))); s.listen(1); print("ready", flush=True)
c, _ = s.accept()
while c.recv(4096): pass
c.sendall(b"ok"); c.close()
"""


def _ip_checksum(hdr: bytes) -> int:
    total = sum(struct.unpack(f"!{len(hdr) // 2}H", hdr))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def vlan_frames(pair: VethPair) -> list[bytes]:
    """802.1Q (VLAN 100, PCP 3) frames B -> A: three ICMP echo requests and a UDP datagram;
    the receiving kernel moves the tag into skb metadata (tp_vlan_tci)."""
    dst = bytes.fromhex(pair.mac_a.replace(":", ""))
    src = bytes.fromhex(pair.mac_b.replace(":", ""))
    a = bytes(int(x) for x in pair.addr_a.split("."))
    b = bytes(int(x) for x in pair.addr_b.split("."))
    out = []
    for i in range(4):
        if i < 3:
            payload = b"pcapkit-vlan-%d" % i
            icmp = struct.pack("!BBHHH", 8, 0, 0, 0x77, i) + payload
            icmp = icmp[:2] + struct.pack("!H", _ip_checksum(icmp + b"\0" * (len(icmp) % 2))) + icmp[4:]
            l4, proto = icmp, 1
        else:
            payload = b"pcapkit-vlan-udp"
            l4, proto = struct.pack("!HHHH", 4000, 4001, 8 + len(payload), 0) + payload, 17
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 0x1000 + i, 0, 64, proto, 0, b, a)
        ip = ip[:10] + struct.pack("!H", _ip_checksum(ip)) + ip[12:]
        out.append(dst + src + struct.pack("!HH", 0x8100, (3 << 13) | 100) + b"\x08\x00" + ip + l4)
    return out


def _traffic(pair: VethPair, port: int) -> None:
    server = subprocess.Popen(pair.exec_a(sys.executable, "-c", SERVER, pair.addr_a, str(port)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == b"ready"
        pair.run_b("ip", "neigh", "flush", "all")
        r = pair.run_b("ping", "-c", "3", "-i", "0.2", "-W", "2", pair.addr_a)
        assert r.returncode == 0, r.stdout + r.stderr
        send_raw_frames(pair, vlan_frames(pair))
        r = pair.run_b(sys.executable, "-c", TRAFFIC, pair.addr_a, pair.addr_a, str(port))
        assert r.returncode == 0, r.stderr
        server.wait(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


CONFIGS = [
    # (name, interface side, extra args, filter)
    ("all", "if", [], []),
    ("icmp-arp", "if", [], ["icmp", "or", "arp"]),
    ("vlan", "if", [], ["vlan", str(100), "and", "icmp"]),
    ("tcp-push", "if", [], ["tcp", "port", "7000", "and", "tcp[tcpflags]", "&", "tcp-push", "!=", "0"]),
    ("udp-len", "if", ["-s", "60"], ["udp", "and", "greater", "40"]),
    ("protochain", "if", [], ["ip", "protochain", "1"]),  # the kernel refuses its loop: user space
    ("any-sll", "any", ["-y", "LINUX_SLL"], ["not", "udp"]),
    ("any-sll2", "any", [], ["icmp", "or", "arp", "or", "tcp"]),
]


def test_live_capture_equals_tcpdump(pair: VethPair, tmp_path: Path) -> None:
    """Every config captured at once by pcapkit and tcpdump; files must be identical
    packet for packet: bytes, wire length and kernel timestamp."""
    procs: list[tuple[str, str, subprocess.Popen[bytes], Path]] = []
    # The kernel stamps a packet once, for every tap, only while some socket has asked
    # for timestamps (netstamp_needed); otherwise each packet socket reads the clock on
    # delivery and two captures differ by microseconds. Hold such a socket open.
    stamp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    stamp.setsockopt(socket.SOL_SOCKET, 35, 1)  # SO_TIMESTAMPNS
    try:
        for name, side, extra, flt in CONFIGS:
            iface = pair.if_a if side == "if" else "any"
            for tool in ("tcpdump", "pcapkit"):
                out = tmp_path / f"{name}.{tool}.pcap"
                if tool == "tcpdump":
                    cmd = pair.exec_a(str(TCPDUMP), "-i", iface, "-n", "-U",
                                      "--time-stamp-precision=nano", "-w", str(out), *extra, *flt)
                else:
                    cmd = pair.exec_a(*_pcapkit("-i", iface, "-w", str(out), *extra, *flt))
                proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        env=_env(), cwd=REPO)
                procs.append((name, tool, proc, out))
        for _, _, proc, _ in procs:
            wait_for_line(proc, b"listening on", timeout=30)
        _traffic(pair, 7000)
        time.sleep(1.3)  # tcpdump's ring blocks retire after 1 s
    finally:
        for _, _, proc, _ in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for _, _, proc, _ in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        stamp.close()
    results: dict[str, dict[str, tuple[int, list[tuple[int, int, bytes]]]]] = {}
    for name, tool, proc, out in procs:
        assert proc.returncode == 0, (name, tool, proc.stderr.read() if proc.stderr else b"")
        results.setdefault(name, {})[tool] = read_pcap(out)
    for name, got in results.items():
        lt_t, ref = got["tcpdump"]
        lt_p, mine = got["pcapkit"]
        assert lt_p == lt_t, name
        assert ref, f"{name}: tcpdump captured nothing"
        # same packets, same bytes, same wire lengths
        assert [(w, d) for _, w, d in mine] == [(w, d) for _, w, d in ref], name
        # Timestamps: the kernel stamps an skb once for all taps, except skbs that carry
        # TCP's monotonic "earliest departure time" across the veth (skb_tstamp() is then
        # 0 and each packet socket reads the real-time clock on delivery, microseconds
        # apart). Everything else must be equal to the nanosecond.
        diffs = [abs(a[0] - b[0]) for a, b in zip(mine, ref, strict=True)]
        assert max(diffs) < 20_000_000, name
        for (t, _, d), diff in zip(ref, diffs, strict=True):
            if not _tcp_from_b(d, got["tcpdump"][0]):
                assert diff == 0, (name, t, d.hex())
        exact = sum(1 for x in diffs if x == 0)
        assert exact >= len(diffs) // 2, (name, diffs)
    # the unfiltered capture holds every kind of traffic we sent
    types = {d[12:14] for _, _, d in results["all"]["tcpdump"][1]}
    assert {b"\x08\x00", b"\x08\x06", b"\x81\x00"} <= types
    frames = results["all"]["tcpdump"][1]
    assert any(d[23] == 6 for _, _, d in frames if d[12:14] == b"\x08\x00")   # TCP
    assert any(d[23] == 17 for _, _, d in frames if d[12:14] == b"\x08\x00")  # UDP
    assert any(d[23] == 1 for _, _, d in frames if d[12:14] == b"\x08\x00")   # ICMP
    assert results["vlan"]["pcapkit"][1], "VLAN-tagged ICMP not captured"
    vlan = results["vlan"]["pcapkit"][1]
    assert len(vlan) == 3 and all(d[12:16] == b"\x81\x00\x60\x64" for _, _, d in vlan)
    assert all(len(d) <= 60 for _, _, d in results["udp-len"]["pcapkit"][1])


def _tcp_from_b(d: bytes, linktype: int) -> bool:
    """A TCP segment that arrived from namespace B (linktype-aware offsets)."""
    off = {1: 14, 113: 16, 276: 20}[linktype]
    if linktype == 1:
        et = d[12:14]
    elif linktype == 113:
        et = d[14:16]
    else:
        et = d[0:2]
    if et != b"\x08\x00" or len(d) < off + 20 or d[off + 9] != 6:
        return False
    return d[off + 12:off + 16] == bytes([10, 99, 1, 2])


def _blocks(data: bytes) -> Iterator[tuple[int, bytes]]:
    off = 0
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        assert blen >= 12 and off + blen <= len(data), "truncated pcapng block"
        yield btype, data[off + 8:off + blen - 4]
        off += blen


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
@pytest.mark.parametrize("sig,ext", [(signal.SIGINT, "pcap"), (signal.SIGTERM, "pcapng")])
def test_signal_leaves_complete_file(pair: VethPair, tmp_path: Path, sig: int, ext: str) -> None:
    out = tmp_path / f"sig.{ext}"
    proc = subprocess.Popen(pair.exec_a(*_pcapkit("-i", pair.if_a, "-w", str(out), "icmp")),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=_env(), cwd=REPO)
    try:
        wait_for_line(proc, b"listening on", timeout=30)
        ping = subprocess.Popen(pair.exec_b("ping", "-i", "0.01", "-c", "400", pair.addr_a),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0)
        proc.send_signal(sig)  # mid-capture: ping still running
        _, err = proc.communicate(timeout=15)
        ping.kill()
        ping.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    text = err.decode()
    captured = int(re.search(r"(\d+) packets? captured", text).group(1))  # type: ignore[union-attr]
    received = int(re.search(r"(\d+) packets? received by filter", text).group(1))  # type: ignore[union-attr]
    dropped = int(re.search(r"(\d+) packets? dropped by kernel", text).group(1))  # type: ignore[union-attr]
    assert captured > 20
    r = subprocess.run([str(TSHARK), "-n", "-r", str(out), "-T", "fields", "-e", "frame.number"],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.split()) == captured
    assert received >= captured and dropped == 0
    if ext == "pcapng":
        isbs = [body for btype, body in _blocks(out.read_bytes()) if btype == 5]
        assert len(isbs) == 1
        opts = {}
        off = 12
        body = isbs[0]
        while off + 4 <= len(body):
            code, olen = struct.unpack_from("<HH", body, off)
            if code == 0:
                break
            opts[code] = body[off + 4:off + 4 + olen]
            off += 4 + olen + (-olen % 4)
        assert struct.unpack("<Q", opts[4])[0] == received
        assert struct.unpack("<Q", opts[5])[0] == dropped


def test_count_and_duration(pair: VethPair, tmp_path: Path) -> None:
    out = tmp_path / "count.pcap"
    ping = subprocess.Popen(pair.exec_b("ping", "-i", "0.02", "-c", "200", pair.addr_a),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = subprocess.run(pair.exec_a(*_pcapkit("-i", pair.if_a, "-c", "7", "-w", str(out), "icmp")),
                           capture_output=True, env=_env(), cwd=REPO, timeout=30, check=False)
        assert r.returncode == 0, r.stderr
        assert len(read_pcap(out)[1]) == 7
        t0 = time.monotonic()
        r = subprocess.run(pair.exec_a(*_pcapkit("-i", pair.if_a, "--duration", "1", "icmp")),
                           capture_output=True, env=_env(), cwd=REPO, timeout=30, check=False)
        assert r.returncode == 0, r.stderr
        assert time.monotonic() - t0 < 10
        lines = r.stdout.decode().splitlines()
        assert len(lines) >= 10 and all("ICMP" in ln for ln in lines), lines[:3]
    finally:
        ping.kill()
        ping.wait()


def test_rotation_by_size(pair: VethPair, tmp_path: Path) -> None:
    out = tmp_path / "rot.pcap"
    ping = subprocess.Popen(pair.exec_b("ping", "-i", "0.005", "-s", "1000", "-c", "300", pair.addr_a),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        r = subprocess.run(pair.exec_a(*_pcapkit("-i", pair.if_a, "-c", "100", "-C", "0.02",
                                                 "-w", str(out), "icmp")),
                           capture_output=True, env=_env(), cwd=REPO, timeout=30, check=False)
    finally:
        ping.kill()
        ping.wait()
    assert r.returncode == 0, r.stderr
    files = sorted(tmp_path.glob("rot.pcap*"))
    assert len(files) >= 3
    total = 0
    for f in files:
        frames = read_pcap(f)[1]
        total += len(frames)
        assert f.stat().st_size < 20_000 + 1200
    assert total == 100


def _one_error_line(r: subprocess.CompletedProcess[bytes]) -> str:
    assert r.returncode == 1, r
    lines = [ln for ln in r.stderr.decode().splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    assert "Traceback" not in r.stderr.decode()
    return lines[0]


def test_errors_are_one_line(pair: VethPair) -> None:
    r = subprocess.run(pair.exec_a(*_pcapkit("-i", "nosuch0")), capture_output=True, env=_env(),
                       cwd=REPO, timeout=30, check=False)
    assert "No such device" in _one_error_line(r)
    subprocess.run(pair.exec_a("ip", "link", "set", pair.if_a, "down"), check=True)
    try:
        r = subprocess.run(pair.exec_a(*_pcapkit("-i", pair.if_a)), capture_output=True,
                           env=_env(), cwd=REPO, timeout=30, check=False)
        assert "not up" in _one_error_line(r)
    finally:
        subprocess.run(pair.exec_a("ip", "link", "set", pair.if_a, "up"), check=True)
    setpriv = shutil.which("setpriv")
    if setpriv:
        r = subprocess.run(pair.exec_a(setpriv, "--bounding-set=-net_raw", "--inh-caps=-net_raw",
                                       *_pcapkit("-i", pair.if_a)),
                           capture_output=True, env=_env(), cwd=REPO, timeout=30, check=False)
        line = _one_error_line(r)
        assert "permission" in line and "setcap cap_net_raw,cap_net_admin=eip" in line
        assert "readlink -f $(which python3)" not in line  # never the capability for every script
    r = subprocess.run(pair.exec_a(*_pcapkit("-i", pair.if_a, "tcp", "port")), capture_output=True,
                       env=_env(), cwd=REPO, timeout=30, check=False)
    assert "syntax error" in _one_error_line(r)
    # a file that cannot be made: said before listening (it was said only once a packet
    # came, or never on a quiet interface), its path once
    r = subprocess.run(pair.exec_a(*_pcapkit("-i", pair.if_a, "-c", "1", "-w", "/nonexistent/dir/x.pcap")),
                       capture_output=True, env=_env(), cwd=REPO, timeout=30, check=False)
    assert _one_error_line(r).endswith("/nonexistent/dir/x.pcap: directory /nonexistent/dir does not exist")
    assert b"listening on" not in r.stderr


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_disk_full_keeps_file_readable(pair: VethPair, tmp_path: Path) -> None:
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        out = mnt / "full.pcap"
        ping = subprocess.Popen(pair.exec_b("ping", "-i", "0.002", "-s", "1400", "-c", "2000", pair.addr_a),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            r = subprocess.run(pair.exec_a(*_pcapkit("-i", pair.if_a, "--duration", "8",
                                                     "-w", str(out), "icmp")),
                               capture_output=True, env=_env(), cwd=REPO, timeout=30, check=False)
        finally:
            ping.kill()
            ping.wait()
        assert r.returncode == 1
        err = r.stderr.decode()
        assert "No space left on device" in err and "Traceback" not in err
        t = subprocess.run([str(TSHARK), "-n", "-r", str(out), "-T", "fields", "-e", "frame.number"],
                           capture_output=True, text=True, check=False)
        assert t.returncode == 0, t.stderr
        n = len(t.stdout.split())
        assert n > 10
        assert len(read_pcap(out)[1]) == n  # no half record at the end
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


LOAD_SENDER = r"""
import socket, struct, sys, time
ifname, rate, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
frame = bytes.fromhex("020000000001") + bytes.fromhex(sys.argv[4]) + b"\x08\x00" + struct.pack(
    "!BBHHHBBH4s4s", 0x45, 0, 92, 0, 0, 64, 17, 0, bytes([10, 99, 1, 2]), bytes([10, 99, 1, 9])) + \
    struct.pack("!HHHH", 40000, 9, 72, 0) + b"L" * 64
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((ifname, 0))
total, sent, t0 = int(rate * seconds), 0, time.perf_counter()
while sent < total:
    due = min(total, int((time.perf_counter() - t0) * rate) + 1)
    while sent < due:
        s.send(frame)
        sent += 1
    time.sleep(0.001)
print(sent)
"""


def test_load_drops_no_worse_than_tcpdump(pair: VethPair, tmp_path: Path) -> None:
    """Both capture the same few seconds of load (UDP to another host's MAC, seen in
    promiscuous mode) with the same ring size; pcapkit reports its kernel drop counter
    and drops no more than tcpdump."""
    procs = {}
    for tool in ("tcpdump", "pcapkit"):
        out = tmp_path / f"load.{tool}.pcap"
        if tool == "tcpdump":
            cmd = pair.exec_a(str(TCPDUMP), "-i", pair.if_a, "-n", "-B", "4096", "-w", str(out), "udp port 9")
        else:
            cmd = pair.exec_a(*_pcapkit("-i", pair.if_a, "--block-count", "4", "--block-size",
                                        str(1 << 20), "-w", str(out), "udp port 9"))
        procs[tool] = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                       env=_env(), cwd=REPO)
    errs = {}
    try:
        for proc in procs.values():
            wait_for_line(proc, b"listening on", timeout=30)
        r = pair.run_b(sys.executable, "-c", LOAD_SENDER, pair.if_b, "60000", "1.5",
                       pair.mac_b.replace(":", ""), timeout=60)
        assert r.returncode == 0, r.stderr
        sent = int(r.stdout.strip())
        time.sleep(1.3)
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGINT)
        for tool, proc in procs.items():
            errs[tool] = proc.communicate(timeout=30)[1].decode()
    stats = {}
    for tool, text in errs.items():
        m = [re.search(rf"(\d+) packets? {what}", text) for what in ("captured", "received by filter", "dropped by kernel")]
        assert all(m), (tool, text)
        stats[tool] = tuple(int(x.group(1)) for x in m if x)
    print("load:", sent, "sent;", stats)
    cap_p, recv_p, drop_p = stats["pcapkit"]
    _cap_t, recv_t, drop_t = stats["tcpdump"]
    assert recv_p >= sent * 0.9 and recv_t >= sent * 0.9
    assert drop_p <= drop_t
    assert cap_p == recv_p - drop_p
    assert len(read_pcap(tmp_path / "load.pcapkit.pcap")[1]) == cap_p


API_SCRIPT = r"""
import json, sys, time
from pcapkit.capture.live import LiveCapture
iface = sys.argv[1]
out = {"iter": [], "callback": []}
with LiveCapture(iface, "icmp", count=4) as cap:
    print("listening on", iface, file=sys.stderr, flush=True)
    for f in cap:
        out["iter"].append([f.number, f.linktype, f.caplen, f.wirelen, f.ts_ns, f.data.hex()])
got = []
stats = LiveCapture(iface, "icmp", count=2).run(lambda f: got.append([f.number, f.data.hex()]))
out["callback"] = got
out["callback_stats"] = [stats.captured, stats.received, stats.dropped]
out["now"] = time.time_ns()
print(json.dumps(out))
"""


def test_python_api_iterator_and_callback(pair: VethPair) -> None:
    proc = subprocess.Popen(pair.exec_a(sys.executable, "-c", API_SCRIPT, pair.if_a),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), cwd=REPO)
    ping = None
    try:
        wait_for_line(proc, b"listening on", timeout=30)
        ping = subprocess.Popen(pair.exec_b("ping", "-i", "0.1", "-c", "30", pair.addr_a),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out, err = proc.communicate(timeout=30)
    finally:
        if ping is not None:
            ping.kill()
            ping.wait()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    import json

    res = json.loads(out)
    assert [r[0] for r in res["iter"]] == [1, 2, 3, 4]
    for _number, linktype, caplen, wirelen, ts, hexdata in res["iter"]:
        data = bytes.fromhex(hexdata)
        assert linktype == 1 and caplen == len(data) == wirelen == 98
        assert data[12:14] == b"\x08\x00" and data[23] == 1  # IPv4 ICMP
        assert 0 < res["now"] - ts < 30 * 10**9  # nanoseconds since the epoch, just now
    srcs = {bytes.fromhex(r[5])[26:30] for r in res["iter"]}
    assert srcs == {bytes([10, 99, 1, 2]), bytes([10, 99, 1, 1])}  # requests and replies
    assert [r[0] for r in res["callback"]] == [1, 2]
    captured, received, dropped = res["callback_stats"]
    assert captured == 2 and received >= 2 and dropped == 0


def test_list_interfaces_like_tcpdump(pair: VethPair) -> None:
    r = subprocess.run(pair.exec_a(*_pcapkit("-D")), capture_output=True, text=True, env=_env(),
                       cwd=REPO, timeout=30, check=False)
    t = subprocess.run(pair.exec_a(str(TCPDUMP), "-D"), capture_output=True, text=True, timeout=30,
                       check=False)
    assert r.returncode == 0 and t.returncode == 0
    mine = r.stdout.splitlines()
    # tcpdump also lists libpcap's non-network sources (nflog, dbus, ...): compare the
    # network interfaces and the 'any' device, line for line
    names = {ln.split(" ", 1)[0].split(".", 1)[1] for ln in mine}
    theirs = [ln for ln in t.stdout.splitlines() if ln.split(" ", 1)[0].split(".", 1)[1] in names]
    assert mine == theirs


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_rotation_by_time_and_stdout(pair: VethPair, tmp_path: Path) -> None:
    ping = subprocess.Popen(pair.exec_b("ping", "-i", "0.05", "-c", "200", pair.addr_a),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        pattern = str(tmp_path / "t-%H%M%S.pcapng")
        r = subprocess.run(pair.exec_a(*_pcapkit("-i", pair.if_a, "-G", "1", "--duration", "3.2",
                                                 "-w", pattern, "icmp")),
                           capture_output=True, env=_env(), cwd=REPO, timeout=30, check=False)
        assert r.returncode == 0, r.stderr
        captured = int(re.search(rb"(\d+) packets captured", r.stderr).group(1))  # type: ignore[union-attr]
        files = sorted(tmp_path.glob("t-*.pcapng"))
        assert len(files) >= 3
        total = 0
        for f in files:
            t = subprocess.run([str(TSHARK), "-n", "-r", str(f), "-T", "fields", "-e", "icmp.type"],
                               capture_output=True, text=True, check=False)
            assert t.returncode == 0, t.stderr
            total += len(t.stdout.split())
        assert total == captured
        # -w - : a pcap stream on stdout that tshark reads from a pipe
        r = subprocess.run(pair.exec_a(*_pcapkit("-i", pair.if_a, "-c", "6", "-w", "-", "icmp")),
                           capture_output=True, env=_env(), cwd=REPO, timeout=30, check=False)
        assert r.returncode == 0, r.stderr
        t = subprocess.run([str(TSHARK), "-n", "-r", "-", "-T", "fields", "-e", "icmp.type"],
                           input=r.stdout, capture_output=True, check=False)
        assert t.returncode == 0 and len(t.stdout.split()) == 6
    finally:
        ping.kill()
        ping.wait()


@pytest.mark.skipif(TSHARK is None, reason="tshark not installed")
def test_interface_going_down_ends_capture_with_whole_file(pair: VethPair, tmp_path: Path) -> None:
    out = tmp_path / "down.pcapng"
    proc = subprocess.Popen(pair.exec_a(*_pcapkit("-i", pair.if_a, "-w", str(out), "icmp")),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=_env(), cwd=REPO)
    ping = subprocess.Popen(pair.exec_b("ping", "-i", "0.05", "-c", "40", pair.addr_a),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_line(proc, b"listening on", timeout=30)
        time.sleep(1.0)
        subprocess.run(pair.exec_a("ip", "link", "set", pair.if_a, "down"), check=True)
        _, err = proc.communicate(timeout=15)
    finally:
        ping.kill()
        ping.wait()
        if proc.poll() is None:
            proc.kill()
        subprocess.run(pair.exec_a("ip", "link", "set", pair.if_a, "up"), check=True)
    text = err.decode()
    assert proc.returncode == 1 and "went down" in text and "Traceback" not in text
    captured = int(re.search(r"(\d+) packets captured", text).group(1))  # type: ignore[union-attr]
    t = subprocess.run([str(TSHARK), "-n", "-r", str(out), "-T", "fields", "-e", "frame.number"],
                       capture_output=True, text=True, check=False)
    assert t.returncode == 0 and len(t.stdout.split()) == captured > 5
    time.sleep(0.5)  # let the link come back before the next test


@pytest.mark.parametrize("promisc", [True, False])
def test_promiscuous_mode_while_capturing(pair: VethPair, promisc: bool) -> None:
    """PACKET_MR_PROMISC shows as IFF_PROMISC on the interface while the capture runs,
    and goes with the socket; --no-promisc leaves the interface alone."""
    def flags() -> int:
        r = pair.run_a("cat", f"/sys/class/net/{pair.if_a}/flags")
        return int(r.stdout.strip(), 16)

    assert not flags() & 0x100
    extra = [] if promisc else ["--no-promisc"]
    proc = subprocess.Popen(pair.exec_a(*_pcapkit("-i", pair.if_a, *extra, "icmp")),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=_env(), cwd=REPO)
    try:
        wait_for_line(proc, b"listening on", timeout=30)
        during = flags()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
    assert bool(during & 0x100) == promisc
    assert not flags() & 0x100


@pytest.mark.skipif(TCPDUMP is None, reason="tcpdump not installed")
def test_sigkill_loses_at_most_the_last_100_ms(pair: VethPair, tmp_path: Path) -> None:
    """Killed with SIGKILL while capturing 20 packets/s, the file holds every packet that
    tcpdump -U (capturing beside it) saw more than 100 ms before the kill."""
    from pcapkit.capture.files import open_capture

    out, ref = tmp_path / "killed.pcap", tmp_path / "ref.pcap"
    proc = subprocess.Popen(pair.exec_a(*_pcapkit("-i", pair.if_a, "-w", str(out), "icmp")),
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=_env(), cwd=REPO)
    dump = subprocess.Popen(pair.exec_a(str(TCPDUMP), "-i", pair.if_a, "-U", "-n", "--time-stamp-precision=nano",
                                        "-w", str(ref), "icmp"), stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        wait_for_line(proc, b"listening on", timeout=30)
        wait_for_line(dump, b"listening on", timeout=30)
        ping = subprocess.Popen(pair.exec_b("ping", "-i", "0.05", "-c", "200", pair.addr_a),
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(3.0)
        killed_at = time.time_ns()
        proc.kill()
        proc.wait(timeout=10)
        time.sleep(0.5)
        ping.kill()
        ping.wait()
    finally:
        for p in (proc, dump):
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                p.wait(timeout=10)
    with open_capture(ref) as reader:
        seen = [(f.ts_ns, f.data) for f in reader]
    with open_capture(out) as reader:
        kept = {(f.ts_ns // 1000, f.data) for f in reader}  # (tcpdump and pcapkit stamp alike to the us)
        assert not reader.warnings, reader.warnings  # the file ends at a record boundary
    due = [(ts // 1000, data) for ts, data in seen if ts <= killed_at - 100_000_000]
    assert len(due) > 40
    missing = [ts for ts, data in due if (ts, data) not in kept]
    assert not missing, f"{len(missing)} of {len(due)} packets older than 100 ms lost"
