"""read_packets(application=True): the DNS, HTTP and TLS columns equal tshark's first
occurrence of each field, frame by frame (missing where tshark prints nothing); the
default table is unchanged."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import CORPUS

from pcapkit.columnar import dtypes as dt
from pcapkit.columnar.api import iter_batches, read_packets
from pcapkit.columnar.application import APPLICATION_COLUMNS, dtypes

LABS = CORPUS / "labs"
TRACES = ["dns-ethereal-trace-1", "dns-ethereal-trace-3", "http-ethereal-trace-4", "http-ethereal-trace-5",
          "ssl-ethereal-trace-1", "http-wireshark-trace1-1.pcapng", "ip-wireshark-trace1-1.pcapng",
          "NAT_ISP_side.pcap"]
pytestmark = pytest.mark.skipif(not (LABS / TRACES[0]).exists(), reason="corpus missing")


def tshark_first(path: Path, fields: tuple[str, ...]) -> list[list[str]]:
    """tshark's first occurrence of each field per frame ("" when absent)."""
    cmd = ["tshark", "-n", "-r", str(path), "-T", "fields", "-E", "occurrence=f", "-E", "separator=\t",
           "-E", "quote=n"]
    for name in fields:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=True, timeout=120).stdout
    return [line.split("\t") for line in out.splitlines()]


def as_text(value: Any, dtype: Any) -> str:
    """A table value in tshark's -T fields text ("" when missing)."""
    if value is pd.NA or value is None:
        return ""
    if isinstance(dtype, pd.BooleanDtype):
        return "1" if value else "0"
    return str(value)


def http_off_port(row: dict[str, str]) -> bool:
    """tshark finds HTTP where pcapkit's dissectors do not look, by design (as in
    tests/dissect/test_http.py): over UDP (SSDP) or by heuristic off TCP ports 80/8080."""
    if "http.request" not in row and "http.response" not in row:
        return False
    return "udp.srcport" in row or not {row.get("tcp.srcport"), row.get("tcp.dstport")} & {"80", "8080"}


def normalised(text: str, name: str) -> str:
    return str(int(text, 16)) if name == "dns.id" and text else text  # (tshark prints the id in hex)


@pytest.mark.parametrize("trace", TRACES)
def test_columns_equal_tshark_first_occurrence(trace: str) -> None:
    path = LABS / trace
    df = read_packets(path, application=True)
    extra = ("http.request", "http.response", "udp.srcport", "tcp.srcport", "tcp.dstport")
    want = tshark_first(path, (*APPLICATION_COLUMNS, *extra))
    assert len(df) == len(want)
    off_port = [http_off_port({k: v for k, v in zip(extra, row[len(APPLICATION_COLUMNS):], strict=False) if v})
                for row in want]
    types = dtypes()
    filled = 0
    for column, name in enumerate(APPLICATION_COLUMNS):
        assert str(df[name].dtype) == str(types[name]), name
        got = [as_text(v, df[name].dtype) for v in df[name].tolist()]
        expected = [normalised(row[column] if column < len(row) else "", name) for row in want]
        if name.startswith("http."):  # not dissected there: the column stays missing
            expected = ["" if off else e for off, e in zip(off_port, expected, strict=True)]
        mismatches = [(i + 1, g, e) for i, (g, e) in enumerate(zip(got, expected, strict=True)) if g != e]
        assert not mismatches, (name, mismatches[:5])
        filled += sum(1 for e in expected if e)
    assert filled > 0  # the trace carries some of the fields


def test_default_table_unchanged() -> None:
    path = LABS / "http-wireshark-trace1-1.pcapng"
    plain = read_packets(path)
    assert list(plain.columns) == [*dt.COLUMNS, dt.FALLBACK]
    with_app = read_packets(path, application=True)
    assert list(with_app.columns) == [*dt.COLUMNS, *APPLICATION_COLUMNS, dt.FALLBACK]
    pd.testing.assert_frame_equal(with_app[list(plain.columns)], plain)


def test_named_column_implies_application_and_streams_agree() -> None:
    path = LABS / "http-ethereal-trace-5"
    whole = read_packets(path, application=True)
    picked = read_packets(path, columns=["frame.number", "http.request.uri"])
    assert list(picked.columns) == ["frame.number", "http.request.uri"]
    pd.testing.assert_series_equal(picked["http.request.uri"], whole["http.request.uri"])
    # small batches: stream state (TCP reassembly) carries across batch boundaries
    parts = pd.concat(list(iter_batches(path, 3, application=True)), ignore_index=True)
    for name in APPLICATION_COLUMNS:
        pd.testing.assert_series_equal(parts[name], whole[name])
    filtered = read_packets(path, filter="tcp", query="`http.response.code` == 200",
                            columns=["frame.number", "http.response.code"])
    expected = whole[whole["http.response.code"] == 200][["frame.number", "http.response.code"]]
    assert filtered["frame.number"].tolist() == expected["frame.number"].tolist()


def test_empty_capture_has_the_columns(tmp_path: Path) -> None:
    path = tmp_path / "empty.pcap"
    path.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))  # header only
    df = read_packets(path, application=True)
    assert len(df) == 0
    assert list(df.columns) == [*dt.COLUMNS, *APPLICATION_COLUMNS, dt.FALLBACK]
    assert {name: str(df[name].dtype) for name in APPLICATION_COLUMNS} == \
        {name: str(dtype) for name, dtype in dtypes().items()}
