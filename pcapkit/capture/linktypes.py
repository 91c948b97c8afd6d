"""Link-layer header types: LINKTYPE number -> name, and -> Wireshark's WTAP_ENCAP number.

Names are the tcpdump.org LINKTYPE_ names without the prefix. ``wtap_encap`` gives
the number tshark prints as ``frame.encap_type`` (wiretap's ``pcap_to_wtap_map`` as
built on Linux: 12 is raw IP, 10 is bit-swapped FDDI); 0 (WTAP_ENCAP_UNKNOWN) for a
link type Wireshark does not know.
"""

from __future__ import annotations

LINKTYPE_NAMES: dict[int, str] = {
    0: "NULL", 1: "ETHERNET", 2: "EXP_ETHERNET", 3: "AX25", 4: "PRONET", 5: "CHAOS",
    6: "IEEE802_5", 7: "ARCNET_BSD", 8: "SLIP", 9: "PPP", 10: "FDDI", 11: "ATM_RFC1483",
    12: "RAW(legacy 12)", 14: "RAW(legacy 14)", 32: "REDBACK_SMARTEDGE",
    50: "PPP_HDLC", 51: "PPP_ETHER", 99: "SYMANTEC_FIREWALL", 100: "ATM_RFC1483",
    101: "RAW", 104: "C_HDLC", 105: "IEEE802_11", 106: "ATM_CLIP", 107: "FRELAY",
    108: "LOOP", 109: "ENC", 112: "NETBSD_HDLC", 113: "LINUX_SLL", 114: "LTALK",
    117: "PFLOG", 118: "CISCO_IOS", 119: "IEEE802_11_PRISM", 121: "HHDLC", 122: "IP_OVER_FC",
    123: "SUNATM", 127: "IEEE802_11_RADIOTAP", 128: "TZSP", 129: "ARCNET_LINUX",
    130: "JUNIPER_MLPPP", 131: "JUNIPER_MLFR", 132: "JUNIPER_ES", 133: "JUNIPER_GGSN",
    134: "JUNIPER_MFR", 135: "JUNIPER_ATM2", 136: "JUNIPER_SERVICES", 137: "JUNIPER_ATM1",
    138: "APPLE_IP_OVER_IEEE1394", 139: "MTP2_WITH_PHDR", 140: "MTP2", 141: "MTP3",
    142: "SCCP", 143: "DOCSIS", 144: "LINUX_IRDA", 145: "IBM_SP", 146: "IBM_SN",
    **{147 + i: f"USER{i}" for i in range(16)},
    163: "IEEE802_11_AVS", 164: "JUNIPER_MONITOR", 165: "BACNET_MS_TP", 166: "PPP_PPPD",
    167: "JUNIPER_PPPOE", 168: "JUNIPER_PPPOE_ATM", 169: "GPRS_LLC", 170: "GPF_T",
    171: "GPF_F", 172: "GCOM_T1E1", 173: "GCOM_SERIAL", 174: "JUNIPER_PIC_PEER",
    175: "ERF_ETH", 176: "ERF_POS", 177: "LINUX_LAPD", 178: "JUNIPER_ETHER",
    179: "JUNIPER_PPP", 180: "JUNIPER_FRELAY", 181: "JUNIPER_CHDLC", 182: "MFR",
    183: "JUNIPER_VP", 184: "A429", 185: "A653_ICM", 186: "USB_FREEBSD",
    187: "BLUETOOTH_HCI_H4", 188: "IEEE802_16_MAC_CPS", 189: "USB_LINUX", 190: "CAN20B",
    191: "IEEE802_15_4_LINUX", 192: "PPI", 193: "IEEE802_16_MAC_CPS_RADIO",
    194: "JUNIPER_ISM", 195: "IEEE802_15_4_WITHFCS", 196: "SITA", 197: "ERF",
    198: "RAIF1", 199: "IPMB_KONTRON", 200: "JUNIPER_ST", 201: "BLUETOOTH_HCI_H4_WITH_PHDR",
    202: "AX25_KISS", 203: "LAPD", 204: "PPP_WITH_DIR", 205: "C_HDLC_WITH_DIR",
    206: "FRELAY_WITH_DIR", 207: "LAPB_WITH_DIR", 209: "IPMB_LINUX", 210: "FLEXRAY",
    211: "MOST", 212: "LIN", 213: "X2E_SERIAL", 214: "X2E_XORAYA",
    215: "IEEE802_15_4_NONASK_PHY", 216: "LINUX_EVDEV", 217: "GSMTAP_UM",
    218: "GSMTAP_ABIS", 219: "MPLS", 220: "USB_LINUX_MMAPPED", 221: "DECT", 222: "AOS",
    223: "WIHART", 224: "FC_2", 225: "FC_2_WITH_FRAME_DELIMS", 226: "IPNET",
    227: "CAN_SOCKETCAN", 228: "IPV4", 229: "IPV6", 230: "IEEE802_15_4_NOFCS", 231: "DBUS",
    232: "JUNIPER_VS", 233: "JUNIPER_SRX_E2E", 234: "JUNIPER_FIBRECHANNEL", 235: "DVB_CI",
    236: "MUX27010", 237: "STANAG_5066_D_PDU", 238: "JUNIPER_ATM_CEMIC", 239: "NFLOG",
    240: "NETANALYZER", 241: "NETANALYZER_TRANSPARENT", 242: "IPOIB", 243: "MPEG_2_TS",
    244: "NG40", 245: "NFC_LLCP", 246: "PFSYNC", 247: "INFINIBAND", 248: "SCTP",
    249: "USBPCAP", 250: "RTAC_SERIAL", 251: "BLUETOOTH_LE_LL", 252: "WIRESHARK_UPPER_PDU",
    253: "NETLINK", 254: "BLUETOOTH_LINUX_MONITOR", 255: "BLUETOOTH_BREDR_BB",
    256: "BLUETOOTH_LE_LL_WITH_PHDR", 257: "PROFIBUS_DL", 258: "PKTAP", 259: "EPON",
    260: "IPMI_HPM_2", 261: "ZWAVE_R1_R2", 262: "ZWAVE_R3", 263: "WATTSTOPPER_DLM",
    264: "ISO_14443", 265: "RDS", 266: "USB_DARWIN", 267: "OPENFLOW", 268: "SDLC",
    269: "TI_LLN_SNIFFER", 270: "LORATAP", 271: "VSOCK", 272: "NORDIC_BLE",
    273: "DOCSIS31_XRA31", 274: "ETHERNET_MPACKET", 275: "DISPLAYPORT_AUX",
    276: "LINUX_SLL2", 277: "SERCOS_MONITOR", 278: "OPENVIZSLA", 279: "EBHSCR",
    280: "VPP_DISPATCH", 281: "DSA_TAG_BRCM", 282: "DSA_TAG_BRCM_PREPEND",
    283: "IEEE802_15_4_TAP", 284: "DSA_TAG_DSA", 285: "DSA_TAG_EDSA", 286: "ELEE",
    287: "Z_WAVE_SERIAL", 288: "USB_2_0", 289: "ATSC_ALP", 290: "ETW", 291: "NETANALYZER_NG",
    292: "ZBOSS_NCP", 293: "USB_2_0_LOW_SPEED", 294: "USB_2_0_FULL_SPEED",
    295: "USB_2_0_HIGH_SPEED", 296: "AUERSWALD_LOG", 297: "ZWAVE_TAP", 298: "SILABS_DEBUG_CHANNEL",
    299: "FIRA_UCI", 300: "MDB", 301: "DECT_NR",
}

# LINKTYPE -> WTAP_ENCAP (wiretap/wtap.h numbers), as Wireshark 4.0 maps them on Linux
# (checked against tshark's frame.encap_type by tests/capture/test_files_linktypes.py)
_WTAP: dict[int, int] = {
    0: 15, 1: 1, 2: 184, 3: 148, 6: 2, 7: 8, 8: 3, 9: 4, 10: 6, 11: 10, 12: 7, 13: 38, 14: 7,
    16: 11, 18: 11, 19: 11, 32: 69, 50: 4, 51: 139, 99: 61, 100: 10, 101: 7,
    104: 28, 105: 20, 106: 11, 107: 26, 108: 174, 109: 38, 112: 28, 113: 25, 114: 30,
    117: 39, 118: 29, 119: 21, 121: 32, 122: 18, 123: 13, 127: 23, 128: 37, 129: 9,
    130: 81, 131: 82, 133: 87, 135: 68, 136: 151, 137: 67, 138: 62, 139: 75, 140: 42,
    141: 43, 142: 101, 143: 33, 144: 44,
    **{147 + i: 45 + i for i in range(16)},
    163: 24, 165: 63, 167: 76, 169: 66, 170: 178, 171: 179, 172: 77, 173: 78, 177: 88,
    178: 83, 179: 84, 180: 85, 181: 86, 183: 91, 184: 181, 186: 92, 187: 41, 188: 93,
    189: 95, 190: 109, 192: 97, 195: 104, 196: 100, 197: 98, 199: 103, 200: 197,
    201: 99, 202: 147, 203: 131, 204: 19, 209: 112, 210: 106, 211: 108, 212: 107,
    213: 111, 214: 105, 215: 113, 220: 115, 224: 121, 225: 122, 226: 124, 227: 125,
    228: 129, 229: 130, 230: 127, 231: 146, 235: 132, 236: 133, 237: 157, 239: 141,
    240: 135, 241: 136, 242: 180, 243: 138, 245: 140, 248: 149, 249: 152,
    250: 153, 251: 154, 252: 155, 253: 158, 254: 159, 255: 160, 256: 161, 258: 171,
    259: 172, 260: 173, 264: 177, 266: 182, 268: 36, 270: 183, 271: 185, 272: 186,
    273: 199, 274: 198, 275: 200, 276: 210, 279: 204, 280: 205, 283: 206, 287: 211,
    288: 208, 290: 212, 292: 214, 293: 215, 294: 216, 295: 217,
}

WTAP_ENCAP_NAMES: dict[int, str] = {
    0: "UNKNOWN", 1: "ETHERNET", 2: "TOKEN_RING", 3: "SLIP", 4: "PPP", 5: "FDDI",
    6: "FDDI_BITSWAPPED", 7: "RAW_IP", 15: "NULL", 20: "IEEE_802_11",
    23: "IEEE_802_11_RADIOTAP", 25: "SLL", 28: "CHDLC", 58: "USER13", 83: "JUNIPER_ETHER",
    98: "ERF", 129: "RAW_IP4", 130: "RAW_IP6", 141: "NFLOG", 146: "DBUS", 171: "PKTAP",
    174: "LOOP", 180: "IP_OVER_IB_PCAP", 210: "SLL2",
}

MAX_SNAPLEN_STANDARD = 262144
MAX_SNAPLEN_DBUS = 128 * 1024 * 1024
MAX_SNAPLEN_USBPCAP = 128 * 1024 * 1024
MAX_SNAPLEN_EBHSCR = 32 * 1024 * 1024


def linktype_name(linktype: int) -> str:
    """``LINKTYPE_`` name without the prefix, or ``LINKTYPE_<n>`` when unassigned."""
    return LINKTYPE_NAMES.get(linktype, f"LINKTYPE_{linktype}")


def wtap_encap(linktype: int) -> int:
    """Wireshark's encapsulation number for a LINKTYPE (``frame.encap_type``); 0 if unknown."""
    return _WTAP.get(linktype, 0)


def is_known(linktype: int) -> bool:
    """Whether Wireshark knows this link type (tshark refuses pcap files of unknown ones)."""
    return linktype in _WTAP


def max_snaplen(linktype: int) -> int:
    """The largest record Wireshark accepts for the link type (``wtap_max_snaplen_for_encap``)."""
    encap = wtap_encap(linktype)
    if encap == 146:
        return MAX_SNAPLEN_DBUS
    if encap == 152:
        return MAX_SNAPLEN_USBPCAP
    if encap == 204:
        return MAX_SNAPLEN_EBHSCR
    return MAX_SNAPLEN_STANDARD


def describe(linktype: int) -> str:
    """``"127 IEEE802_11_RADIOTAP"``: number and name, for messages and reports."""
    return f"{linktype} {linktype_name(linktype)}"
