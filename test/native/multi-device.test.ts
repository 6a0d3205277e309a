/**
 * Several model copies behind one Reranker (`device: [0, 1]` or 'all'; native/pipeline/multi_device_executor.h),
 * on machines without GPUs: the option checks, and, with the testing addon, the multi-device executor over cpu
 * copies (Reranker.loadCpuReplicas): batches go to every copy, a call split over copies is merged exactly, and
 * the per-device counters count it. The CUDA side: test/gpu/multi-device.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, Reranker } from '../../lib/index.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { useTinyModel } from '../helpers/models.js';

requireAddonBuilt();
const model = useTinyModel('tiny-bert');
const docs = Array.from({ length: 600 }, (_, i) => `document ${i} about ${'the tides and the moon '.repeat(1 + (i % 6))} end ${i % 11}`);

describe('device option checks', () => {
  for (const [device, message] of [
    [[], /1 to 255 device indices, got an empty list/],
    [[0, -1], /options\.device\[1\]/],
    [[0, 1.5], /options\.device\[1\]/],
    ['gpu', /a device index, a list of them or 'all', got 'gpu'/],
    [-2, /options\.device/],
  ] as const) {
    it(`refuses device ${JSON.stringify(device)}`, async () => {
      const load = Reranker.load(model.dir, { backend: 'cpu', device: device as never });
      await expect(load).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(load).rejects.toThrow(message);
    });
  }
  it("refuses a device list or 'all' for the cpu backend, naming the GPU backends", async () => {
    for (const device of [[0, 1], 'all'] as const) {
      await expect(Reranker.load(model.dir, { backend: 'cpu', device })).rejects.toThrow(/for the GPU backends \(cuda, tensorrt\)/);
    }
  });
});

describe('the multi-device executor over cpu copies', () => {
  let single: Reranker;
  let copies: Reranker | undefined;
  let skipped = '';  // the production addon loads one copy only
  beforeAll(async () => {
    single = await Reranker.load(model.dir, { backend: 'cpu', threads: 1, maxBatchSize: 32, tokenizerThreads: 0 });
    try {
      copies = await Reranker.loadCpuReplicas(model.dir, 3, { threads: 1, maxBatchSize: 32, tokenizerThreads: 0 });
    } catch (error) {
      if (!/testing addon/.test(String(error))) throw error;
      skipped = String(error);
      console.log(`multi-device executor over cpu copies skipped: ${skipped}`);
    }
  });
  afterAll(async () => {
    await single?.close();
    await copies?.close();
  });
  const needCopies = (ctx: { skip: () => void }): Reranker => {
    if (skipped) ctx.skip();
    return copies!;
  };

  it('a large call runs on every copy and gives exactly the single copy\'s scores and top-k', async (ctx) => {
    const copies = needCopies(ctx);
    const before = copies.backendCounters;
    expect(await copies.score('tides', docs, { activation: 'none' })).toEqual(await single.score('tides', docs, { activation: 'none' }));
    expect(await copies.rerank('tides', docs, { topK: 7 })).toEqual(await single.rerank('tides', docs, { topK: 7 }));
    const after = copies.backendCounters;
    // A cpu copy runs its batch inside launch, so the next batch finds the first copy's slot still held (until the
    // completion thread frees it) and takes the next idle copy: at least two of the three ran batches.
    const ran = ['device0.0', 'device0.1', 'device0.2'].filter((name) => after[`${name}.batches`]! - (before[`${name}.batches`] ?? 0) > 0);
    expect(ran.length).toBeGreaterThanOrEqual(2);
    for (const name of ['device0.0', 'device0.1', 'device0.2']) expect(after[`${name}.lost`]).toBe(0);
    // 600 pairs in batches of 32 over 3 copies: both calls were split, and merged.
    expect(after.splitCalls! - (before.splitCalls ?? 0)).toBe(2);
    const pairs = ['device0.0', 'device0.1', 'device0.2'].reduce((n, d) => n + after[`${d}.pairs`]! - (before[`${d}.pairs`] ?? 0), 0);
    expect(pairs).toBe(2 * docs.length);
  });

  it('concurrent small calls (32 x 20 documents) each get the single copy\'s results', async (ctx) => {
    const copies = needCopies(ctx);
    const calls = Array.from({ length: 32 }, (_, i) => docs.slice(i * 7, i * 7 + 20));
    const expected = await Promise.all(calls.map((d, i) => single.rerank(`query ${i}`, d, { topK: 5 })));
    const got = await Promise.all(calls.map((d, i) => copies.rerank(`query ${i}`, d, { topK: 5 })));
    expect(got).toEqual(expected);
  });

  it('reports the copies in stats and info', (ctx) => {
    const copies = needCopies(ctx);
    expect(copies.info.backend).toBe('cpu');
    expect(copies.info.devices).toBeNull();
    expect(Object.keys(copies.backendCounters)).toEqual(expect.arrayContaining(['device0.0.tokens', 'device0.2.pairs', 'splitCalls']));
    const stats = copies.deviceStats!;
    expect(stats.map((d) => d.name)).toEqual(['device0.0', 'device0.1', 'device0.2']);
    expect(stats.filter((d) => d.batches > 0 && d.pairs > 0 && d.tokens >= d.pairs).length).toBeGreaterThanOrEqual(2);
    expect(stats.some((d) => d.lost)).toBe(false);
    expect(single.deviceStats).toBeNull();
  });
});
