"""``pcapkit stats`` counts a classic pcap file from record batches (no Frame per
record); the per-frame pass (still used with ``--hierarchy``, for pcapng and other
formats, and for damaged files) is the reference: both must give the same CaptureInfo
on every corpus file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from conftest import corpus_files, corpus_id

from pcapkit.capture.files import open_capture
from pcapkit.capture.pcap import PcapReader
from pcapkit.errors import PcapkitError
from pcapkit.reports.capinfo import _pcap_counts, capture_info


def _pcap_files() -> list[Path]:
    out = []
    for path in corpus_files():
        try:
            with open_capture(str(path)) as reader:
                if isinstance(reader, PcapReader):
                    out.append(path)
        except PcapkitError:
            continue
    return out


FILES = _pcap_files()


def test_the_sample_has_cut_and_whole_files() -> None:
    counted = [_pcap_counts(str(p)) is not None for p in FILES]
    assert sum(counted) >= 50 and not all(counted)  # (damaged ones take the per-frame path)


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_batches_count_as_the_frames(path: Path) -> None:
    fast = capture_info(path, hashes=False)
    slow = capture_info(path, hashes=False, on_frame=lambda frame: None)  # (per frame)
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)
