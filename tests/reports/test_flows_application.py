"""flows' ``application`` column against tshark's frame.protocols and SNI per conversation."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import CORPUS, corpus_id

from pcapkit.reports.flows import flows

FILES = [CORPUS / "labs" / name for name in (
    "dhcp-wireshark-trace1-1.pcapng", "http-wireshark-trace1-1.pcapng", "dns-ethereal-trace-1",
    "ssl-ethereal-trace-1", "udp-wireshark-trace.pcap")] + [CORPUS / "tcp" / "http.pcap"]
FIELDS = ("frame.protocols", "tcp.stream", "ip.src", "ipv6.src", "udp.srcport", "ip.dst", "ipv6.dst",
          "udp.dstport", "tls.handshake.extensions_server_name")


def tshark_labels(path: Path) -> dict[object, str]:
    """Per conversation (tcp.stream, or the unordered UDP address/port pair): tls[:SNI]
    when a frame holds TLS, else http, else dns, as tshark's frame.protocols say."""
    args = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=f"]
    for name in FIELDS:
        args += ["-e", name]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    labels: dict[object, str] = {}
    rank = {"": 0, "dns": 1, "http": 2, "tls": 3}
    for line in out.splitlines():
        protocols, stream, s4, s6, sport, d4, d6, dport, sni = line.split("\t")
        layers = protocols.split(":")
        if "icmp" in layers or "icmpv6" in layers:
            continue  # a quoted datagram belongs to no conversation of its own
        if stream:
            key: object = ("tcp", int(stream))
        elif sport:
            key = ("udp", frozenset({(s4 or s6, int(sport)), (d4 or d6, int(dport))}))
        else:
            continue
        label = labels.get(key, "")
        found = next((p for p in ("tls", "http", "dns") if p in layers), "")
        if rank[found] > rank[label.split(":")[0]]:
            label = found
        if label == "tls" and sni:
            label = f"tls:{sni}"
        labels[key] = label
    return labels


# the ports pcapkit's DNS, HTTP and TLS dissectors are registered on (tshark finds TLS
# and HTTP on other ports too, by heuristics pcapkit does not have: those stay unlabelled)
PORTS = {"udp": {53}, "tcp": {53, 80, 8080, 443, 993}}


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_application_is_what_tshark_dissects(path: Path) -> None:
    df = flows(path)
    expected = tshark_labels(path)
    compared = 0
    for row in df.to_dict("records"):
        got = "" if pd.isna(row["application"]) else str(row["application"])
        on_port = row["proto"] in PORTS and bool({row["sport"], row["dport"]} & PORTS[row["proto"]])
        if not on_port:
            assert got == "", row["first_frame"]
            continue
        if row["proto"] == "tcp":
            key: object = ("tcp", int(row["tcp.stream"]))
        else:
            key = ("udp", frozenset({(row["src"], int(row["sport"])), (row["dst"], int(row["dport"]))}))
        assert got == expected.get(key, ""), (row["first_frame"], key)
        compared += bool(got)
    assert compared > 0


def _http_connections(path: Path, n: int) -> Path:
    """``n`` short HTTP connections on port 80 (handshake, a GET, its response): five frames each."""
    import struct

    def packet(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
               payload: bytes = b"") -> bytes:
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
        return bytes(6) + bytes.fromhex("020000000001") + b"\x08\x00" + ip + tcp

    get, ok = b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server, out = bytes([10, 0, 0, 1]), [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for i in range(n):
        client, port = bytes([10, 0, 1, i + 1]), 40000 + i
        frames = [packet(client, server, port, 80, 100, 0, 0x02), packet(server, client, 80, port, 500, 101, 0x12),
                  packet(client, server, port, 80, 101, 501, 0x10), packet(client, server, port, 80, 101, 501, 0x18, get),
                  packet(server, client, 80, port, 501, 101 + len(get), 0x18, ok)]
        out += [struct.pack("<IIII", 1_700_000_000, 10 * (6 * i + k), len(f), len(f)) + f for k, f in enumerate(frames)]
    path.write_bytes(b"".join(out))
    return path


def test_a_settled_label_ends_the_dissection_of_its_conversation(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Once a conversation is "http" (its ports allow nothing else), its response is not
    dissected; the labels are those of dissecting every chosen frame (the stream
    dispatcher's limit set so low that nothing is skipped)."""
    import functools

    from pcapkit.dissect import driver, tcp_streams

    path = _http_connections(tmp_path / "http.pcap", 3)
    calls: list[int] = []
    real = driver.dissect

    def counted(frame: object, session: object) -> object:
        calls.append(frame.number)  # type: ignore[attr-defined]
        return real(frame, session)  # type: ignore[arg-type]

    monkeypatch.setattr(driver, "dissect", counted)
    settled = flows(path)["application"].tolist()
    skipped_calls = list(calls)
    calls.clear()
    monkeypatch.setattr(tcp_streams, "TcpStreamDispatcher",
                        functools.partial(tcp_streams.TcpStreamDispatcher, max_streams=4))
    assert flows(path)["application"].tolist() == settled == ["http"] * 3
    assert skipped_calls == [4, 9, 14] and calls == [4, 5, 9, 10, 14, 15]
