"""open_capture against tshark on every file of the corpus.

For each file: the same number of frames as tshark, and per frame the same
frame.time_epoch (to the ns, compared as text), frame.len, frame.cap_len,
frame.encap_type and frame.interface_id. Files tshark cannot read (it exits with
status 2) must give us either the documented error at open, or the same frames
followed by a warning.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import corpus_files, corpus_id, requires_tshark
from oracle import _run

from pcapkit.capture.files import open_capture
from pcapkit.capture.linktypes import wtap_encap
from pcapkit.capture.reader import CaptureReader
from pcapkit.errors import CaptureFileError
from pcapkit.frame import format_epoch_ns

FIELDS = ("frame.time_epoch", "frame.len", "frame.cap_len", "frame.encap_type", "frame.interface_id",
          "frame.comment")



def tshark_ns(text: str) -> int:
    """tshark's frame.time_epoch as integer ns.

    Wireshark keeps a record's fraction in a signed 32-bit nanosecond field and prints
    it without normalising it: µs = 1000000 prints as ``S.1000000000`` and a negative
    fraction as ``-S.2147483648`` (broken/timestamp_invalid_*.pcap). The value meant is
    S seconds plus that (signed) fraction.
    """
    negative = text.startswith("-")
    secs_text, _, frac = text.lstrip("-").partition(".")
    secs = int(secs_text)
    if len(frac) <= 9:
        value = secs * 1_000_000_000 + int(frac.ljust(9, "0"))
        return -value if negative else value
    # un-normalised fraction: the sign belongs to the fraction (secs is not negative here)
    return secs * 1_000_000_000 + (-int(frac) if negative else int(frac))


def our_rows(reader: CaptureReader) -> list[dict[str, str]]:
    rows = []
    untimed = getattr(reader, "untimed_frames", set())
    for f in reader:
        row: dict[str, str] = {"frame.len": str(f.wirelen), "frame.cap_len": str(f.caplen)}
        if f.number not in untimed:
            row["frame.time_epoch"] = format_epoch_ns(f.ts_ns)
        if f.linktype >= 0:
            row["frame.encap_type"] = str(wtap_encap(f.linktype))
            if reader.format in ("pcapng", "erf"):
                row["frame.interface_id"] = str(f.interface_id)
        if f.comment is not None:
            # several comments on one packet: tshark joins the occurrences with ','
            row["frame.comment"] = f.comment.replace("\n", ",")
        rows.append(row)
    return rows


def tshark_rows(path: Path) -> tuple[list[dict[str, str]], int]:
    out, rc = _run(str(path), FIELDS, (), "")
    rows = []
    for line in out.splitlines():
        values = line.split("\t")
        rows.append({f: v for f, v in zip(FIELDS, values, strict=False) if v != ""})
    return rows, rc


def compare(ours: list[dict[str, str]], theirs: list[dict[str, str]]) -> list[str]:
    problems = []
    if len(ours) != len(theirs):
        problems.append(f"{len(ours)} frames, tshark {len(theirs)}")
    for n, (a, b) in enumerate(zip(ours, theirs, strict=False), start=1):
        b = dict(b)
        a = dict(a)
        ta, tb = a.pop("frame.time_epoch", None), b.pop("frame.time_epoch", None)
        if tb is not None and len(tb.partition(".")[2]) > 9:
            # un-normalised tshark time (see tshark_ns): compare the values
            same_time = ta is not None and tshark_ns(ta) == tshark_ns(tb)
        else:
            same_time = ta == tb
        if not same_time or a != b:
            problems.append(f"frame {n}: ours {ta} {a} tshark {tb} {b}")
        if len(problems) > 5:
            break
    return problems


FILES = corpus_files()


@requires_tshark
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_reader_matches_tshark(path: Path) -> None:
    theirs, rc = tshark_rows(path)
    try:
        with open_capture(path) as reader:
            ours = our_rows(reader)
            warnings = list(reader.warnings)
    except CaptureFileError as exc:
        # refused at open: tshark must refuse it too, before any frame
        assert rc != 0 and theirs == [], f"we refused ({exc}) but tshark read {len(theirs)} frames"
        assert exc.path == str(path) and exc.offset is not None
        return
    assert compare(ours, theirs) == []
    if rc != 0:
        assert warnings, "tshark reports damage, we gave no warning"
    else:
        assert warnings == [], f"tshark reads the file cleanly, we warned {warnings}"


def test_tshark_ns_parses_unnormalised_times() -> None:
    assert tshark_ns("1418145370.1000000000") == 1418145371_000000000
    assert tshark_ns("-1418145370.2147483648") == 1418145370_000000000 - 2147483648
    assert tshark_ns("0.000000001") == 1
    assert tshark_ns("1340954.905298858") == 1340954905298858
