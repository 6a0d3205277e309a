#!/usr/bin/env bash
# Fetches a CUDA 12.4 toolchain (nvcc, the CUDA runtime headers and static cudart, CCCL) from Debian trixie's
# non-free archive into .third_party/cuda-12.4/, for building the linux-x64-cuda12 prebuilt binary
# (tools/prebuild.mjs) on a machine whose own toolkit is CUDA 13. Nothing is installed: apt runs with a private
# sources list, package lists, cache and an empty dpkg status, all under .third_party/cuda-12.4-download/, so
# the system's apt configuration and state are left as they are; the .debs are unpacked with dpkg-deb.
#
# The result has the layout of NVIDIA's own installs, which CMake's CUDA language and FindCUDAToolkit accept:
#   bin/          nvcc (with its own nvcc.profile), ptxas, fatbinary, nvlink, cudafe++, cuobjdump, nvdisasm, ...
#   nvvm/         bin/cicc, libdevice/libdevice.10.bc, lib64/libnvvm.so, include/nvvm.h
#   include/      the CUDA headers (nvidia-cuda-dev) and CCCL 2.3.2: cub/ (libcub-dev), thrust/ (libthrust-dev),
#                 cuda/ and nv/ (libcu++-dev)
#   lib64/        libcudart_static.a, libcudadevrt.a, libculibos.a, libcudart.so.12, stubs/libcuda.so
# Of nvidia-cuda-dev (934 MB: every CUDA library's static archive) only the headers and the runtime's archives
# are unpacked. nvcc 12.4 takes GCC up to 13; the host compiler is the g++ on PATH (bookworm's g++ 12).
#
# Usage: tools/fetch-cuda12.sh [--force]   (--force fetches and unpacks again)
#   CUDA12_KEEP_DEBS=1  keep the downloaded .debs in .third_party/cuda-12.4-download/debs (default: removed
#                       once unpacked; fetching them again takes seconds)
# Idempotent: where .third_party/cuda-12.4 is complete it only prints what it holds. Then:
#   node node_modules/cmake-js/bin/cmake-js compile --out build-cuda12 \
#     --CDCMAKE_CUDA_COMPILER=$PWD/.third_party/cuda-12.4/bin/nvcc --CDCUDAToolkit_ROOT=$PWD/.third_party/cuda-12.4
# (CMakeLists.txt takes CUDAToolkit_ROOT from CMAKE_CUDA_COMPILER's folder where it is not given; passing it is
# harmless, and needed with a CMakeLists.txt that does not, which would mix in /usr/local/cuda's headers and cudart.)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.third_party/cuda-12.4"
work="$root/.third_party/cuda-12.4-download"
suite=trixie
want=12.4.                       # the nvidia-cuda-toolkit version this script expects (12.4.131~12.4.1-2 in trixie)
arch=amd64
triplet=x86_64-linux-gnu
packages=(nvidia-cuda-toolkit nvidia-cuda-dev libcudart12 libnvvm4 libcub-dev libthrust-dev libcu++-dev)

say() { printf 'fetch-cuda12: %s\n' "$*"; }
die() { printf 'fetch-cuda12: %s\n' "$*" >&2; exit 1; }

summary() {
  say "toolkit: $dest ($(du -sh "$dest" | cut -f1))"
  "$dest/bin/nvcc" --version | tail -n 2 | sed 's/^/  /'
  say "from Debian $suite (package, version, .deb size):"
  sed 's/^/  /' "$dest/packages.txt"
}

force=0
[[ "${1:-}" == "--force" ]] && force=1
if [[ $force == 0 && -f "$dest/.complete" && -x "$dest/bin/nvcc" ]] && "$dest/bin/nvcc" --version >/dev/null 2>&1; then
  say "already fetched (tools/fetch-cuda12.sh --force fetches again)"
  summary
  exit 0
fi

[[ "$(uname -m)" == x86_64 ]] || die "this fetches the x86_64 toolkit; this machine is $(uname -m)"
for tool in apt-get apt-cache dpkg-deb tar; do command -v "$tool" >/dev/null || die "$tool not found (a Debian or Ubuntu machine is needed)"; done
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[[ -f "$keyring" ]] || die "$keyring not found (apt-get install debian-archive-keyring)"

# ---- private apt -------------------------------------------------------------------------------------------
mkdir -p "$work/lists/partial" "$work/archives/partial" "$work/cache" "$work/debs"
cat >"$work/sources.list" <<EOF
deb [arch=$arch signed-by=$keyring] http://deb.debian.org/debian $suite main contrib non-free
EOF
: >"$work/status"                # empty dpkg status: nothing counts as installed, the system's list is not read
apt_opts=(
  -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
  -o "Dir::State::Lists=$work/lists" -o "Dir::State::status=$work/status"
  -o "Dir::Cache=$work/cache" -o "Dir::Cache::Archives=$work/archives"
  -o "APT::Architecture=$arch" -o APT::Architectures::=$arch -o Acquire::Languages=none
)
# apt drops to the _apt user to download; it may not write to this folder, so download as the caller.
[[ $(id -u) == 0 ]] && apt_opts+=(-o APT::Sandbox::User=root)

say "apt-get update (Debian $suite main contrib non-free; lists in ${work#"$root"/}/lists)"
apt-get "${apt_opts[@]}" -q update >"$work/update.log" 2>&1 || { cat "$work/update.log" >&2; die "apt-get update failed"; }

version="$(apt-cache "${apt_opts[@]}" policy nvidia-cuda-toolkit | sed -n 's/^ *Candidate: //p')"
[[ -n "$version" && "$version" != "(none)" ]] || die "nvidia-cuda-toolkit is not in Debian $suite non-free"
[[ "$version" == "$want"* ]] || die "Debian $suite has nvidia-cuda-toolkit $version, not $want*: update 'want' in this script and check the layout below"

say "apt-get download ${packages[*]}"
(cd "$work/debs" && apt-get "${apt_opts[@]}" -q download "${packages[@]}" >"$work/download.log" 2>&1) ||
  { cat "$work/download.log" >&2; die "apt-get download failed"; }
deb() { ls "$work/debs/$1"_*.deb 2>/dev/null | sort -V | tail -n 1; }
for p in "${packages[@]}"; do [[ -n "$(deb "$p")" ]] || die "$p: no .deb was downloaded"; done

# ---- unpack ------------------------------------------------------------------------------------------------
stage="$work/unpacked"
rm -rf "$stage" && mkdir -p "$stage"
for p in nvidia-cuda-toolkit libcudart12 libnvvm4 libcub-dev libthrust-dev libcu++-dev; do
  dpkg-deb -x "$(deb "$p")" "$stage"
done
# nvidia-cuda-dev: the headers and the runtime's archives only (the rest is 2.5 GB of other libraries)
dpkg-deb --fsys-tarfile "$(deb nvidia-cuda-dev)" | tar -x -C "$stage" \
  ./usr/include \
  "./usr/lib/$triplet/libcudart_static.a" "./usr/lib/$triplet/libcudadevrt.a" "./usr/lib/$triplet/libculibos.a" \
  "./usr/lib/$triplet/libcudart.so" "./usr/lib/$triplet/stubs/libcuda.so"

# ---- NVIDIA's layout ---------------------------------------------------------------------------------------
u="$stage/usr"
tk="$u/lib/nvidia-cuda-toolkit"
next="$dest.tmp"
rm -rf "$next" && mkdir -p "$next"/{bin,nvvm/bin,nvvm/lib64,nvvm/include,include,lib64/stubs}
# Debian's /usr/bin/nvcc is a wrapper script; the real nvcc reads nvcc.profile beside itself (it resolves its own
# path through /proc/self/exe, so it is copied, never linked).
cp -a "$tk/bin/nvcc" "$tk/bin/crt" "$next/bin/"
for b in ptxas fatbinary nvlink cudafe++ cuobjdump nvdisasm nvprune bin2c cu++filt __nvcc_device_query; do
  cp -a "$u/bin/$b" "$next/bin/"
done
cp -a "$tk/bin/cicc" "$next/nvvm/bin/"
cp -a "$tk/libdevice" "$next/nvvm/"
cp -a "$u/lib/$triplet"/libnvvm.so* "$next/nvvm/lib64/"
cp -a "$u/include/nvvm.h" "$next/nvvm/include/"
rm -rf "$u/include/cuda-gdb" "$u/include/nvvm.h"
cp -a "$u/include/." "$next/include/"
cp -a "$u/lib/$triplet"/libcudart* "$u/lib/$triplet"/libcudadevrt.a "$u/lib/$triplet"/libculibos.a "$next/lib64/"
cp -a "$u/lib/$triplet/stubs/libcuda.so" "$next/lib64/stubs/"
cat >"$next/bin/nvcc.profile" <<'EOF'
# Written by tools/fetch-cuda12.sh: NVIDIA's profile for a flat (non-targets/) install.
TOP              = $(_HERE_)/..

CICC_PATH        = $(TOP)/nvvm/bin
NVVMIR_LIBRARY_DIR = $(TOP)/nvvm/libdevice

LD_LIBRARY_PATH += $(TOP)/lib64:
PATH            += $(CICC_PATH):$(_HERE_):

INCLUDES        +=  "-I$(TOP)/include" $(_SPACE_)

LIBRARIES        =+ $(_SPACE_) "-L$(TOP)/lib64/stubs" "-L$(TOP)/lib64"

CUDAFE_FLAGS    +=
PTXAS_FLAGS     +=
EOF
printf '{\n  "cuda": { "name": "CUDA SDK", "version": "%s" }\n}\n' "${version%%~*}" >"$next/version.json"
for p in "${packages[@]}"; do
  f="$(deb "$p")"
  printf '%-22s %-24s %8s\n' "$p" "$(dpkg-deb -f "$f" Version)" "$(du -h "$f" | cut -f1)"
done >"$next/packages.txt"

# ---- check: nvcc runs and compiles for sm_80 from this tree alone ------------------------------------------
check="$work/check"
rm -rf "$check" && mkdir -p "$check"
cat >"$check/t.cu" <<'EOF'
#include <cuda_runtime_api.h>
#include <cuda_bf16.h>
#include <cub/device/device_radix_sort.cuh>
__global__ void k(__nv_bfloat16* x) { x[threadIdx.x] = __float2bfloat16(1.0f); }
int main() { int n = 0; return cudaGetDeviceCount(&n) == cudaSuccess ? 0 : 0; }
EOF
"$next/bin/nvcc" --version >/dev/null || die "the unpacked nvcc does not run"
"$next/bin/nvcc" -arch=sm_80 -cudart static -o "$check/t" "$check/t.cu" >"$check/log" 2>&1 ||
  { cat "$check/log" >&2; die "the unpacked nvcc could not compile a test kernel for sm_80 (above)"; }

rm -rf "$dest" && mv "$next" "$dest"
touch "$dest/.complete"
rm -rf "$stage" "$check"
if [[ "${CUDA12_KEEP_DEBS:-0}" != 1 ]]; then rm -f "$work/debs"/*.deb; fi
summary
