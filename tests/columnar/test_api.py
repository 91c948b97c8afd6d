"""read_packets / iter_batches behaviour: dtypes, backends, columns, filters, errors,
bounded memory while streaming."""

from __future__ import annotations

import struct
import subprocess
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CORPUS, requires_tcpdump

from pcapkit.capture.files import open_capture
from pcapkit.columnar import dtypes as dt
from pcapkit.columnar.api import iter_batches, read_packets
from pcapkit.errors import FilterError, PcapkitError, TruncatedFileError

NAT = CORPUS / "labs" / "NAT_ISP_side.pcap"
pytestmark = pytest.mark.skipif(not NAT.exists(), reason="corpus missing")


def test_declared_dtypes() -> None:
    df = read_packets(NAT)
    want = dt.dtypes()
    assert list(df.columns) == list(want)
    for name, dtype in want.items():
        assert str(df[name].dtype) == str(dtype), name
    assert str(df["frame.time_epoch"].dtype) == "datetime64[ns]"
    assert isinstance(df["ip.src"].dtype, pd.CategoricalDtype)


def test_pyarrow_backend_same_values() -> None:
    a = read_packets(NAT)
    b = read_packets(NAT, dtype_backend="pyarrow")
    assert str(b["tcp.srcport"].dtype) == "uint16[pyarrow]"
    for c in a.columns:
        assert a[c].astype(object).where(a[c].notna(), None).tolist() == \
            b[c].astype(object).where(b[c].notna(), None).tolist(), c
    per_row_np = a.memory_usage(deep=True, index=False).sum() / len(a)
    per_row_pa = b.memory_usage(deep=True, index=False).sum() / len(b)
    assert per_row_pa < per_row_np


@pytest.mark.parametrize("application", [False, True])
def test_pyarrow_backend_empty_capture_has_the_dtypes_of_a_full_one(application: bool, tmp_path: Path) -> None:
    """A capture without packets gives the columns and dtypes a capture with packets gives,
    in either backend (the empty table used to ignore ``dtype_backend``)."""
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for backend in ("numpy_nullable", "pyarrow"):
        full = read_packets(NAT, dtype_backend=backend, application=application)
        none = read_packets(empty, dtype_backend=backend, application=application)
        assert len(none) == 0 and list(none.columns) == list(full.columns)
        differ = {c: (str(none[c].dtype), str(full[c].dtype)) for c in full.columns
                  if str(none[c].dtype) != str(full[c].dtype) and not isinstance(full[c].dtype, pd.CategoricalDtype)}
        assert not differ, (backend, differ)


def test_columns_and_filter() -> None:
    full = read_packets(NAT)
    syn = read_packets(NAT, query="`tcp.flags` == 0x002", columns=["frame.number", "ip.src", "tcp.dstport"])
    assert list(syn.columns) == ["frame.number", "ip.src", "tcp.dstport"]
    expect = full[full["tcp.flags"] == 0x002]
    assert syn["frame.number"].tolist() == expect["frame.number"].tolist()
    assert len(syn) > 0


@requires_tcpdump
@pytest.mark.parametrize("expr", ["tcp port 80", "udp or icmp", "tcp[tcpflags] & tcp-syn != 0"])
def test_filter_is_tcpdump_syntax(expr: str, tmp_path: Path) -> None:
    """``filter=`` takes the tcpdump language every command takes: the frames tcpdump
    keeps (``tcpdump -r -w``), with the file's frame numbers; ``query=`` then narrows
    with pandas."""
    kept = tmp_path / "kept.pcap"
    subprocess.run(["tcpdump", "-nr", str(NAT), "-w", str(kept), expr], capture_output=True, check=True)
    theirs = read_packets(kept)
    key = ["frame.time_epoch", "frame.len", "frame.cap_len"]
    full = read_packets(NAT)
    for df in (read_packets(NAT, filter=expr), pd.concat(list(iter_batches(NAT, 500, filter=expr)))):
        assert df[key].values.tolist() == theirs[key].values.tolist()
        # the file's own frame numbers
        assert df[key].values.tolist() == full.set_index("frame.number").loc[df["frame.number"], key].values.tolist()
    assert 0 < len(theirs) < len(full)
    narrowed = read_packets(NAT, filter=expr, query="`frame.len` > 100")
    kept_all = read_packets(NAT, filter=expr)
    assert narrowed["frame.number"].tolist() == kept_all[kept_all["frame.len"] > 100]["frame.number"].tolist()


def test_filter_syntax_error_is_raised_even_when_lenient() -> None:
    with pytest.raises(FilterError):
        read_packets(NAT, filter="tcp port eighty", strict=False)


def test_unknown_column_is_one_line_error() -> None:
    with pytest.raises(PcapkitError, match="unknown column"):
        read_packets(NAT, columns=["ip.bogus"])


def test_truncated_file_strict_and_lenient() -> None:
    path = CORPUS / "broken" / "truncated_dns_2.pcap"
    with pytest.raises(TruncatedFileError):
        read_packets(path, strict=True)
    df = read_packets(path, strict=False)
    with open_capture(path) as reader:
        frames = list(reader)
    # the readable packets, and the damage worded as the record reader words it
    assert len(df) == len(frames) == 1 and df.attrs["pcapkit.error"] == reader.warnings[0]


DAMAGED = sorted([*CORPUS.glob("broken/*"), *CORPUS.glob("formats/*")])


def _offset(text: str) -> str | None:
    """The "offset N" of an error line (the two readers word some reasons differently)."""
    import re

    found = re.search(r": offset (\d+): ", text)
    return found.group(1) if found else None


@pytest.mark.parametrize("path", DAMAGED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_damaged_file_delivers_then_warns_like_open_capture(path: Path) -> None:
    """By default read_packets and iter_batches keep every packet open_capture reads from a
    damaged file, then warn with the damage's offset (an unreadable header still raises)."""
    import warnings

    from pcapkit.errors import CaptureDamagedWarning

    try:
        with open_capture(path) as reader:
            count = sum(1 for _ in reader)
        expected: list[str] = list(reader.warnings[:1])
    except PcapkitError as exc:
        with pytest.raises(PcapkitError) as raised:
            read_packets(path)
        assert _offset(str(raised.value)) == _offset(str(exc))
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = read_packets(path)
        batch_rows = sum(len(b) for b in iter_batches(path, 1000))
    said = [str(w.message) for w in caught if issubclass(w.category, CaptureDamagedWarning)]
    assert len(table) == batch_rows == count
    assert [_offset(s) for s in said] == [_offset(e) for e in expected] * 2
    if expected:
        assert table.attrs["pcapkit.error"] == said[0]
        with pytest.raises(PcapkitError):
            read_packets(path, strict=True)
        with pytest.raises(PcapkitError):
            list(iter_batches(path, strict=True))


def test_damage_warning_points_at_the_caller(tmp_path: Path) -> None:
    import warnings

    cut = tmp_path / "cut.pcap"
    cut.write_bytes((CORPUS / "broken" / "truncated_dns_2.pcap").read_bytes())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_packets(cut)
        for _ in iter_batches(cut):
            pass
    assert [Path(w.filename).name for w in caught] == [Path(__file__).name] * 2


def test_batches_concatenate_to_the_whole() -> None:
    whole = read_packets(NAT)
    parts = list(iter_batches(NAT, 37))
    assert [len(p) for p in parts][:-1] == [37] * (len(parts) - 1)
    from pcapkit.columnar.api import concat_frames

    again = concat_frames(parts)
    for c in whole.columns:
        assert whole[c].astype(object).where(whole[c].notna(), None).tolist() == \
            again[c].astype(object).where(again[c].notna(), None).tolist(), c


def _big_pcap(tmp: Path, source: Path, copies: int) -> tuple[Path, int]:
    """A pcap made of the records of a real capture repeated ``copies`` times."""
    data = source.read_bytes()
    head, body = data[:24], data[24:]
    out = tmp / "big.pcap"
    with open(out, "wb") as f:
        f.write(head)
        for _ in range(copies):
            f.write(body)
    n = 0
    pos = 0
    while pos + 16 <= len(body):
        cap = struct.unpack_from("<I", body, pos + 8)[0]
        pos += 16 + cap
        n += 1
    return out, n * copies


def test_streaming_memory_is_bounded(tmp_path: Path) -> None:
    """Peak memory of a streaming pass depends on the batch, not on the file."""
    src = CORPUS / "tcp" / "206_example_b.pcap"
    if not src.exists():
        pytest.skip("corpus missing")
    big, n = _big_pcap(tmp_path, src, 40)
    size = big.stat().st_size
    tracemalloc.start()
    try:
        seen = 0
        for df in iter_batches(big, 2048, chunk_bytes=1 << 20):
            seen += len(df)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seen == n
    assert size > 40 << 20 or n > 50_000
    assert peak < 24 << 20, f"peak {peak} bytes for a {size}-byte file"
    assert peak < size / 2


def test_time_is_exact_nanoseconds() -> None:
    path = CORPUS / "formats" / "netflowv9.pcap"  # nanosecond pcap
    df = read_packets(path)
    ns = df["frame.time_epoch"].to_numpy().astype("datetime64[ns]").astype(np.int64)
    assert (ns % 1000 != 0).any()
