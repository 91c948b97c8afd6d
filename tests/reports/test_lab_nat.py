"""The Kurose & Ross NAT lab on its home-side / ISP-side pair: each answer checked against tshark."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_common import LabError
from pcapkit.reports.lab_nat import lab_nat

HOME, ISP = CORPUS / "labs" / "NAT_home_side.pcap", CORPUS / "labs" / "NAT_ISP_side.pcap"
HEADER = {"ip.version": "Version", "ip.hdr_len": "Header Length", "ip.dsfield": "Differentiated Services",
          "ip.len": "Total Length", "ip.id": "Identification", "ip.flags": "Flags",
          "ip.frag_offset": "Fragment Offset", "ip.ttl": "Time to Live", "ip.proto": "Protocol",
          "ip.checksum": "Header Checksum", "ip.src": "Source Address", "ip.dst": "Destination Address"}
FIELDS = ["frame.number", "frame.time_relative", "tcp.srcport", "tcp.dstport", "tcp.flags.syn", "tcp.flags.ack",
          "tcp.seq_raw", "tcp.stream", "tcp.payload", "http.request.method", "http.request.uri",
          "http.response.code", *HEADER]


def _syns(ws: list[dict[str, str]]) -> dict[tuple[str, str, str], dict[str, str]]:
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    for r in ws:
        if r.get("tcp.flags.syn") in ("1", "True") and r.get("tcp.flags.ack") in ("0", "False"):
            found.setdefault((r["ip.dst"], r["tcp.dstport"], r["tcp.seq_raw"]), r)
    return found


def _at(r: dict[str, str]) -> str:
    return f"at {r['frame.time_relative']}: {r['ip.src']}:{r['tcp.srcport']} -> {r['ip.dst']}:{r['tcp.dstport']}"


@requires_tshark
def test_answers_match_tshark(corpus: Path) -> None:
    df = lab_nat(HOME, ISP)
    answers = {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}
    home, isp = tshark_fields(HOME, FIELDS, display_filter="tcp"), tshark_fields(ISP, FIELDS, display_filter="tcp")
    page = next(r for r in home if r.get("http.request.uri") == "/")
    assert answers["home side: IP address of the client"] == (page["ip.src"], page["frame.number"])
    assert answers["home side: IP address of the web server the page comes from"][0] == page["ip.dst"]
    home_syns, isp_syns = _syns(home), _syns(isp)
    key = next(k for k, s in home_syns.items() if s["tcp.stream"] == page["tcp.stream"])
    gets = {}
    for side, ws, syn in (("home side", home, home_syns[key]), ("ISP side", isp, isp_syns[key])):
        stream = [r for r in ws if r["tcp.stream"] == syn["tcp.stream"]]
        synack = next(r for r in stream if r["tcp.flags.syn"] in ("1", "True") and r["tcp.flags.ack"] in ("1", "True"))
        get_ = next(r for r in stream if r.get("http.request.uri") == "/")
        ok = next(r for r in stream if "http.response.code" in r and int(r["frame.number"]) > int(get_["frame.number"]))
        gets[side] = get_
        assert answers[f"{side}: the TCP SYN: time, addresses and ports"] == (_at(syn), syn["frame.number"])
        assert answers[f"{side}: the SYN-ACK: time, addresses and ports"] == (_at(synack), synack["frame.number"])
        assert answers[f"{side}: the HTTP GET (/): time, addresses and ports"] == (_at(get_), get_["frame.number"])
        # Wireshark shows the response on its last segment
        assert answers[f"{side}: the HTTP response ({ok['http.response.code']}): time (its last segment), "
                       "addresses and ports"] == (_at(ok), ok["frame.number"])
    a, b = gets["home side"], gets["ISP side"]
    assert answers["did NAT change the HTTP GET message itself"][0].startswith(
        "no" if a["tcp.payload"] == b["tcp.payload"] else "yes")
    changed = [label for name, label in HEADER.items() if a[name] != b[name]]
    text = answers["IP header fields of the GET that differ between the two sides"][0]
    assert [part.split(" (")[0] for part in text.split(", ")] == changed
    assert "Source Address" in changed and "Destination Address" not in changed
    four = answers["Version, Header Length, Flags, Header Checksum: which changed"][0]
    for label in ("Version", "Header Length", "Flags", "Header Checksum"):
        assert f"{label}: {'changed' if label in changed else 'same'}" in four
    table = [f"{isp_syns[k]['ip.src']}:{isp_syns[k]['tcp.srcport']} <-> {s['ip.src']}:{s['tcp.srcport']} "
             f"(to {s['ip.dst']}:{s['tcp.dstport']})" for k, s in home_syns.items() if k in isp_syns]
    assert answers["NAT translation table (WAN side address:port <-> LAN side address:port, per connection)"][0] \
        == "; ".join(table)
    assert len(table) >= 6


def test_cli_and_errors(corpus: Path) -> None:
    res = CliRunner().invoke(lab, ["nat", str(HOME), str(ISP)])
    assert res.exit_code == 0, res.output
    assert "71.192.34.104:4335" in res.output
    with pytest.raises(LabError, match="no TCP connection is seen on both sides"):
        lab_nat(HOME, CORPUS / "labs" / "tcp-ethereal-trace-1")
