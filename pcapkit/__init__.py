"""pcapkit: capture, dissect and analyse packets.

Importing this package loads nothing heavy (no numpy, pandas or matplotlib): the
public API below is resolved lazily on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it ("module:attr" where the names differ)
_LAZY: dict[str, str] = {
    # files
    "Frame": "pcapkit.frame",
    "open_capture": "pcapkit.capture.files",
    "CaptureReader": "pcapkit.capture.reader",
    "PcapWriter": "pcapkit.capture.writer",
    "PcapngWriter": "pcapkit.capture.writer",
    # filters and live capture
    "compile_filter": "pcapkit.capture.bpf",
    "filter_frames": "pcapkit.capture.bpf",
    "LiveCapture": "pcapkit.capture.live",
    # dissection
    # (pcapkit.dissect is the subpackage, so the function is exported as dissect_frame)
    "dissect_frame": "pcapkit.dissect.driver:dissect",
    "dissect_file": "pcapkit.dissect.driver",
    "summary_line": "pcapkit.dissect.summary",
    "Packet": "pcapkit.dissect.driver",
    "DissectSession": "pcapkit.dissect.driver",
    "protocol_hierarchy": "pcapkit.columnar.protocols",
    # columnar
    "read_packets": "pcapkit.columnar.api",
    "iter_batches": "pcapkit.columnar.api",
    # TCP flows and reports
    "TcpEngine": "pcapkit.tcpflow.engine",
    "StreamReassembler": "pcapkit.dissect.stream_reassembly",
    "tcp_frames": "pcapkit.reports.tcp",
    "handshakes": "pcapkit.reports.handshakes",
    "rtt_samples": "pcapkit.reports.rtt",
    "rtt_summary": "pcapkit.reports.rtt",
    "flows": "pcapkit.reports.flows",
    "iostat": "pcapkit.reports.iostat",
    "expert": "pcapkit.reports.expert",
    "tcptrace_stats": "pcapkit.tcpflow.tcptrace",
    "lab_tcp": "pcapkit.reports.lab",
    "lab_dhcp": "pcapkit.reports.lab",
    "lab_dns": "pcapkit.reports.lab_dns",
    "lab_dns_messages": "pcapkit.reports.lab_dns",
    "plot": "pcapkit.reports.plots",
    # errors
    "PcapkitError": "pcapkit.errors",
}

__all__ = [*sorted(_LAZY), "__version__"]


def __getattr__(name: str) -> Any:
    target = _LAZY.get(name)
    if target is None:
        raise AttributeError(f"module 'pcapkit' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(import_module(module), attr or name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
