"""``pcapkit read -T fields -e ...`` prints byte for byte what ``tshark -T fields -e ...``
prints, with the same -E options (GitHub issue 14, item 4), the TCP analysis fields
(``tcp.stream``, ``tcp.seq``, ``tcp.analysis.*``) included; ``read`` lines start with
tshark's frame number."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, corpus_id, requires_tshark

from pcapkit.cli.read_cmd import read
from pcapkit.proto.tcp_analysis import FIELDS as TCP_ANALYSIS

FILES = [CORPUS / n for n in ("labs/dhcp-ethereal-trace-1", "labs/dns-ethereal-trace-1", "labs/icmp-ethereal-trace-1",
                              "labs/tcp-ethereal-trace-1", "labs/ip-wireshark-trace1-1.pcapng",
                              "ip/icmp6-nd-options.pcap", "labs/NAT_home_side.pcap",
                              # retransmissions, duplicate ACKs, SACK, RTOs
                              "tcp/206_example_b.pcap", "tcp/dsack.dmp.gz", "tcp/fin_retransmission.pcap",
                              "bgp/bgp-addpath.pcap")]  # (a day of one digit: frame.time pads it)
# Ethernet, ARP, IPv4, IPv6, ICMP, ICMPv6, TCP, UDP, DNS, DHCP fields, frame times from the reader loop
FIELDS = ("frame.number", "frame.time", "frame.time_epoch", "frame.time_relative", "frame.time_delta", "frame.len",
          "frame.cap_len", "eth.src", "eth.dst", "eth.type", "arp.opcode", "arp.src.hw_mac", "arp.src.proto_ipv4",
          "arp.dst.proto_ipv4", "ip.src", "ip.dst", "ip.ttl", "ip.proto", "ip.len", "ip.id", "ip.flags.df",
          "ip.checksum", "ip.hdr_len", "ipv6.src", "ipv6.dst", "ipv6.nxt", "ipv6.hlim", "icmp.type", "icmp.code",
          "icmp.seq", "icmpv6.type", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw", "tcp.flags",
          "tcp.len", "tcp.window_size_value", "tcp.options.mss_val", "udp.srcport", "udp.dstport", "udp.length",
          "udp.checksum", "dns.id", "dns.flags.response", "dns.qry.name", "dns.a", "dns.count.answers",
          "dns.resp.ttl", "dhcp.option.dhcp", "dhcp.ip.your", "dhcp.hw.mac_addr",
          "dhcp.option.requested_ip_address", *(spec.name for spec in TCP_ANALYSIS))
OPTION_SETS = [(), ("-E", "header=y", "-E", "separator=,", "-E", "occurrence=f", "-E", "quote=d"),
               ("-E", "separator=/s", "-E", "occurrence=l"), ("-E", "aggregator=;", "-E", "quote=d")]
# deliberate differences: (file, field, reason) -- none so far
KNOWN: list[tuple[str, str, str]] = []


def fields_args() -> list[str]:
    return [w for name in FIELDS for w in ("-e", name)]


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("options", OPTION_SETS, ids=["default", "header-csv-first-quoted", "space-last", "aggregator-quoted"])
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_fields_equal_tshark_byte_for_byte(path: Path, options: tuple[str, ...]) -> None:
    theirs = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", *fields_args(), *options],
                            capture_output=True, text=True, check=True).stdout
    result = CliRunner().invoke(read, [str(path), "-T", "fields", *fields_args(), *options])
    assert result.exit_code == 0, result.output
    ours = result.stdout
    if ours == theirs:
        return
    sep = {"separator=,": ",", "separator=/s": " "}
    cut = next((sep[o] for o in options if o in sep), "\t")
    for n, (a, b) in enumerate(zip(ours.splitlines(), theirs.splitlines(), strict=True), 1):
        for name, x, y in zip(FIELDS, a.split(cut), b.split(cut), strict=False):
            assert x == y or any(f == corpus_id(path) and k == name for f, k, _ in KNOWN), \
                f"line {n} {name}: pcapkit {x!r}, tshark {y!r}"
    raise AssertionError("outputs differ in layout")


def test_unknown_field_is_one_error() -> None:
    result = CliRunner().invoke(read, [str(FILES[0]), "-T", "fields", "-e", "no.such.field"])
    assert result.exit_code == 2 and "no.such.field" in result.output


@requires_tshark
@pytest.mark.tshark
def test_lines_start_with_tsharks_frame_number() -> None:
    """Unfiltered, the numbers are tshark's; filtered, they are the frames' own numbers
    (as tshark -Y), which the JSON rows carry."""
    import json

    path = CORPUS / "labs" / "NAT_home_side.pcap"
    theirs = subprocess.run(["tshark", "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"],
                            capture_output=True, text=True, check=True).stdout.split()
    assert [line.split()[0] for line in CliRunner().invoke(read, [str(path)]).stdout.splitlines()] == theirs
    result = CliRunner().invoke(read, [str(path), "udp"])
    rows = CliRunner().invoke(read, [str(path), "udp", "--format", "json"]).stdout.splitlines()
    numbers = [str(json.loads(row)["frame.number"]) for row in rows]
    assert [line.split()[0] for line in result.stdout.splitlines()] == numbers and numbers[-1] != str(len(numbers))
    plain = CliRunner().invoke(read, [str(path), "udp", "--no-number"]).stdout.splitlines()
    assert [line.split(None, 1)[1] for line in result.stdout.splitlines()] == plain


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Kolkata"])
def test_frame_time_is_local_time_as_tshark(zone: str) -> None:
    """frame.time is the local time with the zone's name: the same as tshark's in another zone."""
    import os
    import sys

    path = CORPUS / "labs" / "http-ethereal-trace-1"
    env = {**os.environ, "TZ": zone}
    args = ["-T", "fields", "-e", "frame.time", "-c", "5"]
    theirs = subprocess.run(["tshark", "-n", "-r", str(path), *args], capture_output=True, text=True, check=True,
                            env=env).stdout
    ours = subprocess.run([sys.executable, "-m", "pcapkit", "read", str(path), *args], capture_output=True,
                          text=True, check=True, env=env).stdout
    assert ours == theirs and theirs.count("\n") == 5


@pytest.mark.parametrize("batch", [1, 7, 1 << 14])
def test_analysis_batch_by_batch_equals_the_whole_file(batch: int) -> None:
    """The listing's TCP analysis, run a batch at a time as far as the listing has read,
    gives each frame the values of the analysis of the whole file at once (whose text
    test_tshark_tcp compares with tshark), frames asked for with gaps (a filter)."""
    from pcapkit.cli.fields_view import AnalysisValues
    from pcapkit.tcpflow.engine import analyse, tshark_text
    from pcapkit.tcpflow.segments import segments

    path = CORPUS / "tcp" / "206_example_b.pcap"
    if not path.exists():
        pytest.skip("corpus missing")
    names = [spec.name for spec in TCP_ANALYSIS]
    whole = {rec.segment.frame_number: tshark_text(rec) for rec in analyse(segments(path))}
    lazy = AnalysisValues(str(path), names, batch_packets=batch)
    asked = [n for n in range(1, max(whole) + 1) if n % 3 != 1]
    assert len([n for n in asked if n in whole]) > 900
    for number in asked:
        mine = {k: ",".join(v) if isinstance(v, list) else v for k, v in lazy.of(number).items()}
        assert mine == {k: v for k, v in whole.get(number, {}).items() if k in names}, number


@requires_tshark
@pytest.mark.tshark
def test_filtered_listing_keeps_the_analysis_of_every_frame() -> None:
    """With a filter, the analysis still sees every frame (tshark -Y: stream numbers and
    relative sequence numbers as in the whole capture)."""
    path = CORPUS / "labs" / "NAT_home_side.pcap"
    args = ["-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.seq", "-e", "tcp.analysis.ack_rtt"]
    theirs = subprocess.run(["tshark", "-n", "-r", str(path), "-Y", "tcp.port == 80", *args], capture_output=True,
                            text=True, check=True).stdout
    result = CliRunner().invoke(read, [str(path), "tcp", "port", "80", *args])
    assert result.exit_code == 0, result.output
    assert result.stdout == theirs and theirs.count("\n") > 50
    assert any(line.split("\t")[1] not in ("", "0") for line in theirs.splitlines())
