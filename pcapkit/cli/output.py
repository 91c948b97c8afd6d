"""Where a report goes: every ``-o`` target of every command is opened here.

``write_report`` sends a DataFrame to a file or to standard output as table, CSV, JSON
Lines or Parquet (the formatting is :mod:`pcapkit.reports.output`); ``write_report_frames``
the same report given in parts (DataFrames with the same columns and dtypes), written a
part at a time so that only one part is in memory (a table needs its column widths first:
the parts measured beforehand, :class:`pcapkit.reports.table.TableExtents`). Before anything is
computed, :func:`check_target` turns a target that cannot work into one error line: a
directory that does not exist, a directory where a file is expected, a path that cannot
be written, an extension that contradicts ``--format`` (without ``--format`` the
extension chooses it: ``-o flows.parquet``), binary Parquet to a terminal. A file is
written under a temporary name beside it and renamed when complete, so a failed write
(disk full) leaves no half-written file; a write error is one line too. A report whose
input file was cut short is written whole, then its error is reported as ``read``
reports it: one line, exit status 1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any

from pcapkit.errors import OutputError, PcapkitError
from pcapkit.reports.output import write_csv, write_jsonl

if TYPE_CHECKING:
    import pandas as pd

    from pcapkit.cli.views import ColumnChoice
    from pcapkit.columnar.column_table import ColumnTable
    from pcapkit.reports.table import TableExtents

# file extensions of each report format (the first is the one suggested)
EXTENSIONS = {"csv": (".csv",), "json": (".json", ".jsonl", ".ndjson"), "parquet": (".parquet", ".pq"),
              "table": (".txt", ".text", ".table")}


def format_for(output: str | None, fmt: str | None, default: str = "table") -> str:
    """The format to write: ``fmt`` when given, else the one ``output``'s extension names,
    else ``default``. An extension of another format than ``fmt`` is an error."""
    ext = os.path.splitext(output)[1].lower() if output and output != "-" else ""
    named = next((f for f, exts in EXTENSIONS.items() if ext in exts), None)
    if fmt is None:
        return named or default
    if named is not None and named != fmt:
        raise OutputError(f"{output}: the extension {ext} names {named}, but --format is {fmt} "
                          f"(use {EXTENSIONS[fmt][0]} or --format {named})")
    return fmt


def check_target(output: str | None, fmt: str | None = None) -> None:
    """Fail early, in one line, when ``output`` cannot be written (see the module doc)."""
    if output is None or output == "-":
        if fmt == "parquet" and sys.stdout.isatty():
            raise OutputError("Parquet is binary: give -o FILE.parquet (or redirect standard output)")
        return
    if os.path.isdir(output) or output.endswith(os.sep):
        raise OutputError(f"{output}: is a directory; give a file name")
    parent = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(parent):
        raise OutputError(f"{output}: directory {os.path.dirname(output) or parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK) or (os.path.exists(output) and not os.access(output, os.W_OK)):
        raise OutputError(f"{output}: permission denied")


@contextlib.contextmanager
def atomic_path(output: str) -> Iterator[str]:
    """A temporary path beside ``output``, renamed to it when the block succeeds and
    removed when it fails (a reader never sees a half-written file). An existing
    ``output`` that is not a regular file (a device, a FIFO) is written in place."""
    check_target(output)
    if os.path.exists(output) and not os.path.isfile(output):
        yield output  # a device, a FIFO, /dev/stdout: written in place, never replaced
        return
    parent = os.path.dirname(os.path.abspath(output))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(output)}.", suffix=".part", dir=parent)
    os.close(fd)
    try:
        yield tmp
    except PcapkitError as exc:
        if isinstance(exc, OutputError):
            _discard(tmp)
        else:
            _commit(tmp, output)  # the input failed after some output: keep what was written
        raise
    except BaseException:
        _discard(tmp)
        raise
    _commit(tmp, output)


def _commit(tmp: str, output: str) -> None:
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, output)


def _discard(tmp: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_to(output: str | None, write: Callable[[IO[str]], object]) -> None:
    """Run ``write(stream)`` on standard output or, atomically, on the file ``output``;
    an OSError while writing (disk full, ...) becomes one error line."""
    try:
        if output is None or output == "-":
            write(sys.stdout)
            sys.stdout.flush()
            return
        with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8", newline="") as stream:
            write(stream)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"{output or 'standard output'}: cannot write: {exc.strerror or exc}") from None


def _write_table(df: ColumnTable, output: str | None, title: str | None, choice: ColumnChoice | None,
                 view: str | None) -> None:
    """The table view: the view's columns that fit the terminal (120 characters to a file
    or a pipe), every row; paged when a terminal cannot hold it."""
    from pcapkit.cli.views import ColumnChoice, select, table_width, view_note
    from pcapkit.reports.table import DEFAULT_WIDTH, table_text_chunks

    note = view_note(choice or ColumnChoice(), view)
    if note and not df.empty:
        title = f"{title}\n{note}" if title else note
    df, orders = select(df, "table", choice or ColumnChoice(), view)
    display, priority = orders if orders is not None else (None, None)
    to_terminal = (output is None or output == "-") and sys.stdout.isatty()
    chunks = table_text_chunks(df, columns=display, priority=priority, title=title,
                               width=table_width() if to_terminal else DEFAULT_WIDTH)
    if to_terminal and len(df) + 8 > shutil.get_terminal_size().lines:
        import click

        click.echo_via_pager(chunks)
        return
    write_to(output, lambda s: s.writelines(chunks))


def write_report(df: ColumnTable | pd.DataFrame, fmt: str | None, output: str | None, *,
                 title: str | None = None, error: str | None = None, choice: ColumnChoice | None = None,
                 view: str | None = None) -> None:
    """Write ``df`` (a report's :class:`~pcapkit.columnar.column_table.ColumnTable` or
    DataFrame: the same text) in ``fmt`` (table|csv|json|parquet; None: from ``output``'s extension)
    to ``output`` (None or "-": stdout): a table shows the columns of ``view`` (see
    :mod:`pcapkit.cli.views`) that fit, the other formats every column, unless ``choice``
    names columns. Then, when the input was cut short
    (``error``, or ``df.attrs["pcapkit.error"]``), raise that error for the CLI's one line.
    The limits that cut the work (``df.attrs["warnings"]``) go to standard error first."""
    from pcapkit.columnar.column_table import as_table

    fmt = format_for(output, fmt)
    check_target(output, fmt)
    for line in df.attrs.get("warnings", []):
        print(f"pcapkit: warning: {line}", file=sys.stderr)
    failure = error if error is not None else df.attrs.get("pcapkit.error")
    if choice is not None and fmt != "table":
        from pcapkit.cli.views import select

        df = select(df, fmt, choice, view)[0]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        from pcapkit.columnar.column_table import parquet_options
        from pcapkit.reports.export import arrow_table

        table = arrow_table(df)
        try:
            if output is None or output == "-":
                pq.write_table(table, sys.stdout.buffer, **parquet_options(table.schema))
                sys.stdout.buffer.flush()
            else:
                with atomic_path(output) as tmp:
                    pq.write_table(table, tmp, **parquet_options(table.schema))
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise OutputError(f"{output or 'standard output'}: cannot write: {exc.strerror or exc}") from None
    elif fmt == "csv":
        table = as_table(df)
        write_to(output, lambda s: write_csv(table, s))
    elif fmt == "json":
        table = as_table(df)
        write_to(output, lambda s: write_jsonl(table, s))
    else:
        _write_table(as_table(df), output, title, choice, view)
    if failure:
        raise PcapkitError(str(failure))


def write_report_frames(frames: Iterable[ColumnTable | pd.DataFrame], fmt: str | None, output: str | None, *,
                        extents: TableExtents | None = None, title: str | None = None,
                        choice: ColumnChoice | None = None, view: str | None = None) -> None:
    """:func:`write_report` of the rows of ``frames`` joined (at least one part; every part
    with the same columns and dtypes), the same output written a part at a time: CSV and
    JSON Lines part after part, Parquet a row group per part, a table laid out from
    ``extents`` (every row of the parts measured beforehand; without it the parts are
    joined first). The warnings are the first part's ``attrs``, the error the last one's.
    One part is :func:`write_report`'s."""
    import itertools

    from pcapkit.columnar.column_table import ColumnTable

    parts = iter(frames)
    first = next(parts)
    second = next(parts, None)
    if second is None:
        write_report(first, fmt, output, title=title, choice=choice, view=view)
        return
    fmt = format_for(output, fmt)
    if fmt == "table" and extents is None:
        import pandas as pd

        every_part = [df.to_pandas() if isinstance(df, ColumnTable) else df
                      for df in itertools.chain([first, second], parts)]
        whole = pd.concat(every_part, ignore_index=True)
        whole.attrs = {**every_part[0].attrs, **whole.attrs}
        write_report(whole, fmt, output, title=title, choice=choice, view=view)
        return
    check_target(output, fmt)
    for line in first.attrs.get("warnings", []):
        print(f"pcapkit: warning: {line}", file=sys.stderr)
    last: dict[Any, Any] = {}

    def every() -> Iterator[ColumnTable | pd.DataFrame]:
        for df in itertools.chain([first, second], parts):
            last.clear()
            last.update(df.attrs)
            if choice is not None and fmt != "table":
                from pcapkit.cli.views import select

                df = select(df, fmt, choice, view)[0]
            yield df

    if fmt == "parquet":
        _write_parquet_parts(every(), output)
    elif fmt in ("csv", "json"):
        from pcapkit.reports.column_text import csv_parts, jsonl_parts, write_parts

        def write(stream: IO[str]) -> None:
            for i, df in enumerate(every()):
                write_parts(stream, csv_parts(df, header=i == 0) if fmt == "csv" else jsonl_parts(df))

        write_to(output, write)
    else:
        assert extents is not None
        _write_table_parts(every(), extents, output, title, choice, view)
    failure = last.get("pcapkit.error")
    if failure:
        raise PcapkitError(str(failure))


def table_extents(choice: ColumnChoice | None, view: str | None) -> TableExtents:
    """A :class:`~pcapkit.reports.table.TableExtents` measuring the columns a table of
    ``view`` with ``choice`` can show (the named ones, every one, or the view's), for
    :func:`write_report_frames`: the parts are given to its ``add`` in a first pass."""
    from pcapkit.cli.views import VIEWS, ColumnChoice
    from pcapkit.reports.table import TableExtents

    choice = choice or ColumnChoice()
    named = choice.named()
    if named is not None:
        return TableExtents(named)
    if choice.columns == "all" or view is None or view not in VIEWS:
        return TableExtents()
    return TableExtents(VIEWS[view].columns)


def _write_parquet_parts(parts: Iterable[ColumnTable | pd.DataFrame], output: str | None) -> None:
    import pyarrow.parquet as pq

    from pcapkit.columnar.column_table import parquet_options
    from pcapkit.reports.export import arrow_table

    def write(target: Any) -> None:
        writer: pq.ParquetWriter | None = None
        try:
            for df in parts:
                table = arrow_table(df)
                if writer is None:
                    writer = pq.ParquetWriter(target, table.schema, **parquet_options(table.schema))
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()

    try:
        if output is None or output == "-":
            write(sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            with atomic_path(output) as tmp:
                write(tmp)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"{output or 'standard output'}: cannot write: {exc.strerror or exc}") from None


def _write_table_parts(parts: Iterator[ColumnTable | pd.DataFrame], extents: TableExtents, output: str | None,
                       title: str | None, choice: ColumnChoice | None, view: str | None) -> None:
    """:func:`_write_table` of parts, laid out from ``extents``."""
    import itertools

    from pcapkit.cli.views import VIEWS, ColumnChoice, select, table_width, view_note
    from pcapkit.columnar.column_table import as_table
    from pcapkit.reports.table import DEFAULT_WIDTH, table_text_frames

    choice = choice or ColumnChoice()
    first = next(parts)
    note = view_note(choice, view)
    if note and extents.rows:
        title = f"{title}\n{note}" if title else note
    named = choice.named()
    orders: Any = None
    if named is not None:
        select(first, "table", choice, view)  # (an unknown name: the error, as for one part)
        parts = (as_table(df).select(named) for df in itertools.chain([first], parts))
    else:
        parts = itertools.chain([first], parts)
        if choice.columns != "all" and view is not None and view in VIEWS:
            # (as select: a column of the view that no row fills is left out)
            orders = VIEWS[view].ordered([str(c) for c in first.columns if extents.filled.get(c)])
    display, priority = orders if orders is not None else (None, None)
    to_terminal = (output is None or output == "-") and sys.stdout.isatty()
    chunks = table_text_frames(parts, extents, columns=display, priority=priority, title=title,
                               width=table_width() if to_terminal else DEFAULT_WIDTH)
    if to_terminal and extents.rows + 8 > shutil.get_terminal_size().lines:
        import click

        click.echo_via_pager(chunks)
        return
    write_to(output, lambda s: s.writelines(chunks))


@contextlib.contextmanager
def open_output(output: str | None) -> Iterator[IO[str]]:
    """A text stream to standard output or, atomically, to the file ``output``, for
    commands that write as they go (read, show, stats); write errors become one line."""
    check_target(output)
    try:
        if output is None or output == "-":
            yield sys.stdout
            sys.stdout.flush()
            return
        with atomic_path(output) as tmp, open(tmp, "w", encoding="utf-8", newline="") as stream:
            yield stream
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"{output or 'standard output'}: cannot write: {exc.strerror or exc}") from None
