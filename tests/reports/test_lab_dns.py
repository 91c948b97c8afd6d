"""The Kurose & Ross DNS lab on its four traces, each answer checked against tshark's fields."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab import LabError
from pcapkit.reports.lab_dns import lab_dns, lab_dns_messages

TRACES = [CORPUS / "labs" / f"dns-ethereal-trace-{n}" for n in range(1, 5)]
FIELDS = ["frame.number", "frame.protocols", "ip.src", "ip.dst", "udp.srcport", "udp.dstport", "dns.id",
          "dns.flags.response", "dns.qry.name", "dns.qry.type", "dns.count.answers", "dns.count.auth_rr",
          "dns.count.add_rr", "dns.resp.name", "dns.resp.type", "dns.a", "dns.ns", "dns.cname",
          "dns.ptr.domain_name", "dns.soa.mname", "dns.response_to", "dns.time"]
TYPES = {"1": "A", "2": "NS", "5": "CNAME", "6": "SOA", "12": "PTR", "28": "AAAA"}
VALUES = {"1": "dns.a", "2": "dns.ns", "5": "dns.cname", "6": "dns.soa.mname", "12": "dns.ptr.domain_name"}


def _split(row: dict[str, str], field: str) -> list[str]:
    return row[field].split(",") if field in row else []


def _expected_records(row: dict[str, str]) -> tuple[str, str, str]:
    """The three sections as "owner TYPE value" from tshark's per-field lists."""
    queues = {t: _split(row, f) for t, f in VALUES.items()}
    owners = _split(row, "dns.resp.name")
    texts = []
    for t, owner in zip(_split(row, "dns.resp.type"), owners, strict=True):
        value = queues[t].pop(0) if queues.get(t) else None
        texts.append(f"{owner} {TYPES.get(t, t)}" + ("" if value is None else f" {value}"))
    a = int(row["dns.count.answers"])
    b = a + int(row["dns.count.auth_rr"])
    return "; ".join(texts[:a]), "; ".join(texts[a:b]), "; ".join(texts[b:])


@requires_tshark
@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_messages_match_tshark(corpus: Path, path: Path) -> None:
    df = lab_dns_messages(path)
    ws = tshark_fields(path, FIELDS, display_filter="dns")
    assert list(df["frame"]) == [int(r["frame.number"]) for r in ws]
    for row, r in zip(df.itertuples(index=False), ws, strict=True):
        assert row.transport == ("UDP" if ":udp:" in r["frame.protocols"] else "TCP")
        assert (row.src, row.dst, str(row.sport), str(row.dport)) == (
            r["ip.src"], r["ip.dst"], r["udp.srcport"], r["udp.dstport"])
        assert row.id == r["dns.id"] and row.kind == ("response" if r["dns.flags.response"] == "1" else "query")
        assert row.name == r["dns.qry.name"] and row.type == TYPES[r["dns.qry.type"]]
        assert (str(row.answers), str(row.authority), str(row.additional)) == (
            r["dns.count.answers"], r["dns.count.auth_rr"], r["dns.count.add_rr"])
        assert (row.answer_records, row.authority_records, row.additional_records) == _expected_records(r)
        if "dns.response_to" in r:
            assert row.response_to == int(r["dns.response_to"])
            assert row.response_time.value == int(Decimal(r["dns.time"]) * 1_000_000_000)
        else:
            assert pd.isna(row.response_to)


def _answers(path: Path) -> dict[str, str]:
    df = lab_dns(path)
    return dict(zip(df["question"], df["answer"], strict=True))


@requires_tshark
@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.name)
def test_lab_questions_match_tshark(corpus: Path, path: Path) -> None:
    answers = _answers(path)
    ws = tshark_fields(path, FIELDS, display_filter="dns")
    assert answers["are the DNS messages sent over UDP or TCP"] == "UDP"
    queries = [r for r in ws if r["dns.flags.response"] == "0"]
    for q in queries:
        label = f"query {q['dns.qry.name']} ({TYPES[q['dns.qry.type']]})"
        resp = next(r for r in ws if r.get("dns.response_to") == q["frame.number"])
        assert answers[f"{label}: destination port of the query"] == q["udp.dstport"] == "53"
        assert answers[f"{label}: source port of the response"] == resp["udp.srcport"]
        assert answers[f"{label}: the query was sent to (the local DNS server unless nslookup names one)"] \
            == q["ip.dst"]
        assert answers[f"{label}: answers in the query"] == q["dns.count.answers"] == "0"
        assert answers[f"{label}: answers in the response"] == resp["dns.count.answers"]
        assert answers[f"{label}: what the answers contain"] == (_expected_records(resp)[0] or "nothing")
        if resp["dns.count.add_rr"] != "0":
            assert answers[f"{label}: additional records (the name servers' addresses)"] \
                == _expected_records(resp)[2]
        assert answers[f"{label}: response time (s)"] == resp["dns.time"]
    repeated = sorted(n for n, c in Counter(q["dns.qry.name"] for q in queries).items() if c > 1)
    text = answers["names queried more than once (new queries before each object?)"]
    assert text.startswith("none") if not repeated else all(n in text for n in repeated)
    # the first SYN after the last response, and whether it goes to an answered address
    last = max(int(r["frame.number"]) for r in ws)
    syns = tshark_fields(path, ["frame.number", "ip.dst"],
                         display_filter=f"tcp.flags.syn == 1 && tcp.flags.ack == 0 && frame.number > {last}")
    question = "the first TCP SYN after the last response: is its destination an address of the answers"
    if not syns:
        assert answers[question].startswith("no answer: ")
    else:
        addresses = {a for r in ws for a in _split(r, "dns.a")}
        verdict = "yes" if syns[0]["ip.dst"] in addresses else "no"
        assert answers[question] == f"{verdict}: SYN to {syns[0]['ip.dst']}"


def test_published_answers(corpus: Path) -> None:
    # the lab's own answers: trace 1's SYN goes to www.ietf.org's first address; trace 3 gives
    # MIT's three name servers with their addresses; trace 4 asks bitsy.mit.edu (18.72.0.3)
    one = _answers(TRACES[0])
    assert one["the first TCP SYN after the last response: is its destination an address of the answers"] \
        == "yes: SYN to 132.151.6.75"
    three = _answers(TRACES[2])
    assert three["query mit.edu (NS): what the answers contain"].count(" NS ") == 3
    assert "bitsy.mit.edu A 18.72.0.3" in three["query mit.edu (NS): additional records (the name servers' addresses)"]
    four = _answers(TRACES[3])
    assert four["query www.aiit.or.kr (A): the query was sent to (the local DNS server unless nslookup names one)"] \
        == "18.72.0.3"


def test_cli_and_errors(corpus: Path) -> None:
    res = CliRunner().invoke(lab, ["dns", str(TRACES[1])])
    assert res.exit_code == 0, res.output
    assert "www.mit.edu" in res.output and "18.7.22.83" in res.output
    res = CliRunner().invoke(lab, ["dns", str(TRACES[1]), "--part", "messages", "--format", "json"])
    rows = [json.loads(x) for x in res.output.splitlines()]
    assert [r["kind"] for r in rows] == ["query", "response"] * 3
    with pytest.raises(LabError):
        lab_dns_messages(CORPUS / "labs" / "tcp-ethereal-trace-1")  # no DNS at all
    res = CliRunner().invoke(lab, ["dns", str(CORPUS / "labs" / "tcp-ethereal-trace-1")])
    assert res.exit_code == 1 and "no DNS messages" in res.output
