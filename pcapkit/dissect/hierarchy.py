"""Protocol hierarchy, like ``tshark -q -z io,phs``: frames and bytes per protocol path.

Each frame counts once (with its wire length) for every prefix of its protocol path,
taken from ``frame.protocols`` without tshark's pseudo-protocol "ethertype" (which
``io,phs`` does not show either) nor IPv6 extension headers, AH included (sub-trees of
ipv6 there); the packet quoted inside an ICMP error counts as "data", as in tshark's table. Paths come out in tshark's order: depth first,
children in order of first appearance.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

PSEUDO = frozenset({"ethertype"})


def hierarchy_from_protocols(frames: Iterable[tuple[str, int]]) -> list[tuple[str, int, int]]:
    """(protocols string, frame length) pairs -> [(path "eth:ip:tcp", frames, bytes), ...]."""
    return hierarchy_from_counts((protocols, 1, length) for protocols, length in frames)


class StackCounts:
    """Frames' (frame.protocols, wire length) pairs, appended as to a list, kept as frames
    and bytes per distinct stack in order of first appearance (a million frames share a
    few stacks); :meth:`hierarchy` gives :func:`hierarchy_from_protocols`' rows."""

    def __init__(self) -> None:
        self.counts: dict[str, list[int]] = {}

    def append(self, pair: tuple[str, int]) -> None:
        protocols, length = pair
        count = self.counts.get(protocols)
        if count is None:
            self.counts[protocols] = [1, length]
        else:
            count[0] += 1
            count[1] += length

    def extend(self, pairs: Iterable[tuple[str, int]]) -> None:
        for pair in pairs:
            self.append(pair)

    def hierarchy(self) -> list[tuple[str, int, int]]:
        return hierarchy_from_counts((p, frames, nbytes) for p, (frames, nbytes) in self.counts.items())


def hierarchy_from_counts(stacks: Iterable[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """(protocols string, frames, bytes) of each distinct stack, in order of first
    appearance -> [(path "eth:ip:tcp", frames, bytes), ...]: the same rows as
    :func:`hierarchy_from_protocols` over the frames (a path first appears with the first
    stack that has it)."""
    counts: dict[tuple[str, ...], list[int]] = {}
    children: dict[tuple[str, ...], list[tuple[str, ...]]] = {(): []}
    for protocols, frames_n, length in stacks:
        path: tuple[str, ...] = ()
        names: list[str] = []
        for p in protocols.split(":"):
            if not p or p in PSEUDO or p.startswith("ipv6."):
                continue
            if p == "ah" and names and names[-1] == "ipv6":
                continue  # AH in IPv6 is an extension header too: io,phs puts its payload under ipv6
            names.append(p)
        for i, proto in enumerate(names[:-1]):
            # io,phs shows the packet quoted in an ICMP error as "data", not as ip:udp
            if proto in ("icmp", "icmpv6") and names[i + 1] in ("ip", "ipv6"):
                names = [*names[:i + 1], "data"]
                break
        for proto in names:
            parent = path
            path = (*path, proto)
            entry = counts.get(path)
            if entry is None:
                counts[path] = [frames_n, length]
                children.setdefault(parent, []).append(path)
                children[path] = []
            else:
                entry[0] += frames_n
                entry[1] += length
    out: list[tuple[str, int, int]] = []

    def walk(node: tuple[str, ...]) -> None:
        for child in children.get(node, []):
            frames_n, nbytes = counts[child]
            out.append((":".join(child), frames_n, nbytes))
            walk(child)

    walk(())
    return out


def protocol_hierarchy(path: str | Path) -> list[tuple[str, int, int]]:
    """The protocol hierarchy of a capture file: [(protocol path, frames, bytes), ...], frame
    by frame (:func:`pcapkit.columnar.protocols.protocol_hierarchy` serves most frames
    from the columnar pass and falls back on this)."""
    from pcapkit.dissect.driver import dissect_file

    return hierarchy_from_protocols((p.protocols, p.frame.wirelen) for p in dissect_file(path))


def format_hierarchy(rows: list[tuple[str, int, int]], filter_text: str = "") -> str:
    """The text ``tshark -q -z io,phs`` prints for these rows."""
    lines = ["", "=" * 67, "Protocol Hierarchy Statistics", f"Filter: {filter_text}", ""]
    for path, frames_n, nbytes in rows:
        depth = path.count(":")
        name = "  " * depth + path.rsplit(":", 1)[-1]
        lines.append(f"{name:<41}frames:{frames_n} bytes:{nbytes}")
    lines.append("=" * 67)
    return "\n".join(lines)
