#!/usr/bin/env bash
# Compiles the addon with the TensorRT backend against TensorRT's public headers, once per major version,
# from scratch into build-tensorrt-<tag>/ (never the main build/). The headers come from NVIDIA/TensorRT's include/ at a
# release tag, fetched into .third_party/ (ignored, never committed), e.g.:
#   git -C <TensorRT clone> archive v10.16 include | tar -x -C .third_party/tensorrt-10.16
#   git -C <TensorRT clone> archive v11.1  include | tar -x -C .third_party/tensorrt-11.1
# Usage: tools/check-tensorrt-build.sh [.third_party/tensorrt-10.16 .third_party/tensorrt-11.1 ...]
# TensorRT itself is not needed: libnvinfer is loaded at run time. Exits non-zero on any warning or error.
set -euo pipefail
cd "$(dirname "$0")/.."
dirs=("$@")
[ ${#dirs[@]} -gt 0 ] || dirs=(.third_party/tensorrt-*)
for d in "${dirs[@]}"; do
  include="$(cd "$d/include" && pwd)"
  tag="$(basename "$d")"
  out="build-$tag"
  echo "== $tag ($include)"
  log="$(mktemp)"
  TRT_RERANK_CUDA_ARCHS=${TRT_RERANK_CUDA_ARCHS:-90} node node_modules/cmake-js/bin/cmake-js rebuild --directory . --out "$out" \
    --config Release --log-level warn --CDTENSORRT_INCLUDE_DIR="$include" \
    --CDTRT_RERANK_CUDA_ARCHITECTURES="${TRT_RERANK_CUDA_ARCHS:-90}-real" 2>&1 | tee "$log" | grep -E "TensorRT|warning|error|Linking" || true
  if grep -qiE "warning|error:" "$log" || ! grep -q "TensorRT backend included" "$log"; then
    echo "!! $tag: the TensorRT backend did not compile cleanly (log: $log)"
    exit 1
  fi
  TRT_RERANK_ADDON="$PWD/$out/Release/trt_rerank.node" node -e "
    const a = require(process.env.TRT_RERANK_ADDON);
    const i = a.systemInfo();
    console.log('   backends:', i.backends.join(', '), '| tensorrt:', JSON.stringify(i.tensorrt));
    if (!i.backends.includes('tensorrt')) process.exit(1);"
done
