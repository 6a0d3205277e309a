#!/usr/bin/env bash
# compute-sanitizer over our CUDA kernels on the GPU machine (issue 15): memcheck over every decoder kernel test and
# over the Qwen3 CUDA backend end to end (cuBLASLt and CUDA graphs included), racecheck and synccheck over the
# causal / context attention tests and racecheck over the encoder attention tests (windows, head sizes 32-128).
#   device run, carry [".gpu", "build/Release", "dist"]:  bash .gpu/run 'bash tools/gpu-sanitize.sh'
# Needs the testing addon (TRT_RERANK_TESTING=1 npm run build, or carried) and dist/. Logs under $OUT; exit 1 if a
# tool reported anything. About 2 minutes on an H200.
set -u
OUT=${OUT:-/tmp/trt-rerank-out}
mkdir -p "$OUT"
export TRT_RERANK_TESTING=1
cs="compute-sanitizer --target-processes all --print-limit 30 --error-exitcode 99"
failed=0
run() {
  local tool=$1 name=$2; shift 2
  echo "== $tool: $*"
  $cs --tool "$tool" "$@" > "$OUT/sanitize-$name.log" 2>&1 || failed=1
  grep -E "ERROR SUMMARY|RACECHECK SUMMARY|Tests  " "$OUT/sanitize-$name.log"
}
run memcheck memcheck-kernels npx vitest run --project gpu test/gpu/decoder-kernels.test.ts
run memcheck memcheck-qwen3 npx vitest run --project gpu test/gpu/qwen3.test.ts -t tiny-qwen3-bf16
run racecheck racecheck-decoder --racecheck-report hazard npx vitest run --project gpu test/gpu/decoder-kernels.test.ts -t causal
run racecheck racecheck-encoder --racecheck-report hazard npx vitest run --project gpu test/gpu/encoder-kernels.test.ts -t attention
run synccheck synccheck-decoder npx vitest run --project gpu test/gpu/decoder-kernels.test.ts -t causal
[ "$failed" = 0 ] || { echo "gpu-sanitize: a tool reported errors (logs under $OUT)"; exit 1; }
