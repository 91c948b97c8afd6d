"""``pcapkit stats FILE...``: what capinfos prints, optionally the protocol hierarchy."""

from __future__ import annotations

import json
import os
from importlib import import_module
from typing import Any

import click

from pcapkit.cli.common import PcapkitCommand, output_options


def _protocols_of(pairs: list[tuple[str, int]]) -> Any:
    """A frame callback that dissects each frame (one session, in file order) and keeps
    its frame.protocols and wire length, for the protocol hierarchy."""
    from pcapkit.dissect.driver import DissectSession, dissect

    session = DissectSession()

    def add(frame: Any) -> None:
        pairs.append((dissect(frame, session).protocols if frame.linktype >= 0 else "", frame.wirelen))

    return add


@click.command(cls=PcapkitCommand)
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--hierarchy", is_flag=True, help="Add the protocol hierarchy (like tshark -z io,phs).")
@click.option("--no-hash", is_flag=True, help="Do not compute the file's SHA256.")
@output_options()
def stats(files: tuple[str, ...], hierarchy: bool, no_hash: bool, fmt: str, output: str | None) -> None:
    """What capinfos prints about each FILE: format, link types, packets, data size,
    first/last packet time (exact decimal epoch seconds), duration, rates, snapshot
    length, interfaces.

    \b
    Examples:
      pcapkit stats capture.pcapng
      pcapkit stats a.pcap b.pcap --format json
      pcapkit stats capture.pcap --format csv -o info.csv
    """
    from pcapkit.errors import PcapkitError
    from pcapkit.reports.capinfo import capture_info, info_table

    infos = []
    failed = False
    hier: dict[str, Any] = {}
    for path in files:
        pairs: list[tuple[str, int]] = []
        # a regular file is read a second time by the columnar pass (most frames served
        # without dissection); a pipe or standard input is read once, each frame dissected
        columnar = hierarchy and path != "-" and os.path.isfile(path)
        on_frame = _protocols_of(pairs) if hierarchy and not columnar else None
        try:
            infos.append(capture_info(path, hashes=not no_hash, on_frame=on_frame))
        except PcapkitError as exc:
            if len(files) == 1:
                raise
            click.echo(f"pcapkit: error: {exc}", err=True)
            failed = True
            continue
        if columnar:
            from pcapkit.columnar.protocols import protocol_hierarchy

            hier[infos[-1].file] = protocol_hierarchy(path)
        elif hierarchy:
            from pcapkit.dissect.hierarchy import hierarchy_from_protocols

            hier[infos[-1].file] = hierarchy_from_protocols(pairs)
    from pcapkit.cli.output import open_output

    if fmt == "table":
        with open_output(output) as out:
            for n, info in enumerate(infos):
                if n:
                    out.write("\n")
                out.write(_info_text(info))
                if info.file in hier:
                    out.write("\n" + _hier_text(hier[info.file]))
    elif fmt == "json":
        with open_output(output) as out:
            for info in infos:
                d = {k: v for k, v in info.as_dict().items() if v is not None}
                if info.file in hier:
                    d["hierarchy"] = _hier_json(hier[info.file])
                out.write(json.dumps(d) + "\n")
    else:
        from pcapkit.cli.output import write_report

        write_report(info_table(infos), fmt, output)
    for info in infos:  # a damaged file: every readable packet was counted, then it fails, as capinfos
        for w in info.warnings:
            click.echo(f"pcapkit: error: {w}", err=True)
    if failed or any(info.warnings for info in infos):
        raise SystemExit(1)


def _info_text(info: Any, width: int = 120) -> str:
    """capinfos' lines, the first/last packet times followed by their UTC dates, long
    values wrapped under themselves to ``width``."""
    import textwrap

    from pcapkit.reports.capinfo import info_lines_with_dates

    lines = info_lines_with_dates(info)
    indent = max(len(label) for label, _ in lines) + 2
    out = []
    for label, value in lines:
        wrapped = textwrap.wrap(str(value), max(width - indent, 20), break_on_hyphens=False) or [""]
        out.append(f"{label + ':':<{indent}}{wrapped[0]}")
        out.extend(" " * indent + more for more in wrapped[1:])
    return "\n".join(out) + "\n"


def _hier_text(h: Any) -> str:
    """tshark's io,phs text for [(path, frames, bytes), ...] rows (a table otherwise)."""
    if hasattr(h, "to_string"):
        return str(h.to_string(index=False)) + "\n"
    try:
        fmt = import_module("pcapkit.dissect.hierarchy").format_hierarchy
    except (ImportError, AttributeError):
        fmt = None
    if fmt is not None:
        return str(fmt(h)).lstrip("\n") + "\n"
    return "".join(f"{path} frames:{frames} bytes:{nbytes}\n" for path, frames, nbytes in h)


def _hier_json(h: Any) -> Any:
    """JSON objects: {"protocol": path, "frames": n, "bytes": n} per row."""
    if hasattr(h, "to_dict"):
        return h.to_dict(orient="records")
    return [{"protocol": path, "frames": frames, "bytes": nbytes} for path, frames, nbytes in h]
