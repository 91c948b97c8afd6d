#!/usr/bin/env bash
# Remake the traces in captures/ from real traffic between network namespaces.
#
# Needs root and: iproute2, ethtool, tcpdump, dumpcap (wireshark-common), python3,
# dnsmasq, isc-dhcp-client, bird2. Uses only addresses inside namespaces it creates
# (10.213.0.0/24, fd00:213::/64) and removes them on exit.
#
#   captures/make_captures.sh            remake every trace
#   captures/make_captures.sh download   remake one (download upload dhcp bgp mixed cooked)
#
# Topology: client --veth-- [bridge ns: delay_bridge.py, 20 ms each way] --veth-- server
# The bridge is a user-space relay (the kernel here has no netem); it can drop chosen
# TCP data frames so the traces show real retransmissions.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
OUT="${OUT:-$HERE}"
WORK="$(mktemp -d)"
C=pkc-client; B=pkc-bridge; S=pkc-server
PIDS=()

cleanup() {
    for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null || true; done
    sleep 0.3
    for ns in $C $B $S; do ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del $ns 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

in_c() { ip netns exec $C "$@"; }
in_s() { ip netns exec $S "$@"; }
in_b() { ip netns exec $B "$@"; }

topology() {  # $1 = delay ms, $2 = drop-from, $3 = drop list
    cleanup_ns
    ip netns add $C; ip netns add $B; ip netns add $S
    ip link add c0 netns $C type veth peer name b0 netns $B
    ip link add s0 netns $S type veth peer name b1 netns $B
    ip -n $C link set c0 address 02:00:0a:d5:00:01
    ip -n $S link set s0 address 02:00:0a:d5:00:02
    for ns in $C $B $S; do ip -n $ns link set lo up; done
    # the relay's own interfaces stay silent (no IPv6 router solicitations from the middle)
    ip netns exec $B sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n $C link set c0 up; ip -n $S link set s0 up
    ip -n $B link set b0 up; ip -n $B link set b1 up
    # segments as a real NIC sends them: no segmentation/receive offload on veth
    in_c ethtool -K c0 tso off gso off gro off tx off >/dev/null 2>&1 || true
    in_s ethtool -K s0 tso off gso off gro off tx off >/dev/null 2>&1 || true
    in_b ethtool -K b0 tso off gso off gro off tx off >/dev/null 2>&1 || true
    in_b ethtool -K b1 tso off gso off gro off tx off >/dev/null 2>&1 || true
    ip netns exec $B python3 "$HERE/tools/delay_bridge.py" b0 b1 --delay-ms "$1" --drop-from "$2" --drop "$3" --duration 120 &
    PIDS+=($!)
    sleep 0.5
}

cleanup_ns() {
    for ns in $C $B $S; do ip netns pids $ns 2>/dev/null | xargs -r kill 2>/dev/null || true; ip netns del $ns 2>/dev/null || true; done
}

addresses() {
    ip -n $C addr add 10.213.0.1/24 dev c0
    ip -n $S addr add 10.213.0.2/24 dev s0
    ip -n $C addr add fd00:213::1/64 dev c0 nodad
    ip -n $S addr add fd00:213::2/64 dev s0 nodad
}

start_capture() {  # $1 = output file; pcapng via dumpcap, pcap via tcpdump (ns timestamps)
    case "$1" in
        *.pcapng) ip netns exec $C dumpcap -q -i c0 -w "$1" >/dev/null 2>&1 & ;;
        *) ip netns exec $C tcpdump -q -i c0 --time-stamp-precision=nano -w "$1" >/dev/null 2>&1 & ;;
    esac
    CAP_PID=$!
    sleep 1
}

stop_capture() {
    sleep 1
    kill -INT "$CAP_PID" 2>/dev/null || true
    wait "$CAP_PID" 2>/dev/null || true
}

download() {  # HTTP download of 400 kB, server -> client, two server data frames dropped
    topology 20 b "60,61,200"
    addresses
    head -c 409600 /dev/urandom > "$WORK/file.bin"
    ip netns exec $S python3 -m http.server 8080 --bind 10.213.0.2 --directory "$WORK" >/dev/null 2>&1 &
    PIDS+=($!)
    sleep 1
    start_capture "$WORK/tcp-download.pcapng"
    in_c timeout 60 python3 -c "import urllib.request as u; d=u.urlopen('http://10.213.0.2:8080/file.bin', timeout=30).read(); assert len(d)==409600"
    stop_capture
    cp "$WORK/tcp-download.pcapng" "$OUT/"
}

upload() {  # HTTP POST of 200 kB, client -> server (as the Kurose & Ross TCP lab), drops on the client side
    topology 20 a "40,90"
    addresses
    cat > "$WORK/sink.py" <<'PY'
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers["Content-Length"]); self.rfile.read(n)
        body = b"<html>Congratulations! You've now uploaded the file.</html>\n"
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
http.server.HTTPServer(("10.213.0.2", 80), H).handle_request()
PY
    ip netns exec $S python3 "$WORK/sink.py" &
    PIDS+=($!)
    sleep 1
    start_capture "$WORK/tcp-upload.pcap"
    in_c timeout 60 python3 - <<'PY'
import http.client, os
body = (b"alice was beginning to get very tired of sitting by her sister on the bank. " * 2700)[:204800]
c = http.client.HTTPConnection("10.213.0.2", 80, timeout=30)
c.request("POST", "/upload", body=body, headers={"Content-Type": "text/plain"})
assert c.getresponse().status == 200
PY
    stop_capture
    cp "$WORK/tcp-upload.pcap" "$OUT/"
}

dhcp() {  # DHCP DORA, then a renewal (REQUEST/ACK) and a RELEASE, dnsmasq <-> dhclient
    topology 2 b ""
    ip -n $S addr add 10.213.0.2/24 dev s0
    ip netns exec $S dnsmasq --no-daemon --conf-file=/dev/null --interface=s0 --bind-interfaces --port=0 \
        --dhcp-range=10.213.0.50,10.213.0.99,255.255.255.0,600 --dhcp-option=option:router,10.213.0.2 \
        --dhcp-option=option:dns-server,10.213.0.2 --domain=pcapkit.test --dhcp-leasefile="$WORK/leases" \
        --pid-file="$WORK/dnsmasq.pid" >/dev/null 2>&1 &
    PIDS+=($!)
    sleep 1
    start_capture "$WORK/dhcp.pcap"
    cat > "$WORK/dhclient.conf" <<'CONF'
send host-name "pcapkit-client";
send dhcp-client-identifier 1:02:00:0a:d5:00:01;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, host-name;
CONF
    # -sf /bin/true: never let dhclient-script touch the host's resolv.conf or routes
    local dh=(dhclient -4 -sf /bin/true -cf "$WORK/dhclient.conf" -lf "$WORK/dhclient.leases" -pf "$WORK/dhclient.pid")
    in_c timeout 30 "${dh[@]}" -1 c0 >"$WORK/dhclient.out" 2>&1 || { cat "$WORK/dhclient.out" >&2; exit 1; }
    sleep 1
    in_c timeout 30 "${dh[@]}" -1 c0 >>"$WORK/dhclient.out" 2>&1 || true   # renewal: REQUEST/ACK
    sleep 1
    in_c timeout 30 "${dh[@]}" -r c0 >>"$WORK/dhclient.out" 2>&1 || true   # RELEASE
    stop_capture
    cp "$WORK/dhcp.pcap" "$OUT/"
}

bgp() {  # two BIRD 2 speakers, 4-byte ASNs, IPv4 + IPv6 (MP-BGP) routes with communities, then a shutdown
    topology 5 b ""
    addresses
    mkbird() {  # $1 name, $2 my ip, $3 peer ip, $4 my as, $5 peer as, $6 prefix base, $7 16-bit community AS
        cat > "$WORK/$1.conf" <<CONF
router id $2;
log "$WORK/$1.log" all;
protocol device {}
protocol static s4 { ipv4; route 10.$6.0.0/16 blackhole; $(for i in $(seq 1 80); do printf "route 10.$6.%d.0/24 blackhole; " "$i"; done)}
protocol static s6 { ipv6; route fd$6:1::/48 blackhole; route fd$6:2::/48 blackhole; }
filter tag_routes { bgp_community.add(($7, 100)); bgp_large_community.add(($4, 1, 2)); bgp_med = 50; accept; }
protocol bgp peer {
    local $2 as $4; neighbor $3 as $5;
    hold time 30; keepalive time 10;
    ipv4 { import all; export filter tag_routes; add paths tx; };
    ipv6 { import all; export filter tag_routes; next hop self; };
}
CONF
    }
    # a small MTU so that the larger UPDATEs span several TCP segments (reassembly in the dissector)
    ip -n $C link set c0 mtu 400; ip -n $S link set s0 mtu 400
    ip -n $B link set b0 mtu 400; ip -n $B link set b1 mtu 400
    mkbird left 10.213.0.1 10.213.0.2 4200000001 65002 10 65001
    mkbird right 10.213.0.2 10.213.0.1 65002 4200000001 20 65002
    start_capture "$WORK/bgp.pcap"
    in_c bird -c "$WORK/left.conf" -s "$WORK/left.ctl" -P "$WORK/left.pid"
    in_s bird -c "$WORK/right.conf" -s "$WORK/right.ctl" -P "$WORK/right.pid"
    sleep 14
    in_c birdc -s "$WORK/left.ctl" "disable peer \"graceful shutdown for the capture\"" >/dev/null || true
    sleep 2
    in_c birdc -s "$WORK/left.ctl" down >/dev/null || true
    in_s birdc -s "$WORK/right.ctl" down >/dev/null || true
    stop_capture
    cp "$WORK/bgp.pcap" "$OUT/"
}

mixed() {  # ARP, ICMP echo, IPv4 fragments, IPv6 + NDP, 802.1Q/QinQ frames, UDP, a refused TCP connection
    topology 1 b ""
    addresses
    start_capture "$WORK/mixed.pcapng"
    in_c ping -c 2 -i 0.2 10.213.0.2 >/dev/null
    in_c ping -c 1 -s 3000 10.213.0.2 >/dev/null          # fragmented echo request and reply
    in_c ping -c 2 -i 0.2 fd00:213::2 >/dev/null            # neighbour discovery + ICMPv6 echo
    # 802.1Q and QinQ frames: this kernel has no 8021q module, so the client sends tagged
    # ICMP echo requests itself through an AF_PACKET socket (nobody answers them)
    in_c timeout 20 python3 "$HERE/tools/send_vlan.py" c0
    in_c timeout 20 python3 -c "
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(3): s.sendto(b'pcapkit udp %d' % i, ('10.213.0.2', 9999))
t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.settimeout(2)
try: t.connect(('10.213.0.2', 81))
except OSError: pass
"
    sleep 0.5
    stop_capture
    cp "$WORK/mixed.pcapng" "$OUT/"
}

cooked() {  # the same small exchange captured on "any" as Linux cooked v2 (SLL2) frames
    topology 1 b ""
    addresses
    ip netns exec $C tcpdump -q -i any -y LINUX_SLL2 --time-stamp-precision=nano -w "$WORK/any-sll2.pcap" >/dev/null 2>&1 &
    CAP_PID=$!
    sleep 1
    in_c ping -c 2 -i 0.2 10.213.0.2 >/dev/null
    in_c ping -c 1 -i 0.2 127.0.0.1 >/dev/null
    in_c timeout 20 python3 -c "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.sendto(b'pcapkit sll2', ('fd00:213::2', 9999))
"
    stop_capture
    cp "$WORK/any-sll2.pcap" "$OUT/"
}

what="${1:-all}"
case "$what" in
    all) download; upload; dhcp; bgp; mixed; cooked ;;
    download|upload|dhcp|bgp|mixed|cooked) "$what" ;;
    *) echo "usage: $0 [all|download|upload|dhcp|bgp|mixed|cooked]" >&2; exit 2 ;;
esac
ls -l "$OUT"/*.pcap* >&2
