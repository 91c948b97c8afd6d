"""Random bytes never make the columnar path raise: whatever the packets hold, the
result is a table (marked rows for what the fast path cannot decode)."""

from __future__ import annotations

import struct
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pcapkit.capture.batch import iter_records
from pcapkit.columnar.api import read_packets
from pcapkit.columnar.decode import decode_batch

# frames that start like real headers, then anything: Ethernet/IPv4/TCP, IPv6, VLAN, ARP
PREFIXES = [
    bytes.fromhex("ffffffffffff0000000000010800") + bytes.fromhex("45000028000140004006"),
    bytes.fromhex("ffffffffffff00000000000186dd") + bytes.fromhex("6000000000140640"),
    bytes.fromhex("ffffffffffff0000000000018100"),
    bytes.fromhex("ffffffffffff0000000000010806"),
    b"",
]
LINKTYPES = [1, 113, 276, 101, 0, 108, 228, 229, 9]

packet = st.tuples(st.sampled_from(PREFIXES), st.binary(max_size=120), st.integers(0, 40))


def _pcap(tmp: Path, linktype: int, packets: list[tuple[bytes, bytes, int]]) -> Path:
    out = tmp / "r.pcap"
    with open(out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, linktype))
        for i, (prefix, body, extra) in enumerate(packets):
            data = prefix + body
            f.write(struct.pack("<IIII", 1_700_000_000 + i, i, len(data), len(data) + extra))
            f.write(data)
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(linktype=st.sampled_from(LINKTYPES), packets=st.lists(packet, min_size=1, max_size=80))
def test_random_packets_never_raise(tmp_path: Path, linktype: int, packets: list[tuple[bytes, bytes, int]]) -> None:
    path = _pcap(tmp_path, linktype, packets)
    df = read_packets(path)
    assert len(df) == len(packets)
    assert df["frame.cap_len"].tolist() == [len(p) + len(b) for p, b, _ in packets]
    for rb in iter_records(str(path)):
        for kernel in (True, False):
            decode_batch(rb, use_kernel=kernel)
