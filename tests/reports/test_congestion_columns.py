"""The congestion report built from the segment table's columns (the models kept as arrays:
:func:`pcapkit.tcpflow.ccmodel.model_columns`) equals, DataFrame for DataFrame and dtype
for dtype, the report built the way it was before from :class:`Segment` values and the
models' Python values (:func:`pcapkit.reports.congestion.iter_congestion_models`, kept
for callers that have segments): on the ground-truth flows (Reno, CUBIC, BBR; captured at
the sender and at the receiver) and on corpus captures, every stream and one at a time.
benchmarks/congestion/cli_equal.py compares the CLI's bytes against a checkout of before."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from conftest import CORPUS

from pcapkit.columnar.column_table import concat_tables
from pcapkit.reports.congestion import (
    PHASES,
    SEGMENT_COLUMNS,
    SUMMARY_COLUMNS,
    congestion_segments,
    congestion_summary,
    iter_congestion_models,
)
from pcapkit.reports.typed_rows import typed_columns
from pcapkit.tcpflow.ccmodel import CongestionModel

DATA = Path(__file__).resolve().parents[1] / "data"
FLOWS = sorted(str(p.relative_to(DATA)) for p in DATA.glob("congestion*/*.pcap"))
TRACES = ["labs/tcp-ethereal-trace-1", "tcp/206_example_b.pcap", "tcp/retransmit-fast009.pcap",
          "tcp/ssh-dups.pcap", "labs/http-ethereal-trace-5", "labs/NAT_ISP_side.pcap"]


def segments_from_models(path: Path, stream: int | None = None) -> pd.DataFrame:
    """``congestion_segments`` as built from the models' Python values."""
    parts = []
    for st, model, (sender, receiver) in iter_congestion_models(path, stream, data_only=True):
        assert model is not None
        events = model.segments
        values: dict[str, list[Any]] = {
            "frame.number": [e.frame for e in events], "frame.time_epoch": [e.ts_ns for e in events],
            "tcp.stream": [st] * len(events), "tcp.srcport": [sender[1]] * len(events),
            "tcp.dstport": [receiver[1]] * len(events), "cwnd_bytes": [e.cwnd for e in events],
            "ssthresh_bytes": [e.ssthresh for e in events], "phase": [e.phase for e in events],
            "limited_by": [e.limited_by for e in events]}
        parts.append(typed_columns(values, SEGMENT_COLUMNS))
    if not parts:
        return typed_columns({name: [] for name in SEGMENT_COLUMNS}, SEGMENT_COLUMNS).to_pandas()
    df = concat_tables(parts).to_pandas()
    return df.sort_values("frame.number", kind="stable").reset_index(drop=True)


def shares_from_model(model: CongestionModel) -> dict[str, float]:
    spent = dict.fromkeys(PHASES, 0)
    for a, b in itertools.pairwise(model.segments):
        spent[a.phase] += max(b.ts_ns - a.ts_ns, 0)
    total = sum(spent.values())
    if total == 0:
        if model.segments:
            spent[model.segments[0].phase] = 1
        total = max(sum(spent.values()), 1)
    return {p: spent[p] / total for p in PHASES}


def busy_summary_from_models(path: Path, stream: int | None = None) -> pd.DataFrame:
    """The rows of ``congestion_summary`` of the streams with data, from the models' values."""
    values: dict[str, list[Any]] = {name: [] for name in SUMMARY_COLUMNS}
    for st, model, (sender, receiver) in iter_congestion_models(path, stream, data_only=True):
        assert model is not None
        ident = model.identification
        row = {"tcp.stream": st, "tcp.srcport": sender[1], "tcp.dstport": receiver[1],
               "cc_algorithm": ident.algorithm, "confidence": ident.confidence, "loss_events": model.loss_events,
               "fast_retransmits": model.fast_retransmits, "rtos": model.rtos,
               "mean_cwnd_bytes": sum(e.cwnd for e in model.segments) / len(model.segments),
               "data_segments": len(model.segments), "vantage": model.report.vantage, "reason": ident.reason,
               **{f"share_{p.replace('-', '_')}": v for p, v in shares_from_model(model).items()}}
        for name, v in row.items():
            values[name].append(v)
    return typed_columns(values, SUMMARY_COLUMNS).to_pandas()


def assert_same_as_models(path: Path, stream: int | None = None) -> None:
    pd.testing.assert_frame_equal(congestion_segments(path, stream), segments_from_models(path, stream),
                                  check_exact=True)
    summary = congestion_summary(path, stream)
    busy = summary[summary["data_segments"] > 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(busy, busy_summary_from_models(path, stream), check_exact=True)


@pytest.mark.parametrize("rel", FLOWS)
def test_ground_truth_flows_equal_the_models_values(rel: str) -> None:
    assert_same_as_models(DATA / rel)


@pytest.mark.parametrize("rel", TRACES)
def test_corpus_traces_equal_the_models_values(corpus: Path, rel: str) -> None:
    path = CORPUS / rel
    assert_same_as_models(path)
    streams = congestion_summary(path)["tcp.stream"].unique().tolist()
    for stream in [streams[0], streams[-1]]:
        assert_same_as_models(path, int(stream))
