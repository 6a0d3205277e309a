/**
 * Several model copies behind one Reranker on the CUDA backend (native/pipeline/multi_device_executor.h). The
 * machines here have one GPU, so the copies are two on device 0 (`device: [0, 0]`): the dispatch, the per-device
 * counters and the merge of a call split over copies are the ones two GPUs would run; peer placement and speedup
 * on two GPUs are not tested here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../../lib/reranker.js';
import { cudaBackendSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { useTinyModel } from '../helpers/models.js';

requireAddonBuilt();
const reason = cudaBackendSkipReason('multi-device tests');
const docs = Array.from({ length: 5000 }, (_, i) => `passage ${i}: ${'harbour lights and the northern sea '.repeat(1 + (i % 7))} ${i % 13}`);

describe.skipIf(reason !== '')('two model copies behind one Reranker (device [0, 0])', () => {
  const model = useTinyModel('tiny-bert');
  let one: Reranker;
  let two: Reranker;
  beforeAll(async () => {
    one = await Reranker.load(model.dir, { backend: 'cuda', device: 0, maxBatchSize: 128 });
    two = await Reranker.load(model.dir, { backend: 'cuda', device: [0, 0], maxBatchSize: 128 });
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
  });

  const close = (got: Array<{ index: number; score: number }>, expected: Array<{ index: number; score: number }>) => {
    expect(got.map((r) => r.index)).toEqual(expected.map((r) => r.index));
    got.forEach((r, i) => expect(Math.abs(r.score - expected[i]!.score)).toBeLessThan(1e-3));
  };

  it('a 5000-document call runs on both copies and gives one copy\'s top-k', async () => {
    expect(two.info.devices).toEqual([0, 0]);
    expect(two.info.backendReason).toMatch(/x 2 \(devices 0, 0\)/);
    close(await two.rerank('northern lights', docs, { topK: 10 }), await one.rerank('northern lights', docs, { topK: 10 }));
    const stats = two.deviceStats!;
    expect(stats.map((d) => d.name)).toEqual(['device0.0', 'device0.1']);
    expect(stats.every((d) => d.batches > 0 && !d.lost)).toBe(true);
    expect(stats[0]!.pairs + stats[1]!.pairs).toBe(docs.length);
    expect(two.backendCounters.splitCalls).toBe(1);
  });

  it('64 concurrent callers of 20 documents get one copy\'s results, every score too', async () => {
    const calls = Array.from({ length: 64 }, (_, i) => docs.slice(i * 50, i * 50 + 20));
    const expected = await Promise.all(calls.map((d, i) => one.rerank(`query ${i}`, d)));
    const got = await Promise.all(calls.map((d, i) => two.rerank(`query ${i}`, d)));
    got.forEach((g, i) => close(g, expected[i]!));
  });

  it("'all' loads one copy per device there is", async () => {
    const all = await Reranker.load(model.dir, { backend: 'cuda', device: 'all' });
    try {
      expect(all.info.devices!.length).toBeGreaterThanOrEqual(1);
      expect((await all.rerank('q', docs.slice(0, 50), { topK: 3 })).length).toBe(3);
    } finally {
      await all.close();
    }
  });

  it('a device that does not exist is refused at load, naming it', async () => {
    await expect(Reranker.load(model.dir, { backend: 'cuda', device: [0, 999] })).rejects.toThrow(/CUDA device 999 does not exist/);
  });
});
