/**
 * Finds and loads the native addon, and explains itself when it cannot (sharp's loader habit): every path
 * tried is listed with its error, and the message names the fix.
 *
 * Two addons come from one build: trt_rerank.node, the one users get, and, only where it was asked for
 * (`TRT_RERANK_TESTING=1 npm run build`), trt_rerank_testing.node: the same addon plus, in CUDA builds, the
 * `testing` export (the GPU kernels alone) and the gpu-test backend, for the GPU test lane and benchmarks.
 * TRT_RERANK_TESTING=1 in the environment loads the testing addon; TRT_RERANK_ADDON names a file to load.
 * @internal
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeAddonError } from '../errors.js';
import type { NativeAddon } from './native.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

const addonFile = 'trt_rerank.node';
const testingAddonFile = 'trt_rerank_testing.node';
const buildDirs = ['Release', 'Debug'];

/** The testing addon's paths, in the order tried (whether or not it is built). */
export function testingAddonPaths(): string[] {
  return buildDirs.map((config) => join(packageRoot, 'build', config, testingAddonFile));
}

/**
 * Where the addon may be, in the order tried: TRT_RERANK_ADDON alone where set, else the testing addon where
 * TRT_RERANK_TESTING=1, else the production addon.
 */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.TRT_RERANK_ADDON) return [env.TRT_RERANK_ADDON];
  if (env.TRT_RERANK_TESTING === '1') return testingAddonPaths();
  return buildDirs.map((config) => join(packageRoot, 'build', config, addonFile));
}

/** What to do when no candidate loaded, for the environment that chose them. */
function loadFix(env: NodeJS.ProcessEnv): string {
  if (env.TRT_RERANK_ADDON) return 'TRT_RERANK_ADDON names the addon file to load; unset it to load the package\'s own build.';
  if (env.TRT_RERANK_TESTING === '1') {
    return 'TRT_RERANK_TESTING=1 asks for the testing addon, which is built only on request: `TRT_RERANK_TESTING=1 npm run build` ' +
      'in a clone builds it beside build/Release/trt_rerank.node. Unset TRT_RERANK_TESTING to load the production addon.';
  }
  return 'It is built from source when the package is installed. To build it now: `npm rebuild trt-rerank` ' +
    '(or `npm run build` in a clone); this needs CMake >= 3.20 and a C++17 compiler, and builds the GPU ' +
    'parts only where the CUDA toolkit is found.';
}

/**
 * For the benchmarks that need `testing` (as vitest.config.ts does for the test lanes): chooses the testing addon
 * (TRT_RERANK_TESTING=1) where it is built, unless TRT_RERANK_ADDON or TRT_RERANK_TESTING is already set.
 * Call before loadAddon.
 */
export function preferTestingAddon(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.TRT_RERANK_ADDON && env.TRT_RERANK_TESTING === undefined && testingAddonPaths().some((p) => existsSync(p))) {
    env.TRT_RERANK_TESTING = '1';
  }
}

let cached: NativeAddon | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const failures: string[] = [];
  for (const path of addonCandidates()) {
    if (!existsSync(path)) {
      failures.push(`  ${path}: not found`);
      continue;
    }
    try {
      cached = require(path) as NativeAddon;
      return cached;
    } catch (error) {
      failures.push(`  ${path}: ${(error as Error).message}`);
    }
  }
  const which = process.env.TRT_RERANK_ADDON ? 'the trt-rerank native addon named by TRT_RERANK_ADDON'
    : process.env.TRT_RERANK_TESTING === '1' ? 'the trt-rerank testing addon (TRT_RERANK_TESTING=1)'
    : 'the trt-rerank native addon';
  throw new NativeAddonError([`${which} could not be loaded. Tried:`, ...failures, loadFix(process.env)].join('\n'));
}

/**
 * Why `addon` has no `testing` export and gpu-test backend ('' when it has them), for the GPU tests and
 * benchmarks that skip without them: a build without CUDA, or the production addon loaded.
 */
export function testingUnavailable(addon: NativeAddon, env: NodeJS.ProcessEnv = process.env): string {
  if (addon.testing) return '';
  if (!addon.systemInfo().cuda.built) return 'this build has no CUDA kernels';
  if (env.TRT_RERANK_ADDON) return `TRT_RERANK_ADDON=${env.TRT_RERANK_ADDON} is not a testing addon (TRT_RERANK_TESTING=1 npm run build makes build/Release/${testingAddonFile})`;
  if (testingAddonPaths().some((p) => existsSync(p))) return `the testing addon is built but not loaded: set TRT_RERANK_TESTING=1`;
  return 'the testing addon is not built: TRT_RERANK_TESTING=1 npm run build';
}
