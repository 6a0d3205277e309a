#!/usr/bin/env bash
# Fetches Debian bookworm's aarch64 cross compiler (g++-12-aarch64-linux-gnu, binutils, the arm64 glibc and
# libstdc++) into .third_party/aarch64-cross/, for cross-compiling the CPU-only linux-arm64 prebuilt binary
# (tools/prebuild.mjs, PREBUILD_VARIANTS=linux-arm64) with tools/cmake/aarch64-linux-gnu.cmake. To check the
# result loads, it also fetches qemu-aarch64-static and bookworm's arm64 Node.js (18) with its libraries into
# .third_party/arm64-rootfs/. Nothing is installed: apt runs with a private sources list, lists and cache under
# .third_party/aarch64-download/ (the system's dpkg status is only read, so the compiler's host libraries that
# g++ 12 already brought are not fetched again); the .debs are unpacked with dpkg-deb.
#
# Usage: tools/fetch-aarch64-gcc.sh [--force]     Idempotent: where both folders are complete it only says so.
# The cross binutils need their own libraries: LD_LIBRARY_PATH=.third_party/aarch64-cross/usr/lib/x86_64-linux-gnu
# (tools/prebuild.mjs sets it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cross="$root/.third_party/aarch64-cross"
rootfs="$root/.third_party/arm64-rootfs"
work="$root/.third_party/aarch64-download"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
say() { printf 'fetch-aarch64-gcc: %s\n' "$*"; }
die() { printf 'fetch-aarch64-gcc: %s\n' "$*" >&2; exit 1; }

gxx="$cross/usr/bin/aarch64-linux-gnu-g++-12"
qemu="$rootfs/qemu-aarch64-static"
if [[ "${1:-}" != --force && -f "$cross/.complete" && -f "$rootfs/.complete" ]]; then
  say "already fetched (--force fetches again): $gxx ($(du -sh "$cross" | cut -f1)), $rootfs ($(du -sh "$rootfs" | cut -f1))"
  exit 0
fi
[[ "$(dpkg --print-architecture)" == amd64 ]] || die "this fetches the amd64-hosted cross compiler; this machine is $(dpkg --print-architecture)"
[[ -f "$keyring" ]] || die "$keyring not found"
suite="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
[[ "$suite" == bookworm ]] || die "written for Debian bookworm (its host libraries match the cross compiler's); this is ${suite:-unknown}"

# apt with private lists: one for amd64 (the cross compiler and qemu), one for arm64 (Node.js and its libraries)
opts() { # $1: architecture, $2: dpkg status file
  local a=$1
  mkdir -p "$work/$a/lists/partial" "$work/$a/cache" "$work/$a/archives/partial" "$work/$a/debs"
  echo "deb [arch=$a signed-by=$keyring] http://deb.debian.org/debian bookworm main" >"$work/$a/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$work/$a/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
    -o "Dir::State::Lists=$work/$a/lists" -o "Dir::State::status=$2" -o "Dir::Cache=$work/$a/cache"
    -o "Dir::Cache::Archives=$work/$a/archives" -o "APT::Architecture=$a" -o "APT::Architectures::=$a" -o Acquire::Languages=none)
  [[ $(id -u) == 0 ]] && apt_opts+=(-o APT::Sandbox::User=root)
  return 0
}

say "the cross compiler (bookworm amd64: g++-aarch64-linux-gnu and what it needs beyond this machine's packages)"
opts amd64 /var/lib/dpkg/status
apt-get "${apt_opts[@]}" -q update >"$work/amd64/update.log" 2>&1 || { cat "$work/amd64/update.log" >&2; die "apt-get update failed"; }
rm -f "$work/amd64/archives"/*.deb
apt-get "${apt_opts[@]}" -q -y install --download-only g++-aarch64-linux-gnu >"$work/amd64/download.log" 2>&1 ||
  { cat "$work/amd64/download.log" >&2; die "apt-get install --download-only g++-aarch64-linux-gnu failed"; }
(cd "$work/amd64/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" -q download qemu-user-static >>"$work/amd64/download.log" 2>&1) ||
  { cat "$work/amd64/download.log" >&2; die "apt-get download qemu-user-static failed"; }

rm -rf "$cross.tmp" && mkdir -p "$cross.tmp"
for f in "$work/amd64/archives"/*.deb; do dpkg-deb -x "$f" "$cross.tmp"; done
printf 'int main() { return 0; }\n' >"$work/t.cc"
LD_LIBRARY_PATH="$cross.tmp/usr/lib/x86_64-linux-gnu" "$cross.tmp/usr/bin/aarch64-linux-gnu-g++-12" --sysroot="$cross.tmp" \
  -o "$work/t" "$work/t.cc" || die "the unpacked cross compiler could not link a test program"
file "$work/t" | grep -q 'ARM aarch64' || die "the test program is not an aarch64 binary"
rm -rf "$cross" && mv "$cross.tmp" "$cross" && touch "$cross/.complete"

say "a Node.js to load the result with (bookworm arm64: nodejs and its libraries, qemu-aarch64-static)"
: >"$work/arm64-status"
opts arm64 "$work/arm64-status"
apt-get "${apt_opts[@]}" -q update >"$work/arm64/update.log" 2>&1 || { cat "$work/arm64/update.log" >&2; die "apt-get update (arm64) failed"; }
node_pkgs=(nodejs libnode108 libbrotli1 libc-ares2 libicu72 libnghttp2-14 libssl3 libuv1 zlib1g libstdc++6 libgcc-s1 libc6
  node-cjs-module-lexer node-acorn node-undici)
(cd "$work/arm64/debs" && rm -f ./*.deb && apt-get "${apt_opts[@]}" -q download "${node_pkgs[@]}" >"$work/arm64/download.log" 2>&1) ||
  { cat "$work/arm64/download.log" >&2; die "apt-get download (arm64) failed"; }
rm -rf "$rootfs.tmp" && mkdir -p "$rootfs.tmp"
for f in "$work/arm64/debs"/*.deb; do dpkg-deb -x "$f" "$rootfs.tmp"; done
dpkg-deb --fsys-tarfile "$work/amd64/debs"/qemu-user-static_*.deb | tar -xO ./usr/bin/qemu-aarch64-static >"$rootfs.tmp/qemu-aarch64-static"
chmod +x "$rootfs.tmp/qemu-aarch64-static"
"$rootfs.tmp/qemu-aarch64-static" -L "$rootfs.tmp" "$rootfs.tmp/usr/bin/node" -e 'process.exit(process.arch === "arm64" ? 0 : 1)' ||
  die "the arm64 Node.js does not run under qemu-aarch64-static"
rm -rf "$rootfs" && mv "$rootfs.tmp" "$rootfs" && touch "$rootfs/.complete"
rm -f "$work"/*/archives/*.deb "$work"/*/debs/*.deb "$work/t" "$work/t.cc"

say "cross compiler: $gxx ($(du -sh "$cross" | cut -f1)): $("$gxx" --version | head -n 1)"
say "arm64 Node.js $("$qemu" -L "$rootfs" "$rootfs/usr/bin/node" --version) under $qemu ($(du -sh "$rootfs" | cut -f1))"
