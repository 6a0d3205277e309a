/**
 * Finds and loads the native addon, and explains itself when it cannot (sharp's loader habit): every path
 * tried is listed with its error, and the message names the fix.
 * @internal
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeAddonError } from '../errors.js';
import type { NativeAddon } from './native.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the addon may be, in the order tried. TRT_RERANK_ADDON overrides them all. */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.TRT_RERANK_ADDON) return [env.TRT_RERANK_ADDON];
  return [join(packageRoot, 'build', 'Release', 'trt_rerank.node'), join(packageRoot, 'build', 'Debug', 'trt_rerank.node')];
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
  throw new NativeAddonError(
    [
      'the trt-rerank native addon could not be loaded. Tried:',
      ...failures,
      'It is built from source when the package is installed. To build it now: `npm rebuild trt-rerank` ' +
        '(or `npm run build` in a clone); this needs CMake >= 3.20 and a C++17 compiler, and builds the GPU ' +
        'parts only where the CUDA toolkit is found.',
    ].join('\n'),
  );
}
