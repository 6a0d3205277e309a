#!/usr/bin/env bash
# The native test lane against an ASan + UBSan build of the addon (CPU backend only): build-san/Debug/trt_rerank.node,
# loaded by node with the sanitizer runtimes preloaded. Any report (a heap overflow, a use after free, undefined
# behaviour) aborts the test process, which fails the run.
#
# The lane is test/native/ but for the files that spawn other processes (the CLI, the HTTP server, npm installs of
# tarballs, prebuilt-binary probes, the TensorRT stand-in: their children would load the production addon or a
# binary without the runtimes preloaded), qwen3.test.ts (2.5 minutes under the sanitizers: tokenizing with the
# real 151k-token tokenizer; qwen3-options, sharded-weights and the fuzz tests cover the Qwen3 native paths) and
# soak.test.ts (100 s under the sanitizers, long by design). The rest takes about 75 s of tests on 2 cores.
# SANITIZE_FULL=1 adds those two; extra arguments go to vitest (a file filter, -t NAME).
#
# Leaks are not checked here (detect_leaks=0): node and V8 leave their own allocations at exit (the vitest process
# alone reports 77 KB in 1376 allocations), and a LeakSanitizer suppression matches any frame of a stack, so
# suppressing node's frames would suppress every addon allocation too (each has node below it). The fuzz harnesses
# (tools/fuzz.sh, no node) run the model and weight loaders with leak detection on.
#
# Usage: tools/sanitize.sh [vitest args...]      (npm run test:sanitize)
set -euo pipefail
cd "$(dirname "$0")/.."
out=build-san
addon="$PWD/$out/Debug/trt_rerank.node"
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g -O1"
# cmake-js sets CMAKE_CXX_FLAGS itself: the Debug flags are the ones that reach the compiler. Configured every time
# (a few seconds; `compile` alone keeps an existing build folder's flags), then built incrementally.
cmake_js=(node node_modules/cmake-js/bin/cmake-js --directory . --out "$out" --config Debug --log-level warn)
"${cmake_js[@]}" configure --CDTRT_RERANK_WITH_CUDA=OFF --CDCMAKE_CXX_FLAGS_DEBUG="$flags" --CDCMAKE_SHARED_LINKER_FLAGS="-fsanitize=address,undefined"
"${cmake_js[@]}" build --parallel "$(nproc)"
if [[ "$(nm -D "$addon" | grep -c __asan_report)" == 0 ]]; then
  echo "sanitize: $addon has no ASan instrumentation (were the flags dropped?)" >&2
  exit 1
fi

files=()
for f in test/native/*.test.ts; do
  case "$(basename "$f")" in
    cli.test.ts | serve.test.ts | serve-load.test.ts | install-prebuilt.test.ts | loader-prebuilt.test.ts | tensorrt.test.ts) ;;
    qwen3.test.ts | soak.test.ts) [[ "${SANITIZE_FULL:-}" == 1 ]] && files+=("$f") ;;
    *) files+=("$f") ;;
  esac
done
node tools/generate-error-codes.mjs
export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 TRT_RERANK_ADDON="$addon"
exec npx vitest run --project native "${files[@]}" "$@"
