"""Deferred decoding (LazyLayer, Layer.get) never changes an answer.

Three checks on real captures (broken and truncated ones included):
- a packet whose layers decode lazily gives the same fields, findings, summaries and
  summary line as one whose deferred decoders run at once;
- TCP's deferred fast path gives the same layer as its eager path (the one that also
  serves short, bogus and checksum-checked headers);
- every single-field getter (Layer.get on a layer not decoded yet) returns what the
  full decoding puts in ``fields``.
The dissectors themselves are compared with tshark in test_tshark_parity.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from itertools import islice
from pathlib import Path
from typing import Any

import pytest
from conftest import CORPUS, corpus_files, corpus_id

from pcapkit.dissect import driver, tcp
from pcapkit.dissect.base import _QUICK, Context, Layer, LazyLayer, Next
from pcapkit.dissect.summary import summary_line
from pcapkit.errors import PcapkitError
from pcapkit.frame import Frame

MAX_FRAMES = 1500
FILES = [p for p in corpus_files("broken", "ip", "l2") if "INDEX" not in p.name] + [
    CORPUS / name for name in ("tcp/timestamp.pcap", "tcp/6syns.dmp.gz", "tcp/bigtransfer.pcap",
                               "tcp/206_example_b.pcap", "labs/ip-ethereal-trace-1", "tcp/zwnd.dmp.gz", "labs/Wireshark_802_11.pcap",
                               "formats/dlt_null.dmp.gz")]


def _frames(path: Path) -> list[Frame]:
    from pcapkit.capture.files import read_frames

    frames: list[Frame] = []
    with suppress(PcapkitError):  # a file cut short: the frames before the damage
        frames.extend(islice(read_frames(path), MAX_FRAMES))
    return frames


def _snapshot(packet: driver.Packet) -> Any:
    layers = [(layer.protocol, layer.offset, layer.length, dict(layer.fields), list(layer.findings), layer.summary)
              for layer in packet.layers]
    return (packet.fields(), layers, packet.findings, packet.protocols, summary_line(packet.frame, packet))


def _each(path: Path) -> Iterator[Frame]:
    if not path.is_file():
        pytest.skip(f"{path} not in the corpus")
    frames = _frames(path)
    if not frames:
        pytest.skip("no readable frames")
    yield from frames


_lazy_init = LazyLayer.__init__


def _eager_init(self: LazyLayer, protocol: str, offset: int, length: int, decoder: Callable[..., None],
                args: tuple[Any, ...], summarize: Callable[..., str] | None = None) -> None:
    """A LazyLayer that decodes everything as it is built."""
    _lazy_init(self, protocol, offset, length, decoder, args, summarize)
    self._decode()
    if summarize is not None:
        self._summarize = None
        self._summary = summarize(self, *args)


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_deferred_equals_immediate(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frames = list(_each(path))
    lazy = [_snapshot(driver.dissect(f, driver.DissectSession())) for f in frames]
    monkeypatch.setattr(LazyLayer, "__init__", _eager_init)
    eager = [_snapshot(driver.dissect(f, driver.DissectSession())) for f in frames]
    for frame, a, b in zip(frames, lazy, eager, strict=True):
        assert a == b, f"frame {frame.number}"


def _tcp_eager(data: bytes, offset: int, end: int, ctx: Context) -> tuple[Layer, Next | None]:
    return tcp._dissect_eager(data, offset, end, ctx, max(ctx.reported_end, end))


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_tcp_fast_path_equals_eager_path(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frames = list(_each(path))
    fast = [_snapshot(driver.dissect(f, driver.DissectSession())) for f in frames]
    for key, fn in list(driver._LOOKUPS.items()):
        if fn is tcp.dissect_tcp:
            monkeypatch.setitem(driver._LOOKUPS, key, _tcp_eager)
    eager = [_snapshot(driver.dissect(f, driver.DissectSession())) for f in frames]
    for frame, a, b in zip(frames, fast, eager, strict=True):
        assert a == b, f"frame {frame.number}"


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_single_field_getters(path: Path) -> None:
    checked = 0
    for frame in _each(path):
        packet = driver.dissect(frame)
        for layer in packet.layers:
            getters = _QUICK.get(layer._decoder, {}) if layer._decoder is not None else {}
            quick = {name: layer.get(name) for name in getters}
            assert layer._decoder is not None or not getters  # get() decoded nothing else
            for name, value in quick.items():
                assert name in layer.fields, (frame.number, name)
                assert value == layer.fields[name] and type(value) is type(layer.fields[name]), (frame.number, name)
                checked += 1
    if path.name == "timestamp.pcap":
        assert checked > 1000
