/**
 * The scheduler on the CUDA backend (the shared suite: test/helpers/scheduler-suite.ts): the same behaviour as on
 * the CPU, with calls large enough to keep the GPU busy while another arrives.
 */
import { describe, expect } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { schedulerSuite } from '../helpers/scheduler-suite.js';

requireAddonBuilt();
const system = loadAddon().systemInfo();
const reason = !system.backends.includes('cuda') ? 'this build has no CUDA parts'
  : system.cuda.devices.length === 0 ? `no CUDA device: ${system.cuda.error ?? 'none found'}`
  : !system.cublasLt.found ? `cuBLASLt did not load: ${system.cublasLt.error}`
  : '';
if (reason) console.log(`scheduler tests on the CUDA backend skipped: ${reason}`);

describe.skipIf(reason !== '')('on the CUDA backend', () => {
  // fp16 storage: scores within 1e-2 of the fp32 reference path (the CUDA backend's tolerance, README).
  schedulerSuite({ backend: 'cuda' }, 40_000, (got, expected) => {
    for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-2);
  });
});
