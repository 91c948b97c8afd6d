"""Hypothesis strategies shared by the test suite (others may add theirs here)."""

from __future__ import annotations

from hypothesis import strategies as st

from pcapkit.frame import TS_NS_MAX, Frame

NS = 1_000_000_000
# link types Wireshark knows (so tshark accepts files written with them)
LINKTYPES = (0, 1, 101, 113, 228, 229, 276)


@st.composite
def frame_payloads(draw: st.DrawFn, max_size: int = 300) -> tuple[bytes, int]:
    """Captured bytes and a wire length >= their length."""
    data = draw(st.binary(max_size=max_size))
    wirelen = len(data) + draw(st.integers(min_value=0, max_value=1500))
    return data, wirelen


@st.composite
def pcap_frames(draw: st.DrawFn, *, linktype: int = 1, nanosecond: bool = False,
                max_frames: int = 12) -> list[Frame]:
    """Frames a classic pcap file can hold exactly: seconds in 32 bits, µs or ns times."""
    n = draw(st.integers(min_value=0, max_value=max_frames))
    frames = []
    for number in range(1, n + 1):
        secs = draw(st.integers(min_value=0, max_value=2**32 - 1))
        if nanosecond:
            frac = draw(st.integers(min_value=0, max_value=NS - 1))
        else:
            frac = draw(st.integers(min_value=0, max_value=999_999)) * 1000
        data, wirelen = draw(frame_payloads())
        frames.append(Frame(number=number, ts_ns=secs * NS + frac, caplen=len(data), wirelen=wirelen,
                            linktype=linktype, interface_id=0, data=data))
    return frames


comments = st.one_of(st.none(), st.text(alphabet=st.characters(blacklist_characters="\x00",
                                                                 blacklist_categories=("Cs",)),
                                        min_size=1, max_size=40))


@st.composite
def pcapng_frames(draw: st.DrawFn, max_frames: int = 12) -> tuple[list[int], list[Frame]]:
    """(link type per interface, frames) for a one-section pcapng file with ns times."""
    linktypes = draw(st.lists(st.sampled_from(LINKTYPES), min_size=1, max_size=3))
    n = draw(st.integers(min_value=0, max_value=max_frames))
    frames = []
    for number in range(1, n + 1):
        iid = draw(st.integers(min_value=0, max_value=len(linktypes) - 1))
        # (a frame holds int64 ns: times past it saturate, see tests/test_time_range.py)
        ts = draw(st.integers(min_value=0, max_value=TS_NS_MAX))
        data, wirelen = draw(frame_payloads())
        frames.append(Frame(number=number, ts_ns=ts, caplen=len(data), wirelen=wirelen,
                            linktype=linktypes[iid], interface_id=iid, data=data,
                            comment=draw(comments)))
    return linktypes, frames
