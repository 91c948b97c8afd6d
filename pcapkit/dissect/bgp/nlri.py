"""BGP NLRI: prefixes (IPv4, IPv6, with path identifiers), MP_REACH_NLRI and
MP_UNREACH_NLRI, labeled and VPN prefixes, route target constraints."""

from __future__ import annotations

from pcapkit.dissect.base import FindingKind
from pcapkit.dissect.bgp.decoder import DecoderBase, prefix_bytes, u16, u32
from pcapkit.fields import ipv4_text, ipv6_text


class NlriDecoder(DecoderBase):
    def mp_reach(self, v: int, vend: int) -> None:
        m, lay = self.m, self.layer
        if v + 5 > vend:
            self.bad(v, "MP_REACH_NLRI too short")
            return
        afi, safi, nhlen = u16(m, v), m[v + 2], m[v + 3]
        lay.add("bgp.update.path_attribute.mp_reach_nlri.afi", afi)
        lay.add("bgp.update.path_attribute.mp_reach_nlri.safi", safi)
        nh = v + 4
        if nh + nhlen + 1 > vend:
            self.bad(v + 3, f"next hop length {nhlen} runs past the attribute")
            return
        lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop", m[nh - 1:nh + nhlen])
        if afi in (1, 25) and nhlen == 4:
            lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4", ipv4_text(m[nh:nh + 4]))
        elif afi == 1 and nhlen == 12 and safi in (128, 129):      # RD + IPv4
            lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop.rd", rd_text(m[nh:nh + 8]))
            lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv4", ipv4_text(m[nh + 8:nh + 12]))
        elif nhlen in (16, 32) and afi in (1, 2) and safi in (1, 2, 4):
            lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6", ipv6_text(m[nh:nh + 16]))
            if nhlen == 32:
                lay.add("bgp.update.path_attribute.mp_reach_nlri.next_hop.ipv6.link_local",
                        ipv6_text(m[nh + 16:nh + 32]))
        o = nh + nhlen
        nsnpa = m[o]
        lay.add("bgp.update.path_attribute.mp_reach_nlri.nbr_snpa", nsnpa)
        o += 1
        for _ in range(nsnpa):
            if o >= vend:
                self.bad(o, "SNPA runs past the attribute")
                return
            o += 1 + (m[o] + 1) // 2
        if o > vend:
            self.bad(o, "SNPA runs past the attribute")
            return
        self.mp_nlri(afi, safi, o, vend, "bgp.mp_reach_nlri_ipv4_prefix", "bgp.mp_reach_nlri_ipv6_prefix")

    def mp_unreach(self, v: int, vend: int) -> None:
        lay = self.layer
        if v + 3 > vend:
            self.bad(v, "MP_UNREACH_NLRI too short")
            return
        afi, safi = u16(self.m, v), self.m[v + 2]
        lay.add("bgp.update.path_attribute.mp_unreach_nlri.afi", afi)
        lay.add("bgp.update.path_attribute.mp_unreach_nlri.safi", safi)
        if v + 3 == vend:
            self.summary_extra = f", End-of-Rib Marker (AFI {afi}, SAFI {safi})"
        self.mp_nlri(afi, safi, v + 3, vend, "bgp.mp_unreach_nlri_ipv4_prefix", "bgp.mp_unreach_nlri_ipv6_prefix")

    def mp_nlri(self, afi: int, safi: int, o: int, end: int, f4: str, f6: str) -> None:
        if o >= end:
            return
        if afi not in (1, 2) or safi not in (1, 2, 4, 128, 129, 132):
            self.layer.finding(FindingKind.UNSUPPORTED, self.base + o, f"NLRI of AFI {afi} SAFI {safi} not decoded")
            return
        bits, field = (32, f4) if afi == 1 else (128, f6)
        if safi in (1, 2):
            self.prefixes(o, end, field, bits)
        elif safi == 132:
            self.rt_constraint(o, end)
        else:
            self.labeled_prefixes(o, end, field, bits, rd=safi in (128, 129))

    def labeled_prefixes(self, o: int, end: int, field: str, bits: int, *, rd: bool) -> None:
        """RFC 8277 labeled / RFC 4364 VPN prefixes: length (bits of labels, RD and
        prefix), label stack up to the bottom-of-stack bit (or a first label 0x800000 /
        0x000000: withdrawn), [RD,] prefix. An entry that does not parse adds no field."""
        m, lay = self.m, self.layer
        while o < end:
            plen = m[o]
            p = o + 1
            labels: list[int] = []
            text = ""
            while not text:
                if p + 3 > end:
                    self.bad(p, "label stack runs past the NLRI")
                    return
                label = int.from_bytes(m[p:p + 3], "big")
                p += 3
                if not labels and label in (0x800000, 0x000000):
                    text = "0 (withdrawn)"
                    labels.append(label)
                    break
                labels.append(label)
                if label & 1:
                    text = ",".join(str(v >> 4) for v in labels) + " (bottom)"
            rest = plen - 24 * len(labels) - (64 if rd else 0)
            if rest < 0 or rest > bits:
                self.bad(o, f"labeled prefix length {plen} invalid")
                return
            n = (rest + 7) // 8
            if p + (8 if rd else 0) + n > end:
                self.bad(o, f"labeled prefix of {plen} bits runs past the NLRI")
                return
            lay.add("bgp.prefix_length", plen)
            lay.add("bgp.label_stack", text)
            if rd:
                lay.add("bgp.rd", rd_text(m[p:p + 8]))
                p += 8
            raw = bytearray(m[p:p + n])
            if rest % 8 and raw:
                raw[-1] &= (0xFF << (8 - rest % 8)) & 0xFF
            full = prefix_bytes(bytes(raw), bits // 8)
            lay.add(field, ipv4_text(full) if bits == 32 else ipv6_text(full))
            o = p + n

    def rt_constraint(self, o: int, end: int) -> None:
        """RFC 4684 route target membership NLRI: only full (96-bit) entries' lengths are
        decoded (tshark 4.0 reports shorter entries as malformed)."""
        m, lay = self.m, self.layer
        while o < end:
            plen = m[o]
            if plen != 96:
                self.layer.finding(FindingKind.UNSUPPORTED, self.base + o,
                                   f"route target constraint prefix of {plen} bits not decoded")
                return
            lay.add("bgp.prefix_length", plen)
            o += 13

    def prefixes4(self, o: int, end: int, field: str) -> None:
        self.prefixes(o, end, field, 32)

    def prefixes(self, o: int, end: int, field: str, bits: int) -> None:
        """A block of (path id,) length, prefix entries; add-path detected as Wireshark does."""
        m, lay = self.m, self.layer
        add_path = detect_add_path(m, o, end, bits)
        size = bits // 8
        while o < end:
            if add_path:
                if o + 4 > end:
                    self.bad(o, "path identifier truncated")
                    return
                lay.add("bgp.nlri_path_id", u32(m, o))
                o += 4
                if o >= end:
                    self.bad(o, "prefix length missing")
                    return
            plen = m[o]
            if plen > bits:
                self.bad(o, f"prefix length {plen} > {bits}")
                return
            n = (plen + 7) // 8
            if o + 1 + n > end:
                self.bad(o, f"prefix of {plen} bits runs past the NLRI")
                return
            raw = bytearray(m[o + 1:o + 1 + n])
            if plen % 8 and raw:
                raw[-1] &= (0xFF << (8 - plen % 8)) & 0xFF
            lay.add("bgp.prefix_length", plen)
            full = prefix_bytes(bytes(raw), size)
            lay.add(field, ipv4_text(full) if bits == 32 else ipv6_text(full))
            o += 1 + n


def rd_text(raw: bytes) -> str:
    """A route distinguisher as Wireshark prints it (RFC 4364 types 0, 1, 2)."""
    kind = u16(raw, 0)
    if kind == 0:
        return f"{u16(raw, 2)}:{u32(raw, 4)}"
    if kind == 1:
        return f"{ipv4_text(raw[2:6])}:{u16(raw, 6)}"
    if kind == 2:
        return f"{u32(raw, 2)}:{u16(raw, 6)}"
    return f"Unknown (0x{kind:04x}) RD type"


def detect_add_path(m: bytes, start: int, end: int, bits: int) -> bool:
    """True when the prefix block parses with path identifiers and not without
    (Wireshark's detect_add_path_prefix4/6)."""
    o = start + 4
    while o < end:
        plen = m[o]
        if plen > bits:
            return False
        o += 1 + (plen + 7) // 8
        if o > end:
            return False
        if plen % 8 and m[o - 1] & (0xFF >> (plen % 8)):
            return False
        o += 4
    o = start
    while o < end:
        plen = m[o]
        if plen == 0 and end - start > 1:
            return True
        if plen > bits:
            return True
        o += 1 + (plen + 7) // 8
        if o > end:
            return True
        if plen % 8 and m[o - 1] & (0xFF >> (plen % 8)):
            return True
    return False
