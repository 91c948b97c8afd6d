"""Public columnar API: a capture file as pandas DataFrames of header fields.

>>> df = read_packets("capture.pcap")                       # doctest: +SKIP
>>> df[df["tcp.flags"] == 0x002][["ip.src", "tcp.dstport"]]  # doctest: +SKIP

Columns are Wireshark field names (see :mod:`pcapkit.columnar.dtypes`); the extra
boolean column ``pcapkit.fallback`` marks rows the vectorised fast path did not
decode completely. Those rows are handed to the per-packet dissectors
(:mod:`pcapkit.dissect.driver`) when they are installed, so values never depend on
which path decoded a row; without them the undecoded fields stay missing.

:func:`iter_batches` streams: memory is bounded by ``chunk_packets`` / ``chunk_bytes``
whatever the size of the file. :func:`read_packets` concatenates the batches.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pcapkit.capture.batch import DEFAULT_CHUNK_BYTES, RecordBatch, iter_records
from pcapkit.capture.compiled import compiled_kernels
from pcapkit.columnar import application as _app
from pcapkit.columnar import dtypes as _dt
from pcapkit.columnar.decode import Columns, decode_batch
from pcapkit.columnar.table import TableBuilder, batch_frame
from pcapkit.errors import PcapkitError

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.columnar.column_table import ColumnTable

Progress = Callable[[int, int], None]   # (packets done, bytes done) -> None

DEFAULT_CHUNK_PACKETS = 1 << 18


def _empty_frame(columns: Sequence[str] | None, application: bool = False,
                 dtype_backend: str = "numpy_nullable") -> pd.DataFrame:
    import pandas as pd

    dts: dict[str, Any] = dict(_dt.dtypes(columns))
    if dtype_backend == "pyarrow":  # the Arrow dtypes the table builder gives the integer and flag columns
        from pcapkit.columnar.table import arrow_dtype

        dts = {name: arrow_dtype(name, dt) for name, dt in dts.items()}
    wanted = _app.APPLICATION_COLUMNS if columns is None and application else columns or ()
    app = {name: dtype for name, dtype in _app.dtypes().items() if name in wanted}
    if columns is None:
        dts = {**{k: v for k, v in dts.items() if k != _dt.FALLBACK}, **app, _dt.FALLBACK: dts[_dt.FALLBACK]}
    elif app:
        dts = {name: dts[name] if name in dts else app[name] for name in columns}
    return pd.DataFrame({name: pd.Series([], dtype=dt) for name, dt in dts.items()})


def iter_batches(path: str | Path, chunk_packets: int = DEFAULT_CHUNK_PACKETS, *,
                 columns: Sequence[str] | None = None, filter: str | None = None,
                 query: str | None = None, chunk_bytes: int = DEFAULT_CHUNK_BYTES,
                 progress: Progress | None = None, fallback: bool = True, use_numba: bool | None = None,
                 dtype_backend: str = "numpy_nullable", application: bool = False,
                 strict: bool | None = None) -> Iterator[pd.DataFrame]:
    """DataFrames of at most ``chunk_packets`` rows each, in file order.

    Categorical columns carry the categories of their own batch. ``filter`` is a tcpdump
    expression, as every command takes (``"tcp port 80"``: the packets it rejects are left
    out, frame numbers stay the file's); ``query`` a pandas query expression over the
    columns (backquote dotted names: ``"`tcp.dstport` == 80"``), applied after ``filter``.
    ``progress(packets, bytes)`` is called after each batch (packets read, not kept).
    ``application=True`` adds the DNS, HTTP and TLS columns of
    :mod:`pcapkit.columnar.application` (implied when ``columns`` names one of them).
    A file damaged after its header: every batch before the damage is yielded, then (by
    default) a :class:`pcapkit.errors.CaptureDamagedWarning` says where and why;
    ``strict=True`` raises the :class:`pcapkit.errors.CaptureFileError` there instead.
    """
    done = 0
    application = _wants_application(application, columns)
    need = None if columns is None else _needed(columns, query)
    programs = _filter_programs(filter)
    decoded = _decoded(path, chunk_packets, chunk_bytes, fallback, use_numba, application)
    for rb, cols in _until_damage(decoded, strict):
        df = batch_frame(rb, cols, need, dtype_backend)
        if programs is not None:
            from pcapkit.capture.bpf import match_records

            keep = np.asarray(match_records(programs, rb.buf, rb.data_off, rb.caplen, rb.wirelen, rb.linktype))
            df = df[keep].reset_index(drop=True)
        if query:
            df = df.query(query, engine="python" if "`" in query else None).reset_index(drop=True)
        if columns is not None:
            df = df[list(columns)]
        done += len(rb)
        if progress is not None:
            progress(done, rb.end_offset)
        yield df


def iter_batch_tables(path: str | Path, chunk_packets: int = DEFAULT_CHUNK_PACKETS, *,
                      columns: Sequence[str] | None = None, progress: Progress | None = None,
                      strict: bool | None = None) -> Iterator[ColumnTable]:
    """:func:`iter_batches` (without ``filter``, ``query`` nor the application columns) as
    :class:`~pcapkit.columnar.column_table.ColumnTable`: the same values, without pandas
    (the command line's small captures: importing pandas costs more than reading them)."""
    from pcapkit.columnar.table import batch_columns

    done = 0
    for rb, cols in _until_damage(_decoded(path, chunk_packets, DEFAULT_CHUNK_BYTES, True, None), strict):
        table = batch_columns(rb, cols, columns)
        done += len(rb)
        if progress is not None:
            progress(done, rb.end_offset)
        yield table if columns is None else table.select(list(columns))


def _until_damage(decoded: Iterator[tuple[RecordBatch, Columns]],
                  strict: bool | None) -> Iterator[tuple[RecordBatch, Columns]]:
    """The batches of ``decoded``; a file error after them is raised (strict), warned of
    (None: the API's default) or dropped (False: the caller reads it from the error it
    records itself)."""
    try:
        yield from decoded
    except PcapkitError as exc:
        if strict or not _is_damage(exc):
            raise
        if strict is None:
            _warn_damaged(exc, stacklevel=4)  # the caller of iter_batches


def _is_damage(exc: PcapkitError) -> bool:
    """A file error after the file header (the packets before it are kept); an unreadable
    header, a missing file or a bad argument still raises."""
    from pcapkit.errors import CaptureFileError

    return isinstance(exc, CaptureFileError) and exc.after_header


def _warn_damaged(exc: PcapkitError, stacklevel: int = 3) -> None:
    import warnings

    from pcapkit.errors import CaptureDamagedWarning

    warnings.warn(CaptureDamagedWarning(str(exc)), stacklevel=stacklevel)


def _wants_application(application: bool, columns: Sequence[str] | None) -> bool:
    return application or (columns is not None and any(c in _app.APPLICATION_COLUMNS for c in columns))


def _decoded(path: str | Path, chunk_packets: int, chunk_bytes: int, fallback: bool,
             use_numba: bool | None, application: bool = False) -> Iterator[tuple[RecordBatch, Columns]]:
    """Record batches with their decoded columns (marked rows filled per packet; with
    ``application``, the application columns of the frames that can carry them)."""
    session: Any = None
    app_session: Any = None
    decoder = None
    if use_numba is not False and compiled_kernels():
        from pcapkit.columnar.fastpath import RecordDecoder

        decoder = RecordDecoder()
    for rb in iter_records(str(path), chunk_bytes=chunk_bytes, max_packets=chunk_packets,
                           use_numba=use_numba, decoder=decoder):
        cols = decode_batch(rb)
        if fallback and bool(cols.fallback.any()):
            from pcapkit.columnar import perpacket

            if session is None:
                session = perpacket.new_session()
            perpacket.fill(rb, cols, session)
        if application:
            if app_session is None:
                from pcapkit.columnar import perpacket

                app_session = perpacket.new_session()
            _app.fill(rb, cols, app_session)
        yield rb, cols


def _filter_programs(expr: str | None) -> Any:
    """The tcpdump expression, compiled per link type as batches meet them, or None."""
    if not expr or not expr.strip():
        return None
    from pcapkit.capture.bpf import FilterPrograms

    return FilterPrograms(expr)


def _needed(columns: Sequence[str], query: str | None) -> list[str]:
    cols = list(columns)
    if query:
        for name in (*_dt.COLUMNS, *_app.APPLICATION_COLUMNS, _dt.FALLBACK):
            if name in query and name not in cols:
                cols.append(name)
    return cols


def read_packets(path: str | Path, filter: str | None = None, columns: Sequence[str] | None = None,
                 *, query: str | None = None, chunk_packets: int = DEFAULT_CHUNK_PACKETS,
                 strict: bool | None = None,
                 progress: Progress | None = None, fallback: bool = True,
                 use_numba: bool | None = None, dtype_backend: str = "numpy_nullable",
                 application: bool = False) -> pd.DataFrame:
    """The packets table of ``path``: one row per frame, one column per header field.

    ``application=True`` adds the main DNS, HTTP and TLS fields (``dns.qry.name``,
    ``http.request.uri``, ``tls.handshake.extensions_server_name``, ...: see
    :mod:`pcapkit.columnar.application`) before ``pcapkit.fallback``, filled for the frames
    that carry them; it dissects the frames on those protocols' ports, so it costs time
    in proportion to them. Naming one of those columns in ``columns`` implies it.

    ``dtype_backend="pyarrow"`` gives Arrow-backed columns (``uint16[pyarrow]``): faster to
    build and about 30% smaller than the default pandas nullable dtypes (one mask
    byte per value), which are kept as the default because every other table (``tcp``,
    ``flows``, ...) has them: a field has one dtype in every table.

    A file damaged after its header (cut short, a bad record): the frames read before the
    damage are returned with the error's one line in ``df.attrs["pcapkit.error"]``, and a
    :class:`pcapkit.errors.CaptureDamagedWarning` says so (the default, ``strict=None``);
    ``strict=False`` does the same without the warning (for callers that report the error
    themselves); ``strict=True`` raises the error instead.
    """

    parts: list[pd.DataFrame] = []
    builder = TableBuilder(columns, dtype_backend)
    error: PcapkitError | None = None
    application = _wants_application(application, columns)
    try:
        if filter or query:
            for df in iter_batches(path, chunk_packets, columns=columns, filter=filter, query=query,
                                   progress=progress, fallback=fallback, use_numba=use_numba,
                                   dtype_backend=dtype_backend, application=application, strict=True):
                parts.append(df)
        else:
            done = 0
            for rb, cols in _decoded(path, chunk_packets, DEFAULT_CHUNK_BYTES, fallback, use_numba,
                                     application):
                builder.add(rb, cols)  # the batch's columns as the table's pieces: no second copy
                del cols
                done += len(rb)
                if progress is not None:
                    progress(done, rb.end_offset)
    except PcapkitError as exc:
        if strict or not _is_damage(exc):
            raise
        error = exc
        if strict is None:
            _warn_damaged(exc)
    if builder.sizes:
        out = builder.frame()
        if columns is not None:
            out = out[list(columns)]
    elif not parts:
        out = _empty_frame(columns, application, dtype_backend)
    elif len(parts) == 1:
        out = parts[0]
    else:
        out = concat_frames(parts)
    if error is not None:
        out.attrs["pcapkit.error"] = str(error)
    return out


def concat_frames(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate batch frames, unifying the categories of categorical columns."""
    import pandas as pd
    from pandas.api.types import union_categoricals

    data: dict[str, Any] = {}
    for name in parts[0].columns:
        first = parts[0][name]
        if isinstance(first.dtype, pd.CategoricalDtype):
            data[name] = union_categoricals([p[name] for p in parts])
        else:
            data[name] = pd.concat([p[name] for p in parts], ignore_index=True)
    return pd.DataFrame(data, copy=False)
