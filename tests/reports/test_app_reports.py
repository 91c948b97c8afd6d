"""``dns_queries`` and ``http_requests`` against tshark (two passes, for ``*.response_in``)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pandas as pd
import pytest
from conftest import CORPUS, corpus_id

from pcapkit.reports.dns_report import dns_queries
from pcapkit.reports.http_report import http_requests

DNS_FILES = [CORPUS / "labs" / name for name in (
    "dns-ethereal-trace-1", "dns-ethereal-trace-2", "dns-ethereal-trace-4", "udp-wireshark-trace.pcap",
    "dhcp-wireshark-trace1-1.pcapng", "http-wireshark-trace1-1.pcapng")] + [CORPUS / "tcp" / "http.pcap"]
HTTP_FILES = [CORPUS / "labs" / f"http-ethereal-trace-{n}" for n in range(1, 6)] + [
    CORPUS / "tcp" / name for name in ("http.pcap", "tcp-fast-open.pcap", "http_google.pcapng", "bro.org.pcap")]


def tshark(path: Path, display: str, *fields: str) -> list[list[str]]:
    args = ["tshark", "-2", "-n", "-r", str(path), "-Y", display, "-T", "fields", "-E", "occurrence=f"]
    for name in fields:
        args += ["-e", name]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return [line.split("\t") for line in out.splitlines()]


def text(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timedelta):
        s, ns = divmod(int(value.value), 1_000_000_000)
        return f"{s}.{ns:09d}"
    return str(value)


@pytest.mark.parametrize("path", DNS_FILES, ids=corpus_id)
def test_dns_queries_match_tshark(path: Path) -> None:
    df = dns_queries(path)
    queries = tshark(path, "dns && dns.flags.response == 0", "frame.number", "dns.id", "dns.qry.name",
                     "dns.qry.type", "ip.src", "ipv6.src", "udp.srcport", "tcp.srcport")
    assert df["frame.number"].tolist() == [int(q[0]) for q in queries]
    assert len(df) > 0
    for row, q in zip(df.to_dict("records"), queries, strict=True):
        mine = [text(row["frame.number"]), f"0x{row['dns.id']:04x}", text(row["dns.qry.name"]),
                text(row["dns.qry.type"]), text(row["ip.src"]), text(row["ipv6.src"]), text(row["udp.srcport"]),
                text(row["tcp.srcport"])]
        assert mine == q
    # the response tshark matched to each query (dns.response_to on the response, first pass)
    matched = {int(r[1]): r for r in tshark(path, "dns && dns.response_to", "frame.number", "dns.response_to",
                                             "dns.time", "dns.flags.rcode", "dns.count.answers")}
    for row in df.to_dict("records"):
        response = matched.get(int(row["frame.number"]))
        got = [text(row[c]) for c in ("dns.response_in", "dns.time", "dns.flags.rcode", "dns.count.answers")]
        assert got == (["", "", "", ""] if response is None else [response[0], response[2], response[3], response[4]])
    assert df["dns.response_in"].notna().sum() == len(matched)


def test_an_unanswered_query_keeps_empty_response_columns() -> None:
    df = dns_queries(CORPUS / "labs" / "dhcp-wireshark-trace1-1.pcapng")
    unanswered = df[df["dns.response_in"].isna()]
    assert df["dns.response_in"].notna().any()
    for column in ("dns.time", "dns.flags.rcode", "dns.count.answers", "answers"):
        assert unanswered[column].isna().all()


def test_dns_filter_chooses_the_queries() -> None:
    path = CORPUS / "labs" / "udp-wireshark-trace.pcap"
    every = dns_queries(path)
    some = dns_queries(path, filter="udp src port 4372")
    assert 0 < len(some) < len(every)
    assert some["dns.response_in"].notna().all()  # responses are matched over the whole capture


@pytest.mark.parametrize("path", HTTP_FILES, ids=lambda p: corpus_id(p) if isinstance(p, Path) else str(p))
def test_http_requests_match_tshark(path: Path) -> None:
    df = http_requests(path)
    requests = tshark(path, "http.request", "frame.number", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
                      "http.host", "http.request.method", "http.request.uri", "http.response_in")
    assert len(df) == len(requests) > 0
    for row, r in zip(df.to_dict("records"), requests, strict=True):
        mine = [text(row[c]) for c in ("frame.number", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport", "http.host",
                                      "http.request.method", "http.request.uri", "http.response_in")]
        assert mine == r
    responses = {r[0]: r for r in tshark(path, "http.response", "frame.number", "http.response.code",
                                         "http.content_length", "http.time")}
    for row in df.to_dict("records"):
        if pd.isna(row["http.response_in"]):
            continue  # (bro.org.pcap ends with requests left unanswered)
        response = responses[str(row["http.response_in"])]
        assert [text(row[c]) for c in ("http.response.code", "http.content_length", "http.time")] == response[1:]
