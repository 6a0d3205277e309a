#!/usr/bin/env bash
# The GPU machine's check, run from the repo root through ../shared/gpu (see DEVELOPERS notes in README):
#   device run, carry [".gpu", ".cache", ".third_party"]:  bash .gpu/run 'bash tools/gpu-check.sh'
# Builds for sm_90 only, both addons (TRT_RERANK_TESTING=1: build/Release/trt_rerank.node and
# trt_rerank_testing.node, the same addon plus the `testing` kernel hooks and the gpu-test backend), checks that
# the production one has neither, runs every test lane and the benchmarks on the testing addon
# (TRT_RERANK_TESTING=1 exported), the TensorRT backend on the fake libnvinfer, and leaves logs under $OUT.
# Settings go inside the quoted command (.gpu/run does not pass the environment):
#   bash .gpu/run 'GPU_CHECK_BENCH=pipeline GPU_CHECK_TENSORRT=0 bash tools/gpu-check.sh'
# GPU_CHECK_BENCH="" skips the benchmarks.
set -euo pipefail
OUT=${OUT:-/tmp/trt-rerank-out}
mkdir -p "$OUT"
export TRT_RERANK_CUDA_ARCHS=${TRT_RERANK_CUDA_ARCHS:-90}
# GPU_CHECK_PREBUILT=1: build/ (or just build/Release/trt_rerank.node and trt_rerank_testing.node, from
# `TRT_RERANK_TESTING=1 npm run build`), dist/ and any build-tensorrt-*/Release/trt_rerank.node were built on the
# developer machine and carried (their architectures include sm_90); saves the device the native builds (~100 s each).
if [ "${GPU_CHECK_PREBUILT:-0}" = "1" ]; then
  echo "gpu-check: using the carried build/ and dist/"
else
  TRT_RERANK_TESTING=1 npm run build 2>&1 | tail -5
fi
if [ ! -f build/Release/trt_rerank_testing.node ]; then
  echo "gpu-check: build/Release/trt_rerank_testing.node is missing (TRT_RERANK_TESTING=1 npm run build makes it)"
  exit 1
fi
# The production addon has no test hooks and no gpu-test backend; the testing addon has both.
node -e "
  const prod = require('./build/Release/trt_rerank.node'), test = require('./build/Release/trt_rerank_testing.node');
  (async () => prod.loadSession(null, { backend: 'gpu-test' }))().then(() => 'trt_rerank.node ran gpu-test', (e) => e.message).then((gpuTest) => {
    const ok = !('testing' in prod) && !!test.testing && /testing addon only/.test(gpuTest);
    console.log(ok ? 'addons: trt_rerank.node has no testing export, refuses gpu-test; trt_rerank_testing.node has testing'
                   : '!! addons: production testing=' + ('testing' in prod) + ', testing addon testing=' + !!test.testing + ', gpu-test: ' + gpuTest);
    process.exitCode = ok ? 0 : 1;
  });" | tee "$OUT/addons.log"
export TRT_RERANK_TESTING=1
# The cuBLASLt declarations the addon carries (native/backends/cuda/cublaslt.h) against the real header.
cuda_include=$(dirname "$(command -v nvcc)")/../include
if [ -f "$cuda_include/cublasLt.h" ]; then
  g++ -std=c++17 -fsyntax-only -I"$cuda_include" -Inative tools/check-cublaslt-shim.cc && echo "cublasLt shim: matches $cuda_include/cublasLt.h"
fi
node dist/cli.js info | tee "$OUT/info.json"
# GPU_CHECK_TESTS: vitest arguments (default: every lane); e.g. "--project gpu --exclude test/gpu/topk.test.ts".
# A failing lane does not stop the check (the benchmarks and the TensorRT lane still run); the exit code says it.
failed=0
npx vitest run ${GPU_CHECK_TESTS:---project unit --project native --project gpu} 2>&1 | tee "$OUT/test.log" | grep -E "✓|×|Test Files|Tests|skipped|FAIL" | tail -40 || failed=1
# GPU_CHECK_BENCH: which benchmarks to run (default all); e.g. "topk".
for bench in ${GPU_CHECK_BENCH-tokenize topk pipeline encoder e2e}; do
  case "$bench" in
    tokenize) node bench/tokenize.mjs --docs "${BENCH_DOCS:-10000}" --repeats 3 2>&1 | tee "$OUT/bench-tokenize.log" ;;
    topk) node bench/topk.mjs 2>&1 | tee "$OUT/bench-topk.log" ;;
    pipeline) node bench/pipeline.mjs 2>&1 | tee "$OUT/bench-pipeline.log" ;;
    encoder) node bench/encoder.mjs 2>&1 | tee "$OUT/bench-encoder.log" ;;
    e2e) node bench/end-to-end.mjs 2>&1 | tee "$OUT/bench-e2e.log" ;;
  esac
done

# The TensorRT backend against the fake libnvinfer (test/fake-tensorrt), once per TensorRT major whose headers
# are in .third_party/tensorrt-* (carried to the GPU machine; fetched from NVIDIA/TensorRT, never committed).
if [ "${GPU_CHECK_TENSORRT:-1}" = "1" ]; then
  for d in .third_party/tensorrt-*; do
    [ -f "$d/include/NvInfer.h" ] || continue
    tag=$(basename "$d")
    if [ "${GPU_CHECK_PREBUILT:-0}" = "1" ] && [ -f "build-$tag/Release/trt_rerank.node" ]; then
      echo "gpu-check: using the carried build-$tag/Release/trt_rerank.node"
    else
      TRT_RERANK_CUDA_ARCHS=90 bash tools/check-tensorrt-build.sh "$d" 2>&1 | tail -2
    fi
    bash test/fake-tensorrt/build.sh "$d/include" "build-fake-$tag" | tail -1
    LD_LIBRARY_PATH="$PWD/build-fake-$tag${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" TRT_RERANK_FAKE_TENSORRT=1 \
      TRT_RERANK_ADDON="$PWD/build-$tag/Release/trt_rerank.node" \
      npx vitest run --project gpu test/gpu/tensorrt-fake.test.ts 2>&1 | tee "$OUT/test-tensorrt-fake-$tag.log" | grep -E "✓|×|Test Files|Tests|skipped|FAIL|Error" | tail -20 || failed=1
  done
fi
[ "$failed" = 0 ] || { echo "gpu-check: a test lane failed (logs under $OUT)"; exit 1; }
