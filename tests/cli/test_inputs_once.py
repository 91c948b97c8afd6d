"""Every command reads its input once, so standard input, a FIFO and process
substitution work everywhere (GitHub issue 11, item 9): the answer equals the one from
the file itself."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from conftest import CAPTURES, REPO

CAPTURE = CAPTURES / "tcp-download.pcapng"
COMMANDS = [["read"], ["show", "-c", "5"], ["show"], ["read", "-V"],
            ["read", "-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.analysis.ack_rtt"], ["stats", "--no-hash"], ["stats", "--hierarchy", "--no-hash"],
            ["tcp", "--format", "csv"], ["tcp", "--format", "csv", "tcp port 80"], ["handshakes", "--format", "csv"],
            ["rtt", "--format", "csv"], ["flows", "--format", "csv"], ["tcptrace", "--format", "csv"],
            ["lab", "tcp", "--format", "csv"], ["iostat", "--format", "csv", "-i", "0.1", "tcp", "udp"]]
IDS = [" ".join(c) for c in COMMANDS]


def _run(words: list[str], source: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    args = [*words[:2], source, *words[2:]] if words[0] == "lab" else [words[0], source, *words[1:]]
    return subprocess.run([sys.executable, "-m", "pcapkit", *args], input=stdin, capture_output=True, cwd=REPO,
                          timeout=300, check=False)


def _same(words: list[str], got: subprocess.CompletedProcess[bytes], want: subprocess.CompletedProcess[bytes],
          source: str) -> None:
    assert got.returncode == want.returncode == 0, got.stderr.decode()
    if words[0] == "stats":  # stats names the file it read, and a stream has no file size
        def lines(out: bytes) -> list[bytes]:
            return [line for line in out.splitlines() if not line.startswith((b"File name:", b"File size:"))]

        assert lines(got.stdout) == lines(want.stdout)
    else:
        assert got.stdout == want.stdout


@pytest.mark.parametrize("words", COMMANDS, ids=IDS)
def test_standard_input(words: list[str]) -> None:
    want = _run(words, str(CAPTURE))
    got = _run(words, "-", stdin=CAPTURE.read_bytes())
    _same(words, got, want, "-")


@pytest.mark.parametrize("words", COMMANDS, ids=IDS)
def test_fifo(words: list[str], tmp_path: Path) -> None:
    fifo = tmp_path / "in.fifo"
    os.mkfifo(fifo)

    def feed() -> None:
        try:
            with open(fifo, "wb") as f:
                f.write(CAPTURE.read_bytes())
        except BrokenPipeError:
            pass  # a command that needs only the first frames (show -c 5) may stop reading

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    got = _run(words, str(fifo))
    writer.join(timeout=5)
    assert not writer.is_alive(), "the command did not read the whole FIFO (opened it twice?)"
    _same(words, got, _run(words, str(CAPTURE)), str(fifo))
