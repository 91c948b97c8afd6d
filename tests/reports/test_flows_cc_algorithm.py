"""``flows``' cc_algorithm comes from the congestion model's identification alone
(:func:`pcapkit.tcpflow.ccmodel.direction_identification`, which skips the per-segment
estimates and runs the window pass only when no reduction was measured): it must be the
full model's answer (:func:`model_direction`), direction by direction, on the
ground-truth congestion captures (Reno, CUBIC, BBR) and on corpus captures."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import CORPUS

from pcapkit.reports.congestion import (
    _senders,
    _stream_segments,
    bulk_algorithms,
    congestion_models,
)
from pcapkit.tcpflow.analysed import analyse
from pcapkit.tcpflow.ccmodel import direction_identification, model_direction
from pcapkit.tcpflow.congestion import analyse_direction

TRUTH = sorted((Path(__file__).resolve().parents[1] / "data" / "congestion").glob("*.pcap"))
CORPUS_FILES = ["tcp/bigtransfer.pcap", "tcp/dsack.dmp.gz", "tcp/long_rtt.dmp.gz", "labs/tcp-ethereal-trace-1"]


def _paths() -> list[Path]:
    return TRUTH + [CORPUS / name for name in CORPUS_FILES]


@pytest.mark.parametrize("path", _paths(), ids=lambda p: p.name)
def test_identification_alone_is_the_models(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"{path} not here")
    an = analyse(path)
    busiest: dict[int, tuple[int, str]] = {}
    for st, model, _ in congestion_models(an):
        if model is not None and len(model.segments) > busiest.get(st, (-1, ""))[0]:
            busiest[st] = (len(model.segments), model.algorithm)
    expected = dict.fromkeys(range(int(an.stream.max()) + 1), "unknown") if len(an) else {}
    # (bulk_algorithms models only streams with MIN_SEGMENTS data segments: the others
    # are unknown to the full model too)
    expected.update({st: algo for st, (_, algo) in busiest.items()})
    assert bulk_algorithms(an) == expected
    for _st, segs in _stream_segments(an, None):
        for sender, receiver in _senders(segs):
            report = analyse_direction(segs, sender, receiver, flights=False)
            full = model_direction(analyse_direction(segs, sender, receiver))
            assert direction_identification(report) == full.identification


def test_the_truth_captures_name_each_algorithm() -> None:
    # (the comparison above can fail: the three captures are identified as what they are)
    names = {p.name.split("-")[1].split(".")[0]: p for p in TRUTH}
    assert set(names) == {"reno", "cubic", "bbr"}
    for algo, path in names.items():
        assert algo in bulk_algorithms(analyse(path)).values()
