"""What every part of the BGP decoder shares: message constants and names, big-endian
readers, and the decoder's state (the message, the layer, the findings)."""

from __future__ import annotations

from pcapkit.dissect.base import Context, Layer

MARKER = b"\xff" * 16
HEADER_LEN = 19
MAX_LEN = 4096
MAX_EXTENDED_LEN = 65535

OPEN, UPDATE, NOTIFICATION, KEEPALIVE, ROUTE_REFRESH, CAPABILITY = 1, 2, 3, 4, 5, 6

MESSAGE_NAMES = {
    OPEN: "Open", UPDATE: "Update", NOTIFICATION: "Notification", KEEPALIVE: "Keepalive",
    ROUTE_REFRESH: "Route Refresh", CAPABILITY: "Capability",
}

ATTR_NAMES = {
    1: "ORIGIN", 2: "AS_PATH", 3: "NEXT_HOP", 4: "MULTI_EXIT_DISC", 5: "LOCAL_PREF",
    6: "ATOMIC_AGGREGATE", 7: "AGGREGATOR", 8: "COMMUNITIES", 9: "ORIGINATOR_ID",
    10: "CLUSTER_LIST", 14: "MP_REACH_NLRI", 15: "MP_UNREACH_NLRI", 16: "EXTENDED_COMMUNITIES",
    17: "AS4_PATH", 18: "AS4_AGGREGATOR", 32: "LARGE_COMMUNITY",
}

ERROR_NAMES = {
    1: "Message Header Error", 2: "OPEN Message Error", 3: "UPDATE Message Error",
    4: "Hold Timer Expired", 5: "Finite State Machine Error", 6: "Cease",
    7: "ROUTE-REFRESH Message Error",
}

SUBCODE_NAMES: dict[int, dict[int, str]] = {
    1: {1: "Connection Not Synchronized", 2: "Bad Message Length", 3: "Bad Message Type"},
    2: {1: "Unsupported Version Number", 2: "Bad Peer AS", 3: "Bad BGP Identifier",
        4: "Unsupported Optional Parameter", 5: "Authentication Failure",
        6: "Unacceptable Hold Time", 7: "Unsupported Capability", 11: "Role Mismatch"},
    3: {1: "Malformed Attribute List", 2: "Unrecognized Well-known Attribute",
        3: "Missing Well-known Attribute", 4: "Attribute Flags Error",
        5: "Attribute Length Error", 6: "Invalid ORIGIN Attribute", 7: "AS Routing Loop",
        8: "Invalid NEXT_HOP Attribute", 9: "Optional Attribute Error",
        10: "Invalid Network Field", 11: "Malformed AS_PATH"},
    5: {1: "Receive Unexpected Message in OpenSent State",
        2: "Receive Unexpected Message in OpenConfirm State",
        3: "Receive Unexpected Message in Established State"},
    6: {1: "Maximum Number of Prefixes Reached", 2: "Administrative Shutdown",
        3: "Peer Unconfigured", 4: "Administrative Reset", 5: "Connection Rejected",
        6: "Other Configuration Change", 7: "Connection Collision Resolution",
        8: "Out of Resources", 9: "Hard Reset", 10: "BFD Down"},
    7: {1: "Invalid Message Length"},
}

# notification major code -> the field Wireshark uses for the minor code
MINOR_FIELD = {
    1: "bgp.notify.minor_error", 2: "bgp.notify.minor_error_open",
    3: "bgp.notify.minor_error_update", 4: "bgp.notify.minor_error_expired",
    5: "bgp.notify.minor_error_state", 6: "bgp.notify.minor_error_cease",
    7: "bgp.notify.minor_error_capability",
}


def u16(b: bytes, o: int) -> int:
    return int.from_bytes(b[o:o + 2], "big")


def u32(b: bytes, o: int) -> int:
    return int.from_bytes(b[o:o + 4], "big")


def prefix_bytes(raw: bytes, size: int) -> bytes:
    return raw + b"\x00" * (size - len(raw))


class DecoderBase:
    """Walks one message; every read is bounded by the message and the current structure."""

    def __init__(self, msg: bytes, layer: Layer, base: int, ctx: Context) -> None:
        self.m = msg
        self.layer = layer
        self.base = base
        self.ctx = ctx
        self.end = len(msg)          # end of the message (from its length field)
        self.summary_extra = ""

    def bad(self, at: int, reason: str) -> None:
        self.layer.malformed(self.base + at, reason)

    def short(self, at: int, reason: str) -> None:
        self.layer.truncated(self.base + at, reason)
