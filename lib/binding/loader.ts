/**
 * Finds and loads the native addon, and explains itself when it cannot (sharp's loader habit): every
 * candidate tried is listed with its reason, and the message names the fix. The order, and the child-process
 * check of prebuilt GPU binaries, are in candidates.ts and test-load.ts; what loaded and why is
 * systemInfo().binary.
 *
 * Two addons come from one build: trt_rerank.node, the one users get, and, only where it was asked for
 * (`TRT_RERANK_TESTING=1 npm run build`), trt_rerank_testing.node: the same addon plus, in CUDA builds, the
 * `testing` export (the GPU kernels alone) and the gpu-test backend, for the GPU test lane and benchmarks.
 * TRT_RERANK_TESTING=1 in the environment loads the testing addon; TRT_RERANK_ADDON names a file to load.
 * @internal
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { NativeAddonError } from '../errors.js';
import {
  addonCandidates, binaryCandidates, PREBUILT_PLATFORMS, select, testingAddonFile, testingAddonPaths,
  type BinaryInfo,
} from './candidates.js';
import type { NativeAddon, NativeSystemInfo } from './native.js';
import { testLoad } from './test-load.js';

export { addonCandidates, testingAddonPaths };

/** What to do when no candidate loaded, for the environment that chose them and what failed (`tried`). */
export function loadFix(env: NodeJS.ProcessEnv = process.env, platform = `${process.platform}-${process.arch}`,
  tried: BinaryInfo['passedOver'] = []): string {
  if (env.TRT_RERANK_ADDON) return 'TRT_RERANK_ADDON names the addon file to load; unset it to load the package\'s own build.';
  if (env.TRT_RERANK_TESTING === '1') {
    return 'TRT_RERANK_TESTING=1 asks for the testing addon, which is built only on request: `TRT_RERANK_TESTING=1 npm run build` ' +
      'in a clone builds it beside build/Release/trt_rerank.node. Unset TRT_RERANK_TESTING to load the production addon.';
  }
  const fromSource = 'build it from source: `npm install trt-rerank --build-from-source` (`npm run build` in a clone), which needs ' +
    'CMake >= 3.20 and a C++17 compiler, and builds the GPU parts only where the CUDA toolkit is found.';
  if (!PREBUILT_PLATFORMS.includes(platform)) return `No prebuilt binary is published for ${platform}: ${fromSource}`;
  const cpu = `@trt-rerank/${platform}`;
  if (tried.some((t) => t.package === cpu && t.reason !== 'not installed')) {
    return `The prebuilt ${cpu} is installed but does not load here (above): ${fromSource}`;
  }
  return `Install a prebuilt binary: \`npm install ${cpu}\` for the CPU (npm installs the prebuilt packages as optional ` +
    'dependencies of trt-rerank, unless they were left out with --omit=optional or --no-optional), or ' + fromSource;
}

let cached: { addon: NativeAddon; binary: Omit<BinaryInfo, 'variant'> & { variant: string | null } } | undefined;

export function loadAddon(): NativeAddon {
  if (cached) return cached.addon;
  const require = createRequire(import.meta.url);
  const selection = select(binaryCandidates(process.env), {
    testLoad: (path) => testLoad(path),
    load: (path) => require(path) as NativeAddon,
  });
  if (selection.ok) {
    cached = { addon: selection.loaded, binary: selection.binary };
    return selection.loaded;
  }
  throw new NativeAddonError(notLoadedMessage(selection.passedOver));
}

/** The NativeAddonError's message: each candidate tried with its reason, then the fix. */
export function notLoadedMessage(tried: BinaryInfo['passedOver'], env: NodeJS.ProcessEnv = process.env,
  platform = `${process.platform}-${process.arch}`): string {
  const which = env.TRT_RERANK_ADDON ? 'the trt-rerank native addon named by TRT_RERANK_ADDON'
    : env.TRT_RERANK_TESTING === '1' ? 'the trt-rerank testing addon (TRT_RERANK_TESTING=1)'
    : 'the trt-rerank native addon';
  const lines = tried.map((p) => `  ${p.package ? `${p.package}${p.path ? ` (${p.path})` : ''}` : p.path}: ${p.reason}`);
  return [`${which} could not be loaded. Tried:`, ...lines, loadFix(env, platform, tried)].join('\n');
}

/** The variant of a binary that does not say its own: its CUDA major, or 'cpu'. */
export function variantOf(info: NativeSystemInfo): string {
  return info.cuda.built && info.cuda.runtimeVersion ? `cuda${Math.floor(info.cuda.runtimeVersion / 1000)}` : 'cpu';
}

/** What loaded, why, and what was passed over (systemInfo().binary); `info` is the loaded addon's systemInfo(). */
export function loadedBinary(info: NativeSystemInfo): BinaryInfo {
  loadAddon();
  const { binary } = cached!;
  return { ...binary, variant: binary.variant ?? variantOf(info) };
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
