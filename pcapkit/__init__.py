"""pcapkit: capture, dissect and analyse packets.

Importing this package loads nothing heavy (no numpy, pandas or matplotlib): the
public API below is resolved lazily on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY: dict[str, str] = {
    "Frame": "pcapkit.frame",
    "open_capture": "pcapkit.capture.files",
    "CaptureReader": "pcapkit.capture.files",
    "PcapWriter": "pcapkit.capture.pcap",
    "PcapngWriter": "pcapkit.capture.pcapng",
    "dissect": "pcapkit.dissect.driver",
    "read_packets": "pcapkit.columnar.api",
    "iter_batches": "pcapkit.columnar.api",
    "PcapkitError": "pcapkit.errors",
}

__all__ = [*sorted(_LAZY), "__version__"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pcapkit' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
