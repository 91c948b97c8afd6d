"""TCP header dissector: a hex vector under its tcpdump line, tshark parity on every
TCP capture of the corpus (field by field, every name pcapkit.dissect.tcp declares),
and Hypothesis (random / mutated headers give findings, never exceptions).

Parity runs tshark with ``tcp.relative_sequence_numbers:FALSE`` so that the SACK edges
(which this stateless dissector emits raw) compare; seq_raw/ack_raw are raw either way.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CORPUS, corpus_id, requires_tshark
from fieldcompare import compare_file
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcapkit.dissect.base import Context, FindingKind
from pcapkit.dissect.tcp import FIELDS, dissect_tcp, flags_str

NAMES = tuple(s.name for s in FIELDS)


def corpus_with(protocol: str) -> list[Path]:
    """Corpus files whose INDEX.tsv protocol column lists ``protocol``."""
    index = CORPUS / "INDEX.tsv"
    if not index.is_file():
        return []
    out = []
    for line in index.read_text().splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) > 4 and protocol in cols[4].split(","):
            out.append(CORPUS / cols[0])
            LINKTYPES[cols[0]] = [int(t.split()[0]) if t.split()[0].isdigit() else -1
                                  for t in cols[2].split(",") if t.split()]
    return out


LINKTYPES: dict[str, list[int]] = {}


def skip_unsupported_link(rel: str) -> None:
    """Frames of a link type pcapkit has no dissector for never reach the transport."""
    from pcapkit.dissect import registry

    links = registry.tables().get("link", {})
    missing = [t for t in LINKTYPES.get(rel, []) if t not in links]
    if missing:
        pytest.skip(f"link type(s) {missing} not dissected by pcapkit")


# (file, frame, field) -> why pcapkit deliberately differs from tshark
KNOWN: dict[tuple[str, int, str], str] = {}
# AccECN (RFC draft): once the handshake negotiated it, tshark shows the ACE counter
# (tcp.flags.ace, tcp.flags.str "-2-") instead of AE/CWR/ECE: that is per-connection
# state, which belongs to the flow engine, not to this per-segment dissector.
for _frame in (3, 4, 5, 6):
    for _name in ("tcp.flags.ae", "tcp.flags.cwr", "tcp.flags.ece", "tcp.flags.str"):
        KNOWN[("tcp/accecn_handshake.pcap", _frame, _name)] = "AccECN ACE counter needs connection state"
# The FIN segment that completes an HTTP reassembly: tshark hides tcp.payload there;
# whether a payload is shown as part of a reassembled PDU is the stream layer's call.
KNOWN[("tcp/http.dmp.gz", 1002, "tcp.payload")] = "payload consumed by reassembly"
# Overlapping IPv4 fragments with conflicting data: which copy wins is IP reassembly's.
KNOWN[("ip/fragmented-4.pcap", 5, "tcp.payload")] = "overlapping fragments (IP reassembly)"


def tcp_at(hexstr: str, ihl: int = 20) -> tuple[dict[str, object], str, list[FindingKind]]:
    data = bytes.fromhex(hexstr.replace(" ", ""))
    layer, _ = dissect_tcp(data, ihl, len(data), Context(reported_end=len(data)))
    return layer.fields, layer.summary, [f.kind for f in layer.findings]


def test_syn_with_options() -> None:
    # labs/NAT_home_side.pcap frame 1, tcpdump -n -v:
    #   192.168.1.100.4330 > 74.125.91.113.80: Flags [S], cksum 0x0418 (correct), seq 952809727,
    #   win 65535, options [mss 1460,nop,wscale 2,nop,nop,sackOK], length 0
    f, summary, findings = tcp_at(
        "4500 0034 a26c 4000 8006 f05c c0a8 0164 4a7d 5b71 10ea 0050 38ca b8ff 0000 0000"
        "8002 ffff 0418 0000 0204 05b4 0103 0302 0101 0402")
    assert summary == "Flags [S], seq 952809727, win 65535, options [mss 1460,nop,wscale 2,nop,nop,sackOK], length 0"
    assert f["tcp.srcport"] == 4330 and f["tcp.dstport"] == 80
    assert f["tcp.seq_raw"] == 952809727 and f["tcp.ack_raw"] == 0
    assert f["tcp.hdr_len"] == 32 and f["tcp.len"] == 0
    assert f["tcp.flags"] == 0x002 and f["tcp.flags.syn"] is True and f["tcp.flags.ack"] is False
    assert f["tcp.flags.str"] == "··········S·"
    assert f["tcp.window_size_value"] == 65535 and f["tcp.checksum"] == 0x0418
    assert f["tcp.checksum.status"] == 2  # unverified: tshark's default
    assert f["tcp.options.mss_val"] == 1460 and f["tcp.options.wscale.shift"] == 2
    assert f["tcp.options.wscale.multiplier"] == 4
    assert list(f["tcp.option_kind"]) == [2, 1, 3, 1, 1, 4]  # type: ignore[call-overload]
    assert list(f["tcp.option_len"]) == [4, 3, 2]  # type: ignore[call-overload]
    assert f["tcp.options"] == bytes.fromhex("020405b40103030201010402")
    assert findings == []


def test_checksum_verified_when_asked() -> None:
    data = bytes.fromhex(
        "45000034a26c40008006f05cc0a801644a7d5b7110ea005038cab8ff00000000"
        "8002ffff041800000204 05b401030302 01010402".replace(" ", ""))
    ctx = Context(reported_end=len(data), check_checksums=True,
                  extra={"ip.src_raw": data[12:16], "ip.dst_raw": data[16:20], "ip.version": 4})
    layer, _ = dissect_tcp(data, 20, len(data), ctx)
    assert layer.fields["tcp.checksum.status"] == 1  # tcpdump: "cksum 0x0418 (correct)"
    bad = bytearray(data)
    bad[37] ^= 0xFF
    layer, _ = dissect_tcp(bytes(bad), 20, len(bad), ctx)
    assert layer.fields["tcp.checksum.status"] == 0
    assert [f.kind for f in layer.findings] == [FindingKind.CHECKSUM_BAD]


def test_flags_str_letters() -> None:
    # tshark 4.0 prints bit 8 (AE) as 'A' and the reserved bits as 'R'
    assert flags_str(0xFFF) == "RRRACEUAPRSF"
    assert flags_str(0x012) == "·······A··S·"


def test_truncated_and_malformed_headers() -> None:
    hdr = bytes.fromhex("10ea005038cab8ff000000008002ffff04180000")
    layer, nxt = dissect_tcp(hdr[:10], 0, 10, Context(reported_end=20))
    assert nxt is None and [f.kind for f in layer.findings] == [FindingKind.TRUNCATED]
    assert layer.fields["tcp.srcport"] == 4330 and "tcp.seq_raw" not in layer.fields
    layer, nxt = dissect_tcp(hdr[:10], 0, 10, Context(reported_end=10))
    assert [f.kind for f in layer.findings] == [FindingKind.MALFORMED]
    bogus = hdr[:12] + b"\x40" + hdr[13:]  # data offset 4 words = 16 bytes < 20
    layer, nxt = dissect_tcp(bogus, 0, 20, Context(reported_end=20))
    assert nxt is None and layer.fields["tcp.hdr_len"] == 16
    assert "tcp.ack_raw" not in layer.fields  # tshark stops at a bogus header length too
    assert [f.kind for f in layer.findings] == [FindingKind.MALFORMED]


FILES = corpus_with("tcp")


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_tcp_fields_match_tshark(path: Path) -> None:
    rel = corpus_id(path)
    skip_unsupported_link(rel)
    result = compare_file(path, fields=NAMES, options=("tcp.relative_sequence_numbers:FALSE",))
    diffs = [d for d in result.diffs if (rel, d.frame, d.field) not in KNOWN]
    assert not diffs, result.report()


def _random_ctx(n: int, extra: int) -> Context:
    return Context(reported_end=n + extra)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=80), st.integers(0, 40))
def test_random_bytes_never_raise(data: bytes, extra: int) -> None:
    start = time.perf_counter()
    layer, nxt = dissect_tcp(data, 0, len(data), _random_ctx(len(data), extra))
    assert time.perf_counter() - start < 5  # bounded work, on 2 shared cores
    if len(data) < 20:
        assert layer.findings and nxt is None
    if nxt is not None:
        assert 0 <= nxt.offset <= len(data)


SYN = bytes.fromhex("10ea005038cab8ff000000008002ffff0418000002040 5b4010303020101 0402".replace(" ", ""))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(SYN) - 1), st.integers(0, 255)), max_size=8),
       st.integers(0, len(SYN)))
def test_mutated_header_never_raises(edits: list[tuple[int, int]], cut: int) -> None:
    data = bytearray(SYN)
    for at, value in edits:
        data[at] = value
    layer, _ = dissect_tcp(bytes(data[:cut]), 0, cut, Context(reported_end=len(SYN)))
    for name in layer.fields:
        assert name in NAMES


# -- the per-layer summary against tcpdump -n -S (absolute sequence numbers) ---------------

TCPDUMP_KNOWN = {
    # tcpdump decodes every MPTCP subtype; pcapkit only names the option ("mptcp")
    "tcp/mptcp-v1.pcap": "MPTCP option details",
}


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="tcpdump not installed")
@pytest.mark.parametrize("path", [p for p in FILES if corpus_id(p).startswith("tcp/")], ids=corpus_id)
def test_tcp_summary_matches_tcpdump(path: Path, tmp_path: Path) -> None:
    from pcapkit.dissect.driver import dissect_file

    rel = corpus_id(path)
    skip_unsupported_link(rel)
    if rel in TCPDUMP_KNOWN:
        pytest.skip(TCPDUMP_KNOWN[rel])
    source = path
    if path.suffix == ".gz":  # tcpdump reads no gzip
        source = tmp_path / path.stem
        source.write_bytes(gzip.decompress(path.read_bytes()))
    lines = subprocess.run(["tcpdump", "-n", "-S", "-r", str(source)], capture_output=True,
                           text=True, errors="replace", check=False).stdout.splitlines()
    packets = list(dissect_file(path))
    if len(lines) != len(packets):
        pytest.skip("tcpdump printed continuation lines")
    compared = 0
    for line, packet in zip(lines, packets, strict=True):
        m = re.search(r"(Flags \[.*?, length \d+)", line)
        tcp = packet.layer("tcp")
        if m is None or tcp is None or "truncated-ip" in line:
            # a datagram shorter than its IP total length: tcpdump's segment length comes
            # from the IP header, tshark's and pcapkit's from the bytes present
            continue
        compared += 1
        assert tcp.summary == m.group(1), f"frame {packet.frame.number}: {line}"
    assert compared > 0
