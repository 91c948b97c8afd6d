"""``analysis.run(outputs=...)`` goes through the rows in chunks, the state carried from
one to the next: every output it keeps must equal the one-buffer run's, compiled and
interpreted, on real captures (SACK blocks crossing chunk edges, port reuse, many
conversations), with chunks of a few rows so that every edge case meets a boundary."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import corpus_files, corpus_id

from pcapkit.tcpflow import analysis
from pcapkit.tcpflow.segments import segment_table

FILES = [p for p in corpus_files("tcp", "labs") if p.stat().st_size < 400_000][:40]


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "interpreted"])
def test_chunked_outputs_equal_one_pass(path: Path, compiled: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    segs = segment_table(path).tshark_view()
    if not len(segs):
        pytest.skip("no TCP segment")
    key, dirb = segs.conversation_keys()
    sack_l, sack_r = segs.sack_blocks(3)
    args = (segs.frame, segs.ts_ns, key, dirb, segs.seq, segs.ack, segs.flags, segs.window, segs.seglen,
            segs.wscale, segs.sack_n, sack_l, sack_r)
    if compiled and not analysis.backend(None).compiled:
        pytest.skip("numba not installed")
    whole = analysis.run(*args, compiled=compiled)
    monkeypatch.setattr(analysis, "CHUNK_ROWS", 7)
    every = analysis.run(*args, compiled=compiled, outputs=analysis.OUTPUTS)
    some = analysis.run(*args, compiled=compiled, outputs=("stream", "ack_rtt", "bif"))
    for name in analysis.OUTPUTS:
        assert np.array_equal(getattr(every, name), getattr(whole, name)), name
    assert (every.warnings, every.n_conversations) == (whole.warnings, whole.n_conversations)
    for name in ("stream", "ack_rtt", "bif"):
        assert np.array_equal(getattr(some, name), getattr(whole, name)), name
    assert some.seq is None and some.have is None


def test_sample_has_sack_and_many_conversations() -> None:
    """The sample reaches what the chunk edges could break: SACK rows and several streams."""
    sack = streams = 0
    for path in FILES:
        segs = segment_table(path).tshark_view()
        sack += int((segs.sack_n > 0).sum())
        streams = max(streams, int(segs.conversation_keys()[0].max(initial=-1)) + 1)
    assert sack > 100 and streams > 10


def test_unknown_output_is_refused() -> None:
    empty = np.zeros(0, np.int64)
    with pytest.raises(ValueError, match="unknown analysis outputs"):
        analysis.run(*[empty] * 11, empty.reshape(0, 3), empty.reshape(0, 3), outputs=("sequence",))
