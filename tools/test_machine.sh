#!/usr/bin/env bash
# Everything the test suite needs on a fresh Debian 12 machine beyond what
# pip installs: Debian's packages (chromium for the browser tests, a debug
# CPython to check that such builds are refused, patchelf and Debian's
# keyring for the unstable interpreters), then Debian unstable's CPython
# 3.13, 3.14 and 3.15 through tools/debian_pythons.sh.  Run as root (or
# with sudo available); running it again installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

packages=()
command -v chromium >/dev/null 2>&1 || packages+=(chromium)
command -v python3.11d >/dev/null 2>&1 || packages+=(python3.11-dbg)
command -v patchelf >/dev/null 2>&1 || packages+=(patchelf)
command -v unshare >/dev/null 2>&1 || packages+=(util-linux)
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || packages+=(debian-archive-keyring)
if [ "${#packages[@]}" -gt 0 ]; then
    echo "test_machine: apt-get install ${packages[*]}"
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${packages[@]}" >/dev/null
fi

tools/debian_pythons.sh >/dev/null
echo "test_machine: ready"
