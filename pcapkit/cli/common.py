"""What every subcommand shares: error printing, output formats, -o FILE.

Errors that pcapkit raises on purpose (:class:`pcapkit.errors.PcapkitError`) become
one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from pcapkit.errors import PcapkitError

F = TypeVar("F", bound=Callable[..., Any])


def run_cli(group: click.Group, argv: list[str]) -> Any:
    try:
        return group.main(args=argv, prog_name="pcapkit", standalone_mode=True)
    except PcapkitError as exc:  # pragma: no cover - standalone_mode handles ClickException
        click.echo(f"pcapkit: error: {exc}", err=True)
        sys.exit(1)


def fail(message: str) -> None:
    """Print one error line and exit 1."""
    raise click.ClickException(message)


class PcapkitCommand(click.Command):
    """A click command that turns PcapkitError into one error line (exit 1) and
    BrokenPipe (e.g. ``| head``) into a quiet exit."""

    # announce numba's compiles from the start (importing numba); False: the command
    # does it where it starts numba, if it does (pcapkit read: its first lines come first)
    announce_compiles_first = True

    def invoke(self, ctx: click.Context) -> Any:
        from pcapkit.capture.compiled import input_size

        try:
            with input_size(input_bytes(ctx.params)) as compiled:
                if compiled and self.announce_compiles_first:
                    from pcapkit.cli.progress import announce_compiles

                    announce_compiles()
                return super().invoke(ctx)
        except PcapkitError as exc:
            click.echo(f"pcapkit: error: {exc}", err=True)
            ctx.exit(1)
        except BrokenPipeError:
            # the reader went away (pcapkit read ... | head): stop quietly
            with contextlib.suppress(OSError):
                sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - avoid a second EPIPE at exit
            ctx.exit(0)
        except KeyboardInterrupt:
            ctx.exit(130)


def input_bytes(params: dict[str, Any]) -> int | None:
    """The size of a command's input files (None when unknown: standard input, a
    directory, no file), which decides whether numba's kernels pay (pcapkit.capture.compiled)."""
    total = 0
    for name, value in params.items():
        if name == "output":
            continue
        for path in value if isinstance(value, (tuple, list)) else (value,):
            if not isinstance(path, str):
                continue
            if path == "-" or os.path.isdir(path):
                return None
            if os.path.isfile(path):
                total += os.path.getsize(path)
    return total or None


def output_options(formats: tuple[str, ...] = ("table", "csv", "json", "parquet"),
                   default: str = "table") -> Callable[[F], F]:
    """``--format`` and ``-o FILE`` for report commands. Without ``--format`` the
    extension of ``-o`` chooses the format (else ``default``); a target that cannot be
    written fails before any work is done (see :mod:`pcapkit.cli.output`)."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            from pcapkit.cli.output import check_target, format_for

            output = kwargs.get("output")
            fmt = format_for(output, kwargs.get("fmt"), default)
            if fmt not in formats:
                raise click.BadParameter(f"{fmt} is not one of {', '.join(formats)}", param_hint="--format")
            check_target(output, fmt)
            kwargs["fmt"] = fmt
            return fn(*args, **kwargs)

        wrapped = click.option("-o", "--output", "output", type=click.Path(),
                               default=None, help="Write to FILE instead of standard output.")(run)
        wrapped = click.option("--format", "fmt", type=click.Choice(list(formats)), default=None,
                               help=f"Output format (json = JSON Lines). Default: from -o's extension, "
                                    f"else {default}.")(wrapped)
        return wrapped  # type: ignore[return-value]

    return decorate
