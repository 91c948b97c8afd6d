"""The Kurose & Ross UDP lab on its trace: each answer checked against tshark."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab_common import LabError
from pcapkit.reports.lab_udp import lab_udp

TRACE = CORPUS / "labs" / "udp-wireshark-trace.pcap"
FIELDS = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "ip.proto", "ip.len", "ip.hdr_len",
          "udp.srcport", "udp.dstport", "udp.length"]


@requires_tshark
def test_answers_match_tshark(corpus: Path) -> None:
    df = lab_udp(TRACE)
    answers = {q: (a, f) for q, a, f in zip(df["question"], df["answer"], df["frames"], strict=True)}
    ws = tshark_fields(TRACE, FIELDS, display_filter="udp")
    first = ws[0]
    n = first["frame.number"]
    assert answers["first UDP segment: frame number"] == (n, n)
    above = first["frame.protocols"].split(":udp:")[1]
    assert answers["first UDP segment: application-layer protocol it carries"] == (above, n)
    # Wireshark shows the four fields, two bytes each: the UDP layer spans 8 bytes
    hdr = tshark_fields(TRACE, ["udp.srcport", "udp.dstport", "udp.length", "udp.checksum"],
                        display_filter=f"frame.number == {n}")[0]
    assert answers["how many fields in the UDP header, and their names"][0].startswith(f"{len(hdr)}: ")
    assert answers["length of each UDP header field (bytes)"][0] == "2 each (8-byte header)"
    payload = int(first["ip.len"]) - int(first["ip.hdr_len"]) - 8
    assert int(first["udp.length"]) == payload + 8
    assert answers["the Length field is the length of what (checked on this segment)"][0].startswith(
        f"header plus payload: Length {first['udp.length']} = 8 header + {payload} payload bytes")
    assert answers["IP protocol number for UDP (decimal and hexadecimal)"] == (
        f"{first['ip.proto']} (0x{int(first['ip.proto']):02x})", n)
    # the reply: the first later segment with addresses and ports swapped
    sent = next(r for r in ws if r["ip.src"] == first["ip.src"])
    reply = next(r for r in ws if int(r["frame.number"]) > int(sent["frame.number"])
                 and (r["ip.src"], r["udp.srcport"], r["ip.dst"], r["udp.dstport"])
                 == (sent["ip.dst"], sent["udp.dstport"], sent["ip.src"], sent["udp.srcport"]))
    text, frames = answers["a segment sent by the host and its reply: frames and how their ports relate"]
    assert frames == f"{sent['frame.number']}, {reply['frame.number']}"
    assert f"source port ({reply['udp.srcport']})" in text and f"destination port ({reply['udp.dstport']})" in text
    assert answers["largest possible source port number"][0].startswith("65535")
    assert answers["largest UDP payload (bytes)"][0].startswith("65527")


def test_cli_and_errors(corpus: Path) -> None:
    res = CliRunner().invoke(lab, ["udp", str(TRACE), "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(x) for x in res.output.splitlines()]
    assert rows[0] == {"question": "first UDP segment: frame number", "answer": "1", "frames": "1"}
    with pytest.raises(LabError):
        lab_udp(CORPUS / "labs" / "ethernet-ethereal-trace-1")  # ARP and TCP only
    res = CliRunner().invoke(lab, ["udp", str(CORPUS / "labs" / "ethernet-ethereal-trace-1")])
    assert res.exit_code == 1 and "no UDP" in res.output
