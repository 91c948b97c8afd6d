#!/usr/bin/env bash
# pcapkit's whole set-up and its two jobs, for a fresh Debian machine.
#   scripts/dev.sh setup        system packages (apt-get) + .venv with pcapkit and test tools
#   scripts/dev.sh demo         setup, then the main job on a capture from captures/
#   scripts/dev.sh test         setup, then ruff, mypy, lint-imports (the layers) and the whole test suite
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(tshark wireshark-common tcpdump tcptrace libpcap0.8-dev iproute2 python3-venv
                 iputils-ping iperf3 ethtool procps dnsmasq-base isc-dhcp-client bird2 chromium)

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        echo "pcapkit setup: need root (or sudo) to install: ${SYSTEM_PACKAGES[*]}" >&2; return 1; fi
}

setup_system() {
    local missing=()
    for pkg in "${SYSTEM_PACKAGES[@]}"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "pcapkit setup: installing ${missing[*]}" >&2
        # tshark asks whether non-root users may capture; answer "no" without a prompt
        echo "wireshark-common wireshark-common/install-setuid boolean false" | as_root debconf-set-selections
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

setup_python() {
    local py="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        "$py" -m venv .venv
    fi
    # reinstall only when pyproject.toml changed since the last install
    local stamp=.venv/.pcapkit-installed
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        .venv/bin/python -m pip install -q --upgrade pip
        .venv/bin/python -m pip install -q -e ".[test]"
        touch "$stamp"
    fi
    # numba's cache of every command's compiled kernels (next to the sources, git-ignored): built
    # here once, so that no first command (nor a live capture) waits for the compiler
    # (the test trace: a Reno slow start held back by the receiver's window, the one input
    # that runs the congestion model's HyStart check)
    .venv/bin/python -m pcapkit.cli.warm_up tests/data/congestion-rwnd/s1301-036-reno-head.pcap
}

cmd="${1:-test}"
shift || true
case "$cmd" in
    setup)
        setup_system; setup_python ;;
    demo)
        setup_system; setup_python
        # the main job: every conversation of a real download, with tshark's TCP analysis folded in
        .venv/bin/pcapkit flows captures/tcp-download.pcapng "$@" ;;
    test)
        setup_system; setup_python
        .venv/bin/ruff check pcapkit tests benchmarks captures
        .venv/bin/mypy
        .venv/bin/lint-imports
        .venv/bin/python -m pytest -n 2 -q "$@" ;;
    *)
        echo "usage: scripts/dev.sh setup|demo|test [pytest args]" >&2; exit 2 ;;
esac
