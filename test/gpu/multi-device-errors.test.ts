/**
 * CUDA failures behind a multi-device Reranker (the gpu-test backend's injected faults, two copies on device 0).
 * A refused launch fails the calls of that batch only, and the copies run on; a lost context, which both copies
 * on one device share, fails the call, then every later call says every device is lost. Its own process (vitest
 * forks): the lost context harms no other test. A device lost while another lives (two GPUs) is not run here.
 */
import { describe, expect, it } from 'vitest';
import { BackendError } from '../../lib/errors.js';
import { Reranker } from '../../lib/reranker.js';
import { gpuSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { useTinyModel } from '../helpers/models.js';

requireAddonBuilt();
const reason = gpuSkipReason('multi-device failure tests');
const docs = Array.from({ length: 400 }, (_, i) => `document ${i} about ${'the sea '.repeat(i % 9)}`);

describe.skipIf(reason !== '')('multi-device failures', () => {
  const model = useTinyModel('tiny-bert');

  it('a refused launch on a copy rejects the call that hit it; the copies run on, and later calls succeed exactly', async () => {
    const healthy = await Reranker.loadTestPipeline(model.dir, {}, { maxBatchSize: 64 });
    // Each copy counts its own batches, so each fails its first one: the call that hits it rejects (the rest of
    // that call's pairs are dropped, so the other copy's fault may come in the next call).
    const faulty = await Reranker.loadTestPipeline(model.dir, { fault: 'bad-launch', faultAtBatch: 1 }, { maxBatchSize: 64, device: [0, 0] });
    try {
      const expected = await healthy.score('tides', docs, { activation: 'none' });
      let failures = 0;
      let got: Float32Array | undefined;
      while (!got) {
        try {
          got = await faulty.score('tides', docs, { activation: 'none' });
        } catch (error) {
          expect(error).toBeInstanceOf(BackendError);
          expect(String(error)).toMatch(/injected bad launch/);
          expect(++failures).toBeLessThanOrEqual(2);
        }
      }
      expect(failures).toBeGreaterThanOrEqual(1);
      expect(got).toEqual(expected);
      expect(await faulty.score('tides', docs, { activation: 'none' })).toEqual(expected);
      expect(faulty.deviceStats!.every((d) => !d.lost && d.batches > 0)).toBe(true);
    } finally {
      await healthy.close();
      await faulty.close();
    }
  });

  it('a lost context (both copies) rejects the call, then every call says every device is lost; close() works', async () => {
    const r = await Reranker.loadTestPipeline(model.dir, { fault: 'illegal-address', faultAtBatch: 2 }, { maxBatchSize: 64, device: [0, 0] });
    await expect(r.rerank('tides', docs, { topK: 5 })).rejects.toThrow(/cudaErrorIllegalAddress|illegal memory access|lost/);
    const next = r.rerank('tides', docs.slice(0, 10), { topK: 5 });
    await expect(next).rejects.toBeInstanceOf(BackendError);
    await expect(next).rejects.toThrow(/every device is lost/);
    expect(r.deviceStats!.every((d) => d.lost)).toBe(true);
    await r.close();
  });
});
