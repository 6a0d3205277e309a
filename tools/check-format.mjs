#!/usr/bin/env node
// clang-format over native/ (the style: .clang-format), with the binary the `clang-format` npm package ships
// (clang-format 15; no system install needed) or $CLANG_FORMAT.
//   node tools/check-format.mjs         checks: names each file clang-format would change, exits 1 if any (npm run lint)
//   node tools/check-format.mjs --fix   formats the checked files in place
//   node tools/check-format.mjs --fix FILE...   formats FILEs (a pending one, before taking it off the list)
// Every .cc/.h/.cu/.cuh under native/ is checked, new files included, except those in PENDING: files written
// before the check that clang-format would change (mostly the alignment of trailing comments and the order of
// includes). They are formatted one by one, when their owner next edits them, and then taken off the list.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

const PENDING = new Set([
  'native/backends/cpu/cpu_backend.cc',
  'native/backends/cpu/cpu_ops.cc',
  'native/backends/cpu/gemm.cc',
  'native/backends/cpu/gemm.h',
  'native/backends/cuda/cublaslt.h',
  'native/backends/cuda/cuda_backend.h',
  'native/backends/cuda/cuda_ops.cc',
  'native/backends/cuda/cuda_ops.h',
  'native/backends/cuda/cuda_weights.cc',
  'native/backends/device_backend.h',
  'native/backends/registry.cc',
  'native/backends/registry.h',
  'native/backends/tensorrt/engine_io.h',
  'native/backends/tensorrt/tensorrt_backend.cc',
  'native/backends/tensorrt/tensorrt_backend.h',
  'native/backends/tensorrt/tensorrt_builder.cc',
  'native/backends/tensorrt/tensorrt_runtime.cc',
  'native/binding/config_from_js.cc',
  'native/binding/gpu_testing.cc',
  'native/binding/gpu_testing_decoder.cc',
  'native/binding/js_values.h',
  'native/binding/session.cc',
  'native/binding/session.h',
  'native/common/cuda_check.h',
  'native/common/model_spec.h',
  'native/kernels/attention.cu',
  'native/kernels/attention.cuh',
  'native/kernels/attention_one_query.cu',
  'native/kernels/encoder.cu',
  'native/kernels/encoder.cuh',
  'native/kernels/engine_io.cu',
  'native/kernels/engine_io.cuh',
  'native/kernels/norm.cu',
  'native/kernels/rotary.cu',
  'native/kernels/rotary.cuh',
  'native/kernels/topk.cu',
  'native/models/families.h',
  'native/models/model.cc',
  'native/models/model.h',
  'native/models/ops.h',
  'native/pipeline/executor.h',
  'native/pipeline/gpu_executor.cc',
  'native/pipeline/host_scores.h',
  'native/pipeline/scheduler.cc',
  'native/pipeline/scheduler.h',
  'native/pipeline/scheduler_stats.h',
]);

/** The clang-format to run: $CLANG_FORMAT, else the npm package's binary for this platform. */
function clangFormat() {
  if (process.env.CLANG_FORMAT) return process.env.CLANG_FORMAT;
  const dir = dirname(createRequire(import.meta.url).resolve('clang-format/package.json'));
  const name = process.platform === 'win32' ? 'win32/clang-format.exe' : `${process.platform}_${process.arch}/clang-format`;
  return join(dir, 'bin', name);
}

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return /\.(cc|h|cu|cuh)$/.test(e.name) ? [relative(root, path).split('\\').join('/')] : [];
  });
}

const args = process.argv.slice(2);
const fix = args[0] === '--fix';
const named = fix ? args.slice(1) : args;
const files = named.length > 0 ? named : sources(join(root, 'native')).filter((f) => !PENDING.has(f)).sort();
const binary = clangFormat();
const version = spawnSync(binary, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) {
  console.error(`tools/check-format.mjs: cannot run ${binary} (${version.error?.message ?? version.stderr.trim()}); set CLANG_FORMAT to a clang-format binary`);
  process.exit(1);
}

if (fix) {
  execFileSync(binary, ['-i', '--style=file', ...files], { cwd: root, stdio: 'inherit' });
  console.log(`formatted ${files.length} files`);
} else {
  const run = spawnSync(binary, ['--dry-run', '--Werror', '--style=file', ...files], { cwd: root, encoding: 'utf8' });
  const bad = [...new Set([...run.stderr.matchAll(/^(\S+?):\d+:\d+: error:/gm)].map((m) => m[1]))];
  if (run.status !== 0) {
    console.error(run.stderr.split('\n').slice(0, 40).join('\n'));
    console.error(`clang-format would change ${bad.length || 'some'} of the ${files.length} files checked: ${bad.join(', ')}.\n` +
      'Run `node tools/check-format.mjs --fix` (or --fix FILE) and look at the diff.');
    process.exit(1);
  }
  console.log(`clang-format: ${files.length} files of native/ formatted as .clang-format says (${PENDING.size} pending, tools/check-format.mjs)`);
}
