"""BGP UPDATE: withdrawn routes, path attributes (AS_PATH with the 2/4-octet AS
heuristic, communities, extended and large communities, BGPsec_PATH, ATTR_SET), NLRI."""

from __future__ import annotations

from pcapkit.dissect.bgp.decoder import ATTR_NAMES, HEADER_LEN, u16, u32
from pcapkit.dissect.bgp.nlri import NlriDecoder
from pcapkit.fields import ipv4_text


class UpdateDecoder(NlriDecoder):
    def update(self) -> None:
        m, lay, end = self.m, self.layer, self.end
        o = HEADER_LEN
        if o + 2 > end:
            self.bad(o, "UPDATE too short for the withdrawn routes length")
            return
        wlen = u16(m, o)
        lay.add("bgp.update.withdrawn_routes.length", wlen)
        o += 2
        if o + wlen > end:
            self.bad(o - 2, f"withdrawn routes length {wlen} runs past the message")
            return
        if wlen:
            self.prefixes4(o, o + wlen, "bgp.withdrawn_prefix")
        o += wlen
        if o + 2 > end:
            self.bad(o, "UPDATE too short for the path attributes length")
            return
        alen = u16(m, o)
        lay.add("bgp.update.path_attributes.length", alen)
        o += 2
        if o + alen > end:
            self.bad(o - 2, f"path attributes length {alen} runs past the message")
            return
        self.attributes(o, o + alen)
        o += alen
        if o < end and alen == 0:
            # RFC 4271 6.3: NLRI needs ORIGIN, AS_PATH and NEXT_HOP; like tshark we do not decode it
            self.bad(o, "NLRI without path attributes")
        elif o < end:
            self.prefixes4(o, end, "bgp.nlri_prefix")
        elif wlen == 0 and alen == 0:
            self.summary_extra = ", End-of-Rib Marker (empty NLRI)"

    def attributes(self, o: int, end: int) -> None:
        m, lay = self.m, self.layer
        while o < end:
            if o + 2 > end:
                self.bad(o, "path attribute header truncated")
                return
            flags, code = m[o], m[o + 1]
            ext = bool(flags & 0x10)
            hl = 4 if ext else 3
            if o + hl > end:
                self.bad(o, "path attribute length truncated")
                return
            alen = u16(m, o + 2) if ext else m[o + 2]
            lay.add("bgp.update.path_attribute.flags", flags)
            lay.add("bgp.update.path_attribute.flags.optional", bool(flags & 0x80))
            lay.add("bgp.update.path_attribute.flags.transitive", bool(flags & 0x40))
            lay.add("bgp.update.path_attribute.flags.partial", bool(flags & 0x20))
            lay.add("bgp.update.path_attribute.flags.extended_length", ext)
            lay.add("bgp.update.path_attribute.flags.unused", flags & 0x0F)
            lay.add("bgp.update.path_attribute.type_code", code)
            lay.add("bgp.update.path_attribute.length", alen)
            v = o + hl
            vend = v + alen
            if vend > end:
                self.bad(o, f"path attribute {code} length {alen} runs past the attributes")
                return
            self.attribute(code, alen, v, vend)
            o = vend

    def attribute(self, code: int, alen: int, v: int, vend: int) -> None:
        m, lay = self.m, self.layer
        if code == 1:
            if alen != 1:
                self.bad(v, f"ORIGIN length {alen} != 1")
                return
            lay.add("bgp.update.path_attribute.origin", m[v])
        elif code in (2, 17):
            self.as_path(code, v, vend)
        elif code == 3:
            if alen != 4:
                self.bad(v, f"NEXT_HOP length {alen} != 4")
                return
            lay.add("bgp.update.path_attribute.next_hop", ipv4_text(m[v:v + 4]))
        elif code in (4, 5):
            if alen != 4:
                self.bad(v, f"{ATTR_NAMES[code]} length {alen} != 4")
                return
            name = "multi_exit_disc" if code == 4 else "local_pref"
            lay.add(f"bgp.update.path_attribute.{name}", u32(m, v))
        elif code in (7, 18):
            if alen == 6 and code == 7:
                lay.add("bgp.update.path_attribute.aggregator_as", u16(m, v))
                lay.add("bgp.update.path_attribute.aggregator_origin", ipv4_text(m[v + 2:v + 6]))
            elif alen == 8:
                lay.add("bgp.update.path_attribute.aggregator_as", u32(m, v))
                lay.add("bgp.update.path_attribute.aggregator_origin", ipv4_text(m[v + 4:v + 8]))
            else:
                self.bad(v, f"{ATTR_NAMES[code]} length {alen} invalid")
        elif code == 8:
            if alen % 4:
                self.bad(v, f"COMMUNITIES length {alen} not a multiple of 4")
                return
            for p in range(v, vend, 4):
                value = u32(m, p)
                if value >> 16 == 0xFFFF or value >> 16 == 0:
                    lay.add("bgp.update.path_attribute.community_wellknown", value)
                else:
                    lay.add("bgp.update.path_attribute.community_as", value >> 16)
                    lay.add("bgp.update.path_attribute.community_value", value & 0xFFFF)
        elif code == 9:
            if alen != 4:
                self.bad(v, f"ORIGINATOR_ID length {alen} != 4")
                return
            lay.add("bgp.update.path_attribute.originator_id", ipv4_text(m[v:v + 4]))
        elif code == 10:
            if alen % 4:
                self.bad(v, f"CLUSTER_LIST length {alen} not a multiple of 4")
                return
            for p in range(v, vend, 4):
                lay.add("bgp.path_attribute.cluster_id", ipv4_text(m[p:p + 4]))
        elif code == 14:
            self.mp_reach(v, vend)
        elif code == 15:
            self.mp_unreach(v, vend)
        elif code == 16:
            if alen % 8:
                self.bad(v, f"EXTENDED_COMMUNITIES length {alen} not a multiple of 8")
                return
            for p in range(v, vend, 8):
                self.ext_community(p)
        elif code == 33:
            self.bgpsec_path(v, vend)
        elif code == 128:                    # ATTR_SET (RFC 6368): origin AS + nested attributes
            if alen < 4:
                self.bad(v, f"ATTR_SET length {alen} < 4")
                return
            lay.add("bgp.update.path_attribute.attr_set.origin_as", u32(m, v))
            self.attributes(v + 4, vend)
        elif code == 32:
            if alen % 12:
                self.bad(v, f"LARGE_COMMUNITY length {alen} not a multiple of 12")
                return
            for p in range(v, vend, 12):
                lay.add("bgp.large_communities.ga", u32(m, p))
                lay.add("bgp.large_communities.ldp1", u32(m, p + 4))
                lay.add("bgp.large_communities.ldp2", u32(m, p + 8))

    def bgpsec_path(self, v: int, vend: int) -> None:
        """BGPsec_PATH (RFC 8205 section 3): Secure_Path, then Signature_Blocks."""
        m, lay = self.m, self.layer
        if v + 2 > vend:
            self.bad(v, "BGPsec_PATH too short")
            return
        splen = u16(m, v)
        lay.add("bgp.update.path_attribute.bgpsec.sp.length", splen)
        spend = v + splen
        if splen < 2 or spend > vend or (splen - 2) % 6:
            self.bad(v, f"Secure_Path length {splen} invalid")
            return
        for p in range(v + 2, spend, 6):
            lay.add("bgp.update.path_attribute.bgpsec.sps.pcount", m[p])
            lay.add("bgp.update.path_attribute.bgpsec.sps.flags", m[p + 1])
            lay.add("bgp.update.path_attribute.bgpsec.sps.as", u32(m, p + 2))
        o = spend
        while o < vend:
            if o + 3 > vend:
                self.bad(o, "Signature_Block header truncated")
                return
            sblen = u16(m, o)
            lay.add("bgp.update.path_attribute.bgpsec.sb.length", sblen)
            lay.add("bgp.update.path_attribute.bgpsec.sb.algo_id", m[o + 2])
            sbend = o + sblen
            if sblen < 3 or sbend > vend:
                # as tshark: report it, then read Signature_Segments to the attribute's end
                self.bad(o, f"Signature_Block length {sblen} invalid")
                sbend = vend
            q = o + 3
            while q < sbend:
                if q + 22 > sbend:
                    self.bad(q, "Signature_Segment truncated")
                    return
                slen = u16(m, q + 20)
                lay.add("bgp.update.path_attribute.bgpsec.ss.length", slen)
                q += 22 + slen
                if q > sbend:
                    self.bad(q, f"signature length {slen} runs past the Signature_Block")
                    return
            o = sbend

    def asn_len(self, code: int, v: int, vend: int) -> int | None:
        if code == 17:
            return 4
        session = self.ctx.extra.get("bgp.asn_len")
        if session in (2, 4):
            return int(session)
        return as_path_heuristic(self.m, v, vend)

    def as_path(self, code: int, v: int, vend: int) -> None:
        m, lay = self.m, self.layer
        if v == vend:
            return
        size = self.asn_len(code, v, vend)
        if size is None:
            self.bad(v, "unable to determine 2- or 4-octet AS numbers in AS_PATH")
            return
        field = "bgp.update.path_attribute.as_path_segment.as4" if size == 4 else \
            "bgp.update.path_attribute.as_path_segment.as2"
        o = v
        while o < vend:
            if o + 2 > vend:
                self.bad(o, "AS_PATH segment header truncated")
                return
            stype, count = m[o], m[o + 1]
            lay.add("bgp.update.path_attribute.as_path_segment.type", stype)
            lay.add("bgp.update.path_attribute.as_path_segment.length", count)
            o += 2
            if o + count * size > vend:
                self.bad(o, f"AS_PATH segment of {count} ASNs runs past the attribute")
                return
            for _ in range(count):
                lay.add(field, int.from_bytes(m[o:o + size], "big"))
                o += size

    def ext_community(self, p: int) -> None:
        m, lay = self.m, self.layer
        ctype, stype = m[p], m[p + 1]
        lay.add("bgp.ext_com.type", ctype)
        lay.add("bgp.ext_com.type.auth", bool(ctype & 0x80))
        lay.add("bgp.ext_com.type.tran", bool(ctype & 0x40))
        if ctype == 0x00:
            lay.add("bgp.ext_com.stype_tr_as2", stype)
            lay.add("bgp.ext_com.value_as2", u16(m, p + 2))
            lay.add("bgp.ext_com.value_an4", u32(m, p + 4))
        elif ctype == 0x40:
            lay.add("bgp.ext_com.stype_ntr_as2", stype)
            lay.add("bgp.ext_com.value_as2", u16(m, p + 2))
            if stype != 0x04:            # link bandwidth carries a float, not an AN
                lay.add("bgp.ext_com.value_an4", u32(m, p + 4))
        elif ctype in (0x01, 0x41):          # IPv4-address-specific
            lay.add("bgp.ext_com.stype_tr_IP4" if ctype == 0x01 else "bgp.ext_com.stype_ntr_IP4", stype)
            lay.add("bgp.ext_com.value_IP4", ipv4_text(m[p + 2:p + 6]))
            lay.add("bgp.ext_com.value_an2", u16(m, p + 6))
        elif ctype in (0x02, 0x42):          # four-octet-AS-specific
            lay.add("bgp.ext_com.stype_tr_as4" if ctype == 0x02 else "bgp.ext_com.stype_ntr_as4", stype)
            lay.add("bgp.ext_com.value_as4", u32(m, p + 2))
            lay.add("bgp.ext_com.value_an2", u16(m, p + 6))
        elif ctype == 0x03:
            lay.add("bgp.ext_com.stype_tr_opaque", stype)
            if stype == 0x0C:                # RFC 9012 encapsulation
                lay.add("bgp.ext_com.tunnel_type", u16(m, p + 6))
        elif ctype == 0x43:
            lay.add("bgp.ext_com.stype_ntr_opaque", stype)
            if stype == 0x00:                # RFC 8097 origin validation state
                lay.add("bgp.ext_com.value_raw", int.from_bytes(m[p + 2:p + 8], "big"))
        elif ctype == 0x80:
            lay.add("bgp.ext_com.stype_tr_exp", stype)


def as_path_heuristic(m: bytes, start: int, end: int) -> int | None:
    """2 or 4: the AS number size of an AS_PATH at m[start:end], guessed as Wireshark
    does when the OPEN messages were not seen; None when neither size parses."""
    if start + 2 > end:
        return None
    count = m[start + 1]
    after = start + 2 + 2 * count
    if after == end:
        guess = 2
    elif after < end and m[after] in (1, 2, 3, 4):
        zero = any(u16(m, start + 2 + 2 * j) == 0 for j in range(count) if start + 4 + 2 * j <= end)
        guess = 4 if zero else 2
    else:
        guess = 4
    k = start
    while k < end:
        if k + 1 >= end:
            return None
        k += 2 + m[k + 1] * guess
    return guess if k == end else None
