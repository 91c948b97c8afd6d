"""Helpers for hex-vector tests: bytes -> Frame -> Packet."""

from __future__ import annotations

from pcapkit.dissect.driver import DissectSession, Packet, dissect
from pcapkit.frame import Frame


def frame(hexstr: str, linktype: int = 1, *, wirelen: int | None = None, number: int = 1,
          ts_ns: int = 0) -> Frame:
    data = bytes.fromhex("".join(hexstr.split()))
    return Frame(number=number, ts_ns=ts_ns, caplen=len(data), wirelen=wirelen or len(data),
                 linktype=linktype, interface_id=0, data=data)


def packet(hexstr: str, linktype: int = 1, *, wirelen: int | None = None,
           session: DissectSession | None = None, number: int = 1, ts_ns: int = 0) -> Packet:
    return dissect(frame(hexstr, linktype, wirelen=wirelen, number=number, ts_ns=ts_ns), session)
