"""The ``flows`` and ``tcptrace`` commands: formats, filters, errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from click.testing import CliRunner
from conftest import CORPUS, requires_tshark
from oracle import tshark_fields

from pcapkit.cli.flows_cmd import flows, tcptrace
from pcapkit.frame import format_epoch_ns


def test_flows_json_and_filter(corpus: Path) -> None:
    path = CORPUS / "labs" / "http-ethereal-trace-5"
    res = CliRunner().invoke(flows, [str(path), "tcp", "--format", "json"])
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in res.output.splitlines()]
    assert rows and all(r["proto"] == "tcp" for r in rows)
    # exact decimal epoch text, as frame.time_epoch
    first = min(rows, key=lambda r: r["first"])["first"]
    assert first.count(".") == 1 and len(first.split(".")[1]) == 9


@requires_tshark
def test_flows_parquet_file_round_trip(corpus: Path, tmp_path: Path) -> None:
    path = CORPUS / "labs" / "dns-ethereal-trace-1"
    out = tmp_path / "f.parquet"
    res = CliRunner().invoke(flows, [str(path), "--format", "parquet", "-o", str(out)])
    assert res.exit_code == 0, res.output
    df = pd.read_parquet(out)
    assert str(df["first"].dtype) == "datetime64[ns]"
    epochs = [r["frame.time_epoch"] for r in tshark_fields(path, ["frame.time_epoch"], display_filter="ip or ipv6")]
    assert format_epoch_ns(df["first"].min().value) == epochs[0]
    assert format_epoch_ns(df["last"].max().value) == epochs[-1]
    assert int(df["packets"].sum()) == len(epochs)


def test_tcptrace_table_and_csv(corpus: Path) -> None:
    path = CORPUS / "tcp" / "tcp.dmp.gz"
    res = CliRunner().invoke(tcptrace, [str(path)])  # a row per connection direction, 120 columns wide
    assert res.exit_code == 0 and "unique_" in res.output and re.search(r"(?m)^ +2  b2a ", res.output)
    assert max(len(line) for line in res.output.splitlines()) <= 120
    res = CliRunner().invoke(tcptrace, [str(path), "--conn", "2"])  # a statistic per line, as tcptrace
    assert res.exit_code == 0 and "unique_bytes_sent" in res.output and "2 b2a" in res.output
    res = CliRunner().invoke(tcptrace, [str(path), "--conn", "2", "--format", "csv"])
    assert res.exit_code == 0
    assert len(res.output.strip().splitlines()) == 3  # header + two directions


def test_bad_file_is_one_error_line(tmp_path: Path) -> None:
    bad = tmp_path / "x.pcap"
    bad.write_bytes(b"not a capture at all")
    for cmd in (flows, tcptrace):
        res = CliRunner().invoke(cmd, [str(bad)])
        assert res.exit_code == 1
        assert "Traceback" not in res.output
