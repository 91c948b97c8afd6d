"""The Kurose & Ross DHCP lab (v8.0 and v8.1 traces): each answer checked against tshark."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_common import LabError
from pcapkit.reports.lab_dhcp import DHCP_TYPES, lab_dhcp, lab_dhcp_answers

TRACES = [CORPUS / "labs" / "dhcp-ethereal-trace-1", CORPUS / "labs" / "dhcp-wireshark-trace1-1.pcapng"]
FIELDS = ["frame.number", "frame.time_relative", "frame.protocols", "dhcp.option.dhcp", "dhcp.id", "ip.src",
          "ip.dst", "udp.srcport", "udp.dstport", "dhcp.hw.mac_addr", "dhcp.ip.your", "dhcp.ip.relay",
          "dhcp.option.requested_ip_address", "dhcp.option.dhcp_server_id", "dhcp.option.ip_address_lease_time",
          "dhcp.option.router", "dhcp.option.subnet_mask", "dhcp.option.domain_name_server",
          "dhcp.option.request_list_item", "dhcp.option.type"]


def _answers(path: Path) -> dict[str, tuple[str, str]]:
    df = lab_dhcp_answers(path)
    return {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}


def _type(r: dict[str, str]) -> str:
    return DHCP_TYPES[int(r["dhcp.option.dhcp"])]


@requires_tshark
@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_messages_match_tshark(corpus: Path, path: Path) -> None:
    df = lab_dhcp(path)
    ws = tshark_fields(path, FIELDS, display_filter="dhcp")
    assert list(df["frame"]) == [int(r["frame.number"]) for r in ws]
    for row, r in zip(df.itertuples(index=False), ws, strict=True):
        assert (None if pd.isna(row.dns_servers) else row.dns_servers) == r.get("dhcp.option.domain_name_server")
        codes = [c for c in r["dhcp.option.type"].split(",") if c not in ("0", "255")]
        assert row.options == ",".join(codes)


@requires_tshark
@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_answers_match_tshark(corpus: Path, path: Path) -> None:
    answers = _answers(path)
    ws = tshark_fields(path, FIELDS, display_filter="dhcp")
    frames = ", ".join(r["frame.number"] for r in ws)
    assert answers["are DHCP messages sent over UDP or TCP"] == ("UDP", frames)
    assert all(":udp:dhcp" in r["frame.protocols"] for r in ws)
    # the first exchange: the Discover, then the first Offer, Request and ACK with its ID
    discover = next(r for r in ws if _type(r) == "Discover")
    chain = {"Discover": discover}
    at = int(discover["frame.number"])
    for name in ("Offer", "Request", "ACK"):
        chain[name] = next(r for r in ws if _type(r) == name and r["dhcp.id"] == discover["dhcp.id"]
                           and int(r["frame.number"]) > at)
        at = int(chain[name]["frame.number"])
    for name, r in chain.items():
        assert answers[f"{name}: source and destination IP address and UDP port"] == (
            f"{r['ip.src']}:{r['udp.srcport']} -> {r['ip.dst']}:{r['udp.dstport']}", r["frame.number"])
        assert answers[f"transaction ID of the {name}"] == (r["dhcp.id"], r["frame.number"])
    offer, request, ack = chain["Offer"], chain["Request"], chain["ACK"]
    assert answers["what is special about the Discover's source and destination IP addresses"] == (
        f"source {discover['ip.src']} (the host has no address yet), destination {discover['ip.dst']} "
        f"({'limited broadcast' if discover['ip.dst'] == '255.255.255.255' else 'not the broadcast address'})",
        discover["frame.number"])
    assert answers["how is the Offer known to answer the Discover"] == (
        f"same transaction ID {offer['dhcp.id']}", f"{discover['frame.number']}, {offer['frame.number']}")
    assert answers["link-layer (Ethernet) address of the host (client hardware address)"][0] \
        == discover["dhcp.hw.mac_addr"].split(",")[0]
    assert answers["address offered to the host (Offer's 'your' address)"] == (offer["dhcp.ip.your"],
                                                                              offer["frame.number"])
    assert answers["IP address of the DHCP server (server identifier; Offer's source address)"][0] == (
        f"{offer['dhcp.option.dhcp_server_id']} (Offer sent from {offer['ip.src']})")
    assert answers["router (first-hop) and subnet mask in the Offer"][0] == (
        f"router {offer['dhcp.option.router']}, subnet mask {offer['dhcp.option.subnet_mask']}")
    assert answers["DNS servers in the Offer"][0] == offer["dhcp.option.domain_name_server"]
    relays = {r["dhcp.ip.relay"] for r in ws}
    assert answers["is there a relay agent (relay agent IP address, giaddr)"][0].startswith(
        "no: " if relays == {"0.0.0.0"} else "yes: ")
    requested = request["dhcp.option.requested_ip_address"]
    assert answers["does the client accept the offered address (requested IP address option in the Request)"][0] \
        == f"{'yes' if requested == offer['dhcp.ip.your'] else 'no'}: requested {requested}, " \
           f"offered {offer['dhcp.ip.your']}"
    lease = int(ack["dhcp.option.ip_address_lease_time"])
    assert answers["lease time (s)"] == (f"{lease} ({lease / 3600:g} h)", ack["frame.number"])
    assert answers["address confirmed by the ACK"][0] == ack["dhcp.ip.your"]
    only_request = sorted(set(request["dhcp.option.type"].split(",")) - set(discover["dhcp.option.type"].split(",")),
                          key=int)
    text = answers["options that tell the Request from the Discover"][0]
    assert all(f"{c} " in text.split("options only in the Request: ")[1] for c in only_request)
    same = request["dhcp.option.request_list_item"] == discover["dhcp.option.request_list_item"]
    assert answers["does the Request ask for different parameters than the Discover"][0].startswith(
        "no" if same else "yes")
    asked = answers["what the client asks for in the Discover (parameter request list)"][0]
    assert [x.split(" ", 1)[0] for x in asked.split(", ")] == discover["dhcp.option.request_list_item"].split(",")
    later = [r for r in ws if _type(r) in ("Request", "ACK") and int(r["frame.number"]) > int(ack["frame.number"])]
    assert answers["transaction IDs of the later Request / ACK messages"][1] == ", ".join(
        r["frame.number"] for r in later)
    releases = [r for r in ws if _type(r) == "Release"]
    release = answers["Release: sent to, and does the server acknowledge it"]
    if releases:
        assert release[1] == releases[0]["frame.number"] and release[0].startswith(f"to {releases[0]['ip.dst']}")
    else:
        assert release[0].startswith("no answer: ")
    # ARP from the Discover until one second after the ACK
    lo, hi = discover["frame.time_relative"], f"{float(ack['frame.time_relative']) + 1:.9f}"
    arps = tshark_fields(path, ["frame.number"],
                         display_filter=f"arp && frame.time_relative >= {lo} && frame.time_relative <= {hi}")
    assert answers["ARP frames during the exchange (until 1 s after the ACK)"][1] == ", ".join(
        r["frame.number"] for r in arps)
    purpose = answers.get("purpose of those ARP frames")
    assert (purpose is not None) == bool(arps)
    if purpose is not None:
        assert f"the offered address {offer['dhcp.ip.your']}" in purpose[0]


def test_published_answers_and_cli(corpus: Path) -> None:
    answers = _answers(TRACES[0])
    # the handout's own trace: host 00:08:74:4f:36:23 is offered 192.168.1.101 by 192.168.1.1
    assert answers["link-layer (Ethernet) address of the host (client hardware address)"][0] == "00:08:74:4f:36:23"
    assert answers["address offered to the host (Offer's 'your' address)"][0] == "192.168.1.101"
    res = CliRunner().invoke(lab, ["dhcp", str(TRACES[1]), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.output.splitlines()]
    assert rows[0] == {"question": "are DHCP messages sent over UDP or TCP", "answer": "UDP",
                       "frames": "5, 9, 12, 13, 16, 17"}
    res = CliRunner().invoke(lab, ["dhcp", str(TRACES[0]), "--part", "messages", "--format", "json"])
    assert [json.loads(x)["message"] for x in res.output.splitlines()][:4] == ["Discover", "Offer", "Request", "ACK"]
    with pytest.raises(LabError):
        lab_dhcp_answers(CORPUS / "labs" / "tcp-ethereal-trace-1")
