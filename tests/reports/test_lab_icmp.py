"""The Kurose & Ross ICMP lab on its ping and traceroute traces: answers checked against tshark."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal
from itertools import pairwise
from pathlib import Path
from statistics import mean

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_common import LabError
from pcapkit.reports.lab_icmp import lab_icmp

PING, TRACEROUTE = CORPUS / "labs" / "icmp-ethereal-trace-1", CORPUS / "labs" / "icmp-ethereal-trace-2"
FIELDS = ["frame.number", "frame.time_relative", "ip.src", "ip.dst", "ip.ttl", "ip.proto", "ip.id", "ip.len",
          "ip.hdr_len", "icmp.type", "icmp.code", "icmp.ident", "icmp.seq", "icmp.checksum", "icmp.resp_to",
          "icmp.resptime"]


def _nth(r: dict[str, str], name: str, nth: int = 0) -> str:
    values = r.get(name, "").split(",")
    return values[nth] if len(values) > nth else ""


def _answers(path: Path) -> dict[str, tuple[str, str]]:
    df = lab_icmp(path)
    return {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}


def _ms(a: dict[str, str], b: dict[str, str]) -> Decimal:
    return (Decimal(b["frame.time_relative"]) - Decimal(a["frame.time_relative"])) * 1000


@requires_tshark
@pytest.mark.parametrize("path", [PING, TRACEROUTE], ids=lambda p: p.name)
def test_ping_answers_match_tshark(corpus: Path, path: Path) -> None:
    answers = _answers(path)
    ws = tshark_fields(path, FIELDS, display_filter="icmp")
    by_frame = {r["frame.number"]: r for r in ws}
    replies = [r for r in ws if "icmp.resp_to" in r and "," not in r["ip.src"]]
    request, reply = by_frame[replies[0]["icmp.resp_to"]], replies[0]
    at = request["frame.number"]
    assert answers["ping: why has an ICMP packet no source and destination port numbers"][0].startswith(
        f"ICMP is carried directly in IP (protocol {request['ip.proto']})")
    assert answers["ping: IP address of the host and of the destination"] == (
        f"host {request['ip.src']}, destination {request['ip.dst']}", at)
    for what, r in (("ping request", request), ("ping reply", reply)):
        assert answers[f"{what}: ICMP type and code"] == (f"type {r['icmp.type']}, code {r['icmp.code']}",
                                                          r["frame.number"])
        fields = answers[f"{what}: its other fields and their sizes"][0]
        data = int(r["ip.len"]) - int(r["ip.hdr_len"]) - 8
        assert fields.endswith(f"identifier 0x{int(r['icmp.ident']):04x}, sequence number {r['icmp.seq']}, "
                               f"checksum {r['icmp.checksum']}, {data} data bytes")
    assert answers["ping: request/reply pairs (request frame -> reply frame: sequence number, RTT ms)"][0] == "; ".join(
        f"{r['icmp.resp_to']} -> {r['frame.number']}: seq {r['icmp.seq']}, {Decimal(r['icmp.resptime']):.3f}" for r in replies)
    rtts = [Decimal(r["icmp.resptime"]) for r in replies]
    assert answers["ping: RTT min / mean / max (ms)"][0] == (
        f"{min(rtts):.3f} / {mean(rtts):.3f} / {max(rtts):.3f} over {len(rtts)} replies")


@requires_tshark
def test_traceroute_answers_match_tshark(corpus: Path) -> None:
    answers = _answers(TRACEROUTE)
    ws = tshark_fields(TRACEROUTE, FIELDS, display_filter="icmp")
    errors = [r for r in ws if _nth(r, "icmp.type") == "11"]
    host, target = Counter((_nth(r, "ip.src", 1), _nth(r, "ip.dst", 1)) for r in errors).most_common(1)[0][0]
    probes = [r for r in ws if (r["ip.src"], r["ip.dst"]) == (host, target)]
    assert answers["traceroute: IP address of the host and of the target"][0] == f"host {host}, target {target}"
    assert answers["traceroute: would UDP probes still carry IP protocol number 1"][0] == (
        f"no: UDP probes carry 17; these probes carry {probes[0]['ip.proto']}")
    probe_ttls = [int(r["ip.ttl"]) for r in probes]
    data = sorted({int(r["ip.len"]) - int(r["ip.hdr_len"]) - 8 for r in probes})
    assert answers["traceroute: how do its Echo requests differ from ping's"][0] == (
        f"same ICMP fields (type {probes[0]['icmp.type']}, code {probes[0]['icmp.code']}, identifier, sequence "
        f"number); the IP TTL grows from {min(probe_ttls)} to {max(probe_ttls)} and they carry "
        f"{'/'.join(map(str, data))} data bytes")
    e = errors[0]
    assert answers["ICMP error: type and code"][0].startswith(f"type {_nth(e, 'icmp.type')}, code {_nth(e, 'icmp.code')}")
    assert answers["ICMP error: what its extra fields hold"] == (
        f"the IP header of the datagram that expired (source {_nth(e, 'ip.src', 1)}, destination "
        f"{_nth(e, 'ip.dst', 1)}, TTL {_nth(e, 'ip.ttl', 1)}, protocol {_nth(e, 'ip.proto', 1)}, identification "
        f"{_nth(e, 'ip.id', 1)}) and its first 8 bytes: ICMP type {_nth(e, 'icmp.type', 1)}, code "
        f"{_nth(e, 'icmp.code', 1)}, identifier 0x{int(e['icmp.ident']):04x}, sequence number {e['icmp.seq']}",
        e["frame.number"])
    last = [r for r in ws if r["ip.dst"].split(",")[0] == host][-3:]
    assert answers["the last three ICMP packets the host received: how they differ from the errors"][1] == ", ".join(
        r["frame.number"] for r in last)
    # hops: each probe's answer is the error quoting its sequence number, or the Echo reply to it
    answer = {(_nth(r, "icmp.ident", 0), _nth(r, "icmp.seq", 0)): r for r in errors}
    answer.update({(r["icmp.ident"], r["icmp.seq"]): r for r in ws if "icmp.resp_to" in r})
    ttls = sorted({int(r["ip.ttl"]) for r in probes})
    means = []
    for ttl in ttls:
        sent = [r for r in probes if int(r["ip.ttl"]) == ttl]
        got = [answer.get((r["icmp.ident"], r["icmp.seq"])) for r in sent]
        routers = sorted({_nth(g, "ip.src") for g in got if g})
        rtts = [_ms(s, g) if g else None for s, g in zip(sent, got, strict=True)]
        text = f"{', '.join(routers)}: " + ", ".join("*" if t is None else f"{t:.3f}" for t in rtts)
        assert answers[f"traceroute hop (TTL {ttl}): router and the RTT of each probe (ms)"][0] == text
        means.append((ttl, mean(t for t in rtts if t is not None)))
    jump = max(pairwise(means), key=lambda ab: ab[1][1] - ab[0][1])
    assert answers["the link with the largest increase in delay (mean RTT per hop)"][0].startswith(
        f"between hop {jump[0][0]} (")
    assert f"+{jump[1][1] - jump[0][1]:.3f} ms" in answers[
        "the link with the largest increase in delay (mean RTT per hop)"][0]


def test_ping_trace_says_traceroute_is_elsewhere_and_cli(corpus: Path) -> None:
    answers = _answers(PING)
    assert answers["traceroute: hops, ICMP error contents and round-trip times"][0].startswith("no answer: ")
    res = CliRunner().invoke(lab, ["icmp", str(TRACEROUTE)])
    assert res.exit_code == 0, res.output
    assert "138.96.146.2" in res.output
    with pytest.raises(LabError, match="no ICMP"):
        lab_icmp(CORPUS / "labs" / "tcp-ethereal-trace-1")
