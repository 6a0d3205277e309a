import { existsSync } from 'node:fs';
import { addonCandidates, loadAddon } from '../../lib/binding/loader.js';

/** Native tests need the built addon; without it they fail with this message (never silently skip in CI). */
export function requireAddonBuilt(): void {
  if (!addonCandidates().some((p) => existsSync(p))) {
    throw new Error('the native addon is not built: run `npm run build` (npm install does it) before `npm test`');
  }
}

/**
 * Why a GPU test file cannot run here ('' when it can): no CUDA kernels in this build, or no CUDA device. The
 * reason is printed once, prefixed with `what`, so a skipped GPU lane says why.
 */
export function gpuSkipReason(what: string): string {
  const addon = loadAddon();
  const cuda = addon.systemInfo().cuda;
  const reason = !addon.testing ? 'this build has no CUDA kernels' : cuda.devices.length === 0 ? `no CUDA device: ${cuda.error ?? 'none found'}` : '';
  if (reason) console.log(`${what} skipped: ${reason}`);
  return reason;
}
