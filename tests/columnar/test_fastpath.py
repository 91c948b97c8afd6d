"""The one-pass decoder of the common shape (:mod:`pcapkit.columnar.fastpath`) gives the
general decoder's columns: every value, validity mask, fallback mark and internal column,
on every capture of the corpus and of ``captures/`` (the general decoder is the one the
tshark parity tests check row by row)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from conftest import capture_files, corpus_files, corpus_id

from pcapkit.capture.batch import iter_records
from pcapkit.capture.compiled import numba_installed
from pcapkit.columnar import decode
from pcapkit.columnar.columns import Columns
from pcapkit.columnar.fastpath import RecordDecoder
from pcapkit.errors import PcapkitError

pytestmark = pytest.mark.skipif(not numba_installed(), reason="the one-pass decoder is compiled by numba")
FILES = corpus_files() + capture_files()


def _same(path: Path) -> int:
    """Compare both decoders on every batch of ``path``; the rows the fast path took."""
    taken = 0
    try:
        for rb in iter_records(str(path), max_packets=4096, decoder=RecordDecoder()):
            general = decode.decode_batch(rb, fast=False)
            # decoded on the record walk (pcap files), and by the loop over a batch
            for fast in (decode.decode_batch(rb), decode.decode_batch(dataclasses.replace(rb, decoded=None))):
                _compare(fast, general)
                if "ip.version" in fast.valid:
                    taken += int(fast.valid["ip.version"].sum())
    except PcapkitError:
        pass  # a damaged file: the batches before the damage were compared
    return taken


def _compare(fast: Columns, general: Columns) -> None:
    assert np.array_equal(fast.fallback, general.fallback)
    names = {n for n in (*fast.values, *general.values) if general.valid.get(n, fast.valid.get(n)).any()
             or fast.valid.get(n, general.valid.get(n)).any()}
    for name in names:
        assert name in fast.values and name in general.values, name
        assert fast.values[name].dtype == general.values[name].dtype, name
        assert np.array_equal(fast.valid[name], general.valid[name]), name
        assert np.array_equal(fast.values[name], general.values[name]), name


@pytest.mark.parametrize("path", FILES, ids=[corpus_id(p) for p in FILES])
def test_same_columns_as_general_decoder(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decode, "FAST_MIN_ROWS", 1)  # small traces take the fast path too
    _same(path)


def test_fast_path_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above is not vacuous: the fast path decodes most TCP frames."""
    monkeypatch.setattr(decode, "FAST_MIN_ROWS", 1)
    assert _same(next(p for p in FILES if p.name == "NAT_ISP_side.pcap")) > 100


def test_decoder_walk_finds_the_same_records(monkeypatch: pytest.MonkeyPatch) -> None:
    """The decoding walk sizes its outputs by its estimate of the records left in the chunk and
    stops there (the batch reader walks on): the same records, numbered the same, whatever the
    estimate; the decoded columns still the general decoder's."""
    monkeypatch.setattr(RecordDecoder, "PROBE", 5)
    monkeypatch.setattr(decode, "FAST_MIN_ROWS", 1)
    path = next(p for p in FILES if p.name == "NAT_ISP_side.pcap")
    plain = list(iter_records(str(path), chunk_bytes=1 << 14))
    walked = list(iter_records(str(path), chunk_bytes=1 << 14, decoder=RecordDecoder()))
    assert len(walked) > len(plain)
    for name in ("caplen", "wirelen", "ts_ns"):
        assert np.array_equal(np.concatenate([getattr(rb, name) for rb in plain]),
                              np.concatenate([getattr(rb, name) for rb in walked])), name
    assert [rb.first_number for rb in walked] == list(np.cumsum([1] + [len(rb) for rb in walked[:-1]]))
    for rb in walked:
        _compare(decode.decode_batch(rb), decode.decode_batch(rb, fast=False))


def test_shared_masks_are_copied_on_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """The columns of a layer share one validity mask; filling one column's row (as the
    per-packet path does for the rows it dissects) changes that column only."""
    monkeypatch.setattr(decode, "FAST_MIN_ROWS", 1)
    path = next(p for p in FILES if p.name == "NAT_ISP_side.pcap")
    cols = decode.decode_batch(next(iter_records(str(path))))
    assert cols.valid["tcp.srcport"] is cols.valid["tcp.dstport"]
    row = int(np.flatnonzero(~cols.valid["tcp.srcport"])[0])
    before = {name: valid.copy() for name, valid in cols.valid.items()}
    cols.set("tcp.srcport", np.array([row]), np.array([80]))
    assert cols.valid["tcp.srcport"][row]
    for name, valid in cols.valid.items():
        if name != "tcp.srcport":
            assert np.array_equal(valid, before[name]), name
