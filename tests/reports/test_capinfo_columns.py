"""``pcapkit stats`` counts classic pcap and pcapng files from record batches (no Frame
per record; a pcapng file's sections, interfaces and statistics as the batches pass
them); the per-frame pass (still used with ``--hierarchy``, for other formats, and for
damaged files) is the reference: both must give the same CaptureInfo on every corpus
file, and on damaged copies of the pcapng ones."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

import pytest
from conftest import corpus_files, corpus_id, seeded_mutants

from pcapkit.capture.files import open_capture
from pcapkit.capture.pcap import PcapReader
from pcapkit.capture.pcapng import PcapngReader
from pcapkit.errors import PcapkitError
from pcapkit.reports import record_counts
from pcapkit.reports.capinfo import capture_info
from pcapkit.reports.record_counts import pcap_counts, pcapng_counts


def _files(kind: type) -> list[Path]:
    out = []
    for path in corpus_files():
        try:
            with open_capture(str(path)) as reader:
                if isinstance(reader, kind):
                    out.append(path)
        except PcapkitError:
            continue
    return out


FILES = _files(PcapReader)
PCAPNG_FILES = _files(PcapngReader)


def test_the_sample_has_cut_and_whole_files() -> None:
    counted = [pcap_counts(str(p)) is not None for p in FILES]
    assert sum(counted) >= 50 and not all(counted)  # (damaged ones take the per-frame path)
    counted = [pcapng_counts(str(p)) is not None for p in PCAPNG_FILES]
    assert sum(counted) >= 50 and not all(counted)


@pytest.mark.parametrize("path", FILES + PCAPNG_FILES, ids=corpus_id)
def test_batches_count_as_the_frames(path: Path) -> None:
    fast = capture_info(path, hashes=False)
    slow = capture_info(path, hashes=False, on_frame=lambda frame: None)  # (per frame)
    assert dataclasses.asdict(fast) == dataclasses.asdict(slow)


def _info(path: Path, **kw: object) -> object:
    try:
        return dataclasses.asdict(capture_info(path, hashes=False, **kw))  # type: ignore[arg-type]
    except PcapkitError as exc:
        return exc.one_line() if hasattr(exc, "one_line") else str(exc)


# three sections, interfaces, statistics, name resolution, custom and simple packet blocks; a lab trace
MUTATED = ["formats/le_test202.pcapng", "formats/be_test202.pcapng", "formats/le_test102.pcapng",
           "formats/be_test016.pcapng", "labs/dhcp-wireshark-trace1-1.pcapng"]


@pytest.mark.parametrize("rel", MUTATED)
def test_damaged_pcapng_counts_as_the_frames(rel: str, tmp_path: Path) -> None:
    """Bits flipped and files cut (seeded): the same CaptureInfo (or error) either way,
    whether the batches read the whole copy or stop at its damage."""
    from conftest import CORPUS

    source = CORPUS / rel
    if not source.exists():
        pytest.skip("corpus missing")
    served = 0
    for k, data in enumerate(seeded_mutants(source.read_bytes(), rel, 30)):
        path = tmp_path / f"m{k}.pcapng"
        path.write_bytes(data)
        assert _info(path) == _info(path, on_frame=lambda frame: None), k
        served += pcapng_counts(str(path)) is not None
    assert served >= 3  # (some copies are read whole by the batches)


# the run counting of files up to SMALL_FILE_BYTES (struct) and of bigger ones (numpy)
COUNTERS = {"struct": 1 << 40, "numpy": 0}


@pytest.fixture(params=list(COUNTERS))
def counter(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(record_counts, "SMALL_FILE_BYTES", COUNTERS[request.param])
    return str(request.param)


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_runs_count_as_the_batches(path: Path, monkeypatch: pytest.MonkeyPatch, counter: str) -> None:
    """Counting runs of equal-sized records (taken whatever the runs' length here) gives
    the record walk's counts, or leaves the file to it (damage, other record layouts)."""
    monkeypatch.setattr(record_counts, "MIN_RUN", 0)
    runs = record_counts.pcap_counts_by_runs(str(path))
    if runs is not None:
        assert runs == pcap_counts(str(path))


@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_records_count_as_the_batches(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small file whose records are not in runs is counted a record header at a time
    (struct, no numpy): the record walk's counts, or the file is left to it."""
    monkeypatch.setattr(record_counts, "_count_runs_unpacked", lambda *args: None)
    monkeypatch.setattr(record_counts, "SMALL_FILE_BYTES", 1 << 40)
    counted = record_counts.pcap_counts_by_runs(str(path))
    if counted is not None:
        assert counted == pcap_counts(str(path))


def test_records_of_many_sizes_are_counted_without_numpy(tmp_path: Path) -> None:
    """Records of changing sizes (no runs), a fraction of a second or more and one cut
    short: the counts of the record walk."""
    path = tmp_path / "sizes.pcap"
    _pcap(path, [(1_700_000_000 + k, (k * 7919) % 1_000_000, 60 + k % 7, 60 + k % 7 + (k % 5 == 0))
                 for k in range(300)] + [(1_700_000_500, 1_500_000, 10, 10)])
    monkeypatch = pytest.MonkeyPatch()
    with monkeypatch.context() as m:
        m.setattr(record_counts, "MIN_RUN", 1 << 30)  # (the run counter gives up: records of many sizes)
        counted = record_counts.pcap_counts_by_runs(str(path))
    assert counted is not None and counted == pcap_counts(str(path))


def _pcap(path: Path, records: list[tuple[int, int, int, int]], nanosecond: bool = False) -> None:
    """A pcap file of (seconds, fraction, caplen, wirelen) records, zero bytes as data."""
    magic = 0xA1B23C4D if nanosecond else 0xA1B2C3D4
    out = [struct.pack("<IHHiIII", magic, 2, 4, 0, 0, 65535, 1)]
    out += [struct.pack("<IIII", sec, frac, cap, wire) + bytes(cap) for sec, frac, cap, wire in records]
    path.write_bytes(b"".join(out))


@pytest.mark.parametrize("nanosecond", [False, True])
def test_runs_of_equal_records_are_counted_without_the_walk(tmp_path: Path, nanosecond: bool, counter: str) -> None:
    """Long runs of equal caplens (one cut short by the snap length), times out of order
    and a fraction past one second: the runs' counts are the walk's; a record cut at the
    end of the file leaves the count to the walk (which reports the damage)."""
    records = [(1000 + i, i * 7 % 1000, 60, 60) for i in range(500)]
    records += [(900, 2_000_000_000 if nanosecond else 2_000_000, 60, 60)]
    records += [(1600 + i, 5, 96, 1514) for i in range(300)] + [(1500, 1, 42, 42)] * 200
    path = tmp_path / "runs.pcap"
    _pcap(path, records, nanosecond)
    runs = record_counts.pcap_counts_by_runs(str(path))
    assert runs is not None and runs == pcap_counts(str(path))
    assert runs[6:] == (96, 96) and runs[5] is False
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(path.read_bytes()[:-10])
    assert record_counts.pcap_counts_by_runs(str(cut)) is None
    short_runs = tmp_path / "short-runs.pcap"
    _pcap(short_runs, [(1, 0, 60 + i % 2, 60 + i % 2) for i in range(2000)])
    # (a small file is then counted a record at a time; a big one is left to the walk)
    expected = pcap_counts(str(short_runs)) if counter == "struct" else None
    assert record_counts.pcap_counts_by_runs(str(short_runs)) == expected
    assert capture_info(short_runs, hashes=False).packets == 2000
