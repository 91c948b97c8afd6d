"""``pcapkit show``'s tree lines are made by a renderer per layer shape (the order of a
layer's field names), generated once per command (pcapkit.cli.show_cmd._layer_renderer):
the trees must equal those of the general per-field loop it replaces, for every layer of
a spread of corpus files, with Wireshark's labels and with field names, and past the
cap on generated renderers."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import corpus_files, corpus_id

from pcapkit.cli import show_cmd
from pcapkit.dissect.driver import dissect_file
from pcapkit.errors import PcapkitError

FILES = [p for p in corpus_files() if p.stat().st_size <= 200_000][::7]
FRAMES = 300


def _trees(path: Path, labels: bool, field_lines: dict[object, object]) -> list[list[str]]:
    specs = show_cmd.field_specs()
    out = []
    try:
        for n, packet in enumerate(dissect_file(path)):
            if n >= FRAMES:
                break
            out.append(show_cmd.packet_tree(packet, specs, labels=labels, field_lines=field_lines))
    except PcapkitError:
        pass
    return out


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_generated_renderers_equal_the_general_loop(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for labels in (True, False):
        generated = _trees(path, labels, {})
        with monkeypatch.context() as m:
            m.setattr(show_cmd, "MAX_SHAPES", 0)  # every layer through the general loop
            general = _trees(path, labels, {})
        assert generated == general
        assert _trees(path, labels, {}) == _trees(path, labels, {})  # (a cache kept or not)
