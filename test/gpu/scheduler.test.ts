/**
 * The scheduler on the CUDA backend (the shared suite: test/helpers/scheduler-suite.ts): the same behaviour as on
 * the CPU, with calls large enough to keep the GPU busy while another arrives.
 */
import { describe, expect } from 'vitest';
import { cudaBackendSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { schedulerSuite } from '../helpers/scheduler-suite.js';

requireAddonBuilt();
const reason = cudaBackendSkipReason('scheduler tests on the CUDA backend');

describe.skipIf(reason !== '')('on the CUDA backend', () => {
  // fp16 storage: scores within 1e-2 of the fp32 reference path (the CUDA backend's tolerance, README).
  schedulerSuite({ backend: 'cuda' }, 40_000, (got, expected) => {
    for (let i = 0; i < expected.length; i++) expect(Math.abs(got[i]! - expected[i]!)).toBeLessThan(1e-2);
  });
});
