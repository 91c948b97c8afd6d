"""BGP OPEN: optional parameters (RFC 9072 extended length) and capabilities."""

from __future__ import annotations

from pcapkit.dissect.bgp.decoder import HEADER_LEN, DecoderBase, u16, u32
from pcapkit.fields import ipv4_text


class OpenDecoder(DecoderBase):
    def open(self) -> None:
        m, lay, end = self.m, self.layer, self.end
        if end < 29:
            self.bad(HEADER_LEN, f"OPEN needs 29 bytes, length is {end}")
            return
        lay.add("bgp.open.version", m[19])
        myas = u16(m, 20)
        lay.add("bgp.open.myas", myas)
        lay.add("bgp.open.holdtime", u16(m, 22))
        lay.add("bgp.open.identifier", ipv4_text(m[24:28]))
        optlen = m[28]
        lay.add("bgp.open.opt.len", optlen)
        self.summary_extra = f", My AS {myas}, Holdtime {u16(m, 22)}s, ID {ipv4_text(m[24:28])}"
        o = 29
        extended = False
        if optlen == 255 and end >= 32 and m[29] == 255:
            # RFC 9072: non-ext type 255, then a 2-byte optional parameters length
            extended = True
            optlen = u16(m, 30)
            o = 32
        opt_end = o + optlen
        if opt_end > end:
            self.bad(28, f"optional parameters length {optlen} runs past the message")
            opt_end = end
        while o < opt_end:
            hdr = 3 if extended else 2
            if o + hdr > opt_end:
                self.bad(o, "optional parameter header truncated")
                return
            ptype = m[o]
            plen = u16(m, o + 1) if extended else m[o + 1]
            lay.add("bgp.open.opt.param.type", ptype)
            lay.add("bgp.open.opt.param.len", plen)
            p = o + hdr
            pend = p + plen
            if pend > opt_end:
                self.bad(o, f"optional parameter length {plen} runs past the parameters")
                return
            if ptype == 2:
                self.capabilities(p, pend)
            o = pend

    def capabilities(self, o: int, end: int) -> None:
        m, lay = self.m, self.layer
        while o < end:
            if o + 2 > end:
                self.bad(o, "capability header truncated")
                return
            ctype, clen = m[o], m[o + 1]
            lay.add("bgp.cap.type", ctype)
            lay.add("bgp.cap.length", clen)
            v = o + 2
            vend = v + clen
            if vend > end:
                self.bad(o, f"capability length {clen} runs past the parameter")
                return
            self.capability(ctype, clen, v, vend)
            o = vend

    def capability(self, ctype: int, clen: int, v: int, vend: int) -> None:
        m, lay = self.m, self.layer
        if ctype == 1:                       # multiprotocol
            if clen != 4:
                self.bad(v, f"multiprotocol capability length {clen} != 4")
                if clen:
                    lay.add("bgp.cap.unknown", m[v:vend])
                return
            lay.add("bgp.cap.mp.afi", u16(m, v))
            lay.add("bgp.cap.reserved", m[v + 2:v + 3])
            lay.add("bgp.cap.mp.safi", m[v + 3])
        elif ctype in (2, 128, 70, 6):       # route refresh, enhanced RR, extended message
            if clen:
                self.bad(v, f"capability {ctype} length {clen} != 0")
                lay.add("bgp.cap.unknown", m[v:vend])
        elif ctype == 65:                    # 4-octet AS
            if clen != 4:
                self.bad(v, f"4-octet AS capability length {clen} != 4")
                if clen:
                    lay.add("bgp.cap.unknown", m[v:vend])
                return
            lay.add("bgp.cap.4as", u32(m, v))
        elif ctype == 69:                    # add-path
            if clen % 4:
                self.bad(v, f"add-path capability length {clen} not a multiple of 4")
                lay.add("bgp.cap.unknown", m[v:vend])
                return
            for p in range(v, vend, 4):
                lay.add("bgp.cap.ap.afi", u16(m, p))
                lay.add("bgp.cap.ap.safi", m[p + 2])
                lay.add("bgp.cap.ap.sendreceive", m[p + 3])
        elif ctype == 64:                    # graceful restart
            if clen < 2 or (clen - 2) % 4:
                self.bad(v, f"graceful restart capability length {clen} invalid")
                if clen:
                    lay.add("bgp.cap.unknown", m[v:vend])
                return
            timers = u16(m, v)
            lay.add("bgp.cap.gr.timers", timers)
            lay.add("bgp.cap.gr.timers.restart_flag", bool(timers & 0x8000))
            lay.add("bgp.cap.gr.timers.notification_flag", bool(timers & 0x4000))
            lay.add("bgp.cap.gr.timers.restart_time", timers & 0x0FFF)
            for p in range(v + 2, vend, 4):
                lay.add("bgp.cap.gr.afi", u16(m, p))
                lay.add("bgp.cap.gr.safi", m[p + 2])
                lay.add("bgp.cap.gr.flag", m[p + 3])
                lay.add("bgp.cap.gr.flag.pfs", bool(m[p + 3] & 0x80))
        elif ctype == 73:                    # FQDN
            if clen < 1:
                return
            hl = m[v]
            lay.add("bgp.cap.orf.fqdn.hostname.len", hl)
            if v + 1 + hl > vend:
                self.bad(v, "FQDN hostname runs past the capability")
                return
            lay.add("bgp.cap.orf.fqdn.hostname", m[v + 1:v + 1 + hl].decode("utf-8", "replace"))
            p = v + 1 + hl
            if p < vend:
                dl = m[p]
                lay.add("bgp.cap.orf.fqdn.domain_name.len", dl)
                if p + 1 + dl > vend:
                    self.bad(p, "FQDN domain name runs past the capability")
                else:
                    lay.add("bgp.cap.orf.fqdn.domain_name", m[p + 1:p + 1 + dl].decode("utf-8", "replace"))
        elif ctype == 5:                     # extended next hop encoding (RFC 8950)
            if clen % 6:
                self.bad(v, f"extended next hop capability length {clen} not a multiple of 6")
                lay.add("bgp.cap.unknown", m[v:vend])
                return
            for p in range(v, vend, 6):
                lay.add("bgp.cap.enh.afi", u16(m, p))
                lay.add("bgp.cap.enh.safi", u16(m, p + 2))
                lay.add("bgp.cap.enh.nhafi", u16(m, p + 4))
        elif ctype == 7:                     # BGPsec (RFC 8205 section 2.1)
            if clen != 3:
                self.bad(v, f"BGPsec capability length {clen} != 3")
                return
            flags = m[v]
            lay.add("bgp.cap.bgpsec.flags", flags)
            lay.add("bgp.cap.bgpsec.version", flags >> 4)
            lay.add("bgp.cap.bgpsec.sendreceive", (flags >> 3) & 1)
            lay.add("bgp.cap.bgpsec.reserved", flags & 0x07)
            lay.add("bgp.cap.bgpsec.afi", u16(m, v + 1))
        elif clen:
            lay.add("bgp.cap.unknown", m[v:vend])
