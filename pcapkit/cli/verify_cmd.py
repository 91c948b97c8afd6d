"""``pcapkit verify FILE``: compare pcapkit's dissection with tshark's, field by field."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import click

from pcapkit.cli.common import PcapkitCommand


def tshark_rows(path: str, names: list[str]) -> list[dict[str, str]]:
    """``tshark -T fields`` for ``names`` (all occurrences, joined by ','), one dict per frame."""
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,",
           "-E", "separator=\t", "-E", "quote=n"]
    for name in names:
        cmd += ["-e", name]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
    if proc.returncode != 0 and not proc.stdout:
        raise click.ClickException(f"tshark failed on {path}: {proc.stderr.strip().splitlines()[-1:]}")
    rows = []
    for line in proc.stdout.splitlines():
        values = line.split("\t")
        rows.append({n: v for n, v in zip(names, values, strict=False) if v != ""})
    return rows


def compare(path: str, prefixes: tuple[str, ...] = (),
            warnings: list[str] | None = None) -> tuple[list[tuple[int, str, str | None, str | None]], int, int]:
    """[(frame, field, pcapkit, tshark)], number of values compared, number of frames;
    ``warnings`` receives what stopped reading a damaged file."""
    from pcapkit.cli.show_cmd import field_specs
    from pcapkit.dissect.driver import dissect_file

    specs = field_specs()
    per_frame = [p.fields() for p in dissect_file(path, warnings=warnings)]
    names = sorted({n for f in per_frame for n in f if n in specs and n != "frame.protocols"
                    and (not prefixes or n.startswith(prefixes))})
    diffs: list[tuple[int, str, str | None, str | None]] = []
    if not names:
        return diffs, 0, len(per_frame)
    rows = tshark_rows(path, names)
    if len(rows) != len(per_frame):
        diffs.append((0, "frame count", str(len(per_frame)), str(len(rows))))
    compared = 0
    for number, (ours_all, theirs_all) in enumerate(zip(per_frame, rows, strict=False), 1):
        for name in names:
            value: Any = ours_all.get(name)
            ours = specs[name].render(value) if value is not None else None
            theirs = theirs_all.get(name)
            if not ours and theirs is None:
                continue
            compared += 1
            if ours != theirs:
                diffs.append((number, name, ours, theirs))
    return diffs, compared, len(per_frame)


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--prefix", "prefixes", multiple=True, metavar="PROTO.",
              help="Compare only fields starting with this (repeatable), e.g. --prefix ip.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True,
              help="Print at most N differences (0: all).")
def verify(file: str, prefixes: tuple[str, ...], limit: int) -> None:
    """Dissect FILE with pcapkit and with tshark and report every difference.

    The oracle is Wireshark's dissection (what pyshark wraps); pcapkit runs tshark
    -T fields directly over the field names pcapkit emits, which is faster. Each
    difference is printed as "frame N FIELD: pcapkit=... tshark=...". Exit status
    is 1 when there is any difference.

    \b
    Examples:
      pcapkit verify capture.pcap
      pcapkit verify capture.pcap --prefix ip. --prefix eth.
    """
    if shutil.which("tshark") is None:
        raise click.ClickException("tshark is not installed (it is the reference pcapkit compares with)")
    warnings: list[str] = []
    diffs, compared, frames = compare(file, prefixes, warnings)
    shown = diffs if limit == 0 else diffs[:limit]
    for number, name, ours, theirs in shown:
        click.echo(f"frame {number} {name}: pcapkit={ours!r} tshark={theirs!r}")
    if len(shown) < len(diffs):
        click.echo(f"... {len(diffs) - len(shown)} more")
    click.echo(f"{file}: {frames} frames, {compared} field values compared, {len(diffs)} differences")
    if warnings:
        click.echo(f"pcapkit: error: {warnings[0]}", err=True)
    if diffs or warnings:
        raise SystemExit(1)
