"""Live captures in pipes and at their ends: ``capture -w - | pcapkit read -`` prints
as packets come; ``--report`` ends (count, SIGTERM, the interface going down, the
reader closing the pipe) with the rows still open and no traceback; its errors are one
line. Network namespaces; needs root."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from netns import VethPair, netns_available, veth_pair, wait_for_line
from test_live_reports import _env, _Lines, _ns

pytestmark = [pytest.mark.netns, pytest.mark.skipif(sys.platform != "linux", reason="AF_PACKET is Linux only")]


@pytest.fixture(scope="module")
def pair() -> Iterator[VethPair]:
    if not netns_available():
        pytest.skip("needs root and network namespaces")
    with veth_pair(6) as p:
        yield p


def _capture(pair: VethPair, *args: str) -> list[str]:
    return pair.exec_a(sys.executable, "-m", "pcapkit", "capture", "-i", pair.if_a, *args)


def test_capture_to_stdout_is_read_as_it_comes(pair: VethPair) -> None:
    cap = subprocess.Popen(_capture(pair, "-w", "-", "icmp"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=_env())
    assert cap.stdout is not None
    reader = subprocess.Popen([sys.executable, "-m", "pcapkit", "read", "--no-number", "-"], stdin=cap.stdout,
                              stdout=subprocess.PIPE, env=_env())
    cap.stdout.close()
    try:
        wait_for_line(cap, b"listening on")
        lines = _Lines(reader)
        subprocess.run(pair.exec_b("ping", "-c", "3", "-i", "0.3", pair.addr_a), capture_output=True, check=False)
        time.sleep(0.3)
        during = list(lines.lines)
    finally:
        cap.send_signal(signal.SIGINT)
        cap.wait(timeout=20)
        reader.wait(timeout=20)
    # all six packets were printed while the capture still ran, each soon after it was taken
    assert len(during) == 6 and all("ICMP echo" in line for _, line in during)
    delays = [(seen - _ns(line.split()[0])) / 1e6 for seen, line in during]
    assert max(delays) < 500, delays


def test_report_ends_with_open_rows_on_sigterm_and_count(pair: VethPair) -> None:
    proc = subprocess.Popen(_capture(pair, "--report", "flows", "--format", "json", "icmp"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    wait_for_line(proc, b"listening on", timeout=60)
    subprocess.run(pair.exec_b("ping", "-c", "4", "-i", "0.1", pair.addr_a), capture_output=True, check=False)
    time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    rows = [json.loads(line) for line in out.decode().splitlines()]
    assert proc.returncode == 0 and b"Traceback" not in err
    assert len(rows) == 1 and rows[0]["proto"] == "icmp" and rows[0]["packets"] == 8
    assert b"8 packets captured" in err
    proc = subprocess.Popen(_capture(pair, "--report", "tcp", "--format", "csv", "-c", "1", "icmp"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    wait_for_line(proc, b"listening on", timeout=60)
    subprocess.run(pair.exec_b("ping", "-c", "2", "-i", "0.1", pair.addr_a), capture_output=True, check=False)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and b"1 packet captured" in err and b"Traceback" not in err


def test_report_survives_interface_down_and_closed_stdout(pair: VethPair) -> None:
    proc = subprocess.Popen(_capture(pair, "--report", "flows", "--format", "csv", "icmp"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    ping = subprocess.Popen(pair.exec_b("ping", "-i", "0.05", "-c", "200", pair.addr_a),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_line(proc, b"listening on", timeout=60)
        time.sleep(0.5)
        subprocess.run(pair.exec_a("ip", "link", "set", pair.if_a, "down"), check=True)
        out, err = proc.communicate(timeout=30)
    finally:
        ping.kill()
        ping.wait()
        subprocess.run(pair.exec_a("ip", "link", "set", pair.if_a, "up"), check=True)
    text = err.decode()
    assert proc.returncode == 1 and "went down" in text and "Traceback" not in text
    assert out.decode().splitlines()[0].startswith("first_frame,proto") and ",icmp," in out.decode()
    time.sleep(0.5)
    # the reader goes away (| head -2): the capture stops quietly (flows every 0.2 s: a row
    # per interval until the pipe is closed)
    shell = f"{' '.join(_capture(pair, '--report', 'flows', '--format', 'csv', '--interval', '0.2', 'icmp'))} | head -2"
    proc = subprocess.Popen(["sh", "-c", shell], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    ping = subprocess.Popen(pair.exec_b("ping", "-i", "0.05", "-c", "300", pair.addr_a),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        out, err = proc.communicate(timeout=40)
    finally:
        ping.kill()
        ping.wait()
        if proc.poll() is None:
            proc.kill()
    assert len(out.decode().splitlines()) == 2 and b"Traceback" not in err, err


def test_report_errors_are_one_line(pair: VethPair) -> None:
    def error_line(*args: str, pre: tuple[str, ...] = ()) -> str:
        cmd = [*pair.exec_a(*pre, sys.executable, "-m", "pcapkit", "capture"), *args]
        r = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=60, check=False)
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        assert r.returncode != 0 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
        return lines[0]

    assert "syntax error" in error_line("-i", pair.if_a, "--report", "rtt", "tcp", "port")
    assert "No such device" in error_line("-i", "nosuch0", "--report", "handshakes")
    setpriv = shutil.which("setpriv")
    if setpriv:
        line = error_line("-i", pair.if_a, "--report", "flows",
                          pre=(setpriv, "--bounding-set=-net_raw", "--inh-caps=-net_raw"))
        assert "permission" in line.lower()
