"""The Kurose & Ross getting-started lab: each answer checked against tshark (with its HTTP dissector)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_intro import lab_intro

# the lab's traces, and one whose first response spans several segments
TRACES = [CORPUS / "labs" / n for n in ("http-ethereal-trace-1", "http-wireshark-trace1-1.pcapng",
                                        "http-ethereal-trace-3")]
FIELDS = ["frame.number", "frame.time_relative", "ip.src", "ip.dst", "http.request.method", "http.request.uri",
          "http.request.version", "http.response.version", "http.response.code", "http.response.phrase",
          "http.time", "tcp.segment"]


@requires_tshark
@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_answers_match_tshark(corpus: Path, path: Path) -> None:
    df = lab_intro(path)
    answers = {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}
    protocols = {p for r in tshark_fields(path, ["frame.protocols"]) for p in r["frame.protocols"].split(":")}
    ours = answers["protocols in the trace (pcapkit's names)"][0]
    assert ours.endswith(", http (from the TCP payloads)") == ("http" in protocols)
    assert set(ours.removesuffix(", http (from the TCP payloads)").split(", ")) <= protocols
    ws = tshark_fields(path, FIELDS, display_filter="http")
    request = ws[0]
    response = next(r for r in ws if "http.response.code" in r)
    assert request.get("http.request.method") == "GET"
    segments = response.get("tcp.segment", response["frame.number"]).split(",")
    time = answers.get("time from the HTTP GET to the HTTP OK (s)")
    assert time is not None
    # the time Wireshark shows: the response on its last segment (trace 3's spans three)
    assert time == (f"{Decimal(response['http.time']):.9f} (GET at {request['frame.time_relative']}, "
                    f"OK at {response['frame.time_relative']}, its last segment)",
                    f"{request['frame.number']}, {response['frame.number']}")
    assert answers["Internet address of the web server (gaia.cs.umass.edu)"][0] == request["ip.dst"]
    assert answers["Internet address of the host"][0] == request["ip.src"]
    assert answers["the HTTP GET message's first line"][0] == " ".join(
        request[f] for f in ("http.request.method", "http.request.uri", "http.request.version"))
    assert answers["the HTTP OK message's first line"] == (" ".join(
        response[f] for f in ("http.response.version", "http.response.code", "http.response.phrase")), segments[0])


def test_cli(corpus: Path) -> None:
    res = CliRunner().invoke(lab, ["intro", str(TRACES[0]), "--format", "json"])
    assert res.exit_code == 0, res.output
    assert "128.119.245.12" in res.output
    res = CliRunner().invoke(lab, ["intro", str(CORPUS / "labs" / "dhcp-ethereal-trace-1")])
    assert res.exit_code == 0 and "no answer: no TCP segment starts with an HTTP GET" in res.output
