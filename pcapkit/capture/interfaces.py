"""Network interfaces of this host, for ``pcapkit capture -D`` and live capture.

Read from ``/sys/class/net`` (Linux); no root needed. The link type a capture on an
interface gets follows libpcap's choice for its ARPHRD type.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

SYS_NET = "/sys/class/net"

IFF_UP = 0x1
IFF_BROADCAST = 0x2
IFF_LOOPBACK = 0x8
IFF_RUNNING = 0x40
IFF_PROMISC = 0x100

# ARPHRD_* -> (LINKTYPE, cooked?) as libpcap's map_arphrd_to_dlt picks them
ARPHRD_ETHER = 1
ARPHRD_LOOPBACK = 772
_ARPHRD_LINKTYPE: dict[int, tuple[int, bool]] = {
    1: (1, False),        # ETHER -> EN10MB
    772: (1, False),      # LOOPBACK -> EN10MB
    65534: (12, False),   # NONE (tun) -> RAW
    776: (12, False),     # SIT -> RAW
    768: (12, False),     # TUNNEL (ipip) -> RAW
    769: (12, False),     # TUNNEL6 -> RAW
    778: (12, False),     # IPGRE -> RAW
    823: (12, False),     # IP6GRE -> RAW
    801: (105, False),    # IEEE80211 -> IEEE802_11
    803: (127, False),    # IEEE80211_RADIOTAP
    32: (113, True),      # INFINIBAND -> cooked
    512: (113, True),     # PPP -> cooked
}


@dataclass(frozen=True, slots=True)
class InterfaceInfo:
    """One interface as /sys/class/net describes it."""

    name: str
    index: int
    flags: int
    arphrd: int
    mtu: int
    mac: str = ""
    operstate: str = ""
    addresses: tuple[str, ...] = field(default_factory=tuple)

    @property
    def up(self) -> bool:
        return bool(self.flags & IFF_UP)

    @property
    def running(self) -> bool:
        return bool(self.flags & IFF_RUNNING)

    @property
    def loopback(self) -> bool:
        return bool(self.flags & IFF_LOOPBACK)

    def describe(self) -> str:
        """tcpdump -D style flags: [Up, Running, Loopback, Connected]."""
        parts = []
        if self.up:
            parts.append("Up")
        if self.running:
            parts.append("Running")
        if self.loopback:
            parts.append("Loopback")
        elif self.up and self.operstate == "up":
            parts.append("Connected")
        elif self.up and self.operstate == "down":
            parts.append("Disconnected")
        return "[" + (", ".join(parts) or "none") + "]"


def _read(path: str) -> str:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return ""


def _int(text: str, default: int = 0) -> int:
    try:
        return int(text, 0)
    except ValueError:
        return default


def interface_info(name: str) -> InterfaceInfo | None:
    """The interface ``name``, or None if there is no such interface."""
    base = os.path.join(SYS_NET, name)
    if not name or "/" in name or not os.path.isdir(base):
        return None
    flags = _int(_read(os.path.join(base, "flags")))
    if _read(os.path.join(base, "carrier")) == "1":  # dev->flags lacks IFF_RUNNING
        flags |= IFF_RUNNING
    return InterfaceInfo(
        name=name,
        index=_int(_read(os.path.join(base, "ifindex"))),
        flags=flags,
        arphrd=_int(_read(os.path.join(base, "type")), 1),
        mtu=_int(_read(os.path.join(base, "mtu"))),
        mac=_read(os.path.join(base, "address")),
        operstate=_read(os.path.join(base, "operstate")),
    )


def list_interfaces() -> list[InterfaceInfo]:
    """All interfaces, ordered as tcpdump -D orders them: up and running first, loopback
    last, then by index."""
    try:
        names = os.listdir(SYS_NET)
    except OSError:
        names = [n for _, n in socket.if_nameindex()]
    infos = [i for i in (interface_info(n) for n in names) if i is not None]
    infos.sort(key=lambda i: (not i.up, not i.running, i.loopback, i.index))
    return infos


def linktype_for(info: InterfaceInfo) -> tuple[int, bool]:
    """(LINKTYPE, cooked) that a capture on ``info`` produces, as libpcap chooses."""
    return _ARPHRD_LINKTYPE.get(info.arphrd, (113, True))


def tcpdump_list_lines() -> list[str]:
    """What ``tcpdump -D`` prints, one line per interface plus the ``any`` device."""
    lines = []
    n = 1
    infos = list_interfaces()
    for info in infos:
        if info.up and not info.loopback:
            lines.append(f"{n}.{info.name} {info.describe()}")
            n += 1
    lines.append(f"{n}.any (Pseudo-device that captures on all interfaces) [Up, Running]")
    n += 1
    for info in infos:
        if not (info.up and not info.loopback):
            lines.append(f"{n}.{info.name} {info.describe()}")
            n += 1
    return lines
