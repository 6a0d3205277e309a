/** The CUDA runtime probe on a real GPU. Skips, saying why, where the build or the machine has no GPU. */
import { describe, expect, it } from 'vitest';
import { systemInfo } from '../../lib/index.js';
import { requireAddonBuilt } from '../helpers/addon.js';

requireAddonBuilt();
const info = systemInfo();
const reason = !info.cuda.built
  ? `this build has no CUDA parts (${info.cuda.note})`
  : info.cuda.devices.length === 0
    ? `no CUDA device: ${info.cuda.error ?? 'none found'}`
    : '';
if (reason) console.log(`GPU tests skipped: ${reason}`);

describe.skipIf(reason !== '')('CUDA probe', () => {
  it('reports every device with its name, compute capability and memory, and the driver', () => {
    expect(info.cuda.driverVersion).toBeGreaterThanOrEqual(12000);
    expect(info.cuda.driver).toMatch(/^\d+\.\d+/);
    for (const d of info.cuda.devices) {
      expect(d.name).toMatch(/NVIDIA|GeForce|Tesla|Quadro|RTX/);
      expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
      expect(d.totalMemoryBytes).toBeGreaterThan(1 << 30);
      expect(d.multiprocessors).toBeGreaterThan(0);
    }
    expect(info.cuda.runtimeVersion).toBeLessThanOrEqual(info.cuda.driverVersion);
  });
});
