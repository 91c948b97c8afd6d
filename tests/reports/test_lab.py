"""The Kurose & Ross TCP lab on its own trace, checked against what Wireshark (tshark) shows."""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.lab_cmd import lab
from pcapkit.reports.lab import LabError, lab_tcp

TRACE = CORPUS / "labs" / "tcp-ethereal-trace-1"
FIELDS = ["frame.number", "frame.time_relative", "ip.src", "tcp.srcport", "ip.dst", "tcp.dstport",
          "tcp.seq", "tcp.seq_raw", "tcp.ack", "tcp.ack_raw", "tcp.len", "tcp.flags.syn", "tcp.flags.ack",
          "tcp.analysis.acks_frame", "tcp.analysis.ack_rtt", "tcp.options.mss_val", "tcp.window_size"]


def _ns(text: str) -> int:
    return int(Decimal(text) * 1_000_000_000)


@pytest.fixture(scope="module")
def ws() -> list[dict[str, str]]:
    # relative sequence numbers, as a student sees them in Wireshark
    return tshark_fields(TRACE, FIELDS, display_filter="tcp")


@requires_tshark
def test_addresses_and_handshake(corpus: Path, ws: list[dict[str, str]]) -> None:
    r = lab_tcp(TRACE)
    # published answers: client 192.168.1.102:1161, server 128.119.245.12:80
    assert r.client == ("192.168.1.102", 1161) and r.server == ("128.119.245.12", 80)
    syn = next(x for x in ws if x["tcp.flags.syn"] in ("1", "True") and x["tcp.flags.ack"] in ("0", "False"))
    synack = next(x for x in ws if x["tcp.flags.syn"] in ("1", "True") and x["tcp.flags.ack"] in ("1", "True"))
    assert r.syn["frame"] == int(syn["frame.number"]) and r.syn["seq_raw"] == int(syn["tcp.seq_raw"])
    assert syn["tcp.seq"] == "0" and synack["tcp.seq"] == "0" and synack["tcp.ack"] == "1"
    assert r.synack["frame"] == int(synack["frame.number"])
    assert (r.synack["seq_raw"], r.synack["ack_raw"], r.synack["ack_rel"]) == (
        int(synack["tcp.seq_raw"]), int(synack["tcp.ack_raw"]), 1)
    assert f"MSS={syn['tcp.options.mss_val']}" in r.syn["options"]


@requires_tshark
def test_post_segment_and_first_six(corpus: Path, ws: list[dict[str, str]]) -> None:
    r = lab_tcp(TRACE)
    assert r.request == {"frame": 4, "method": "POST", "seq": 1}  # published: the POST is in frame 4
    by_frame = {int(x["frame.number"]): x for x in ws}
    acks = {int(x["tcp.analysis.acks_frame"]): x for x in ws if "tcp.analysis.acks_frame" in x}
    assert [s.length for s in r.segments] == [565] + [1460] * 5  # published lengths
    est = None
    for s in r.segments:
        w = by_frame[s.frame]
        assert s.seq == int(w["tcp.seq"]) and s.length == int(w["tcp.len"])
        assert s.sent_ns == _ns(w["frame.time_relative"])
        a = acks[s.frame]  # the ACK Wireshark pairs with this segment
        assert s.ack_frame == int(a["frame.number"])
        assert s.ack_ns == _ns(a["frame.time_relative"])
        assert s.sample_rtt_ns == _ns(a["tcp.analysis.ack_rtt"])
        sample = float(Decimal(a["tcp.analysis.ack_rtt"]))
        est = sample if est is None else 0.875 * est + 0.125 * sample
        assert s.estimated_rtt == pytest.approx(est, abs=1e-12)
    # the published table gives EstimatedRTT 0.0438 s after the 4th segment
    assert round(r.segments[3].estimated_rtt or 0, 4) == 0.0438


@requires_tshark
def test_window_retransmissions_throughput(corpus: Path, ws: list[dict[str, str]]) -> None:
    r = lab_tcp(TRACE)
    server_windows = [int(x["tcp.window_size"]) for x in ws if x["ip.src"] == "128.119.245.12"]
    assert r.min_window == min(server_windows) == 5840
    assert not r.window_throttled
    retrans = tshark_fields(TRACE, ["frame.number"], display_filter="tcp.analysis.retransmission")
    assert r.retransmissions == [int(x["frame.number"]) for x in retrans] == []
    client = [x for x in ws if x["ip.src"] == "192.168.1.102" and int(x["tcp.len"]) > 0]
    last_ack = max((x for x in ws if x["ip.src"] == "128.119.245.12"), key=lambda x: int(x["tcp.ack"]))
    nbytes = int(last_ack["tcp.ack"]) - 1
    secs = Decimal(last_ack["frame.time_relative"]) - Decimal(client[0]["frame.time_relative"])
    assert r.bytes_transferred == nbytes
    assert r.throughput_Bps == pytest.approx(float(nbytes / secs), rel=1e-9)
    assert r.intervals[0][0] == "slow-start"
    assert r.typical_acked in (1460, 2920)


@requires_tshark
def test_acks_covering_two_segments_count_segments_not_mss(corpus: Path, ws: list[dict[str, str]]) -> None:
    # regression: ACKs were counted when they covered 2 x MSS bytes, so a 1460 + 892 byte ACK was missed
    r = lab_tcp(TRACE)
    client = (r.client[0], str(r.client[1]))
    data_ends = sorted({int(x["tcp.seq"]) + int(x["tcp.len"]) for x in ws
                        if (x["ip.src"], x["tcp.srcport"]) == client and int(x["tcp.len"]) > 0})
    acked_point: int | None = None
    advancing = covering_two = 0
    for x in ws:
        if (x["ip.dst"], x["tcp.dstport"]) != client or x["tcp.flags.ack"] not in ("1", "True"):
            continue
        ack = int(x["tcp.ack"])
        if acked_point is not None and ack > acked_point:
            advancing += 1
            covering_two += sum(1 for end in data_ends if acked_point < end <= ack) >= 2
        acked_point = ack if acked_point is None else max(acked_point, ack)
    assert (r.acks_covering_two, r.acks_total) == (covering_two, advancing)
    mss = int(next(x for x in ws if "tcp.options.mss_val" in x)["tcp.options.mss_val"])
    assert covering_two > sum(1 for x in _ack_increments(ws, client) if x >= 2 * mss)  # the old count was lower


def _ack_increments(ws: list[dict[str, str]], client: tuple[str, str]) -> list[int]:
    acks = [int(x["tcp.ack"]) for x in ws if (x["ip.dst"], x["tcp.dstport"]) == client]
    return [b - a for a, b in pairwise(acks) if b > a]


@requires_tshark
def test_unanswered_syn_says_no_answer(corpus: Path) -> None:
    # regression: a stream whose SYN got no SYN-ACK printed a SYN-ACK description, window 0 and
    # throughput 0 with exit status 0
    rows = tshark_fields(TRACE, ["tcp.stream", "tcp.flags.syn", "tcp.flags.ack", "tcp.len"], display_filter="tcp")
    streams = {int(x["tcp.stream"]) for x in rows}
    answered = {int(x["tcp.stream"]) for x in rows if x["tcp.flags.syn"] in ("1", "True")
                and x["tcp.flags.ack"] in ("1", "True")}
    unanswered = sorted(streams - answered)
    assert unanswered  # the trace ends with a SYN to port 631 that nobody answers
    for stream in unanswered:
        r = lab_tcp(TRACE, stream=stream)
        has_data = any(int(x["tcp.stream"]) == stream and int(x["tcp.len"]) > 0 for x in rows)
        assert "SYN-ACK" in r.unanswered and ("data" in r.unanswered) != has_data
        answers = dict(zip(r.answers()["question"], r.answers()["answer"], strict=True))
        for question, text in answers.items():
            if question.startswith("SYN-ACK") or question.startswith(("throughput", "minimum advertised")):
                assert text.startswith("no answer: "), (question, text)
        assert r.throughput_Bps is None and r.min_window is None
        res = CliRunner().invoke(lab, ["tcp", str(TRACE), "--stream", str(stream)])
        assert res.exit_code == 1 and "never answered the SYN" in res.output
    assert not lab_tcp(TRACE).unanswered  # the lab's own stream answers everything


def test_cli_table_json_and_errors(corpus: Path, tmp_path: Path) -> None:
    res = CliRunner().invoke(lab, ["tcp", str(TRACE)])
    assert res.exit_code == 0, res.output
    assert "192.168.1.102:1161" in res.output and "POST" in res.output
    res = CliRunner().invoke(lab, ["tcp", str(TRACE), "--part", "segments", "--format", "json"])
    rows = [json.loads(x) for x in res.output.splitlines()]
    assert [r["length"] for r in rows] == [565, 1460, 1460, 1460, 1460, 1460]
    assert rows[0]["sample_rtt"] == "0.027460000"
    res = CliRunner().invoke(lab, ["tcp", str(TRACE), "--stream", "99"])
    assert res.exit_code == 1 and "no TCP stream 99" in res.output
    with pytest.raises(LabError):
        lab_tcp(CORPUS / "labs" / "dhcp-ethereal-trace-1")  # no TCP at all


def _v(x: object) -> object:
    return None if pd.isna(x) else x  # type: ignore[call-overload]


DHCP_FILES = ["labs/dhcp-ethereal-trace-1", "labs/dhcp-wireshark-trace1-1.pcapng", "dhcp/zeek_dhcp.pcap"]
DHCP_FIELDS = ["frame.number", "dhcp.option.dhcp", "dhcp.id", "ip.src", "ip.dst", "udp.srcport", "udp.dstport",
               "dhcp.hw.mac_addr", "dhcp.ip.client", "dhcp.ip.your", "dhcp.ip.relay",
               "dhcp.option.requested_ip_address", "dhcp.option.dhcp_server_id",
               "dhcp.option.ip_address_lease_time", "dhcp.option.router", "dhcp.option.subnet_mask",
               "dhcp.option.request_list_item"]


@requires_tshark
@pytest.mark.parametrize("rel", DHCP_FILES)
def test_dhcp_lab_matches_tshark(corpus: Path, rel: str) -> None:
    from pcapkit.reports.lab import DHCP_TYPES, lab_dhcp

    df = lab_dhcp(CORPUS / rel)
    ws = tshark_fields(CORPUS / rel, DHCP_FIELDS, display_filter="dhcp")
    assert list(df["frame"]) == [int(r["frame.number"]) for r in ws]
    for row, r in zip(df.itertuples(index=False), ws, strict=True):
        assert row.message == DHCP_TYPES[int(r["dhcp.option.dhcp"])]
        assert row.transaction_id == r["dhcp.id"]
        assert (row.src, row.dst, str(row.sport), str(row.dport)) == (
            r["ip.src"], r["ip.dst"], r["udp.srcport"], r["udp.dstport"])
        assert row.client_mac == r["dhcp.hw.mac_addr"].split(",")[0]
        assert (row.ciaddr, row.yiaddr, row.relay_giaddr) == (r["dhcp.ip.client"], r["dhcp.ip.your"], r["dhcp.ip.relay"])
        assert _v(row.requested_ip) == r.get("dhcp.option.requested_ip_address")
        assert _v(row.server_id) == r.get("dhcp.option.dhcp_server_id")
        lease = None if pd.isna(row.lease_time_s) else str(row.lease_time_s)
        assert lease == r.get("dhcp.option.ip_address_lease_time")
        assert _v(row.router) == r.get("dhcp.option.router")
        assert _v(row.subnet_mask) == r.get("dhcp.option.subnet_mask")
        assert _v(row.param_request_list) == r.get("dhcp.option.request_list_item")


def test_dhcp_lab_kurose_answers(corpus: Path) -> None:
    from pcapkit.reports.lab import lab_dhcp

    df = lab_dhcp(CORPUS / "labs" / "dhcp-ethereal-trace-1")
    dora = df.head(4)
    assert list(dora["message"]) == ["Discover", "Offer", "Request", "ACK"]
    assert dora["transaction_id"].nunique() == 1  # one transaction ID for the exchange
    discover = dora.iloc[0]
    assert (discover["src"], discover["sport"], discover["dst"], discover["dport"]) == (
        "0.0.0.0", 68, "255.255.255.255", 67)
    offer = dora.iloc[1]
    assert offer["yiaddr"] == "192.168.1.101" and offer["server_id"] == "192.168.1.1"
    assert "Release" in set(df["message"])
