#!/usr/bin/env bash
# Bring Debian unstable's CPython 3.13, 3.14 and 3.15 (and their debug
# builds) onto a Debian 12 machine without touching the system: a private
# apt sources list, state and cache, `apt-get download`, `dpkg -x` into one
# folder, and a copy of each interpreter patched (patchelf) to load the
# unpacked glibc and libraries.  Needs apt-get, dpkg and patchelf; no root
# for anything but installing patchelf when it is missing.
#
#   tools/debian_pythons.sh [DIR]     DIR defaults to $PYSAMPLER_DEBIAN_PYTHONS,
#                                     then ~/.cache/pysampler/debian-unstable
#
# Afterwards DIR/root/usr/bin/python3.X-local (and python3.Xd-local, the
# debug builds) run as themselves: the copy sits next to the unpacked
# standard library, so no PYTHONHOME is needed; DIR/root/usr/include holds
# the headers (libpython3.X-dev) and DIR/root/usr/share/python-wheels
# pip's and setuptools' wheels, for building virtual environments.
# Running it again does nothing once every interpreter starts.
set -euo pipefail

MINORS=(3.13 3.14 3.15)
LIBRARIES=(libc6 libexpat1 libgcc-s1 libzstd1 zlib1g libssl3t64 libbz2-1.0 libffi8 liblzma5
    libncursesw6 libreadline8t64 libsqlite3-0 libtinfo6 libuuid1 libmpdec4 libdb5.3t64
    libgdbm6t64 media-types tzdata python3-pip-whl python3-setuptools-whl)
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

dest="${1:-${PYSAMPLER_DEBIAN_PYTHONS:-$HOME/.cache/pysampler/debian-unstable}}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
root="$dest/root"
say() { printf 'debian_pythons: %s\n' "$*"; }

interpreters() {
    for minor in "${MINORS[@]}"; do
        printf '%s\n' "$root/usr/bin/python$minor-local" "$root/usr/bin/python${minor}d-local"
    done
}

all_run() {
    local python
    while read -r python; do
        [ -x "$python" ] && "$python" -c 'import ssl, sqlite3, ctypes, json' 2>/dev/null || return 1
    done < <(interpreters)
}

if all_run; then
    say "already in $root"
    interpreters
    exit 0
fi

if ! command -v patchelf >/dev/null 2>&1; then
    say "installing patchelf"
    apt-get install -y -qq patchelf >/dev/null
fi

apt_dir="$dest/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$dest/debs"
echo "deb [signed-by=$KEYRING] http://deb.debian.org/debian unstable main" >"$apt_dir/sources.list"
: >"$apt_dir/status"
apt_options=(
    -o "Dir::Etc::SourceList=$apt_dir/sources.list"
    -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$apt_dir/lists"
    -o "Dir::State::Status=$apt_dir/status"
    -o "Dir::Cache=$apt_dir/cache"
    -o "APT::Sandbox::User=root"
    -o "Debug::NoLocking=1"
)
say "reading Debian unstable's package lists"
apt-get "${apt_options[@]}" -qq update

packages=("${LIBRARIES[@]}")
for minor in "${MINORS[@]}"; do
    packages+=("python$minor" "python$minor-minimal" "libpython$minor-minimal"
        "libpython$minor-stdlib" "python$minor-dbg" "libpython$minor-dbg" "libpython$minor-dev")
done
say "downloading ${#packages[@]} packages"
rm -f "$dest/debs/"*.deb
(cd "$dest/debs" && apt-get "${apt_options[@]}" -qq download "${packages[@]}")

say "unpacking into $root"
rm -rf "$root"
mkdir -p "$root"
for deb in "$dest/debs/"*.deb; do
    dpkg -x "$deb" "$root"
done

# The copy, not the original, is patched: the unpacked tree stays as Debian
# shipped it.  --force-rpath (DT_RPATH, not DT_RUNPATH) also applies to the
# extension modules' own dependencies, such as _ssl's libcrypto.
loader="$root/usr/lib64/ld-linux-x86-64.so.2"
libs="$root/usr/lib/x86_64-linux-gnu"
for minor in "${MINORS[@]}"; do
    for build in "$minor" "${minor}d"; do
        cp "$root/usr/bin/python$build" "$root/usr/bin/python$build-local"
        patchelf --set-interpreter "$loader" --force-rpath --set-rpath "$libs" \
            "$root/usr/bin/python$build-local"
    done
done

if ! all_run; then
    say "an unpacked interpreter does not start:" >&2
    while read -r python; do
        "$python" -c 'import ssl, sqlite3, ctypes, json' || say "  $python" >&2
    done < <(interpreters)
    exit 1
fi
rm -rf "$dest/debs" "$apt_dir/cache"
while read -r python; do
    say "$("$python" -c 'import sys; print(sys.version.split()[0], sys.abiflags or "")') $python"
done < <(interpreters)
