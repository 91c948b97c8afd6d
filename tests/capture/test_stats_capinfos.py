"""pcapkit stats (pcapkit.reports.capinfo) against capinfos on the corpus."""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import CORPUS, corpus_files, corpus_id

from pcapkit.capture.linktypes import wtap_encap
from pcapkit.reports.capinfo import capture_info

requires_capinfos = pytest.mark.skipif(shutil.which("capinfos") is None, reason="capinfos not installed")

COLUMNS = ("-t", "-E", "-c", "-d", "-l", "-u", "-a", "-e", "-o")

# capinfos prints a time whose 32-bit nanosecond field went negative as "S.-2147483648",
# and its time comparison overflows on it (so it calls the file in order): neither the
# times nor the order can be compared (see test_files_corpus.tshark_ns for the rest).
UNCOMPARABLE_TIMES = {"broken/timestamp_invalid_nano.pcap"}

FILES = corpus_files()


@functools.cache
def capinfos_table(path: str) -> dict[str, str] | None:
    proc = subprocess.run(["capinfos", "-M", "-T", "-S", *COLUMNS, path], capture_output=True,
                          text=True, check=False)
    lines = proc.stdout.splitlines()
    if len(lines) < 2:
        return None
    return dict(zip(lines[0].split("\t"), lines[1].split("\t"), strict=True))


def capinfos_encaps(path: str) -> list[int]:
    proc = subprocess.run(["capinfos", "-I", "-M", path], capture_output=True, text=True, check=False)
    out = []
    for line in proc.stdout.splitlines():
        line = line.strip()
        if line.startswith("Encapsulation = "):
            inner = line.rpartition("(")[2]
            out.append(int(inner.split(" - ")[0]))
    return out


def ns(text: str, digits: int = 9) -> int:
    """capinfos' decimal seconds as ns. capinfos prints ``digits`` decimals (the file's
    time precision); more digits mean an un-normalised fraction (µs = 1000000 prints
    as ``S.1000000``), which counts in units of that precision."""
    secs, _, frac = text.partition(".")
    if len(frac) <= digits:
        return int(secs) * 1_000_000_000 + int(frac.ljust(9, "0"))
    return int(secs) * 1_000_000_000 + int(frac) * 10 ** (9 - digits)


def printed(value: int, text: str) -> int:
    """``value`` (ns) cut to as many decimals as capinfos printed in ``text``."""
    digits = len(text.partition(".")[2])
    if digits >= 9:
        return value
    unit = 10 ** (9 - digits)
    return value - value % unit


@requires_capinfos
@pytest.mark.tshark
@pytest.mark.parametrize("path", FILES, ids=corpus_id)
def test_stats_match_capinfos(path: Path) -> None:
    from pcapkit.errors import CaptureFileError

    ref = capinfos_table(str(path))
    try:
        info = capture_info(path, hashes=False)
    except CaptureFileError:
        assert ref is None, "capinfos reads a file we refuse"
        return
    if ref is None:
        # capinfos stops without a report on damage it cannot step over; we warned
        assert info.warnings, "capinfos refuses a file we read without complaint"
        return
    assert info.packets == int(ref["Number of packets"])
    assert info.bytes == int(ref["Data size (bytes)"])
    expected_type = ref["File type"]
    assert info.file_type == expected_type
    if info.format != "pcapng":
        limit = ref["Packet size limit"]
        assert info.snaplen == (None if limit == "(not set)" else int(limit))
    for ours, theirs in ((info.snaplen_inferred_min, ref["Packet size limit min (inferred)"]),
                         (info.snaplen_inferred_max, ref["Packet size limit max (inferred)"])):
        assert ours == (None if theirs == "n/a" else int(theirs))
    if corpus_id(path) in UNCOMPARABLE_TIMES:
        return
    order = ref["Strict time order"]
    assert info.strict_time_order == {"True": True, "False": False, "Unknown": None}[order]
    digits = info.time_precision if info.time_precision is not None else 9
    for ours, theirs in ((info.first_time, ref["Start time"]), (info.last_time, ref["End time"]),
                         (info.duration, ref["Capture duration (seconds)"])):
        if theirs == "n/a":
            assert ours is None
        else:
            assert ours is not None and printed(ours, theirs) == ns(theirs, digits)


@requires_capinfos
@pytest.mark.tshark
@pytest.mark.parametrize("name", ["formats/le_test101.pcapng", "formats/be_test202.pcapng",
                                  "formats/pcapng-multi-interface.pcapng", "l2/linux_cooked_socket.dmp.gz",
                                  "formats/LINKTYPE_PKTAP.pcap", "broken/unsupported-link-type-dbus.pcap"])
def test_interface_encapsulations_match_capinfos(name: str) -> None:
    path = CORPUS / name
    info = capture_info(path, hashes=False)
    theirs = capinfos_encaps(str(path))
    # capinfos lists the interfaces of the first section only
    first = [wtap_encap(i.linktype) for i in info.interfaces if i.section == 0]
    assert first == theirs[:len(first)]
    assert theirs


def test_stats_cli_json_and_errors() -> None:
    from pcapkit.cli.stats_cmd import stats

    path = CORPUS / "tcp" / "dsack.dmp.gz"
    if not path.exists():
        pytest.skip("corpus missing")
    result = CliRunner().invoke(stats, [str(path), "--format", "json", "--no-hash"])
    assert result.exit_code == 0, result.output
    row = json.loads(result.output.splitlines()[0])
    ref = capinfos_table(str(path)) if shutil.which("capinfos") else None
    for key in ("file", "format", "linktypes", "packets", "bytes", "first_time", "last_time",
                "duration", "snaplen"):
        assert key in row
    if ref is not None:
        assert row["packets"] == int(ref["Number of packets"])
        assert ns(row["first_time"]) == ns(ref["Start time"])
        assert ns(row["last_time"]) == ns(ref["End time"])
        assert row["snaplen"] == int(ref["Packet size limit"])
    bad = CORPUS / "broken" / "pcap-invalid-version-1.pcap"
    result = CliRunner().invoke(stats, [str(bad)])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if ln]
    assert len(lines) == 1 and lines[0].startswith("pcapkit: error: ") and "major version 1" in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("rel", ["tcp/tcp.dmp.gz", "labs/ip-wireshark-trace1-1.pcapng", "bgp/BGP_redist.pcap"])
def test_hierarchy_is_read_in_the_same_pass(rel: str) -> None:
    """--hierarchy dissects the frames as capinfo counts them (the input is read once) and
    gives what protocol_hierarchy gives (compared with tshark's io,phs in test_driver)."""
    from pcapkit.cli.stats_cmd import stats
    from pcapkit.dissect.hierarchy import protocol_hierarchy

    path = CORPUS / rel
    if not path.exists():
        pytest.skip("corpus missing")
    result = CliRunner().invoke(stats, [str(path), "--hierarchy", "--format", "json", "--no-hash"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["hierarchy"]
    assert [(r["protocol"], r["frames"], r["bytes"]) for r in rows] == protocol_hierarchy(path)


def test_hierarchy_text_uses_the_real_module_when_available() -> None:
    """With pcapkit.dissect.hierarchy present, --hierarchy prints its io,phs-style table
    (whether that table equals tshark's is tested with the hierarchy itself)."""
    import importlib

    from pcapkit.cli.stats_cmd import stats

    try:
        module = importlib.import_module("pcapkit.dissect.hierarchy")
    except ImportError:
        pytest.skip("pcapkit.dissect.hierarchy not available")
    path = CORPUS / "tcp" / "tcp.dmp.gz"
    result = CliRunner().invoke(stats, [str(path), "--hierarchy", "--no-hash"])
    assert result.exit_code == 0
    expected = module.format_hierarchy(module.protocol_hierarchy(path)).strip()
    assert expected.startswith("=" * 67) and expected in result.stdout
