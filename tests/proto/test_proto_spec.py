"""The header declarations and what is generated from them.

Every generated accessor (getter, struct reader, byte table, numpy gather) is compared
with a reading of the declaration written independently here, on random bytes; the
generated source is compared with the hand-written getters it replaced.
"""

from __future__ import annotations

import random
import socket
import subprocess
import sys

import numpy as np
import pytest

from pcapkit import proto
from pcapkit.fields import FieldSpec, dtype_for
from pcapkit.proto import codegen, ipv4, ipv6, tcp, vlan
from pcapkit.proto.gather import gather
from pcapkit.proto.spec import Check, Field, Header, Length

# every declared header, and one with the kinds no protocol uses yet (signed, 3 and 8 bytes)
HEADERS = [*proto.headers(), Header("test", 16, length=16, fields=(
    Field("test.signed", "int", 0, 2), Field("test.u24", "uint", 2, 3), Field("test.u64", "uint", 4, 8),
    Field("test.nibble", "uint", 12, 1, shift=4, scale=8), Field("test.flag", "bool", 12, 2, mask=0x0100),
    Field("test.signed32", "int", 12, 4)))]
RNG = random.Random(20240607)
SAMPLES = [bytes(RNG.getrandbits(8) for _ in range(64)) for _ in range(200)] + [bytes(64), b"\xff" * 64]


def reference(f: Field, data: bytes, o: int) -> object:
    """The value of ``f`` by the definition in pcapkit.proto.spec, read the slow way."""
    span = data[o + f.off:o + f.end]
    if f.ftype in ("uint", "bool"):
        raw = int.from_bytes(span, "big")
        value = (raw >> f.shift) & (f.mask or (1 << (8 * f.size)) - 1)
        return bool(value) if f.ftype == "bool" else value * f.scale
    if f.ftype == "int":
        return int.from_bytes(span, "big", signed=True)
    if f.ftype == "ipv4":
        return ".".join(str(b) for b in span)
    if f.ftype == "ipv6":
        return socket.inet_ntop(socket.AF_INET6, span)
    if f.ftype == "ether":
        return ":".join(f"{b:02x}" for b in span)
    return bytes(span)


@pytest.mark.parametrize("header", HEADERS, ids=lambda h: f"{h.proto}:{h.fields[0].name}")
def test_getters_and_readers_follow_the_declaration(header: Header) -> None:
    names = header.names
    read_all = header.unpacker(*names)
    for data in SAMPLES:
        o = data[0] % 8
        want = tuple(reference(header[n], data, o) for n in names)
        got = tuple(header.getter(n)(data, o) for n in names)
        assert got == want
        assert tuple(type(v) for v in got) == tuple(type(v) for v in want)
        assert read_all(data, o) == want
        filled: dict[str, object] = {}
        header.filler(*names)(filled, data, o)
        assert list(filled) == list(dict.fromkeys(names)) and tuple(filled[n] for n in names) == want
        subset = tuple(n for n in names if data[1] & (1 << (names.index(n) % 8)))
        if subset:
            assert header.unpacker(*subset)(data, o) == tuple(reference(header[n], data, o) for n in subset)


@pytest.mark.parametrize("header", HEADERS, ids=lambda h: f"{h.proto}:{h.fields[0].name}")
def test_gather_follows_the_declaration(header: Header) -> None:
    """The columnar reading of every field equals the per-packet one, row by row."""
    o = 3
    w = np.frombuffer(b"".join(SAMPLES), dtype=np.uint8).reshape(len(SAMPLES), 64)
    for f in header.fields:
        if f.ftype == "bytes":
            continue  # kept per packet only
        values = gather(header, w, (f.name,), base=o)
        for i, data in enumerate(SAMPLES):
            want = reference(f, data, o)
            if f.ftype == "ipv6":
                hi, lo = int(values[f.name + ".hi"][i]), int(values[f.name + ".lo"][i])
                got: object = socket.inet_ntop(socket.AF_INET6, hi.to_bytes(8, "big") + lo.to_bytes(8, "big"))
            elif f.ftype == "ipv4":
                got = socket.inet_ntoa(int(values[f.name][i]).to_bytes(4, "big"))
            elif f.ftype == "ether":
                got = int(values[f.name][i]).to_bytes(6, "big").hex(":")
            else:
                got = values[f.name][i].item()
            assert got == want, (f.name, i)


def test_hot_path_tables_and_masks() -> None:
    for b in range(256):
        assert ipv4.HDR_LEN_OF_BYTE0[b] == (b & 0x0F) * 4
        assert ipv4.VERSION_OF_BYTE0[b] == ipv6.VERSION_OF_BYTE0[b] == b >> 4
        assert tcp.HDR_LEN_OF_BYTE[b] == (b >> 4) * 4
    assert ipv4.FRAGMENT_BITS == 0x3FFF
    assert tcp.HEADER.span_mask("tcp.flags", "tcp.flags.syn", "tcp.flags.ack") == 0x012
    raw = bytes(range(40))
    assert ipv4.HEADER.units("ip.hdr_len", "ip.len", "ip.frag_offset", "ip.src")(raw, 0) == (
        0, 0x0203, 0x0607, bytes((12, 13, 14, 15)))
    with pytest.raises(ValueError, match="overlap"):
        tcp.HEADER.units("tcp.hdr_len", "tcp.flags")  # spans (12, 1) and (12, 2)


def test_generated_source_is_what_was_hand_written() -> None:
    """The getters the dissectors had before, character for character (bar hex case)."""
    expect = {
        (tcp.HEADER, "tcp.hdr_len"): "(d[o + 12] >> 4) * 4",
        (tcp.HEADER, "tcp.flags"): "((d[o + 12] & 0x0f) << 8) | d[o + 13]",
        (tcp.HEADER, "tcp.srcport"): "(d[o] << 8) | d[o + 1]",
        (tcp.HEADER, "tcp.seq_raw"): "_U32(d, o + 4)[0]",
        (ipv4.HEADER, "ip.frag_offset"): "((d[o + 6] & 0x1f) << 8) | d[o + 7]",
        (ipv4.HEADER, "ip.src"): 'f"{d[o + 12]}.{d[o + 13]}.{d[o + 14]}.{d[o + 15]}"',
        (vlan.HEADER, "vlan.priority"): "d[o] >> 5",
        (vlan.HEADER, "vlan.id"): "((d[o] & 0x0f) << 8) | d[o + 1]",
    }
    for (header, name), source in expect.items():
        assert codegen.expression(header[name]) == source
        assert f"return {source}\n" in codegen.source(header.getter(name))


def test_bad_declarations_are_refused() -> None:
    a = Field("x.a", "uint", 0, 2)
    with pytest.raises(ValueError, match="declared twice"):
        Header("x", 2, (a, a), length=2)
    with pytest.raises(ValueError, match="past min_len"):
        Header("x", 1, (a,), length=1)
    with pytest.raises(ValueError, match="not a field"):
        Header("x", 2, (a,), length=Length("x.b"))
    with pytest.raises(ValueError, match="not a field"):
        Header("x", 2, (a,), length=2, valid=(Check("x.b == 1"),))
    with pytest.raises(ValueError, match="runs past"):
        Field("x.c", "uint", 0, 1, shift=4, mask=0x1F)
    with pytest.raises(ValueError, match="another size"):
        Field("x.d", "ipv4", 0, 6)
    with pytest.raises(ValueError, match="only field names"):
        Check("x.a == 1 and x.a < 3")  # means something else on arrays
    with pytest.raises(ValueError, match="only field names"):
        Check("__import__('os')")


def test_checks_mean_the_same_on_ints_and_arrays() -> None:
    rows = [{"ip.version": v, "ip.hdr_len": h, "ip.len": n, "ip.flags.mf": mf, "ip.frag_offset": fo}
            for v in (4, 6) for h in (0, 20, 60) for n in (0, 19, 40) for mf in (False, True) for fo in (0, 5)]
    arrays = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    for check in (*ipv4.HEADER.valid, *ipv4.HEADER.slow):
        assert check(arrays).tolist() == [bool(check(r)) for r in rows]
    assert ipv6.EXT_LEN.of(np.array([0, 1, 255])).tolist() == [ipv6.EXT_LEN.of(v) for v in (0, 1, 255)] == [
        8, 16, 2048]


def test_one_spec_per_field_name() -> None:
    """A name declared in pcapkit.proto and in a dissector's FIELDS has one spec."""
    from pcapkit.dissect.registry import field_specs

    dissected = field_specs()
    declared = proto.field_specs()
    shared = set(dissected) & set(declared)
    assert len(shared) > 130
    for name in shared:
        assert dissected[name] == declared[name], name
    for header in proto.headers():  # every exported fixed field is shown by some dissector
        for f in header.fields:
            assert not f.export or f.name in dissected, f.name


def test_dtype_for_is_one_per_field() -> None:
    from pcapkit.columnar import dtypes
    from pcapkit.proto.tcp_analysis import FIELDS as ANALYSIS

    assert dtypes.dtypes()["frame.number"] == "uint32"
    for name, spec in dtypes.specs().items():
        assert str(dtypes.dtypes()[name]) == str(dtype_for(proto.field_specs().get(name, spec))), name
    kinds = {spec.name: str(dtype_for(spec)) for spec in ANALYSIS}
    assert kinds["tcp.stream"] == "UInt32"
    assert kinds["tcp.analysis.ack_rtt"] == "float64"
    assert kinds["tcp.analysis.retransmission"] == "boolean"
    assert kinds["tcp.analysis.acks_frame"] == "UInt32"
    assert kinds["tcp.window_size_scalefactor"] == "Int32"
    assert str(dtype_for(FieldSpec("x", "framenum", nullable=False))) == "uint32"


def test_declarations_import_no_heavy_module() -> None:
    """pcapkit.proto (all but its numpy gather) and the dissectors built on it stay light."""
    modules = [m for m in proto.MODULES] + ["pcapkit.proto.codegen", "pcapkit.proto.tcp_options",
                                           "pcapkit.dissect.driver", "pcapkit.dissect.tcp"]
    code = "import sys\n" + "".join(f"import {m}\n" for m in modules) + (
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('numpy', 'pandas', 'numba')]\n"
        "assert not heavy, heavy\n")
    subprocess.run([sys.executable, "-c", code], check=True)
