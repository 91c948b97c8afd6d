"""The Kurose & Ross Ethernet and ARP lab on its trace: each answer checked against tshark."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_common import LabError
from pcapkit.reports.lab_ethernet import lab_ethernet_arp

TRACE = CORPUS / "labs" / "ethernet-ethereal-trace-1"
FIELDS = ["frame.number", "eth.src", "eth.dst", "eth.type", "ip.src", "ip.dst", "ip.hdr_len", "tcp.hdr_len",
          "tcp.payload", "http.request.method", "tcp.segment", "http.response.code", "arp.opcode",
          "arp.src.hw_mac", "arp.src.proto_ipv4", "arp.dst.hw_mac", "arp.dst.proto_ipv4"]
ETH_HEADER = 14


@requires_tshark
def test_answers_match_tshark(corpus: Path) -> None:
    df = lab_ethernet_arp(TRACE)
    answers = {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}
    ws = tshark_fields(TRACE, FIELDS)
    get_ = next(r for r in ws if r.get("http.request.method") == "GET")
    at = get_["frame.number"]
    assert answers["Ethernet address of the host (source of the HTTP GET frame)"] == (get_["eth.src"], at)
    assert answers["destination Ethernet address of the GET frame: is it the web server's"][0].startswith(
        f"{get_['eth.dst']}: not the server {get_['ip.dst']}'s")
    assert answers["type field of the GET frame"] == (f"{get_['eth.type']} (IPv4)", at)
    g = ETH_HEADER + int(get_["ip.hdr_len"]) + int(get_["tcp.hdr_len"])
    assert bytes.fromhex(get_["tcp.payload"])[:1] == b"G"
    assert answers["offset of the 'G' of 'GET' from the start of the frame (bytes)"][0].startswith(f"{g} ")
    # the frame with the response's first byte: the first segment Wireshark reassembled it from
    response = next(r for r in ws if "http.response.code" in r)
    first = next(r for r in ws if r["frame.number"] == response["tcp.segment"].split(",")[0])
    assert answers["source Ethernet address of the frame with the first byte of the HTTP response"] == (
        f"{first['eth.src']} (the first-hop router's, not the server's)", first["frame.number"])
    assert answers["destination Ethernet address of that frame"][0] == f"{first['eth.dst']} (the host's)"
    assert answers["type field of the response frame"][0] == f"{first['eth.type']} (IPv4)"
    payload = bytes.fromhex(first["tcp.payload"])
    o = ETH_HEADER + int(first["ip.hdr_len"]) + int(first["tcp.hdr_len"]) + payload.index(
        f" {response['http.response.code']} ".encode()) + 5
    assert answers["offset of the 'O' of 'OK' (the status phrase) from the start of the frame (bytes)"][0] \
        == f"{o}: it is byte {o + 1}"
    # ARP: the host's request, the reply to it, and the requests nobody answers here
    arps = [r for r in ws if "arp.opcode" in r]
    req = next(r for r in arps if r["arp.opcode"] == "1" and r["arp.src.hw_mac"] == get_["eth.src"])
    rep = next(r for r in arps if r["arp.opcode"] == "2" and r["arp.src.proto_ipv4"] == req["arp.dst.proto_ipv4"])
    assert answers["ARP request: Ethernet source and destination addresses"] == (
        f"{req['eth.src']} -> {req['eth.dst']} (broadcast)", req["frame.number"])
    assert answers["ARP request: type field"][0] == f"{req['eth.type']} (ARP)"
    assert answers["ARP request: offset of the opcode from the start of the frame (bytes), and its value"][0] \
        == f"{ETH_HEADER + 6}; opcode {req['arp.opcode']} (request)"
    assert answers["ARP request: where is the question"][0].startswith(
        f"target IP address {req['arp.dst.proto_ipv4']} with target MAC address {req['arp.dst.hw_mac']}")
    assert answers["ARP request: does it hold the sender's IP address"][0] == (
        f"yes: sender {req['arp.src.proto_ipv4']} at {req['arp.src.hw_mac']}")
    assert answers["ARP reply: offset of the opcode from the start of the frame (bytes), and its value"] == (
        f"{ETH_HEADER + 6}; opcode {rep['arp.opcode']} (reply)", rep["frame.number"])
    assert answers["the contents of the host's ARP cache"][0].startswith("no answer: ")
    assert answers["ARP reply: where is the answer"] == (
        f"sender MAC address {rep['arp.src.hw_mac']} for sender IP address {rep['arp.src.proto_ipv4']}",
        rep["frame.number"])
    assert answers["ARP reply: Ethernet source and destination addresses"][0] == f"{rep['eth.src']} -> {rep['eth.dst']}"
    unanswered = [r for r in arps if r["arp.opcode"] == "1" and not any(
        x["arp.opcode"] == "2" and x["arp.src.proto_ipv4"] == r["arp.dst.proto_ipv4"] for x in arps)]
    assert unanswered  # the lab's frame 6
    for r in unanswered:
        why = answers[f"why is there no ARP reply to the request in frame {r['frame.number']}"][0]
        assert why.startswith("the request comes from another computer") == (r["arp.src.hw_mac"] != get_["eth.src"])


def test_cli_and_errors(corpus: Path) -> None:
    res = CliRunner().invoke(lab, ["ethernet-arp", str(TRACE), "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert "00:d0:59:a9:3d:68" in res.output
    with pytest.raises(LabError, match="no Ethernet"):
        lab_ethernet_arp(CORPUS / "labs" / "Wireshark_802_11.pcap")
