"""The declaration types: one :class:`Header` per protocol, one :class:`Field` per fixed field.

A header's layout is written here once, as data; every path derives what it needs from it
(:mod:`pcapkit.proto.codegen`): the :class:`~pcapkit.fields.FieldSpec` of each field, the
per-field getters and ``struct`` readers the per-packet dissectors use, and the numpy gather
of the columnar decoder (:mod:`pcapkit.proto.gather`). Wireshark does the same with its
``hf_register_info``: name, type, base and bitmask declared once per field.

A field's value is ``((raw >> shift) & mask) * scale``, where ``raw`` is the big-endian
integer of the ``size`` bytes at ``off`` (``mask`` 0: every bit). Fields that share bytes
(IPv4 version and header length, TCP data offset and flags) are declared over the same
span with their own shift and mask, as Wireshark's bitmask fields over one FT_UINT16.

:class:`Check` is a condition over field values written with ``== != < <= > >= & |`` and
parentheses only, so one expression evaluates on ints (one packet) and on numpy arrays
(a batch) alike.

No numpy here: ``import pcapkit`` must stay cheap (tests/test_import_cost.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from pcapkit.fields import Base, FieldSpec, FieldType
from pcapkit.proto import codegen

if TYPE_CHECKING:
    from collections.abc import Callable

_INT_TYPES = ("uint", "int", "bool")


@dataclass(frozen=True, slots=True)
class Field:
    """One fixed field of a header: a Wireshark name and where its bits are.

    name:   display-filter name ("tcp.srcport"); ftype, base, doc as in FieldSpec.
    off:    byte offset from the header's start; size: bytes in the span read.
    shift, mask, scale: value = ((raw >> shift) & mask) * scale (mask 0: all bits).
    bits:   FieldSpec width (hex padding, column dtype); 0: 8 * size for integers.
    export: False for a span a dissector reads but tshark shows under other names (SLL's
            address bytes, whose field depends on the address length): no FieldSpec.
    """

    name: str
    ftype: FieldType
    off: int
    size: int
    shift: int = 0
    mask: int = 0
    scale: int = 1
    base: Base = "dec"
    doc: str = ""
    bits: int = 0
    export: bool = True

    def __post_init__(self) -> None:
        if self.off < 0 or self.size < 1:
            raise ValueError(f"{self.name}: bad span off={self.off} size={self.size}")
        if self.ftype not in _INT_TYPES and (self.shift or self.mask or self.scale != 1):
            raise ValueError(f"{self.name}: shift/mask/scale only apply to integers")
        if (self.ftype == "ipv4" and self.size != 4) or (self.ftype == "ipv6" and self.size != 16) \
                or (self.ftype == "ether" and self.size != 6):
            raise ValueError(f"{self.name}: an {self.ftype} address has another size than {self.size}")
        if self.shift + self.mask.bit_length() > 8 * self.size:
            raise ValueError(f"{self.name}: mask {self.mask:#x} << {self.shift} runs past {self.size} bytes")

    @property
    def end(self) -> int:
        """Byte offset just past the field's span."""
        return self.off + self.size

    @property
    def bitmask(self) -> int:
        """The bits of the raw span the field reads (Wireshark's bitmask)."""
        full = (1 << (8 * self.size)) - 1
        return full & ~((1 << self.shift) - 1) if not self.mask else self.mask << self.shift

    @property
    def spec(self) -> FieldSpec:
        bits = self.bits or (8 * self.size if self.ftype in ("uint", "int") else 0)
        return FieldSpec(self.name, self.ftype, bits, self.base, self.doc)


_NAME = re.compile(r"[a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+")
# what a check may be made of once its field names are replaced by _v0, _v1, ...: names,
# integers, comparisons, & | + - and parentheses (no and/or/not: they mean something else
# on arrays)
_TOKENS = re.compile(r"(?:\s*(?:_v\d+|0[xX][0-9a-fA-F]+|\d+|==|!=|<=|>=|<|>|&|\||\+|-|\(|\)))*\s*")


class Check:
    """A condition over field values, e.g. ``Check("ip.version == 4", "version is not 4")``.

    Written with comparisons, ``&``, ``|``, ``+``, ``-`` and parentheses only (no ``and``/``or``/
    ``not``), so it means the same on ints and on numpy arrays. ``doc`` says what failing
    (for a validity check) or holding (for a slow-path condition) means."""

    __slots__ = ("_code", "doc", "expr", "names")

    def __init__(self, expr: str, doc: str = "") -> None:
        self.expr = expr
        self.doc = doc
        self.names = tuple(dict.fromkeys(_NAME.findall(expr)))
        source = expr
        for i, name in enumerate(self.names):
            source = re.sub(rf"(?<![\w.]){re.escape(name)}(?![\w.])", f"_v{i}", source)
        if not _TOKENS.fullmatch(source):
            raise ValueError(f"check {expr!r}: only field names, integers, comparisons, & | + - and "
                             "parentheses are allowed")
        self._code = compile(source, f"<check {expr}>", "eval")

    def __repr__(self) -> str:
        return f"Check({self.expr!r}, {self.doc!r})"

    def __call__(self, values: dict[str, Any]) -> Any:
        """Evaluate over ``values`` (field name -> int or numpy array)."""
        return eval(self._code, {"__builtins__": {}},
                    {f"_v{i}": values[name] for i, name in enumerate(self.names)})


class Dispatch(NamedTuple):
    """Where the payload goes: the dispatch ``table`` (as in :mod:`pcapkit.dissect.registry`)
    and the field(s) giving its key; two fields are a port pair (the lower port first)."""

    table: str
    key: str | tuple[str, str]


class Length(NamedTuple):
    """A length in bytes stated by a field: ``(value + bias) * scale`` (IPv6 extension headers:
    ``Length("ipv6.hopopts.len", bias=1, scale=8)``). :meth:`of` works on ints and arrays."""

    field: str
    bias: int = 0
    scale: int = 1

    def of(self, value: Any) -> Any:
        if self.bias:
            value = value + self.bias
        return value * self.scale if self.scale != 1 else value


@dataclass(frozen=True, slots=True)
class Header:
    """One protocol header.

    proto:    Wireshark protocol name, as in ``frame.protocols``.
    min_len:  bytes of the fixed part (every field lies within it).
    fields:   the fixed fields, in the order tshark shows them.
    length:   the header length in bytes: a constant or the :class:`Length` a field states.
    valid:    checks that must hold, else the header contradicts itself (malformed).
    slow:     conditions that hand the packet to the full per-packet path (fragments, ...).
    next:     the dispatch of the payload.
    pdu_len:  (field, added bytes): the datagram's length counted from the header's start,
              as the header states it (IPv4 "ip.len", IPv6 "ipv6.plen" + 40, UDP "udp.length").
    """

    proto: str
    min_len: int
    fields: tuple[Field, ...]
    length: int | Length
    valid: tuple[Check, ...] = ()
    slow: tuple[Check, ...] = ()
    next: Dispatch | None = None
    pdu_len: tuple[str, int] | None = None
    doc: str = ""
    _by_name: dict[str, Field] = field(init=False, default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for f in self.fields:
            if f.name in self._by_name:
                raise ValueError(f"{self.proto}: field {f.name} declared twice")
            if f.end > self.min_len:
                raise ValueError(f"{self.proto}: {f.name} ends at {f.end}, past min_len {self.min_len}")
            self._by_name[f.name] = f
        referenced = [n for c in (*self.valid, *self.slow) for n in c.names]
        if isinstance(self.length, Length):
            referenced.append(self.length.field)
        if self.next is not None:
            referenced += [self.next.key] if isinstance(self.next.key, str) else list(self.next.key)
        if self.pdu_len is not None:
            referenced.append(self.pdu_len[0])
        for name in referenced:
            if name not in self._by_name:
                raise ValueError(f"{self.proto}: {name} is not a field of this header")

    def __getitem__(self, name: str) -> Field:
        return self._by_name[name]

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def specs(self) -> tuple[FieldSpec, ...]:
        """The FieldSpec of every exported fixed field (the start of a dissector's ``FIELDS``)."""
        return tuple(f.spec for f in self.fields if f.export)

    # generated accessors (see pcapkit.proto.codegen)

    def getter(self, name: str) -> Callable[[Any, int], Any]:
        """``getter(data, header_offset)``: one field's value, read alone."""
        return codegen.getter(self[name], self.proto)

    def getters(self, *names: str) -> dict[str, Callable[[Any, int], Any]]:
        """Field name -> getter, for :func:`pcapkit.dissect.base.quick_fields`."""
        return {name: self.getter(name) for name in names}

    def unpacker(self, *names: str) -> Callable[[Any, int], tuple[Any, ...]]:
        """``unpack(data, header_offset)``: the values of ``names``, in that order, from one
        ``struct`` read (the C-level ``Struct.unpack_from`` itself when nothing is derived)."""
        return codegen.unpacker([self[n] for n in names], self.proto)

    def filler(self, *names: str) -> Callable[[dict[str, Any], Any, int], None]:
        """``fill(fields, data, header_offset)``: ``fields.update`` with the values of ``names``
        (in that order: the order tshark shows them), from one ``struct`` read."""
        return codegen.filler([self[n] for n in names], self.proto)

    def units(self, *names: str) -> Callable[[Any, int], tuple[Any, ...]]:
        """``Struct.unpack_from`` of the raw spans of ``names`` (ints, bytes for addresses):
        for hot paths, together with :meth:`byte_table` and :meth:`span_mask`."""
        return codegen.units([self[n] for n in names], self.proto)

    def byte_table(self, name: str) -> tuple[Any, ...]:
        """The value of a one-byte field for each of the 256 values of its byte."""
        return codegen.byte_table(self[name])

    def span_mask(self, span_of: str, *names: str) -> int:
        """The bits that the fields ``names`` occupy in the raw span of field ``span_of``."""
        return codegen.span_mask(self[span_of], [self[n] for n in names])

    def fields_within(self, avail: int) -> tuple[Field, ...]:
        """The fields wholly inside the first ``avail`` bytes (what a cut header still shows)."""
        return tuple(f for f in self.fields if f.end <= avail)
