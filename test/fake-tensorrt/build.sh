#!/usr/bin/env bash
# Builds the fake libnvinfer.so.<major> (fake_nvinfer.cu) against TensorRT's headers, for the GPU lane:
#   test/fake-tensorrt/build.sh <TensorRT include dir> <out dir>
# Then run the tests with LD_LIBRARY_PATH=<out dir> and TRT_RERANK_ADDON set to an addon built with the
# TensorRT backend against the same headers (tools/check-tensorrt-build.sh), TRT_RERANK_FAKE_TENSORRT=1.
set -euo pipefail
include="$(cd "$1" && pwd)"
mkdir -p "$2"
out="$(cd "$2" && pwd)"
here="$(cd "$(dirname "$0")" && pwd)"
major=$(sed -n 's/^#define TRT_MAJOR_ENTERPRISE \([0-9]*\).*/\1/p' "$include/NvInferVersion.h")
python3 "$here/generate_stubs.py" "$include" "$out/stubs.h"
nvcc -std=c++17 -O2 -shared -Xcompiler -fPIC,-fvisibility=hidden -arch=sm_${TRT_RERANK_CUDA_ARCHS:-90} \
  -isystem "$include" -I"$out" -I"$here/../../native" -Xcompiler -Wno-deprecated-declarations -Xlinker -soname=libnvinfer.so.$major -o "$out/libnvinfer.so.$major" "$here/fake_nvinfer.cu" 2>&1 | grep -v "^$" || true
test -f "$out/libnvinfer.so.$major"
echo "fake TensorRT $major: $out/libnvinfer.so.$major"
