"""A header's layout is written once, in pcapkit/proto: the dissectors of the declared
headers and the columnar decoder read header fields only through what the declarations
generate (getters, struct readers, gather), never by a hand-written offset.

The scan is syntactic (the AST of each module): a subscript or a byte-reader call at
``<layer offset> + <integer>`` in a dissector, a literal column of a byte matrix
(``w[:, 12]``) or a literal width or offset given to a batch gather in the columnar decoder.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pcapkit

PACKAGE = Path(pcapkit.__file__).resolve().parent
DISSECTORS = ("ethernet", "vlan", "sll", "null", "rawip", "ipv4", "ipv6", "tcp", "udp", "arp")
# the names the dissectors give the start of their header
LAYER_OFFSET = frozenset({"offset", "o"})
# functions that read a big-endian integer at a position
READERS = frozenset({"_u16", "_u32", "u32", "from_bytes", "unpack_from"})


def _at_layer_offset(node: ast.expr | None) -> bool:
    """``offset + 12`` or ``offset`` (the header's byte 0)."""
    if isinstance(node, ast.Name):
        return node.id in LAYER_OFFSET
    return (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and isinstance(node.left, ast.Name)
            and node.left.id in LAYER_OFFSET and isinstance(node.right, ast.Constant)
            and isinstance(node.right.value, int))


def _callee(node: ast.Call) -> str:
    f = node.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _fixed_slice(index: ast.Slice) -> bool:
    """``[offset + 12:...]`` or ``[offset:offset + 6]``; not ``[offset:offset + length]``
    (a whole stretch of the header, whose length is computed)."""
    if not _at_layer_offset(index.lower):
        return False
    return not isinstance(index.lower, ast.Name) or _at_layer_offset(index.upper)


def dissector_reads(source: str) -> list[str]:
    """Hand-written fixed-offset reads in a dissector's source: ``data[offset + 12]``,
    ``data[offset:offset + 6]``, ``_u16(data, offset + 2)``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript):
            index = node.slice
            if _fixed_slice(index) if isinstance(index, ast.Slice) else _at_layer_offset(index):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and _callee(node) in READERS:
            reads = node.args[1:] if _callee(node) != "from_bytes" else []
            if any(_at_layer_offset(a) for a in reads):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def batch_reads(source: str) -> list[str]:
    """Hand-written offsets in the columnar decoder: a literal column of a byte matrix
    (``w[:, 12]``), a literal (other than 0) among the arguments of a gather (``b.win(idx,
    off + 14, 2)``), or one of the old byte-arithmetic helpers."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Tuple):
            if any(isinstance(e, ast.Constant) and isinstance(e.value, int) for e in node.slice.elts):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and _callee(node) in ("win", "gather_rows"):
            if any(isinstance(sub, ast.Constant) and isinstance(sub.value, int) and sub.value != 0
                   for arg in node.args[1:] for sub in ast.walk(arg)):
                found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif isinstance(node, ast.Call) and _callee(node) in ("_be16", "_be32", "_mac", "_u32at"):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("name", DISSECTORS)
def test_dissector_reads_no_fixed_offset(name: str) -> None:
    source = (PACKAGE / "dissect" / f"{name}.py").read_text()
    assert not dissector_reads(source)


def test_columnar_decoder_reads_no_fixed_offset() -> None:
    assert not batch_reads((PACKAGE / "columnar" / "decode.py").read_text())


def test_the_scans_can_fail() -> None:
    """The idioms the modules used before the declarations are all caught."""
    before = '''
hl = (data[offset + 12] >> 4) * 4
sport = (data[offset] << 8) | data[offset + 1]
src = data[offset + 12:offset + 16]
ident = _u16(data, offset + 4)
seq, = _U32.unpack_from(data, o + 4)
'''
    assert len(dissector_reads(before)) == 6
    # the option walk's cursor and a computed stretch of the header are not fixed offsets
    assert not dissector_reads("kind = data[pos]\nolen = data[pos + 1]\nh = data[offset:offset + hdr_len]\n")
    old_decode = '''
etype = _be16(w, 12)
ver = w[:, 0].astype(I64) >> 4
w = b.win(idx, off + 20, 12)
w2 = b.win(llc, np.full(llc.size, 14, I64), 2)
'''
    assert len(batch_reads(old_decode)) == 4
