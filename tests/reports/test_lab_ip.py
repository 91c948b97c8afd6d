"""The Kurose & Ross IP lab on its v8.0 and v8.1 traces: each answer checked against tshark."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_common import LabError
from pcapkit.reports.lab_ip import lab_ip

TRACES = [CORPUS / "labs" / "ip-ethereal-trace-1", CORPUS / "labs" / "ip-wireshark-trace1-1.pcapng"]
HEADER = {"ip.version": "Version", "ip.hdr_len": "Header Length", "ip.dsfield": "Differentiated Services",
          "ip.len": "Total Length", "ip.id": "Identification", "ip.flags": "Flags",
          "ip.frag_offset": "Fragment Offset", "ip.ttl": "Time to Live", "ip.proto": "Protocol",
          "ip.checksum": "Header Checksum", "ip.src": "Source Address", "ip.dst": "Destination Address"}
FIELDS = ["frame.number", "icmp.type", "ip.flags.mf", *HEADER]


def _outer(r: dict[str, str], name: str, nth: int = 0) -> str:
    values = r.get(name, "").split(",")
    return values[nth] if len(values) > nth else ""


def _answers(path: Path) -> dict[str, tuple[str, str]]:
    df = lab_ip(path)
    return {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}


def _classify(headers: list[dict[str, str]]) -> tuple[list[str], list[str], list[str]]:
    always, sometimes, constant = [], [], []
    for name, label in HEADER.items():
        values = [h[name] for h in headers]
        (constant if len(set(values)) == 1 else always if all(a != b for a, b in pairwise(values))
         else sometimes).append(label)
    return always, sometimes, constant


@requires_tshark
@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_answers_match_tshark(corpus: Path, path: Path) -> None:
    answers = _answers(path)
    ws = tshark_fields(path, FIELDS, display_filter="ip")
    errors = [r for r in ws if _outer(r, "icmp.type") == "11" and _outer(r, "ip.src", 1)]
    host, target = Counter((_outer(r, "ip.src", 1), _outer(r, "ip.dst", 1)) for r in errors).most_common(1)[0][0]
    errors = [r for r in errors if (_outer(r, "ip.src", 1), _outer(r, "ip.dst", 1)) == (host, target)]
    # the host's datagrams to the target: fragments of one datagram share an ID until MF clears
    datagrams: list[list[dict[str, str]]] = []
    pending: dict[str, list[dict[str, str]]] = {}
    for r in ws:
        if (_outer(r, "ip.src"), _outer(r, "ip.dst")) != (host, target):
            continue
        hdr = {name: _outer(r, name) for name in ["frame.number", "ip.flags.mf", *HEADER]}
        if hdr["ip.id"] not in pending:
            pending[hdr["ip.id"]] = []
            datagrams.append(pending[hdr["ip.id"]])
        pending[hdr["ip.id"]].append(hdr)
        if hdr["ip.flags.mf"] in ("0", "False"):
            del pending[hdr["ip.id"]]
    first = datagrams[0][0]
    at = first["frame.number"]
    assert answers["IP address of the host (the traceroute's source)"] == (host, at)
    assert answers["first probe: TTL"] == (first["ip.ttl"], at)
    assert answers["first probe: destination (traceroute target)"] == (target, at)
    whole = first["ip.flags.mf"] in ("0", "False") and first["ip.frag_offset"] == "0"
    assert answers["first probe: has it been fragmented"][0].startswith("no: " if whole else "yes")
    assert answers["first probe: upper-layer protocol field"][0].split(" ")[0] == first["ip.proto"]
    assert answers["first probe: IP header bytes"] == (first["ip.hdr_len"], at)
    assert answers["first probe: payload bytes (total length - header length)"][0].startswith(
        f"{int(first['ip.len']) - int(first['ip.hdr_len'])} = ")

    def size(d: list[dict[str, str]]) -> int:
        last = max(d, key=lambda h: int(h["ip.frag_offset"]))
        return 8 * int(last["ip.frag_offset"]) + int(last["ip.len"])

    runs: list[list[list[dict[str, str]]]] = []
    for d in datagrams:
        if runs and size(runs[-1][0]) == size(d):
            runs[-1].append(d)
        else:
            runs.append([d])
    small = [d[0] for d in runs[0]]
    always, sometimes, constant = _classify(small)
    n = size(runs[0][0])
    frames = ", ".join(h["frame.number"] for h in small)
    assert answers[f"fields that always change between the host's datagrams ({n}-byte run)"] == (
        ", ".join(always) or "none", frames)
    assert answers[f"fields that change only sometimes ({n}-byte run)"][0] == (", ".join(sometimes) or "none")
    assert answers[f"fields that stay constant ({n}-byte run)"][0] == ", ".join(constant)
    ids = [int(h["ip.id"], 16) for h in small]
    pattern = answers["pattern of the Identification field"][0]
    assert pattern.startswith(f"0x{ids[0]:04x} to 0x{ids[-1]:04x}, ")
    assert ("increasing by 1" in pattern) == all(b - a == 1 for a, b in pairwise(ids))
    # the nearest router answers the probes sent with TTL 1
    ttl_of = {h["ip.id"]: int(h["ip.ttl"]) for d in datagrams for h in d[:1]}
    hop: dict[str, int] = {}
    for r in errors:
        router = _outer(r, "ip.src")
        hop[router] = min(hop.get(router, 255), ttl_of.get(_outer(r, "ip.id", 1), 255))
    nearest = min(hop, key=lambda x: hop[x])
    replies = [r for r in errors if _outer(r, "ip.src") == nearest]
    assert hop[nearest] == 1
    assert answers["nearest router (answers the TTL-1 probes)"] == (
        nearest, ", ".join(r["frame.number"] for r in replies))
    assert answers["nearest router's replies: Identification and TTL"][0] == (
        f"Identification {', '.join(_outer(r, 'ip.id') for r in replies)}; "
        f"TTL {', '.join(_outer(r, 'ip.ttl') for r in replies)}")
    ids_, ttls_ = {_outer(r, "ip.id") for r in replies}, {_outer(r, "ip.ttl") for r in replies}
    assert answers["do these values stay the same in all the nearest router's replies"][0].startswith(
        "yes" if len(ids_) == 1 and len(ttls_) == 1 else "no")
    assert answers["upper-layer protocol in the routers' replies (ICMP time exceeded)"][0] == "1 (ICMP)"
    every = answers["every router's replies: Identification behaviour and TTL values"][0]
    for router, h in hop.items():
        ttls = sorted({int(_outer(r, "ip.ttl")) for r in errors if _outer(r, "ip.src") == router})
        assert f"{router} (hop {h}): " in every and f"TTL {'/'.join(map(str, ttls))}" in every
    # the first fragmented datagram of each size
    checked = 0
    for run in runs:
        frag = next((d for d in run if len(d) > 1), None)
        if frag is None:
            continue
        label = f"{size(frag)}-byte datagram"
        assert answers[f"{label}: fragmented into how many IP datagrams"] == (
            str(len(frag)), ", ".join(h["frame.number"] for h in frag))
        for i, h in enumerate(sorted(frag, key=lambda h: int(h["ip.frag_offset"])), 1):
            text, at = answers[f"{label}: fragment {i}: Identification, More Fragments, offset, total length"]
            mf = int(h["ip.flags.mf"] in ("1", "True"))
            assert at == h["frame.number"]
            assert text.startswith(f"{h['ip.id']}, MF={mf}, offset {h['ip.frag_offset']} "
                                   f"({8 * int(h['ip.frag_offset'])} bytes), length {h['ip.len']}: ")
        a, s, _ = _classify(frag)
        assert answers[f"{label}: fields that change between the fragments"][0] == ", ".join(
            x for x in HEADER.values() if x in a + s)
        checked += 1
    assert checked == (2 if "ethereal" in path.name else 1)
    whole_sizes = sorted({size(run[0]) for run in runs if all(len(d) == 1 for d in run)})
    assert answers["probe sizes that were not fragmented (bytes)"][0] == ", ".join(map(str, whole_sizes))
    aaaa = tshark_fields(path, ["frame.number"], display_filter="ipv6 && dns.qry.type == 28")
    assert answers["IPv6 part (v8.1): the host's AAAA query over IPv6 and its response"][0].startswith(
        "no answer: ") == (not aaaa)  # v8.0: 2000 and 3500 bytes; v8.1: 3000


def test_cli_and_errors(corpus: Path) -> None:
    res = CliRunner().invoke(lab, ["ip", str(TRACES[0])])
    assert res.exit_code == 0, res.output
    assert "192.168.1.102" in res.output and "10.216.228.1" in res.output
    with pytest.raises(LabError, match="no ICMP time-exceeded"):
        lab_ip(CORPUS / "labs" / "udp-wireshark-trace.pcap")
