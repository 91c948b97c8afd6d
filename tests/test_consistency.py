"""Every command sees the same TCP frames with the same values and dtypes.

On every corpus file and every capture in captures/, four views of one file are read:
the per-packet dissection (``pcapkit show``), the columnar packets table
(``pcapkit.read_packets``), tshark's TCP analysis (``tcp_frames``, ``pcapkit tcp``) and
the conversations table (``flows``). They must agree on which frames carry a TCP
segment that tshark analyses and, on each of those frames, on the fields they share
(frame.number, addresses, ports, tcp.flags, tcp.flags.str, raw sequence numbers,
tcp.len, the window) and on tcp.stream; and a field present in two tables has one dtype.

Which TCP header a table describes is part of its contract: the tcp table describes
the segment tshark analyses (the innermost TCP header not quoted by an ICMP error, after
IP reassembly), the packets table a field's first (outermost) occurrence, as
``tshark -T fields -E occurrence=f``. The test compares each table with the dissection
under its own rule.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import CAPTURES, capture_files, corpus_files, corpus_id

from pcapkit.columnar.api import read_packets
from pcapkit.dissect.driver import dissect_file
from pcapkit.dissect.tcp import flags_str
from pcapkit.errors import PcapkitError
from pcapkit.reports.flows import flows
from pcapkit.reports.tcp import tcp_frames

FILES = corpus_files() + capture_files()
SHARED = ("frame.number", "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.flags.str", "tcp.seq_raw",
          "tcp.ack_raw", "tcp.len", "tcp.window_size_value")


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def _dissected(path: Path) -> tuple[dict[int, dict[str, Any]], dict[int, dict[str, Any]]]:
    """Per frame number: the analysed TCP segment's values (innermost TCP layer not under
    an ICMP error, with its carrying IP layer), and the first occurrence of each field."""
    analysed: dict[int, dict[str, Any]] = {}
    first: dict[int, dict[str, Any]] = {}
    for packet in dissect_file(path):
        number = packet.frame.number
        fields = packet.fields()
        first[number] = {name: _first(fields.get(name)) for name in (*SHARED, "ip.src", "ip.dst", "ipv6.src",
                                                                    "ipv6.dst")}
        net = None
        for layer in packet.layers:
            if layer.protocol in ("icmp", "icmpv6"):
                break
            if layer.protocol in ("ip", "ipv6"):
                net = layer
            if layer.protocol == "tcp" and net is not None:
                f = layer.fields
                if f.get("tcp.flags") is None:
                    break
                row = {name: f.get(name) for name in SHARED if name != "frame.number"}
                row["frame.number"] = number
                prefix = net.protocol
                row[f"{prefix}.src"], row[f"{prefix}.dst"] = net.fields[f"{prefix}.src"], net.fields[f"{prefix}.dst"]
                analysed[number] = row
                break
    return analysed, first


def _value(series: pd.Series, i: int) -> Any:
    v = series.iloc[i]
    return None if pd.isna(v) else (v if isinstance(v, str) else int(v))


@pytest.mark.parametrize("path", FILES, ids=[corpus_id(p) if CAPTURES not in p.parents else p.name for p in FILES])
def test_show_read_packets_tcp_and_flows_agree(path: Path) -> None:
    try:
        tcp = tcp_frames(path)
    except PcapkitError as exc:
        pytest.skip(f"unreadable: {exc}")
    analysed, first = _dissected(path)
    packets = read_packets(path, strict=False)

    # the same TCP frames
    tcp_numbers = tcp["frame.number"].tolist()
    if "pcapkit.error" not in tcp.attrs:
        # (a cut file: the dissection's reader may read a partial last frame differently)
        assert sorted(tcp_numbers) == sorted(analysed), "tcp table and dissection see different TCP frames"
    # each frame's values in the tcp table equal the dissected segment's
    for i, number in enumerate(tcp_numbers):
        want = analysed.get(number)
        if want is None:
            continue
        for name in (*SHARED, "ip.src", "ip.dst", "ipv6.src", "ipv6.dst"):
            got = _value(tcp[name], i)
            expected = want.get(name)
            if name == "tcp.len" and expected is None:
                continue  # a short segment: neither shows a length
            assert got == expected, (number, name, got, expected)
        assert tcp["tcp.flags.str"].iloc[i] == flags_str(int(tcp["tcp.flags"].iloc[i]))
    # the packets table holds each field's first occurrence, as the dissection gives it
    by_number = dict(zip(packets["frame.number"].tolist(), range(len(packets)), strict=True))
    for number, values in first.items():
        i = by_number.get(number)
        if i is None:
            continue
        for name, expected in values.items():
            if name not in packets.columns or expected is None:
                continue
            assert _value(packets[name], i) == expected, (number, name)
    # one dtype per field across tables
    for name in tcp.columns:
        if name in packets.columns:
            assert tcp[name].dtype.name == packets[name].dtype.name, name
    # flows: one row per tcp.stream, with the tcp table's frames of that stream
    conv = flows(path)
    tcp_rows = conv[conv["tcp.stream"].notna()]
    assert sorted(int(s) for s in tcp_rows["tcp.stream"]) == sorted(int(s) for s in tcp["tcp.stream"].unique())
    per_stream = Counter(int(s) for s in tcp["tcp.stream"])
    for _, row in tcp_rows.iterrows():
        assert int(row["packets"]) == per_stream[int(row["tcp.stream"])], row["tcp.stream"]
    assert conv["tcp.stream"].dtype.name == tcp["tcp.stream"].dtype.name
