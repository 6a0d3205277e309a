#!/usr/bin/env node
// Builds native/ into build/Release/trt_rerank.node with cmake-js (Node-API headers from node-api-headers:
// nothing is downloaded). Run by `npm install` and `npm run build`; with TRT_RERANK_TESTING=1 it also builds
// build/Release/trt_rerank_testing.node, the addon plus the test lane's kernel hooks and gpu-test backend.
//
// Environment:
//   TRT_RERANK_CUDA_ARCHS   CUDA architectures, e.g. "90" for an H100 only (default: 80, 86, 89, 90 + PTX)
//   TRT_RERANK_NO_CUDA=1    leave every CUDA part out even where the toolkit is found
//   TENSORRT_INCLUDE_DIR    TensorRT headers to compile the TensorRT backend against
//   TRT_RERANK_TESTING=1    also build the testing addon (development only; without it a testing addon left
//                           in build/Release by an earlier build is removed, so nothing loads a stale one)
//   TRT_RERANK_SKIP_BUILD=1 build nothing (a prebuilt binary will be provided)
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;

if (env.TRT_RERANK_SKIP_BUILD === '1') {
  console.log('trt-rerank: TRT_RERANK_SKIP_BUILD=1, native build skipped');
  process.exit(0);
}

const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
if (cmake.error || cmake.status !== 0) {
  console.error(
    'trt-rerank: CMake was not found on PATH. The native addon is built from source with CMake >= 3.20 and a ' +
      'C++17 compiler: install them (Debian/Ubuntu: apt-get install cmake g++), then run `npm rebuild trt-rerank`.',
  );
  process.exit(1);
}

const archs = (env.TRT_RERANK_CUDA_ARCHS ?? '')
  .split(/[,; ]+/)
  .filter(Boolean)
  .map((a) => a.replace(/^sm_/, ''));
const defines = [];
if (archs.length > 0) defines.push(`TRT_RERANK_CUDA_ARCHITECTURES=${archs.map((a) => `${a}-real`).join(';')}`);
if (env.TRT_RERANK_NO_CUDA === '1') defines.push('TRT_RERANK_WITH_CUDA=OFF');
if (env.TENSORRT_INCLUDE_DIR) defines.push(`TENSORRT_INCLUDE_DIR=${env.TENSORRT_INCLUDE_DIR}`);
// Always passed, ON or OFF: the CMake cache must not keep an earlier build's choice.
const testing = env.TRT_RERANK_TESTING === '1';
defines.push(`TRT_RERANK_TESTING=${testing ? 'ON' : 'OFF'}`);
if (!testing) {
  for (const config of ['Release', 'Debug']) rmSync(join(root, 'build', config, 'trt_rerank_testing.node'), { force: true });
}

const require = createRequire(import.meta.url);
const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
const cmakeJsArgs = (command) => [cmakeJs, command, '--directory', root, '--out', join(root, 'build'), '--config', 'Release',
  '--parallel', String(availableParallelism()), '--log-level', 'warn',
  ...defines.map((d) => `--CD${d}`)];
// cmake-js compile configures only a fresh build folder: where build/ was configured with the other
// TRT_RERANK_TESTING, configure it again first (the shared objects are kept).
const cache = join(root, 'build', 'CMakeCache.txt');
const cachedTesting = existsSync(cache) ? /^TRT_RERANK_TESTING:BOOL=(\w+)$/m.exec(readFileSync(cache, 'utf8'))?.[1] : undefined;
let result = { status: 0 };
if (existsSync(cache) && cachedTesting !== (testing ? 'ON' : 'OFF')) {
  result = spawnSync(process.execPath, cmakeJsArgs('configure'), { stdio: 'inherit', cwd: root });
}
if (result.status === 0) result = spawnSync(process.execPath, cmakeJsArgs('compile'), { stdio: 'inherit', cwd: root });
if (result.status !== 0) {
  console.error('trt-rerank: the native build failed (output above). Fix the reported problem and run `npm run build`.');
  process.exit(result.status ?? 1);
}
