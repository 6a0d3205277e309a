/**
 * CUDA failures in the GPU pipeline, injected by the gpu-test backend: a refused launch rejects that call
 * with the CUDA error text and leaves the Reranker usable; a lost context (illegal address) rejects the call
 * and every later one with an error that says to load a new Reranker, and close() still works. This file
 * runs in its own process (vitest forks), so the lost context harms no other test.
 */
import { describe, expect, it } from 'vitest';
import { BackendError } from '../../lib/errors.js';
import { Reranker } from '../../lib/reranker.js';
import { gpuSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { useTinyModel } from '../helpers/models.js';

requireAddonBuilt();
const reason = gpuSkipReason('GPU pipeline error tests');

const query = 'tides';
const docs = Array.from({ length: 300 }, (_, i) => `document ${i} about ${'the sea '.repeat(i % 9)}`);

describe.skipIf(reason !== '')('GPU pipeline failures', () => {
  const model = useTinyModel('tiny-bert');

  it('a refused launch (4096 threads a block) rejects that call with the CUDA error; the next call succeeds', async () => {
    const healthy = await Reranker.loadTestPipeline(model.dir, {}, { maxBatchSize: 64 });
    const faulty = await Reranker.loadTestPipeline(model.dir, { fault: 'bad-launch', faultAtBatch: 3 }, { maxBatchSize: 64 });
    try {
      const expected = await healthy.score(query, docs, { activation: 'none' });
      const failed = faulty.score(query, docs, { activation: 'none' });
      await expect(failed).rejects.toBeInstanceOf(BackendError);
      await expect(failed).rejects.toThrow(/CUDA error cudaError\w+ .*injected bad launch/);
      // Batches 4 and on are fine: the same Reranker scores the whole call again, exactly.
      expect(await faulty.score(query, docs, { activation: 'none' })).toEqual(expected);
      expect((await faulty.rerank(query, docs, { topK: 3 })).length).toBe(3);
    } finally {
      await healthy.close();
      await faulty.close();
    }
  });

  it('a lost context rejects the call, then every call says to load a new Reranker; close() works', async () => {
    const r = await Reranker.loadTestPipeline(model.dir, { fault: 'illegal-address', faultAtBatch: 2 }, { maxBatchSize: 64 });
    await expect(r.rerank(query, docs, { topK: 5 })).rejects.toThrow(/cudaErrorIllegalAddress|illegal memory access|context is lost/);
    const next = r.rerank(query, docs.slice(0, 10), { topK: 5 });
    await expect(next).rejects.toBeInstanceOf(BackendError);
    await expect(next).rejects.toThrow(/CUDA context is lost .*load a new one/);
    await r.close();
    await expect(r.rerank(query, docs)).rejects.toMatchObject({ name: 'ClosedError' });
  });
});
