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
