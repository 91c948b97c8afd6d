"""The labs dissect only the frames their questions look at (reports/lab_read.py): their
answers must be those of the whole reading, on every lab trace and on a trace with a flood
of never-completing fragments (issue 11: frags.pcap)."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import corpus_files, corpus_id

from pcapkit.capture.files import open_capture
from pcapkit.errors import PcapkitError
from pcapkit.reports import lab_read
from pcapkit.reports.lab_common import LabError
from pcapkit.reports.lab_dns import lab_dns, lab_dns_messages
from pcapkit.reports.lab_http import lab_http
from pcapkit.reports.lab_intro import lab_intro
from pcapkit.reports.lab_ip import lab_ip
from pcapkit.reports.lab_udp import lab_udp

LABS: dict[str, Callable[[Any], Any]] = {"intro": lab_intro, "ip": lab_ip, "udp": lab_udp, "dns": lab_dns,
                                         "dns-messages": lab_dns_messages, "http": lab_http}


def _answers(lab: Callable[[Any], Any], path: Path) -> str:
    try:
        df = lab(path)
    except LabError as exc:
        return f"LabError: {exc}"
    return df.to_csv(index=False) + repr(sorted(df.attrs.items()))


def _whole(monkeypatch: pytest.MonkeyPatch) -> None:
    """From here on, every lab reads every frame (the selective reader refuses the file)."""
    def refuse(*_: Any) -> Any:
        raise PcapkitError("read the whole way")

    monkeypatch.setattr(lab_read, "_selected", refuse)


def _write_pcap(path: Path, frames: list[tuple[int, bytes]]) -> None:
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))
        for ts, data in frames:
            f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(data), len(data)) + data)


def _ipv4(src: bytes, dst: bytes, payload: bytes, ident: int, flags_offset: int, proto: int) -> bytes:
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags_offset, 64, proto, 0,
                       src, dst) + payload


def _frames(path: Path) -> list[tuple[int, bytes]]:
    with open_capture(path) as reader:
        return [(f.ts_ns, f.data) for f in reader]


def _ipv4_ethernet_header(frames: list[tuple[int, bytes]]) -> bytes:
    return next(data[:14] for _, data in frames if data[12:14] == b"\x08\x00")


@pytest.mark.parametrize("name", sorted(LABS))
def test_every_lab_trace_answers_as_the_whole_reading(name: str, corpus: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    traces = corpus_files("labs")
    selected = {corpus_id(t): _answers(LABS[name], t) for t in traces}
    _whole(monkeypatch)
    assert selected == {corpus_id(t): _answers(LABS[name], t) for t in traces}


def test_a_flood_of_pending_fragments_is_not_kept(corpus: Path, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    frames = _frames(corpus / "labs" / "udp-wireshark-trace.pcap")
    eth = _ipv4_ethernet_header(frames)
    last = frames[-1][0]
    # first fragments (TCP, More Fragments set) whose datagrams never complete, as frags.pcap
    flood = [(last + 1000 * (k + 1), eth + _ipv4(bytes([10, 2, k >> 8 & 0xFF, 1]), bytes([10, 0, 0, 2]),
                                                 b"\0" * 24, k, 0x2000, 6)) for k in range(3000)]
    path = tmp_path / "udp-and-fragments.pcap"
    _write_pcap(path, frames + flood)
    trace = lab_read.read_selected(path, None)
    assert trace.selective and len(trace.packets) == len(frames)  # the fragments went to the reassembler only
    assert {"eth", "ip"} <= trace.skipped_protocols
    selected = {name: _answers(lab, path) for name, lab in LABS.items()}
    _whole(monkeypatch)
    assert selected == {name: _answers(lab, path) for name, lab in LABS.items()}


def test_the_ip_lab_reads_everything_when_the_host_sent_the_target_more(corpus: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    trace = corpus / "labs" / "ip-ethereal-trace-1"
    frames = _frames(trace)
    before = lab_ip(trace)
    host, target = before["answer"][0], before["answer"][1]
    eth = _ipv4_ethernet_header(frames)
    tcp = struct.pack("!HHIIBBHHH", 40000, 80, 1, 0, 5 << 4, 0x02, 65535, 0, 0)
    packed = [bytes(int(x) for x in a.split(".")) for a in (host, target)]
    path = tmp_path / "ip-and-tcp.pcap"
    # a TCP SYN from the host to the traceroute's target after the probes: one more datagram (a run of its own)
    _write_pcap(path, [*frames, (frames[-1][0] + 1, eth + _ipv4(*packed, tcp, 0x4242, 0x4000, 6))])
    assert lab_read.read_selected(path, lambda cols: lab_read.has(cols, "icmp.type")).skipped_pair(host, target)
    selected = _answers(lab_ip, path)
    assert selected != _answers(lab_ip, trace)  # (the datagram changes the answers)
    _whole(monkeypatch)
    assert selected == _answers(lab_ip, path)
