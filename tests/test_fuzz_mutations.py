"""Mutated captures through every API: only pcapkit's documented errors or findings.

Hypothesis mutates a dozen corpus files of different formats and link types (bit flips,
byte changes, truncation, length fields, pcapng block lengths, time stamps) and runs
each mutant through the per-packet path (open_capture + dissect_frame), the columnar
path (read_packets) and the TCP reports (tcp_frames, flows, tcptrace_stats, handshakes,
rtt_samples). A mutant may be rejected with a PcapkitError (a one-line error); anything
else -- an IndexError, an OverflowError, a pandas error -- is a bug. Each case must also
finish in bounded time (GitHub issue 11, item 11).
"""

from __future__ import annotations

import contextlib
import struct
import time
import warnings
from pathlib import Path

import pytest
from conftest import CAPTURES, CORPUS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcapkit.errors import PcapkitError

# small files of different formats, link types and protocols (corpus / captures)
SEEDS = ["labs/tcp-ethereal-trace-1", "tcp/tcp_retransmissions.pcapng", "tcp/dsack.dmp.gz", "formats/ipoib.pcap",
         "bgp/BGP_redist.pcap", "labs/dhcp-ethereal-trace-1", "ip/fragmented-4.pcap", "labs/Wireshark_802_11.pcap",
         "tcp/single_byte_rexmit.dmp.gz", "l2/mpls-in-vlan.pcap", "ip/4in6.pcap"]
CAPTURE_SEEDS = ["any-sll2.pcap", "mixed.pcapng"]
MAX_BYTES = 24_000  # a prefix of each seed keeps every case fast
SECONDS_PER_CASE = 20.0


def _seeds() -> list[bytes]:
    import gzip

    out = []
    for rel in SEEDS:
        path = CORPUS / rel
        if path.exists():
            data = path.read_bytes()
            if data[:2] == b"\x1f\x8b":
                data = gzip.decompress(data)
            out.append(data[:MAX_BYTES])
    out += [(CAPTURES / name).read_bytes()[:MAX_BYTES] for name in CAPTURE_SEEDS]
    return out


SEED_BYTES = _seeds()


@st.composite
def mutants(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEED_BYTES)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "byte", "truncate", "u32", "u16", "insert"]))
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "byte":
            data[at] = draw(st.integers(0, 255))
        elif kind == "truncate":
            del data[max(24, at):]
        elif kind == "u32" and at + 4 <= len(data):
            # lengths, time stamps, block lengths: extreme 32-bit values
            value = draw(st.sampled_from([0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, len(data), at]))
            struct.pack_into(draw(st.sampled_from(["<I", ">I"])), data, at, value)
        elif kind == "u16" and at + 2 <= len(data):
            struct.pack_into(">H", data, at, draw(st.sampled_from([0, 1, 0x05DC, 0x0800, 0x86DD, 0xFFFF])))
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
    return bytes(data)


def _apis() -> list[tuple[str, object]]:
    import pcapkit
    from pcapkit.reports.flows import flows
    from pcapkit.reports.handshakes import handshakes
    from pcapkit.reports.rtt import rtt_samples
    from pcapkit.reports.tcp import tcp_frames
    from pcapkit.tcpflow.tcptrace import tcptrace_stats

    def per_packet(path: Path) -> None:
        with pcapkit.open_capture(path) as reader:
            session = pcapkit.DissectSession()
            for frame in reader:
                packet = pcapkit.dissect_frame(frame, session)
                packet.fields()
                _ = packet.findings
                pcapkit.summary_line(frame, packet)

    return [("per_packet", per_packet), ("read_packets", lambda p: pcapkit.read_packets(p, strict=False)),
            ("tcp_frames", tcp_frames), ("flows", flows), ("tcptrace_stats", tcptrace_stats),
            ("handshakes", handshakes), ("rtt", rtt_samples), ("rtt_karn", lambda p: rtt_samples(p, method="karn"))]


APIS = _apis()


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(data=mutants())
def test_mutated_captures_give_documented_errors_only(data: bytes, tmp_path: Path) -> None:
    path = tmp_path / "mutant.cap"
    path.write_bytes(data)
    for name, api in APIS:
        started = time.monotonic()
        with warnings.catch_warnings(), contextlib.suppress(PcapkitError):
            warnings.simplefilter("ignore")
            api(path)  # type: ignore[operator]
        took = time.monotonic() - started
        assert took < SECONDS_PER_CASE, f"{name} took {took:.1f} s on a {len(data)}-byte mutant"
