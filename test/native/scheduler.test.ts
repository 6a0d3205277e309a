/**
 * The scheduler on the CPU backend (the shared suite: test/helpers/scheduler-suite.ts). One thread, so the calls
 * that must still run while another arrives do.
 */
import { expect } from 'vitest';
import { requireAddonBuilt } from '../helpers/addon.js';
import { schedulerSuite } from '../helpers/scheduler-suite.js';

requireAddonBuilt();
schedulerSuite({ backend: 'cpu', threads: 1 }, 3000, (got, expected) => {
  for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 5);
});
