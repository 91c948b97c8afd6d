"""``pcapkit stats FILE...``: what capinfos prints, optionally the protocol hierarchy."""

from __future__ import annotations

import json
from importlib import import_module
from typing import Any

import click

from pcapkit.cli.common import PcapkitCommand, output_options


def _hierarchy(path: str) -> Any | None:
    """The protocol hierarchy of ``path`` if pcapkit.dissect.hierarchy is available."""
    try:
        module = import_module("pcapkit.dissect.hierarchy")
        func = module.protocol_hierarchy
    except (ImportError, AttributeError):
        return None
    return func(path)


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
    from pcapkit.reports.capinfo import capture_info, info_frame, info_lines

    infos = []
    failed = False
    for path in files:
        try:
            infos.append(capture_info(path, hashes=not no_hash))
        except PcapkitError as exc:
            if len(files) == 1:
                raise
            click.echo(f"pcapkit: error: {exc}", err=True)
            failed = True
    hier: dict[str, Any] = {}
    if hierarchy:
        for info in infos:
            h = _hierarchy(info.file)
            if h is None:
                raise click.ClickException("--hierarchy: the protocol hierarchy is not available "
                                           "(pcapkit.dissect.hierarchy missing)")
            hier[info.file] = h
    from pcapkit.cli.output import open_output

    if fmt == "table":
        with open_output(output) as out:
            for n, info in enumerate(infos):
                if n:
                    out.write("\n")
                width = max(len(label) for label, _ in info_lines(info)) + 2
                for label, value in info_lines(info):
                    out.write(f"{label + ':':<{width}}{value}\n")
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

        write_report(info_frame(infos), fmt, output)
    for info in infos:  # a damaged file: every readable packet was counted, then it fails, as capinfos
        for w in info.warnings:
            click.echo(f"pcapkit: error: {w}", err=True)
    if failed or any(info.warnings for info in infos):
        raise SystemExit(1)


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
