"""Every ``lab`` subcommand, ``dns`` and ``http`` on its lab trace imports neither pandas
nor numba (issue 13: a command on a small file in about tshark's time; pandas alone is a
quarter of a second), and writes the bytes it wrote when it formatted the library's
DataFrame: the whole-process output (no pandas) equals the in-process output of the
command on the report's DataFrame (``write_report(lab_x(...))``, the library path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import CORPUS
from import_probe import run_probed

from pcapkit.cli.main import cli

LABS = CORPUS / "labs"



def _library(name: str) -> Callable[..., Any]:
    """The library function (DataFrame) of a report, by module:function."""
    import importlib

    module, function = name.split(":")
    return getattr(importlib.import_module(f"pcapkit.reports.{module}"), function)  # type: ignore[no-any-return]


# (argv before the traces, the traces, the library function giving the DataFrame, its
# arguments after the paths, write_report's keywords as the command gives them)
CASES: list[tuple[list[str], list[str], str, tuple[Any, ...], dict[str, Any]]] = [
    (["lab", "intro"], ["http-ethereal-trace-1"], "lab_intro:lab_intro", (), {"title": "intro lab"}),
    (["lab", "http"], ["http-ethereal-trace-4"], "lab_http:lab_http", (None,), {"title": "HTTP lab"}),
    (["lab", "http", "--part", "3"], ["http-ethereal-trace-3"], "lab_http:lab_http", (3,), {"title": "HTTP lab"}),
    (["lab", "dns"], ["dns-ethereal-trace-2"], "lab_dns:lab_dns", (), {"title": "DNS lab"}),
    (["lab", "dns", "--part", "messages"], ["dns-ethereal-trace-3"], "lab_dns:lab_dns_messages", (),
     {"view": "lab dns messages"}),
    (["lab", "udp"], ["udp-wireshark-trace.pcap"], "lab_udp:lab_udp", (), {"title": "udp lab"}),
    (["lab", "ip"], ["ip-ethereal-trace-1"], "lab_ip:lab_ip", (), {"title": "ip lab"}),
    (["lab", "icmp"], ["icmp-ethereal-trace-2"], "lab_icmp:lab_icmp", (), {"title": "icmp lab"}),
    (["lab", "dhcp"], ["dhcp-ethereal-trace-1"], "lab_dhcp:lab_dhcp_answers", (), {"title": "DHCP lab"}),
    (["lab", "dhcp", "--part", "messages"], ["dhcp-wireshark-trace1-1.pcapng"], "lab_dhcp:lab_dhcp", (),
     {"view": "lab dhcp"}),
    (["lab", "tls"], ["ssl-ethereal-trace-1"], "lab_tls:lab_tls", (), {"title": "tls lab"}),
    (["lab", "ethernet-arp"], ["ethernet-ethereal-trace-1"], "lab_ethernet:lab_ethernet_arp", (),
     {"title": "ethernet-arp lab"}),
    (["lab", "nat"], ["NAT_home_side.pcap", "NAT_ISP_side.pcap"], "lab_nat:lab_nat", (), {"title": "NAT lab"}),
    (["lab", "wifi"], ["Wireshark_802_11.pcap"], "lab_wifi:lab_wifi", (), {"title": "wifi lab"}),
    (["dns"], ["dns-ethereal-trace-1"], "dns_report:dns_queries", (), {"view": "dns"}),
    (["http"], ["http-ethereal-trace-4"], "http_report:http_requests", (), {"view": "http"}),
]
FORMATS = ["table", "csv", "json"]


def _paths(traces: list[str]) -> list[str]:
    paths = [LABS / t for t in traces]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        pytest.skip(f"not in corpus: {missing}")
    return [str(p) for p in paths]


def _ids(case: tuple[Any, ...]) -> str:
    return " ".join(case[0] + case[1][:1])


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_a_lab_on_its_trace_imports_no_pandas(case: tuple[Any, ...]) -> None:
    argv, traces = case[0], _paths(case[1])
    for fmt in FORMATS:
        proc, imported = run_probed([*argv, *traces, "--format", fmt])
        assert imported == ["IMPORTED "], proc.stderr.decode()[-2000:]
        # the same bytes as the CLI run where pandas is imported (this test's process)
        result = CliRunner().invoke(cli, [*argv, *traces, "--format", fmt], env={"COLUMNS": "120"})
        assert proc.returncode == result.exit_code, result.output
        assert proc.stdout == result.stdout_bytes


@pytest.mark.parametrize("case", CASES, ids=_ids)
@pytest.mark.parametrize("fmt", FORMATS)
def test_a_lab_writes_what_its_dataframe_gives(case: tuple[Any, ...], fmt: str, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The command's output (its table, no pandas) is the bytes of ``write_report`` of the
    library's DataFrame (what every command wrote before the tables)."""
    from pcapkit.cli.output import write_report
    from pcapkit.cli.views import with_time_relative

    argv, traces, function, extra, keywords = case
    paths = _paths(traces)
    monkeypatch.setenv("COLUMNS", "120")
    df = _library(function)(*paths, *extra)
    if argv[0] in ("dns", "http"):
        df = with_time_relative(df, paths[0])
    error = df.attrs.get("pcapkit.error")
    try:
        write_report(df, fmt, None, error=error, **keywords)
    except Exception as exc:  # (a damaged input: the output comes first, then the error)
        assert error is not None, exc
    expected = capsys.readouterr().out
    result = CliRunner().invoke(cli, [*argv, *paths, "--format", fmt], env={"COLUMNS": "120"})
    assert result.stdout == expected
