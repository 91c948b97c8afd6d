"""The frame.* fields tshark prints for every packet (no dissection needed)."""

from __future__ import annotations

from typing import Any

from pcapkit.capture.linktypes import is_known, wtap_encap
from pcapkit.fields import FieldSpec
from pcapkit.frame import Frame

FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("frame.number", "uint", 32, doc="1-based frame number in the file", nullable=False),
    FieldSpec("frame.time_epoch", "time_ns", doc="capture time, seconds since the epoch"),
    FieldSpec("frame.len", "uint", 32, doc="bytes on the wire"),
    FieldSpec("frame.cap_len", "uint", 32, doc="bytes captured"),
    FieldSpec("frame.interface_id", "uint", 32, doc="pcapng interface index"),
    FieldSpec("frame.encap_type", "int", 16, doc="Wiretap encapsulation number (not LINKTYPE_*)"),
    FieldSpec("frame.protocols", "string", doc="protocols in frame, colon separated"),
    FieldSpec("frame.comment", "string", doc="pcapng packet comment"),
)

def frame_fields(frame: Frame, protocols: str) -> dict[str, Any]:
    """frame.* values for one frame (frame.interface_id only comes from pcapng files,
    which the Frame does not record, so it is left to callers that know the format)."""
    out: dict[str, Any] = {
        "frame.number": frame.number,
        "frame.time_epoch": frame.ts_ns,
        "frame.len": frame.wirelen,
        "frame.cap_len": frame.caplen,
        "frame.protocols": protocols,
    }
    # one LINKTYPE -> Wiretap table for the whole project: pcapkit.capture.linktypes
    if is_known(frame.linktype):
        out["frame.encap_type"] = wtap_encap(frame.linktype)
    if frame.comment is not None:
        out["frame.comment"] = frame.comment
    return out
