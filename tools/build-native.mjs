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
//   TRT_RERANK_BUILD_FROM_SOURCE=1, or `npm install --build-from-source` (npm_config_build_from_source=true):
//                           compile even where a prebuilt package fits
//
// An installed package (not this repository: no .git, no test/) compiles nothing where a prebuilt package
// (@trt-rerank/<platform>-<arch>[-cuda13|-cuda12], optional dependencies) fits this machine and loads, checked
// in a child process as the loader does (dist/binding/candidates.js); it compiles where none does, where a
// build option above is set, and where build/ holds an earlier build from source. A clone always compiles,
// so `npm ci` there builds build/Release.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;

if (env.TRT_RERANK_SKIP_BUILD === '1') {
  console.log('trt-rerank: TRT_RERANK_SKIP_BUILD=1, native build skipped');
  process.exit(0);
}

// A build is asked for by the flag, by a build option (no prebuilt binary has the TensorRT backend or other
// architectures), or by an earlier build from source (it loads before any prebuilt package, so it is kept fresh).
const buildOptions = [env.TENSORRT_INCLUDE_DIR && 'TENSORRT_INCLUDE_DIR', env.TRT_RERANK_CUDA_ARCHS && 'TRT_RERANK_CUDA_ARCHS',
  env.TRT_RERANK_NO_CUDA === '1' && 'TRT_RERANK_NO_CUDA=1', env.TRT_RERANK_TESTING === '1' && 'TRT_RERANK_TESTING=1'].filter(Boolean);
const earlierBuild = existsSync(join(root, 'build', 'Release', 'trt_rerank.node'));
const fromSource = env.TRT_RERANK_BUILD_FROM_SOURCE === '1' || env.npm_config_build_from_source === 'true' ||
  buildOptions.length > 0 || earlierBuild;
const devCheckout = existsSync(join(root, '.git')) || existsSync(join(root, 'test'));
if (fromSource && !devCheckout && (buildOptions.length > 0 || earlierBuild)) {
  console.log(`trt-rerank: building from source: ${buildOptions.length > 0 ? `${buildOptions.join(', ')} set` : 'an earlier build from source is in build/ ' +
    '(it loads before the prebuilt packages; remove build/ to use them)'}`);
}
if (!fromSource && !devCheckout) {
  const prebuilt = await choosePrebuilt();
  if (prebuilt.ok) {
    console.log(`trt-rerank: using the prebuilt ${prebuilt.package}, nothing to compile: ${prebuilt.reason}` +
      `${prebuilt.passedOver ? `; passed over: ${prebuilt.passedOver}` : ''}` +
      ' (`npm rebuild trt-rerank --build-from-source` compiles it instead)');
    process.exit(0);
  }
  console.log(`trt-rerank: no prebuilt binary fits this machine (${prebuilt.why}); building from source`);
}

/** The prebuilt package the loader would load, each tried in a child process; or why none fits. */
async function choosePrebuilt() {
  const dist = join(root, 'dist', 'binding');
  if (!existsSync(join(dist, 'candidates.js'))) return { ok: false, why: 'dist/binding/candidates.js is missing' };
  const { binaryCandidates, select } = await import(pathToFileURL(join(dist, 'candidates.js')).href);
  const { testLoad } = await import(pathToFileURL(join(dist, 'test-load.js')).href);
  // Only the packages: a local build is what this script would make.
  const candidates = binaryCandidates({}).filter((c) => c.source === 'prebuilt');
  const selection = select(candidates, {
    testLoad: (path) => testLoad(path),
    load: (path) => {
      const verdict = testLoad(path);
      if (!verdict.loads) throw new Error(`does not load: ${verdict.reason}`);
    },
  });
  const list = (passedOver) => passedOver.filter((p) => p.reason !== 'not installed').map((p) => `${p.package}: ${p.reason}`).join('; ');
  if (selection.ok) return { ok: true, package: selection.binary.package, reason: selection.binary.reason, passedOver: list(selection.binary.passedOver) };
  return { ok: false, why: selection.passedOver.map((p) => `${p.package}: ${p.reason}`).join('; ') };
}

const cmake = spawnSync('cmake', ['--version'], { encoding: 'utf8' });
if (cmake.error || cmake.status !== 0) {
  console.error(
    'trt-rerank: CMake was not found on PATH. The native addon is built from source with CMake >= 3.20 and a ' +
      `C++17 compiler: install them (Debian/Ubuntu: apt-get install cmake g++), then run \`npm rebuild trt-rerank${fromSource ? ' --build-from-source' : ''}\`` +
      (!fromSource && !devCheckout && `${process.platform}-${process.arch}` === 'linux-x64'
        ? '; or install the prebuilt CPU binary instead: `npm install @trt-rerank/linux-x64`.' : '.'),
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
