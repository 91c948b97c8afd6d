"""Writing the packets / tcp / flows / rtt tables to Parquet, streaming where possible.

The packets table is written batch by batch (memory bounded by the batch size): one
file with one row group per batch, or, with ``partition_rows`` or several inputs, a
directory of part files ``part-FFFFF-KKKKK.parquet`` (F: input index, K: part index)
that pandas / pyarrow / DuckDB read as one dataset. Categorical columns are written as
``dictionary<int32, string>`` so every part has the same schema.

The tcp, flows and rtt tables come from :mod:`pcapkit.reports`; several inputs are
analysed as one capture (see :mod:`pcapkit.reports.conversations`).

The packets table is written without pandas (importing it takes longer than exporting a
small capture): its batches come as :class:`~pcapkit.columnar.column_table.ColumnTable`
and become Arrow arrays directly, with the schema metadata ``pandas.read_parquet`` reads
the dtypes back from (what ``pyarrow.Table.from_pandas`` writes for the same DataFrame).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pcapkit.columnar.column_table import (
    Column,
    ColumnTable,
    arrow_with_pandas,
    arrow_without_pandas,
)

Table = ColumnTable | Any  # (a ColumnTable, or a pandas DataFrame)

TABLES = ("packets", "tcp", "flows", "rtt")
FILE_COLUMN = "pcapkit.file"
WRITE_ROWS = 1 << 17  # rows converted to Arrow and written at a time
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class ExportResult:
    rows: int = 0
    files: list[str] = field(default_factory=list)   # parquet files written
    errors: list[str] = field(default_factory=list)  # one line per input that failed


def arrow_table(df: Table) -> Any:
    """``df`` (a DataFrame or a :class:`~pcapkit.columnar.column_table.ColumnTable`) as a
    pyarrow Table with a stable schema (categoricals as dictionary<int32,string>, an empty
    one too). A ColumnTable of integers, flags, times, categories and strings goes to Arrow
    without pandas; others through their DataFrame."""
    if isinstance(df, ColumnTable):
        if all(_arrow_ready(col) for _, col in df.items()):
            return _columns_arrow_table(df)
        df = df.to_pandas()
    import pandas as pd
    import pyarrow as pa

    arrow_with_pandas()  # (pyarrow may have taken pandas for absent: see arrow_without_pandas)
    table = pa.Table.from_pandas(df, preserve_index=False)
    for i, name in enumerate(df.columns):
        col = df[name]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cat = col.array
            codes = pa.array(cat.codes.astype("int32"), mask=cat.codes < 0)
            dictionary = pa.array([str(c) for c in cat.categories], type=pa.string())
            arr = pa.DictionaryArray.from_arrays(codes, dictionary, ordered=bool(cat.ordered))
            table = table.set_column(i, pa.field(str(name), arr.type), arr)
    return table


# a ColumnTable's dtype -> (pandas_type, numpy_type) of pyarrow's pandas metadata (the
# dictionary columns: "categorical" and the codes' dtype, see _categorical_metadata)
_PANDAS_TYPES = {
    **{name: (name, name) for name in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
                                       "float32", "float64", "bool")},
    **{name: (name.lower(), name) for name in ("Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32",
                                               "UInt64", "Float32", "Float64")},
    "boolean": ("bool", "boolean"),
    "datetime64[ns]": ("datetime", "datetime64[ns]"),
}


def _columns_arrow_table(table: ColumnTable) -> Any:
    """:func:`arrow_table` of a :class:`~pcapkit.columnar.column_table.ColumnTable` of
    integers, booleans, times and dictionary columns (the packets table), without pandas:
    the Arrow arrays and the ``pandas`` schema metadata ``Table.from_pandas`` gives the
    DataFrame of the same columns (so ``pandas.read_parquet`` gives that DataFrame back)."""
    import json

    import pyarrow as pa

    arrays: list[Any] = []
    described: list[dict[str, Any]] = []
    version = _pandas_version()  # (before the block: it fails a search for pandas)
    with arrow_without_pandas():
        for name, col in table.items():
            array, (pandas_type, numpy_type), extra = _arrow_column(col)
            arrays.append(array)
            described.append({"name": name, "field_name": name, "pandas_type": pandas_type,
                              "numpy_type": numpy_type, "metadata": extra})
        metadata = {"index_columns": [], "column_indexes": [], "columns": described, "attributes": table.attrs,
                    "creator": {"library": "pyarrow", "version": pa.__version__}, "pandas_version": version}
        schema = pa.schema([pa.field(name, a.type) for name, a in zip(table.columns, arrays, strict=True)],
                           metadata={b"pandas": json.dumps(metadata).encode("utf8")})
        return pa.Table.from_arrays(arrays, schema=schema)


def _arrow_ready(col: Column) -> bool:
    """Whether :func:`_arrow_column` converts ``col``."""
    if col.kind == "category":
        return col.texts is not None
    return col.dtype == "string" or col.dtype in _PANDAS_TYPES


def _arrow_column(col: Column) -> tuple[Any, tuple[str, str], dict[str, Any] | None]:
    """One column's Arrow array, its (pandas_type, numpy_type) and its extra metadata."""
    import pyarrow as pa

    if col.kind == "category":
        assert col.texts is not None
        codes = np.asarray(col.values, dtype=np.int32)
        missing = col.missing()
        indices = pa.array(np.where(missing, 0, codes), type=pa.int32(), mask=missing if missing.any() else None)
        dictionary = pa.array([str(t) for t in col.texts.tolist()], type=pa.string())
        n = len(col.texts)
        # (pandas keeps a categorical's codes in the narrowest integer that holds them)
        width = "int8" if n < 127 else "int16" if n < 32767 else "int32" if n < 2**31 - 1 else "int64"
        return (pa.DictionaryArray.from_arrays(indices, dictionary), ("categorical", width),
                {"num_categories": n, "ordered": False})
    if col.dtype == "string":  # (pandas' "string" dtype: what Table.from_pandas makes of it)
        return _arrow_text(col), ("object", "string"), None
    if col.dtype not in _PANDAS_TYPES:
        raise TypeError(f"no Arrow conversion for a {col.dtype} column without pandas")
    values = np.asarray(col.values)
    if col.kind == "ns":
        values = values.astype(np.int64, copy=False).view("datetime64[ns]")
    mask = col.mask if col.mask is not None and col.mask.any() else None
    return pa.array(values, mask=mask), _PANDAS_TYPES[col.dtype], None


def _arrow_text(col: Column) -> Any:
    """A text column as Arrow large strings: its dictionary's texts taken by code (one
    Python string per distinct text), or its values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    missing = col.missing()
    mask = missing if missing.any() else None
    if col.texts is None:
        return pa.array(np.asarray(col.values, dtype=object), type=pa.large_string(), mask=mask)
    texts = pa.array([str(t) for t in col.texts.tolist()], type=pa.large_string())
    codes = np.where(missing, 0, np.asarray(col.values, dtype=np.int64))
    return pc.take(texts, pa.array(codes, mask=mask))


@functools.cache
def _pandas_version() -> str:
    """The installed pandas' version (for the metadata), from its package metadata: without
    importing pandas."""
    from importlib.metadata import version

    return version("pandas")


def _with_file(df: Table, name: str | None) -> Table:
    if name is None:
        return df
    if isinstance(df, ColumnTable):
        label = Column(np.zeros(len(df), dtype=np.int64), None, "category", texts=np.array([name], dtype=object))
        return df.with_column(FILE_COLUMN, label, before=df.columns[0] if df.columns else None)
    import pandas as pd

    df = df.copy(deep=False)
    df.insert(0, FILE_COLUMN, pd.Series(pd.Categorical([name] * len(df), categories=[name]), index=df.index))
    return df


def part_name(file_index: int, part: int) -> str:
    return f"part-{file_index:05d}-{part:05d}.parquet"


def write_parts(frames: Iterable[Table], out_dir: str, file_index: int,
                partition_rows: int | None, file_label: str | None,
                single_path: str | None = None) -> ExportResult:
    """Write ``frames`` as part files of at most ``partition_rows`` rows (None: one part,
    written to ``single_path`` when given)."""
    import pyarrow.parquet as pq

    from pcapkit.columnar.column_table import parquet_options

    res = ExportResult()
    part = 0
    writer: Any = None
    in_part = 0
    path = ""
    try:
        for df in frames:
            df = _with_file(df, file_label)
            start = 0
            while start < len(df) or (writer is None and len(df) == 0):
                if writer is None:
                    path = single_path or os.path.join(out_dir, part_name(file_index, part))
                    table0 = arrow_table(_rows(df, 0, 0))
                    writer = pq.ParquetWriter(path, table0.schema, **parquet_options(table0.schema))
                    res.files.append(path)
                    in_part = 0
                room = len(df) - start if partition_rows is None else partition_rows - in_part
                # a slice at a time: its Arrow copy, not the whole table's (1M rows of the tcp
                # table: ~0.2 GB more at the peak in one piece)
                chunk = _rows(df, start, start + min(room, WRITE_ROWS))
                if len(chunk):
                    writer.write_table(arrow_table(chunk))
                start += len(chunk)
                in_part += len(chunk)
                res.rows += len(chunk)
                if partition_rows is not None and in_part >= partition_rows:
                    writer.close()
                    writer = None
                    part += 1
                if len(df) == 0:
                    break
    finally:
        if writer is not None:
            writer.close()
    return res


def _rows(df: Table, start: int, stop: int) -> Table:
    """The rows ``start:stop`` of a DataFrame or a ColumnTable."""
    return df.take(slice(start, stop)) if isinstance(df, ColumnTable) else df.iloc[start:stop]


def packets_frames(path: str, chunk_packets: int, progress: Progress | None = None) -> Iterator[ColumnTable]:
    """The packets table's batches (the values of :func:`pcapkit.columnar.api.iter_batches`'
    DataFrames, as ColumnTables: no pandas)."""
    from pcapkit.columnar.api import iter_batch_tables

    # strict: the damage is raised after the last batch, for export_one to report it
    yield from iter_batch_tables(path, chunk_packets, progress=progress, strict=True)


def export_one(path: str, out_dir: str, file_index: int, table: str, partition_rows: int | None,
               chunk_packets: int, name: str | None, progress: Progress | None = None,
               single_path: str | None = None) -> ExportResult:
    """Export one input into part files of ``out_dir`` (the unit of work of both engines);
    ``name``: what its rows' ``pcapkit.file`` says (None: no such column)."""
    from pcapkit.errors import PcapkitError

    errors: list[str] = []

    def until_damage(batches: Iterator[Table]) -> Iterator[Table]:
        """The batches read before a file error (kept, as open_capture keeps the frames), which goes to ``errors``."""
        try:
            yield from batches
        except PcapkitError as exc:
            errors.append(str(exc))

    try:
        if table == "packets":
            frames: Iterable[Table] = until_damage(packets_frames(path, chunk_packets, progress))
        else:
            from pcapkit.reports.conversations import report_frame

            report = report_frame(path, table)
            if report.attrs.get("pcapkit.error"):
                errors.append(str(report.attrs["pcapkit.error"]))
            frames = [report]
        res = write_parts(frames, out_dir, file_index, partition_rows, name, single_path)
    except PcapkitError as exc:
        return ExportResult(errors=[str(exc)])
    res.errors += errors
    return res


def _looks_like_capture(path: Path) -> bool:
    """pcap, pcapng or gzip magic (a directory may hold other files too)."""
    from pcapkit.capture.files import GZIP_MAGIC
    from pcapkit.capture.pcap import MAGICS
    from pcapkit.capture.pcapng_blocks import SHB_TYPE_BYTES

    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except OSError:
        return False
    return head in MAGICS or head == SHB_TYPE_BYTES or head[:2] == GZIP_MAGIC


def write_table(make: Callable[[], Table], output: str, partition_rows: int | None,
                labels: Sequence[str] = ()) -> ExportResult:
    """Write one whole table: a single file, or part files when ``partition_rows`` is set
    or ``output`` names a directory (it exists, or ends with a slash). With ``labels``
    (the inputs, analysed as one capture), the column ``pcapkit.file`` names the input
    each row's frame came from."""
    from pcapkit.errors import PcapkitError

    try:
        df = make()
        if labels:
            df = label_inputs(df, labels)
    except PcapkitError as exc:
        return ExportResult(errors=[str(exc)])
    error = df.attrs.get("pcapkit.error")  # (a cut file: its rows are written, then it is said where it stopped)
    df.attrs = {}
    if partition_rows is None and not is_directory(output):
        res = write_parts([df], "", 0, None, None, output)
    else:
        os.makedirs(output, exist_ok=True)
        res = write_parts([df], output, 0, partition_rows, None)
    if error:
        res.errors.append(str(error))
    return res


def is_directory(output: str) -> bool:
    return Path(output).is_dir() or output.endswith(os.sep)


def label_inputs(df: Table, inputs: Sequence[str]) -> Table:
    """``df`` (a tcp / flows / rtt table of ``inputs`` analysed as one capture, frames
    numbered on across the files) with ``pcapkit.file`` first: the input of each row's frame."""
    import numpy as np

    from pcapkit.capture.batch import iter_records
    from pcapkit.errors import PcapkitError

    def records(path: str) -> int:
        """The records of ``path``, up to the damage of a cut file (the table holds those)."""
        count = 0
        try:
            for rb in iter_records(path):
                count += len(rb)
        except PcapkitError:
            pass
        return count

    ends = np.cumsum([records(path) for path in inputs])
    return label_frames(df, ends, input_names(inputs))


def label_frames(df: Table, file_ends: Any, names: Sequence[str]) -> Table:
    """``df`` (a DataFrame or a ColumnTable) with ``pcapkit.file`` first: the name of the
    input each row's frame came from (``file_ends``: the last frame number of each input,
    frames numbered on across them)."""
    number_name = "first_frame" if "first_frame" in df.columns else "frame.number"
    if isinstance(df, ColumnTable):
        number = df[number_name].values
    else:
        number = df[number_name]
    which = np.searchsorted(file_ends, np.asarray(number, dtype=np.int64), side="left")
    label = Column(which.astype(np.int64), None, "category", texts=np.array(list(names), dtype=object))
    if isinstance(df, ColumnTable):
        return df.with_column(FILE_COLUMN, label, before=df.columns[0] if df.columns else None)
    import pandas as pd

    out = df.copy(deep=False)
    out.insert(0, FILE_COLUMN, pd.Series(label.to_pandas(), index=out.index))
    return out


def input_names(paths: Sequence[str]) -> list[str]:
    """What ``pcapkit.file`` calls each input: its file name; where two inputs have the
    same name (a directory's subfolders), each one's path from the inputs' common folder;
    an input given again, that path and its turn (``x.pcap [2]``)."""
    names = [Path(p).name for p in paths]
    if len(set(names)) == len(names):
        return names
    absolute = [os.path.abspath(p) for p in paths]
    root = os.path.commonpath([os.path.dirname(a) for a in absolute])
    names = [os.path.relpath(a, root) for a in absolute]
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} [{seen[name]}]")
    return out


def expand_inputs(inputs: Sequence[str]) -> list[str]:
    """Files as given; directories expanded to the capture files inside (sorted)."""
    out: list[str] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out.extend(str(f) for f in sorted(p.rglob("*")) if f.is_file() and _looks_like_capture(f))
        else:
            out.append(str(p))
    return out


def merged_inputs(files: Sequence[str], table: str) -> tuple[list[str], list[str], bool]:
    """The inputs of a table (``table``) and whether ``pcapkit.file`` labels its rows. The
    tcp, flows and rtt tables of several inputs analyse them as one capture: of those,
    the inputs of which something can be read, the error of each other one (missing, not
    a capture, cut inside its first record; said in one line each, while the readable
    ones make the table: nothing readable is lost because one input is not), and a label
    (several inputs were given, though one alone may be readable). Each input's first
    record is read, as the table's reading reads it. The packets table says each input's
    error itself."""
    from pcapkit.capture.batch import iter_records
    from pcapkit.errors import PcapkitError

    if table == "packets" or len(files) < 2:
        return list(files), [], False
    kept: list[str] = []
    errors: list[str] = []
    for path in files:
        batches = iter_records(path, chunk_bytes=1 << 16, max_packets=1, use_numba=False)
        try:
            next(batches, None)
        except (PcapkitError, OSError) as exc:
            errors.append(str(exc))
            continue
        finally:
            close = getattr(batches, "close", None)  # (a generator: its file closed now)
            if close is not None:
                close()
        kept.append(path)
    return kept, errors, True


def export_local(inputs: Sequence[str], output: str, table: str = "packets",
                 partition_rows: int | None = None, chunk_packets: int = 1 << 18,
                 progress: Progress | None = None) -> ExportResult:
    """Single-process export. One input and no ``partition_rows``: ``output`` is one
    Parquet file; otherwise ``output`` is a directory of part files."""
    files, unreadable, label = merged_inputs(expand_inputs(inputs), table)
    if not files:
        return ExportResult(errors=unreadable)
    res = _export_files(files, output, table, partition_rows, chunk_packets, progress, label)
    res.errors[:0] = unreadable
    return res


def _export_files(files: Sequence[str], output: str, table: str, partition_rows: int | None, chunk_packets: int,
                  progress: Progress | None, label: bool) -> ExportResult:
    total = ExportResult()
    if table == "tcp":
        from pcapkit.reports.conversations import merged_tcp_columns

        def tcp_table() -> ColumnTable:
            table, file_ends = merged_tcp_columns(files)
            # (labelled from the files' segment tables: write_table would read every file again to count its frames)
            return label_frames(table, file_ends, input_names(files)) if label else table

        return write_table(tcp_table, output, partition_rows)
    if table != "packets":
        from pcapkit.reports.conversations import merged_report

        return write_table(lambda: merged_report(files, table), output, partition_rows, files if label else ())
    if len(files) == 1 and partition_rows is None and not is_directory(output):
        return export_one(files[0], "", 0, table, None, chunk_packets, None, progress, output)
    os.makedirs(output, exist_ok=True)
    names = input_names(files)
    done_packets = done_bytes = 0
    for i, path in enumerate(files):
        def prog(p: int, b: int, _np: int = done_packets, _nb: int = done_bytes) -> None:
            if progress is not None:
                progress(_np + p, _nb + b)
        res = export_one(path, output, i, table, partition_rows, chunk_packets, names[i], prog)
        done_packets += res.rows
        done_bytes += os.path.getsize(path)
        total.rows += res.rows
        total.files += res.files
        total.errors += res.errors
    return total
