"""Accessors generated from the fields of a :class:`~pcapkit.proto.spec.Header`, as dataclasses
generate ``__init__``: Python source text built from the declaration and compiled once.

The source is what one would write by hand (``lambda d, o: (d[o + 12] >> 4) * 4``; masks
applied per byte, a byte outside the mask not read at all), so a generated getter costs
what a hand-written one did. Each generated function's source is registered with
:mod:`linecache`, so tracebacks and ``inspect.getsource`` show it; :func:`source` returns it.
"""

from __future__ import annotations

import linecache
import struct
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, Protocol

from pcapkit.fields import ipv6_text

Getter = Callable[[Any, int], Any]
Unpacker = Callable[[Any, int], tuple[Any, ...]]


class Field(Protocol):
    """What the generator reads of a :class:`pcapkit.proto.spec.Field` (which imports this
    module, so the type is stated here by its shape)."""

    @property
    def name(self) -> str: ...
    @property
    def ftype(self) -> str: ...
    @property
    def off(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def shift(self) -> int: ...
    @property
    def mask(self) -> int: ...
    @property
    def scale(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def bitmask(self) -> int: ...

_NAMESPACE: dict[str, Any] = {
    "_ipv6_text": ipv6_text,
    "_U32": struct.Struct("!I").unpack_from,
    "_U64": struct.Struct("!Q").unpack_from,
}
_CACHE: dict[tuple[str, tuple[Field, ...]], Any] = {}
_SOURCES: dict[int, str] = {}
_counter = [0]


def _compile(source: str, name: str, extra: dict[str, Any] | None = None) -> Any:
    """Compile ``source`` (defining ``name``) under a file name linecache knows."""
    _counter[0] += 1
    filename = f"<pcapkit.proto generated {_counter[0]}: {name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = dict(_NAMESPACE)
    if extra:
        namespace.update(extra)
    exec(compile(source, filename, "exec"), namespace)
    fn = namespace[name]
    _SOURCES[id(fn)] = source
    return fn


def source(fn: object) -> str:
    """The generated source of an accessor made here."""
    return _SOURCES[id(fn)]


def _pos(base: str | None, k: int) -> str:
    """Source of position ``base + k`` (``base`` None: the constant ``k``)."""
    if base is None:
        return str(k)
    return f"{base} + {k}" if k else base


def _at(var: str, base: str | None, k: int) -> str:
    return f"{var}[{_pos(base, k)}]"


def _slice(var: str, base: str | None, k: int, size: int) -> str:
    return f"{var}[{_pos(base, k)}:{_pos(base, k + size)}]"


def _int_expr(f: Field, var: str, base: str | None, k: int) -> str:
    """The value of integer field ``f`` whose span starts at ``var[base + k]``: its bytes
    combined big-endian, each masked and shifted into place (bytes outside the mask skipped)."""
    size = f.size
    if not f.mask and not f.shift and size in (4, 8):
        value = f"{'_U32' if size == 4 else '_U64'}({var}, {_pos(base, k)})[0]"
    else:
        effective = f.bitmask
        terms = []
        for i in range(size):
            byte_mask = (effective >> (8 * (size - 1 - i))) & 0xFF
            if not byte_mask:
                continue
            term = _at(var, base, k + i)
            move = 8 * (size - 1 - i) - f.shift  # > 0: shift left, < 0: shift right
            if move < 0:
                keep_all = ((0xFF >> -move) << -move) == byte_mask
                term = f"{term} >> {-move}" if keep_all else f"({term} & {byte_mask:#04x}) >> {-move}"
            elif byte_mask != 0xFF:
                term = f"({term} & {byte_mask:#04x}) << {move}" if move else f"{term} & {byte_mask:#04x}"
            elif move:
                term = f"{term} << {move}"
            terms.append(term)
        if len(terms) == 1:
            value = terms[0]
        else:
            value = " | ".join(f"({t})" if any(op in t for op in ("<<", ">>", "&")) else t for t in terms)
    if f.scale != 1:
        return f"({value}) * {f.scale}" if " " in value else f"{value} * {f.scale}"
    return value


def _bool_expr(f: Field, var: str, base: str | None, k: int) -> str:
    """A flag test reads only the byte(s) holding its bits: ``bool(d[o + 13] & 0x02)``."""
    effective = f.bitmask
    terms = []
    for i in range(f.size):
        byte_mask = (effective >> (8 * (f.size - 1 - i))) & 0xFF
        if byte_mask:
            terms.append(f"{_at(var, base, k + i)} & {byte_mask:#04x}")
    return f"bool({terms[0]})" if len(terms) == 1 else f"bool({' or '.join(f'({t})' for t in terms)})"


def expression(f: Field, var: str = "d", base: str | None = "o", rel: int | None = None) -> str:
    """Python source for the value of ``f`` read from bytes ``var`` whose header starts at
    ``base`` (None: at 0); ``rel``: the span's offset from ``base`` (default ``f.off``)."""
    k = f.off if rel is None else rel
    t = f.ftype
    if t == "bool":
        return _bool_expr(f, var, base, k)
    if t == "int":
        fmt = {1: "b", 2: "h", 4: "i", 8: "q"}.get(f.size)
        if fmt is None or f.mask or f.shift:
            raise ValueError(f"{f.name}: signed fields are whole 1, 2, 4 or 8 bytes")
        return f"_S{fmt}({var}, {_pos(base, k)})[0]"
    if t == "uint":
        return _int_expr(f, var, base, k)
    if t == "ipv4":
        return 'f"' + ".".join("{" + _at(var, base, k + i) + "}" for i in range(4)) + '"'
    if t == "ipv6":
        return f"_ipv6_text({_slice(var, base, k, 16)})"
    if t == "ether":
        return f'{_slice(var, base, k, 6)}.hex(":")'
    if t == "bytes":
        return f"bytes({_slice(var, base, k, f.size)})"
    raise ValueError(f"{f.name}: no accessor for ftype {t}")


_SIGNED = {f"_S{c}": struct.Struct("!" + c).unpack_from for c in "bhiq"}


def getter(f: Field, proto: str = "") -> Getter:
    """``get(data, header_offset)``: the value of ``f``."""
    key = ("getter", (f,))
    fn = _CACHE.get(key)
    if fn is None:
        src = f"def get(d, o):\n    # {proto}: {f.name}\n    return {expression(f)}\n"
        fn = _CACHE[key] = _compile(src, "get", _SIGNED)
    return fn


# --------------------------------------------------------------------------------------
# struct readers

def _spans(fields: Sequence[Field], merge: bool, proto: str) -> list[tuple[int, int]]:
    """The spans (off, size) read for ``fields``: each field's own, in offset order; with
    ``merge``, overlapping spans become one, else they must coincide."""
    spans: list[tuple[int, int]] = []
    for off, size in sorted({(f.off, f.size) for f in fields}):
        if spans and off < spans[-1][0] + spans[-1][1]:
            last_off, last_size = spans[-1]
            if not merge:
                raise ValueError(f"{proto}: spans ({last_off}, {last_size}) and ({off}, {size}) "
                                 "overlap; read one of them")
            spans[-1] = (last_off, max(last_off + last_size, off + size) - last_off)
        else:
            spans.append((off, size))
    return spans


def _format(spans: list[tuple[int, int]], as_bytes: AbstractSet[tuple[int, int]],
            signed: AbstractSet[tuple[int, int]] = frozenset()) -> str:
    """The ``struct`` format reading ``spans`` (big-endian integers, or bytes)."""
    fmt, pos = "!", 0
    for off, size in spans:
        if off > pos:
            fmt += f"{off - pos}x"
        code = {1: "B", 2: "H", 4: "I", 8: "Q"}.get(size)
        if code is None or (off, size) in as_bytes:
            code = f"{size}s"
        elif (off, size) in signed:
            code = code.lower()
        fmt += code
        pos = off + size
    return fmt


def units(fields: Sequence[Field], proto: str = "") -> Unpacker:
    """``Struct.unpack_from`` of the raw span of each of ``fields`` (in offset order; fields
    sharing one span give one value). Address fields come as bytes."""
    if [f.off for f in fields] != sorted(f.off for f in fields):
        raise ValueError(f"{proto}: list the fields in offset order: {[f.name for f in fields]}")
    spans = _spans(fields, False, proto)
    kinds = {(f.off, f.size): f.ftype for f in fields}
    as_bytes = {span for span, t in kinds.items() if t not in ("uint", "int", "bool")}
    signed = {span for span, t in kinds.items() if t == "int"}
    return struct.Struct(_format(spans, as_bytes, signed)).unpack_from


def _reader(fields: Sequence[Field], proto: str) -> tuple[Any, list[str], list[str]]:
    """One ``struct`` reader for ``fields`` (overlapping spans merged), the names of the spans
    it unpacks into and, for each field, the source of its value from them."""
    spans = _spans(fields, True, proto)

    def within(span: tuple[int, int]) -> set[str]:
        return {f.ftype for f in fields if span[0] <= f.off < span[0] + span[1]}

    integer = {s for s in spans if s[1] in (1, 2, 4, 8) and within(s) <= {"uint", "int", "bool"}}
    as_bytes = {s for s in spans if s not in integer}
    # a span holding one signed field alone is read signed; shared, it is read unsigned
    signed = {s for s in integer if within(s) == {"int"}}
    reader = struct.Struct(_format(spans, as_bytes, signed))
    unit_vars = [f"u{i}" for i in range(len(spans))]
    values = []
    for f in fields:
        i = next(j for j, (off, size) in enumerate(spans) if off <= f.off < off + size)
        span = spans[i]
        values.append(_from_unit(f, unit_vars[i], span[0], span[1], span in integer, span in signed))
    return reader.unpack_from, unit_vars, values


def unpacker(fields: Sequence[Field], proto: str = "") -> Unpacker:
    """``unpack(data, header_offset)``: the values of ``fields``, in that order, from one
    ``struct`` read (the C-level ``Struct.unpack_from`` itself when nothing is derived)."""
    key = ("unpacker", tuple(fields))
    fn = _CACHE.get(key)
    if fn is not None:
        return fn
    read, unit_vars, values = _reader(fields, proto)
    if values == unit_vars and len(set(fields)) == len(fields):
        fn = read  # nothing derived: the C-level reader itself
    else:
        names = ", ".join(f.name for f in fields)
        src = (f"def unpack(d, o):\n    # {proto}: {names}\n"
               f"    {', '.join(unit_vars)}{',' if len(unit_vars) == 1 else ''} = _S(d, o)\n"
               f"    return ({', '.join(values)}{',' if len(values) == 1 else ''})\n")
        fn = _compile(src, "unpack", {"_S": read, **_SIGNED})
    _CACHE[key] = fn
    return fn


def filler(fields: Sequence[Field], proto: str = "") -> Callable[[dict[str, Any], Any, int], None]:
    """``fill(fields_dict, data, header_offset)``: sets ``fields_dict[name]`` for every field, in
    order, from one ``struct`` read (what a decoder's dict literal did by hand)."""
    key = ("filler", tuple(fields))
    fn = _CACHE.get(key)
    if fn is None:
        read, unit_vars, values = _reader(fields, proto)
        items = ", ".join(f"{f.name!r}: {v}" for f, v in zip(fields, values, strict=True))
        src = (f"def fill(f, d, o):\n    # {proto}\n"
               f"    {', '.join(unit_vars)}{',' if len(unit_vars) == 1 else ''} = _S(d, o)\n"
               f"    f.update({{{items}}})\n")
        fn = _CACHE[key] = _compile(src, "fill", {"_S": read, **_SIGNED})
    return fn


def _from_unit(f: Field, var: str, unit_off: int, unit_size: int, integer: bool, signed: bool = False) -> str:
    """The value of ``f`` from the unpacked span ``var`` (an int, or bytes; ``signed``: an
    int read as signed)."""
    rel = f.off - unit_off
    whole = rel == 0 and f.size == unit_size
    if not integer:
        if whole and f.ftype == "bytes":
            return var
        if whole and f.ftype == "ether":
            return f'{var}.hex(":")'
        if whole and f.ftype == "ipv6":
            return f"_ipv6_text({var})"
        return expression(f, var, None, rel)
    if f.ftype == "int":
        if not whole:
            raise ValueError(f"{f.name}: a signed field is a whole span")
        sign = 1 << (8 * unit_size - 1)
        return var if signed else f"({var} ^ {sign:#x}) - {sign:#x}"
    below = 8 * (unit_off + unit_size - f.end)  # bits of the span after the field's own
    if f.ftype == "bool":
        return f"bool({var} & {f.bitmask << below:#x})"
    right = f.shift + below
    width = 8 * unit_size - right
    mask = f.mask or ((1 << (8 * f.size - f.shift)) - 1)
    value = f"{var} >> {right}" if right else var
    if mask != (1 << width) - 1:
        value = f"({value}) & {mask:#x}" if right else f"{value} & {mask:#x}"
    if f.scale != 1:
        value = f"({value}) * {f.scale}" if " " in value else f"{value} * {f.scale}"
    return value


def byte_table(f: Field) -> tuple[Any, ...]:
    """The value of one-byte field ``f`` for each value of its byte."""
    if f.size != 1:
        raise ValueError(f"{f.name}: a byte table needs a one-byte field")
    get = getter(f)
    return tuple(get(bytes([b]), -f.off) for b in range(256))


def span_mask(unit: Field, fields: Sequence[Field]) -> int:
    """The bits of the raw span of field ``unit`` that ``fields`` occupy."""
    out = 0
    for f in fields:
        if f.off < unit.off or f.end > unit.end:
            raise ValueError(f"{f.name} is not inside the span of {unit.name}")
        out |= f.bitmask << (8 * (unit.end - f.end))
    return out
