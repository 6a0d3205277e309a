import { existsSync } from 'node:fs';
import { addonCandidates, loadAddon, testingUnavailable } from '../../lib/binding/loader.js';

/** Native tests need the built addon; without it they fail with this message (never silently skip in CI). */
export function requireAddonBuilt(): void {
  const candidates = addonCandidates();
  if (!candidates.some((p) => existsSync(p))) {
    throw new Error(
      process.env.TRT_RERANK_ADDON || process.env.TRT_RERANK_TESTING === '1'
        ? `the native addon is not built: none of ${candidates.join(', ')} exists (TRT_RERANK_ADDON / TRT_RERANK_TESTING chose them)`
        : 'the native addon is not built: run `npm run build` (npm install does it) before `npm test`',
    );
  }
}

/**
 * Why a GPU test file that needs `addon.testing` or the gpu-test backend cannot run here ('' when it can): no
 * CUDA kernels in this build, the production addon loaded (the testing addon is not built, or not chosen), or
 * no CUDA device. The reason is printed once, prefixed with `what`, so a skipped GPU lane says why.
 */
export function gpuSkipReason(what: string): string {
  const addon = loadAddon();
  const cuda = addon.systemInfo().cuda;
  const reason = testingUnavailable(addon) || (cuda.devices.length === 0 ? `no CUDA device: ${cuda.error ?? 'none found'}` : '');
  if (reason) console.log(`${what} skipped: ${reason}`);
  return reason;
}

/**
 * Why the CUDA backend cannot run here ('' when it can): no CUDA parts in this build, no device, or a device older
 * than sm_80 (our GEMMs' floor) without cuBLASLt.
 * Needs only the production addon (unlike gpuSkipReason). The reason is printed once, prefixed with `what`.
 */
export function cudaBackendSkipReason(what: string): string {
  const system = loadAddon().systemInfo();
  const reason = !system.backends.includes('cuda') ? 'this build has no CUDA parts'
    : system.cuda.devices.length === 0 ? `no CUDA device: ${system.cuda.error ?? 'none found'}`
    : Number(system.cuda.devices[0]!.computeCapability.split('.')[0]) < 8 && !system.cublasLt.found
      ? `sm_${system.cuda.devices[0]!.computeCapability} is older than our GEMMs' sm_80, and cuBLASLt did not load: ${system.cublasLt.error}`
    : '';
  if (reason) console.log(`${what} skipped: ${reason}`);
  return reason;
}
