#!/usr/bin/env bash
# Fuzzes the code that reads untrusted model files: the native side (test/fuzz/: config.json -> models::createModel,
# and the CPU weight loader over a mapped file with a fuzzed tensor list) and the TypeScript side
# (test/unit/*.fuzz.test.ts and test/native/*.fuzz.test.ts: the safetensors header reader, config.json through the
# addon, tokenizer.json loading), each for FUZZ_SECONDS (default 10).
#
# Native harnesses are built into build-fuzz/ with ASan + UBSan: with clang's libFuzzer (coverage-guided) where
# clang++ (or clang++-14) is found, else with g++ and test/fuzz/driver.cc (the corpus, then random mutations; not
# coverage-guided). FUZZ_CXX=g++ forces the second. The seed corpora come from the tiny test models
# (tools/fuzz-seeds.mjs); test/fuzz/regressions/<target>/ holds inputs that once failed and runs first, every time.
# A failing input is left in build-fuzz/artifacts/: copy it into test/fuzz/regressions/<target>/ once fixed.
#
# Usage: tools/fuzz.sh [--native-only|--ts-only]      e.g. FUZZ_SECONDS=600 tools/fuzz.sh --native-only
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-10}
out=build-fuzz
what=${1:-all}
say() { printf 'fuzz: %s\n' "$*"; }

native() {
  local cxx=${FUZZ_CXX:-}
  if [[ -z "$cxx" ]]; then
    for c in clang++ clang++-14 clang++-15 clang++-16; do command -v "$c" >/dev/null && { cxx=$c; break; }; done
    cxx=${cxx:-g++}
  fi
  local mode=driver
  [[ "$cxx" == *clang* ]] && mode=libfuzzer
  local san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  local flags="-std=c++17 -g -O1 $san -Inative -I$out/generated -Itest/fuzz"
  local objs="$out/obj-$mode"
  mkdir -p "$objs" "$out/generated/common" "$out/artifacts"
  node tools/generate-error-codes.mjs "$out/generated/common/error_codes.h" >/dev/null
  local lib=(native/models/model.cc native/models/bert.cc native/models/modernbert.cc native/models/qwen3.cc native/common/model_spec.cc
             native/backends/cpu/cpu_weights.cc native/backends/cpu/cpu_ops.cc native/backends/cpu/gemm.cc native/common/thread_pool.cc)
  local srcs=("${lib[@]}" test/fuzz/fuzz_config.cc test/fuzz/fuzz_weights.cc)
  [[ $mode == driver ]] && srcs+=(test/fuzz/driver.cc)
  say "building the harnesses with $cxx ($mode) in $out/"
  local pids=() s o
  # With g++, the library's objects of tools/sanitize.sh's build (same compiler, same sanitizers) are reused where
  # they are newer than their source: CI builds them just before.
  object() {
    local reuse="build-san/CMakeFiles/trt_rerank_objects.dir/$1.o"
    if [[ $mode == driver && "$1" == native/* && -f "$reuse" && "$reuse" -nt "$1" ]]; then echo "$reuse"; else echo "$objs/$(basename "$1" .cc).o"; fi
  }
  for s in "${srcs[@]}"; do
    o="$(object "$s")"
    [[ "$o" == build-san/* ]] && continue
    if [[ ! -f "$o" || "$s" -nt "$o" || test/fuzz/json.h -nt "$o" ]]; then
      local extra=""
      [[ $mode == libfuzzer && "$s" != test/fuzz/driver.cc ]] && extra="-fsanitize=fuzzer-no-link"  # coverage for libFuzzer
      "$cxx" $flags $extra -c "$s" -o "$o" &
      pids+=($!)
      if (( ${#pids[@]} >= $(nproc) )); then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
    fi
  done
  for p in "${pids[@]}"; do wait "$p"; done
  local libobjs=() t
  for s in "${lib[@]}"; do libobjs+=("$(object "$s")"); done
  for t in fuzz_config fuzz_weights; do
    if [[ $mode == libfuzzer ]]; then
      "$cxx" $san -fsanitize=fuzzer -o "$out/$t" "$objs/$t.o" "${libobjs[@]}" -lpthread
    else
      "$cxx" $san -o "$out/$t" "$objs/$t.o" "$objs/driver.o" "${libobjs[@]}" -lpthread
    fi
  done
  [[ -d "$out/seeds/corpus" ]] || node tools/fuzz-seeds.mjs "$out/seeds" >/dev/null
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
  for t in config weights; do
    local corpus="$out/corpus/$t"  # grows across runs (libFuzzer adds what reached new code); the seeds stay apart
    mkdir -p "$corpus" "test/fuzz/regressions/$t"
    say "fuzz_$t for ${seconds}s"
    local args=(-max_total_time="$seconds" -artifact_prefix="$out/artifacts/" -timeout=10 -rss_limit_mb=4096)
    [[ $t == weights ]] && args+=(-max_len=2000000)
    local rc=0
    "$out/fuzz_$t" "${args[@]}" "$corpus" "test/fuzz/regressions/$t" "$out/seeds/corpus/$t" > "$out/fuzz_$t.log" 2>&1 || rc=$?
    grep -vE '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$out/fuzz_$t.log" | tail -n 40
    (( rc == 0 )) || { say "fuzz_$t failed (exit $rc): the input is in $out/artifacts/, the log in $out/fuzz_$t.log"; return 1; }
  done
}

ts() {
  say "TypeScript fuzz tests for ${seconds}s each"
  FUZZ_SECONDS=$seconds npx vitest run --project unit --project native fuzz
}

case "$what" in
  --native-only) native ;;
  --ts-only) ts ;;
  all) native; ts ;;
  *) echo "usage: tools/fuzz.sh [--native-only|--ts-only]" >&2; exit 2 ;;
esac
