"""``pcapkit show FILE [FILTER]``: the full dissection, as a tree (like ``tshark -V``) or JSON Lines."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import click

from pcapkit.cli.common import PcapkitCommand
from pcapkit.errors import PcapkitError
from pcapkit.fields import FieldSpec

if TYPE_CHECKING:
    from pcapkit.dissect.driver import Packet

TITLES = {
    "eth": "Ethernet II", "llc": "Logical-Link Control", "vlan": "802.1Q Virtual LAN",
    "ieee8021ad": "IEEE 802.1ad", "sll": "Linux cooked capture", "null": "Null/Loopback",
    "raw": "Raw packet data", "arp": "Address Resolution Protocol", "ip": "Internet Protocol Version 4",
    "ipv6": "Internet Protocol Version 6", "ipv6.hopopts": "IPv6 Hop-by-Hop Option",
    "ipv6.routing": "Routing Header for IPv6", "ipv6.fraghdr": "Fragment Header for IPv6",
    "ipv6.dstopts": "Destination Options for IPv6", "tcp": "Transmission Control Protocol",
    "udp": "User Datagram Protocol", "icmp": "Internet Control Message Protocol",
    "icmpv6": "Internet Control Message Protocol v6", "dhcp": "Dynamic Host Configuration Protocol",
    "dhcpv6": "DHCPv6", "bgp": "Border Gateway Protocol", "dns": "Domain Name System",
    "mdns": "Multicast Domain Name System", "llmnr": "Link-local Multicast Name Resolution",
}


def _packets(path: str, expr: str, count: int | None, frame_no: int | None,
             warnings: list[str]) -> Iterator[tuple[Packet, dict[str, Any]]]:
    """Each frame shown, dissected, with its TCP analysis fields (text): the analysis
    reads the frames the listing reads, a batch ahead (:class:`~pcapkit.cli.fields_view.
    FramesOnce`), so a pipe is read once and every frame before the one shown counts."""
    from importlib import import_module

    from pcapkit.capture.files import open_capture
    from pcapkit.cli.fields_view import AnalysisValues, FramesOnce
    from pcapkit.dissect.driver import DissectSession, dissect
    from pcapkit.proto.tcp_analysis import FIELDS as TCP_ANALYSIS

    session = DissectSession()
    shown = 0
    with open_capture(path) as reader:
        once = FramesOnce(reader)
        analysed = AnalysisValues(once.for_analysis(), [spec.name for spec in TCP_ANALYSIS])
        frames: Any = once.for_listing(analysed)
        if expr:
            try:
                filter_frames = import_module("pcapkit.capture.bpf").filter_frames
            except (ImportError, AttributeError) as exc:
                raise click.ClickException("filters need pcapkit.capture.bpf, which is not available") from exc
            frames = filter_frames(frames, expr)
        for frame in frames:
            # dissect every frame in order so that reassembly sees all fragments
            packet = dissect(frame, session)
            if frame_no is not None and frame.number != frame_no:
                if frame.number > frame_no:
                    return
                continue
            if reader.format == "pcapng" and frame.linktype >= 0:
                packet.frame_info = {"frame.interface_id": frame.interface_id}
            yield packet, analysed.of(frame.number)
            shown += 1
            if count is not None and shown >= count:
                return
        warnings.extend(reader.warnings)  # read to the end: what stopped a damaged file


def _render(spec: FieldSpec | None, value: Any) -> str:
    if spec is not None:
        return spec.render(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    return str(value)


def packet_json(packet: Packet, specs: dict[str, FieldSpec], analysis: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One frame as a JSON object: field name -> tshark's text (repeated field -> list),
    with the TCP ``analysis`` fields (``tcp.stream``, ``tcp.analysis.*``: already text)."""
    obj: dict[str, Any] = {}
    for name, value in packet.fields().items():
        if isinstance(value, list):
            obj[name] = [_render(specs.get(name), v) for v in value]
        else:
            obj[name] = _render(specs.get(name), value)
    if analysis:
        obj.update(analysis)
    if packet.findings:
        obj["_findings"] = [str(f) for f in packet.findings]
    return obj


def packet_tree(packet: Packet, specs: dict[str, FieldSpec], *, labels: bool = True,
                field_lines: FieldLines | None = None, analysis: Mapping[str, Any] | None = None) -> list[str]:
    """The indented text tree: a title line per layer, where its bytes are, then its
    fields as ``tshark -V`` labels them ("Source Address: 10.0.0.1"; with
    ``labels=False`` by Wireshark field name, "ip.src: 10.0.0.1"). Values are printed as
    ``tshark -T fields`` prints them. ``field_lines``: a dict kept from one packet to the
    next (with the same ``specs`` and ``labels``), where each field's line head and value
    renderer are made once. ``analysis``: the frame's TCP analysis fields (text), shown
    after its (last) TCP header as tshark -V shows them (:mod:`pcapkit.cli.analysis_tree`)."""
    from pcapkit.frame import frame_epoch_text

    f = packet.frame
    lines = [f"Frame {f.number}: {f.wirelen} bytes on wire ({f.wirelen * 8} bits), "
             f"{f.caplen} bytes captured ({f.caplen * 8} bits)",
             f"    Epoch Time: {frame_epoch_text(f)} seconds",
             f"    Frame Number: {f.number}",
             f"    Frame Length: {f.wirelen} bytes ({f.wirelen * 8} bits)",
             f"    Capture Length: {f.caplen} bytes ({f.caplen * 8} bits)",
             f"    [Protocols in frame: {packet.protocols}]"]
    append = lines.append
    if field_lines is None:
        field_lines = {}
    tcp_at = -1
    if analysis:
        tcp_at = max((i for i, layer in enumerate(packet.layers) if layer.protocol == "tcp"), default=-1)
    for at, layer in enumerate(packet.layers):
        title = TITLES.get(layer.protocol, layer.protocol)
        append(f"{title}{', ' + layer.summary if layer.summary else ''}")
        if layer.length:
            append(f"    [Bytes {layer.offset}-{layer.offset + layer.length - 1} of the frame "
                   f"({layer.length} bytes)]")
        fields = layer.fields
        shape = tuple(fields)
        render_layer = field_lines.get(shape)
        if render_layer is None:
            render_layer = _layer_renderer(shape, field_lines, specs, labels)
        render_layer(fields.values(), lines)
        for finding in layer.findings:
            append(f"    [{finding.kind.value}: {finding.reason} (offset {finding.offset})]")
        if at == tcp_at and analysis:
            from pcapkit.cli.analysis_tree import analysis_lines

            lines += analysis_lines(analysis, fields.get("tcp.flags"), field_labels() if labels else None)
    return lines


def _one_field(lines: list[str], line: FieldLine, value: Any) -> None:
    """Append the line(s) of one field's value (a repeated field: one per value)."""
    whole, head, render, _ = line
    if isinstance(value, list):
        if not getattr(value, "_multi", False):
            lines.extend(_wrapped(head, render(value)))
        elif whole is not None:
            lines.extend(map(whole, value))
        else:
            for v in value:
                lines.extend(_wrapped(head, render(v)))
    elif whole is not None:
        lines.append(whole(value))
    else:
        text = render(value)
        if len(text) <= _WRAP_WIDTH or " " in text:
            lines.append(head + text)
        else:
            lines.extend(_wrapped(head, text))


def _one_item(lines: list[str], line: FieldLine, value: Any) -> None:
    """Append the line of one value of a repeated field."""
    whole, head, render, _ = line
    if whole is not None:
        lines.append(whole(value))
    else:
        lines.extend(_wrapped(head, render(value)))


MAX_SHAPES = 2000  # layer shapes given their own renderer; past it, the general loop
MAX_SHAPE_FIELDS = 250


def _layer_renderer(shape: tuple[str, ...], field_lines: FieldLines, specs: dict[str, FieldSpec],
                    labels: bool) -> Callable[[Any, list[str]], None]:
    """The function appending the lines of a layer whose fields are ``shape`` (names in
    order), kept in ``field_lines`` under the shape. A layer's fields come in a few
    orders per protocol, so each order gets a function made for it (compiled from
    generated source): every field's head and renderer are bound in advance and the
    common values (an int, a bool, a short str) are formatted inline; any other value
    goes through :func:`_one_field`, as a field of a shape past MAX_SHAPES does."""
    for name in shape:
        if name not in field_lines:
            field_lines[name] = _field_line(name, specs.get(name), labels)
    lines_of = [field_lines[name] for name in shape]

    def general(values: Any, lines: list[str]) -> None:
        for line, value in zip(lines_of, values, strict=True):
            _one_field(lines, line, value)

    shapes = field_lines.setdefault(_SHAPES, [0])
    if not shape or len(shape) > MAX_SHAPE_FIELDS or shapes[0] >= MAX_SHAPES:
        field_lines[shape] = general
        return general
    shapes[0] += 1
    from pcapkit.dissect.base import _Multi  # (a repeated field's values: one line each)

    env: dict[str, Any] = {"_one": _one_field, "_item": _one_item, "Multi": _Multi, "bool": bool, "int": int,
                           "str": str, "len": len, "type": type}
    body: list[str] = []
    for i, (name, line) in enumerate(zip(shape, lines_of, strict=True)):
        _, head, _, kind = line
        env[f"L{i}"], env[f"H{i}"] = line, head
        if kind == "bool":
            env[f"T{i}"], env[f"F{i}"] = head + "1", head + "0"
            test, text = "type({v}) is bool", f"T{i} if {{v}} else F{i}"
        elif kind == "dec":
            test, text = "type({v}) is int", f"H{i} + str({{v}})"
        elif kind == "hex":
            env[f"X{i}"] = _hex_format(head, specs[name])
            test, text = "type({v}) is int", f"X{i}({{v}})"
        elif kind == "str":
            test, text = f"type({{v}}) is str and len({{v}}) <= {_WRAP_WIDTH}", f"H{i} + {{v}}"
        else:
            body.append(f"_one(lines, L{i}, v{i})")
            continue
        value = f"v{i}"
        body += [f"if type({value}) is Multi:",
                 f"    for x in {value}:",
                 f"        if {test.format(v='x')}: a({text.format(v='x')})",
                 f"        else: _item(lines, L{i}, x)",
                 f"elif {test.format(v=value)}: a({text.format(v=value)})",
                 f"else: _one(lines, L{i}, {value})"]
    names = ", ".join(f"v{i}" for i in range(len(shape)))
    source = (f"def render(values, lines):\n    a = lines.append\n    ({names},) = values\n"
              + "".join(f"    {line}\n" for line in body))
    exec(compile(source, f"<pcapkit.cli.show_cmd layer shape {shapes[0]}>", "exec"), env)
    render: Callable[[Any, list[str]], None] = env["render"]
    field_lines[shape] = render
    return render


def _hex_format(head: str, spec: FieldSpec) -> Callable[[int], str]:
    """head + the integer in hex as tshark prints the field (zero-padded to its width)."""
    return (head + f"0x{{:0{max(1, (spec.bits + 3) // 4) if spec.bits else 1}x}}").format


_SHAPES = ("\0", "shapes made")  # (the count of generated renderers, kept in field_lines)
_WRAP_WIDTH = 64  # a longer unbroken value (a payload's hex) is continued under itself
# (whole line of a value, line head, value renderer, kind: "dec", "hex", "bool", "str" or "")
FieldLine = tuple[Callable[[Any], str] | None, str, Callable[[Any], str], str]
# field name -> FieldLine; a layer's field names (a tuple) -> the layer's renderer
FieldLines = dict[Any, Any]
def _field_line(name: str, spec: FieldSpec | None, labels: bool) -> FieldLine:
    """(value -> its whole line, for the kinds whose text is always short: integers in
    decimal or hex, booleans; ``"    Label: "``; value -> text as :func:`_render` gives it).
    The quick renderers give what ``spec.render`` gives, which they call for anything
    else (a value of another type)."""
    label = field_labels().get(name, name) if labels else name
    head = f"    {label}: "
    if spec is None:
        return None, head, functools.partial(_render, None), ""
    general = spec.render
    t = spec.ftype
    if t == "bool":
        on, off = head + "1", head + "0"

        def boolean(value: Any) -> str:
            return on if value else off
        return boolean, head, general, "bool"
    if t in ("uint", "int", "framenum") and spec.base in ("dec", "hex"):
        if spec.base == "dec":
            def decimal(value: Any) -> str:
                return head + (str(value) if type(value) is int else general(value))
            return decimal, head, general, "dec"
        hex_format = _hex_format(head, spec)

        def hexadecimal(value: Any) -> str:
            return hex_format(value) if type(value) is int else head + general(value)
        return hexadecimal, head, general, "hex"
    if t in ("ipv4", "ipv6", "ether", "string"):
        def text(value: Any) -> str:
            return value if type(value) is str else general(value)
        return None, head, text, "str"
    return None, head, general, ""


@functools.cache
def field_labels() -> dict[str, str]:
    """Wireshark's label of each field pcapkit dissects (field_labels.tsv, generated by
    scripts/gen_field_labels.py from ``tshark -G fields``)."""
    from importlib.resources import files

    text = files("pcapkit.cli").joinpath("field_labels.tsv").read_text(encoding="utf-8")
    pairs = (line.split("\t", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {name: label for name, label in pairs}


def _wrapped(head: str, text: str, width: int = _WRAP_WIDTH) -> list[str]:
    """``head + text``, a long unbroken value (a payload's hex) continued under itself."""
    if len(text) <= width or " " in text:
        return [head + text]
    pad = " " * len(head)
    return [(head if i == 0 else pad) + text[i:i + width] for i in range(0, len(text), width)]


def hex_dump(data: bytes) -> list[str]:
    """The bytes as ``tshark -x`` prints them: offset, 16 hex bytes, their ASCII."""
    lines = []
    for start in range(0, len(data), 16):
        row = data[start:start + 16]
        hex_part = " ".join(f"{b:02x}" for b in row)
        text = "".join(chr(b) if 0x20 <= b < 0x7F else "." for b in row)
        lines.append(f"{start:04x}  {hex_part:<47}   {text}")
    return lines


def field_specs() -> dict[str, FieldSpec]:
    """FieldSpecs of every dissector module that is present."""
    from importlib import import_module

    from pcapkit.dissect import FIELD_MODULES

    specs: dict[str, FieldSpec] = {}
    for name in FIELD_MODULES:
        try:
            module = import_module(name)
        except ImportError:
            continue
        for spec in getattr(module, "FIELDS", ()):
            specs[spec.name] = spec
    return specs


@click.command(cls=PcapkitCommand)
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.argument("filter_expr", nargs=-1)
@click.option("-c", "--count", type=click.IntRange(min=1), default=None, help="Show at most N frames.")
@click.option("--frame", "frame_no", type=click.IntRange(min=1), default=None, help="Show only frame N.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True,
              help="text: a tree like tshark -V; json: JSON Lines, one object per frame.")
@click.option("-o", "--output", type=click.Path(), default=None,
              help="Write to FILE instead of standard output.")
@click.option("-V", "verbose", is_flag=True, help="The layer tree (the default; accepted as in tshark).")
@click.option("-x", "hexdump", is_flag=True, help="After each tree, the frame's bytes in hex and ASCII (tshark -x).")
@click.option("--names", is_flag=True, help="Field names (ip.src) instead of Wireshark's labels (Source Address).")
def show(file: str, filter_expr: tuple[str, ...], count: int | None, frame_no: int | None,
         fmt: str, output: str | None, verbose: bool, hexdump: bool, names: bool) -> None:
    """Full dissection of FILE: every layer (with the bytes it covers) and field, with
    Wireshark's labels as tshark -V prints them (field names with --names), and the
    frame's bytes with -x.

    FILTER is a tcpdump expression. Values are printed as tshark -T fields prints
    them; findings (truncated, malformed) follow the layer they belong to.

    \b
    Examples:
      pcapkit show capture.pcap -c 2
      pcapkit show capture.pcap --frame 17 -x
      pcapkit show capture.pcap 'tcp port 80' --format json -o frames.jsonl
    """
    specs = field_specs()
    from pcapkit.cli.output import open_output

    with open_output(output) as out:
        first = True
        warnings: list[str] = []
        field_lines: FieldLines = {}
        for packet, analysis in _packets(file, " ".join(filter_expr), count, frame_no, warnings):
            if fmt == "json":
                out.write(json.dumps(packet_json(packet, specs, analysis)) + "\n")
            else:
                if not first and not hexdump:
                    out.write("\n")
                out.write("\n".join(packet_tree(packet, specs, labels=not names, field_lines=field_lines,
                                                 analysis=analysis)) + "\n")
                if hexdump:  # as tshark -V -x: a blank line, the bytes, a blank line
                    out.write("\n" + "\n".join(hex_dump(bytes(packet.frame.data))) + "\n\n")
            first = False
    if warnings:
        raise PcapkitError(warnings[0])
