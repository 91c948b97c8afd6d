"""The one TCP option walk: its statuses, and the same answers from the per-packet dissector
(which words every option as tshark and tcpdump do), the columnar walk interpreted and the
columnar walk compiled by numba, on random option bytes."""

from __future__ import annotations

import struct

import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pcapkit.columnar.columns import option_walk
from pcapkit.dissect.base import Context, FindingKind
from pcapkit.dissect.tcp import dissect_tcp
from pcapkit.proto import tcp_options as opt


def test_statuses() -> None:
    buf = bytes([0, 1, 2, 4, 0x05, 0xB4, 8, 1, 3])
    assert opt.option_at(buf, 0, 9, 9) == (0, 1, opt.OPT_EOL)
    assert opt.option_at(buf, 1, 9, 9) == (1, 1, opt.OPT_NOP)
    assert opt.option_at(buf, 2, 9, 9) == (2, 4, opt.OPT_OK)
    assert opt.option_at(buf, 6, 9, 9) == (8, 1, opt.OPT_BAD_LENGTH)      # length < 2
    assert opt.option_at(buf, 2, 5, 9) == (2, 4, opt.OPT_BAD_LENGTH)      # past the options' end
    assert opt.option_at(buf, 8, 9, 9) == (3, 0, opt.OPT_NO_LENGTH)       # no room for a length byte
    assert opt.option_at(buf, 8, 12, 9) == (3, 0, opt.OPT_CUT)            # length byte not captured
    assert opt.option_at(buf, 2, 9, 5) == (2, 4, opt.OPT_CUT_BODY)        # body not captured


OPTION = st.one_of(
    st.just(b"\x01"), st.just(b"\x00"),
    st.builds(lambda v: b"\x02\x04" + struct.pack("!H", v), st.integers(0, 0xFFFF)),
    st.builds(lambda v: b"\x03\x03" + bytes([v]), st.integers(0, 255)),
    st.just(b"\x04\x02"),
    st.builds(lambda a, b: b"\x08\x0a" + struct.pack("!II", a, b), st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
    st.builds(lambda edges: bytes([5, 2 + 8 * len(edges)]) + b"".join(struct.pack("!II", *e) for e in edges),
              st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)), min_size=1, max_size=4)),
    st.binary(min_size=1, max_size=6),  # anything, including bad lengths
)


def _header(options: bytes) -> bytes:
    options = (options + bytes(-len(options) % 4))[:40]
    return struct.pack("!HHIIBBHHH", 1234, 80, 1, 2, (5 + len(options) // 4) << 4, 0x10, 100, 0, 0) + options


def _walk(headers: list[bytes], compiled: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    buf = np.frombuffer(b"".join(headers), dtype=np.uint8)
    start = np.cumsum([0] + [len(h) for h in headers[:-1]]).astype(np.int64)
    hdr_len = np.array([len(h) for h in headers], dtype=np.int64)
    values = np.zeros((len(headers), len(opt.COLUMNS)), dtype=np.int64)
    have = np.zeros((len(headers), len(opt.COLUMNS)), dtype=bool)
    odd = np.zeros(len(headers), dtype=bool)
    option_walk(compiled)(buf, start, hdr_len, values, have, odd)
    return values, have, odd


def _first(value: object) -> object:
    return value[0] if isinstance(value, list) else value


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(OPTION, max_size=8).map(b"".join), min_size=1, max_size=20))
@example([b"\x03\x03\x03\x13\x03\x03\x00"])  # MD5 of length 3 (found in a CI-like run)
@example([b"\x1e\x02"])  # MPTCP of length 2
def test_walks_agree_with_the_dissector(option_lists: list[bytes]) -> None:
    headers = [_header(o) for o in option_lists]
    values, have, odd = _walk(headers, compiled=False)
    compiled = _walk(headers, compiled=True)
    for a, b in zip((values, have, odd), compiled, strict=True):
        assert np.array_equal(a, b)
    for i, header in enumerate(headers):
        layer, _ = dissect_tcp(header, 0, len(header), Context(reported_end=len(header)))
        fields = layer.fields
        bad = any(f.kind in (FindingKind.MALFORMED, FindingKind.TRUNCATED) for f in layer.findings)
        if bad:
            assert odd[i]  # the columnar path hands it to the dissector
        if odd[i]:
            continue
        kinds = fields.get("tcp.option_kind", [])
        shown = {name: _first(fields.get(name)) for name in opt.COLUMNS}
        shown["tcp.options.sack_perm"] = 1 if opt.SACK_PERM in (kinds if isinstance(kinds, list) else [kinds]) \
            else None
        for col, name in enumerate(opt.COLUMNS):
            assert (values[i, col] if have[i, col] else None) == shown[name], (name, header.hex())
