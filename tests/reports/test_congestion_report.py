"""``pcapkit congestion`` and :mod:`pcapkit.reports.congestion` on corpus traces: one row
per data segment tshark sees, the declared dtypes and JSON key names, and ``unknown``
with a reason (never a guess, never a traceback) where a trace cannot tell."""

from __future__ import annotations

import json
import struct
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import CORPUS, corpus_files, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.congestion_cmd import congestion
from pcapkit.reports.congestion import (
    LIMITS,
    PHASES,
    SEGMENT_COLUMNS,
    SUMMARY_COLUMNS,
    congestion_segments,
    congestion_summary,
)

TRACES = ["labs/tcp-ethereal-trace-1", "tcp/206_example_b.pcap", "tcp/retransmit-fast009.pcap", "tcp/ssh-dups.pcap"]


@requires_tshark
@pytest.mark.parametrize("rel", TRACES)
def test_one_row_per_data_segment_tshark_sees(corpus: Path, rel: str) -> None:
    path = CORPUS / rel
    df = congestion_segments(path)
    ref = tshark_fields(path, ["frame.number", "frame.time_epoch", "tcp.stream", "tcp.srcport", "tcp.dstport"],
                        display_filter="tcp.len > 0")
    assert ref
    assert df["frame.number"].tolist() == [int(r["frame.number"]) for r in ref]
    assert df["tcp.stream"].tolist() == [int(r["tcp.stream"]) for r in ref]
    assert df["tcp.srcport"].tolist() == [int(r["tcp.srcport"]) for r in ref]
    assert df["tcp.dstport"].tolist() == [int(r["tcp.dstport"]) for r in ref]
    assert df["frame.time_epoch"].astype("int64").tolist() == [
        int(Decimal(r["frame.time_epoch"]) * 1_000_000_000) for r in ref]
    assert {str(t) for t in df.dtypes} >= {"Int64", "datetime64[ns]", "int64"}
    assert {c: str(t) for c, t in df.dtypes.items()} == {
        c: ("string" if t == "string" else t) for c, t in SEGMENT_COLUMNS.items()}
    assert set(df["phase"]) <= set(PHASES) and set(df["limited_by"]) <= set(LIMITS)
    assert (df["cwnd_bytes"] > 0).all()


def test_json_keys_are_the_documented_names(corpus: Path) -> None:
    path = str(CORPUS / "tcp/retransmit-fast009.pcap")
    res = CliRunner().invoke(congestion, [path, "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    # (as every report's JSON: an empty value leaves its key out -- ssthresh before it is set)
    always = [c for c in SEGMENT_COLUMNS if c != "ssthresh_bytes"]
    assert rows and all(list(r) in (always, list(SEGMENT_COLUMNS)) for r in rows)
    assert any("ssthresh_bytes" in r for r in rows)  # set at the fast retransmit
    assert any(r["phase"] == "fast-recovery" for r in rows)  # its fast retransmit
    res = CliRunner().invoke(congestion, [path, "--summary", "--format", "json", "--stream", "0"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert len(rows) == 2 and all(list(r) == [c for c in SUMMARY_COLUMNS if c in r] for r in rows)
    assert all(set(SUMMARY_COLUMNS) - {"reason"} <= set(r) for r in rows)
    server = next(r for r in rows if r["tcp.srcport"] == 80)
    assert server["fast_retransmits"] == 1 and server["loss_events"] == 1 and server["rtos"] == 0
    assert server["cc_algorithm"] == "unknown" and "data segments" in server["reason"]


def test_summary_table_says_why_unknown(corpus: Path) -> None:
    res = CliRunner().invoke(congestion, [str(CORPUS / "labs/tcp-ethereal-trace-1"), "--summary",
                                          "--columns", "tcp.stream,cc_algorithm,reason"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    upload = next(line for line in lines if line.split()[:1] == ["0"] and "application-limited" in line)
    assert "unknown" in upload  # the lab's upload: application-limited, nothing to tell the algorithm by


def test_no_data_gives_unknown_with_reason(corpus: Path) -> None:
    summary = congestion_summary(CORPUS / "tcp/syn-synack.pcap")
    assert len(summary) == 1
    row = summary.iloc[0]
    assert row["cc_algorithm"] == "unknown" and row["reason"] == "no data segments" and row["data_segments"] == 0
    assert congestion_segments(CORPUS / "tcp/syn-synack.pcap").empty


def test_few_packets_give_unknown_with_reason(corpus: Path) -> None:
    summary = congestion_summary(CORPUS / "tcp/retransmit-timeout.pcapng")
    assert len(summary) >= 1
    assert (summary["cc_algorithm"] == "unknown").all()
    assert summary["reason"].str.startswith("only ").all()


def _drop_frame(src: Path, dst: Path, frame: int) -> None:
    """Copy a classic pcap without record ``frame`` (1-based)."""
    data = src.read_bytes()
    endian = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    out, pos, n = [data[:24]], 24, 0
    while pos + 16 <= len(data):
        caplen = struct.unpack(endian + "I", data[pos + 8:pos + 12])[0]
        n += 1
        if n != frame:
            out.append(data[pos:pos + 16 + caplen])
        pos += 16 + caplen
    dst.write_bytes(b"".join(out))


@requires_tshark
def test_a_gap_in_the_capture_gives_unknown_with_reason(corpus: Path, tmp_path: Path) -> None:
    src = CORPUS / "labs/tcp-ethereal-trace-1"
    data = [int(r["frame.number"]) for r in tshark_fields(src, ["frame.number"], display_filter="tcp.len > 1000")]
    gap = tmp_path / "gap.pcap"
    _drop_frame(src, gap, data[40])  # a full data segment in the middle, acknowledged later
    whole, cut = congestion_summary(src), congestion_summary(gap)
    sender = cut["data_segments"].idxmax()
    assert cut.loc[sender, "cc_algorithm"] == "unknown"
    assert cut.loc[sender, "reason"].startswith("a gap in the capture")
    assert not str(whole.loc[whole["data_segments"].idxmax(), "reason"]).startswith("a gap")
    # every remaining data segment still has its row
    assert len(congestion_segments(gap)) == len(congestion_segments(src)) - 1


@pytest.mark.parametrize("path", corpus_files("tcp"), ids=lambda p: p.name)
def test_every_tcp_trace_gives_an_answer_or_a_reason(path: Path) -> None:
    summary = congestion_summary(path)
    assert set(summary["cc_algorithm"]) <= {"reno", "cubic", "bbr", "unknown"}
    unknown = summary["cc_algorithm"] == "unknown"
    assert summary.loc[unknown, "reason"].notna().all()
    assert summary.loc[~unknown, "reason"].isna().all()
    assert ((summary["confidence"] >= 0) & (summary["confidence"] <= 1)).all()
    shares = summary[[c for c in summary.columns if c.startswith("share_")]].sum(axis=1)
    with_data = summary["data_segments"] > 0
    assert (shares[with_data] - 1).abs().max() < 1e-9 if with_data.any() else True
    assert isinstance(congestion_segments(path), pd.DataFrame)
