/**
 * The GPU executor (native/pipeline/gpu_executor.cc) under the scheduler, with the gpu-test backend, whose score
 * JS recomputes exactly: each call's scores land in its range of the device score arena in document order
 * whatever the batch order, packed and padded inputs give the same scores, top-k through the pipeline equals a
 * CPU sort for N up to 10^7, concurrent requests share batches, cancelling leaves nothing queued, and the
 * text-to-top-k path through the Reranker (tokenization, length-sorted batches, streaming, AbortSignal) matches a
 * JS recomputation.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeAddon, NativeLoadOptions, NativeSession } from '../../lib/binding/native.js';
import { Reranker } from '../../lib/reranker.js';
import { PairTokenizer } from '../../lib/tokenize/pair-tokenizer.js';
import { gpuSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { useTinyModel } from '../helpers/models.js';

requireAddonBuilt();
const addon = loadAddon() as NativeAddon;
const reason = gpuSkipReason('GPU pipeline tests');

/** The gpu-test backend's logit for one pair (backends/testing/test_backend.cu), exactly. */
function testLogit(ids: Int32Array, typeIds: Uint8Array, begin: number, end: number): number {
  let sum = 0;
  for (let t = begin; t < end; t++) {
    let h = (Math.imul(ids[t]!, 2654435761) ^ Math.imul(typeIds[t]!, 40503) ^ Math.imul(t - begin, 97)) >>> 0;
    h = (h ^ (h >>> 15)) & 0xffff;
    sum = (sum + h) >>> 0;
  }
  return Math.fround((sum & 0xffff) / 4096 - 8);
}

interface Pairs {
  ids: Int32Array;
  typeIds: Uint8Array;
  offsets: Int32Array;
}

let seed = 2024;
const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;

/** n pairs of 1..maxLen random tokens. */
function randomPairs(n: number, maxLen: number): Pairs {
  const offsets = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + 1 + Math.floor(random() * maxLen);
  const total = offsets[n]!;
  const ids = new Int32Array(total);
  const typeIds = new Uint8Array(total);
  for (let t = 0; t < total; t++) {
    ids[t] = Math.floor(random() * 30522);
    typeIds[t] = random() < 0.5 ? 0 : 1;
  }
  return { ids, typeIds, offsets };
}

function slice(p: Pairs, first: number, end: number): Pairs {
  const base = p.offsets[first]!;
  return {
    ids: p.ids.subarray(base, p.offsets[end]!),
    typeIds: p.typeIds.subarray(base, p.offsets[end]!),
    offsets: p.offsets.subarray(first, end + 1).map((o) => o - base),
  };
}

function expectedLogits(p: Pairs): Float32Array {
  const n = p.offsets.length - 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = testLogit(p.ids, p.typeIds, p.offsets[i]!, p.offsets[i + 1]!);
  return out;
}

/** Expected top k by a CPU sort: score descending, ties by lower index (no NaN in these scores). Only
 * documents at or above the k-th best score are sorted, so N = 10^7 stays quick. */
function cpuTopK(scores: Float32Array, k: number): Int32Array {
  k = Math.min(k, scores.length);
  const threshold = Float32Array.from(scores).sort()[scores.length - k]!;
  const candidates: number[] = [];
  for (let i = 0; i < scores.length; i++) if (scores[i]! >= threshold) candidates.push(i);
  candidates.sort((a, b) => scores[b]! - scores[a]! || a - b);
  return Int32Array.from(candidates.slice(0, k));
}

async function scoreAll(session: NativeSession, p: Pairs, batch: number, opts: { topK?: number; activation?: 'sigmoid' | 'none' } = {}) {
  const n = p.offsets.length - 1;
  const request = session.createRequest(n, opts.activation ?? 'none');
  for (let first = 0; first < n; first += batch) {
    const b = slice(p, first, Math.min(n, first + batch));
    await request.submit(b.ids, b.typeIds, b.offsets, first);
  }
  return request.finish(opts.topK ?? 0);
}

const load = (options: Omit<NativeLoadOptions, 'backend'>) => addon.loadSession(null, { backend: 'gpu-test', ...options });

describe.skipIf(reason !== '')('GPU pipeline (gpu-test backend)', () => {
  it('scores land in one device buffer in document order; packed and padded inputs agree exactly', async () => {
    const pairs = randomPairs(3000, 200);
    const expected = expectedLogits(pairs);
    for (const layout of ['packed', 'padded'] as const) {
      const session = await load({ layout, maxLength: 256 });
      try {
        expect(session.maxBatchSize).toBe(512); // 'auto': free memory allows more, capped at 512
        expect(session.padsBatches).toBe(layout === 'padded');
        const { scores } = await scoreAll(session, pairs, 512);
        expect(scores).toEqual(expected);
        // Odd batch sizes, including a batch of one.
        const again = await scoreAll(session, pairs, 1);
        expect(again.scores).toEqual(expected);
      } finally {
        await session.close();
      }
    }
  });

  it('sigmoid and two-label activations on the device', async () => {
    const pairs = randomPairs(700, 50);
    const logits = expectedLogits(pairs);
    for (const numLabels of [1, 2]) {
      const session = await load({ numLabels, maxLength: 64 });
      try {
        expect(session.numLabels).toBe(numLabels);
        expect((await scoreAll(session, pairs, 256)).scores).toEqual(logits); // label 1 minus label 0 (= 0)
        const { scores } = await scoreAll(session, pairs, 256, { activation: 'sigmoid' });
        for (let i = 0; i < logits.length; i++) expect(scores[i]).toBeCloseTo(1 / (1 + Math.exp(-logits[i]!)), 6);
      } finally {
        await session.close();
      }
    }
  });

  it('batches in any order scatter to their documents through docIndices', async () => {
    const n = 2000;
    const pairs = randomPairs(n, 100);
    const expected = expectedLogits(pairs);
    const session = await load({ layout: 'padded', maxLength: 128 });
    try {
      // Documents shuffled, then sent in batches of 300 with their indices.
      const order = Int32Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const request = session.createRequest(n, 'none');
      for (let start = 0; start < n; start += 300) {
        const docIndices = order.slice(start, Math.min(n, start + 300));
        const offsets = new Int32Array(docIndices.length + 1);
        docIndices.forEach((d, i) => (offsets[i + 1] = offsets[i]! + pairs.offsets[d + 1]! - pairs.offsets[d]!));
        const ids = new Int32Array(offsets[docIndices.length]!);
        const typeIds = new Uint8Array(ids.length);
        docIndices.forEach((d, i) => {
          ids.set(pairs.ids.subarray(pairs.offsets[d]!, pairs.offsets[d + 1]!), offsets[i]!);
          typeIds.set(pairs.typeIds.subarray(pairs.offsets[d]!, pairs.offsets[d + 1]!), offsets[i]!);
        });
        await request.submit(ids, typeIds, offsets, 0, docIndices);
      }
      const top = await request.finish(50);
      expect([...top.indices]).toEqual([...cpuTopK(expected, 50)]);
      expect(top.scores).toEqual(Float32Array.from(top.indices, (i) => expected[i]!));
      // Indices past the request are refused before anything runs.
      const bad = session.createRequest(1, 'none');
      expect(() => bad.submit(new Int32Array([5]), new Uint8Array(1), new Int32Array([0, 1]), 0, new Int32Array([3]))).toThrow(/docIndices/);
    } finally {
      await session.close();
    }
  });

  it('concatenation and top-k are exact against the CPU for N up to 10^7 (heavy ties)', async () => {
    // 65 536 distinct logits at most, so 10^7 documents tie a lot: the lower index must win every tie.
    const session = await load({ maxLength: 4, maxBatchSize: 1 << 17, maxQueuedPairs: 1 << 24 });
    try {
      for (const n of [1, 1000, 100_000, 1_000_000, 10_000_000]) {
        const pairs = randomPairs(n, 3);
        const expected = expectedLogits(pairs);
        const all = await scoreAll(session, pairs, 1 << 17);
        expect(all.scores.length).toBe(n);
        let mismatch = -1;
        for (let i = 0; i < n && mismatch < 0; i++) if (all.scores[i] !== expected[i]) mismatch = i;
        expect(mismatch, `first mismatching document at N=${n}`).toBe(-1);
        const order = cpuTopK(expected, 5000);
        for (const k of [1, 10, 1000, 5000]) {
          const top = await scoreAll(session, pairs, 1 << 17, { topK: k });
          expect(top.indices.length, `N=${n} k=${k}`).toBe(Math.min(k, n));
          expect([...top.indices], `N=${n} k=${k}`).toEqual([...order.subarray(0, Math.min(k, n))]);
        }
      }
    } finally {
      await session.close();
    }
  });

  it('device memory is allocated at load and reused: no growth across same-size requests', async () => {
    const session = await load({ maxLength: 128 });
    try {
      const pairs = randomPairs(5000, 100);
      await scoreAll(session, pairs, 512, { topK: 10 });
      const held = session.memoryBytes;
      expect(held).toBeGreaterThan(0);
      for (let i = 0; i < 3; i++) await scoreAll(session, pairs, 512, { topK: 10 });
      expect(session.memoryBytes).toBe(held);
    } finally {
      await session.close();
    }
  });

  it('a chunk larger than a batch is split into batches; a pair past maxLength is refused at once, nothing queued', async () => {
    const session = await load({ maxLength: 16, maxBatchSize: 8 });
    try {
      const pairs = randomPairs(20, 10);
      const before = session.stats()!.batches;
      expect((await scoreAll(session, pairs, 20)).scores).toEqual(expectedLogits(pairs));
      expect(session.stats()!.batches - before).toBeGreaterThanOrEqual(3);
      const request = session.createRequest(1, 'none');
      expect(() => request.submit(new Int32Array(17).fill(7), new Uint8Array(17), new Int32Array([0, 17]), 0)).toThrow(/a pair of 17 tokens is longer than the engine's maxLength 16/);
      await request.cancel();
      expect(session.stats()).toMatchObject({ activeCalls: 0, queuedPairs: 0 });
    } finally {
      await session.close();
    }
  });

  it('cancel() takes a request out of the queue; later calls on it throw ERR_CANCELLED; others run on', async () => {
    const session = await load({ maxLength: 64, concurrency: 1, spinPerToken: 2000 });
    try {
      const pairs = randomPairs(1000, 50);
      const a = session.createRequest(1000, 'none');
      const first = slice(pairs, 0, 500);
      await a.submit(first.ids, first.typeIds, first.offsets, 0);
      await a.cancel();
      const second = slice(pairs, 500, 1000);
      expect(() => a.submit(second.ids, second.typeIds, second.offsets, 500)).toThrow(expect.objectContaining({ code: 'ERR_CANCELLED' }));
      expect(session.stats()).toMatchObject({ activeCalls: 0, queuedPairs: 0 });
      expect((await scoreAll(session, pairs, 500)).scores).toEqual(expectedLogits(pairs));
    } finally {
      await session.close();
    }
  });

  it('concurrent requests share batches and each gets its own scores', async () => {
    for (const concurrency of [1, 2]) {
      // A slow first batch (spinPerToken: ~2 ms on an H200), so that every submit lands while it runs.
      const session = await load({ maxLength: 64, concurrency, spinPerToken: 1_000_000 });
      try {
        const sets = Array.from({ length: 16 }, () => randomPairs(25, 50));
        const before = session.stats()!.batches;
        const requests = sets.map((p) => {
          const r = session.createRequest(25, 'none');
          void r.submit(p.ids, p.typeIds, p.offsets, 0);
          return r;
        });
        const results = await Promise.all(requests.map((r) => r.finish(0)));
        results.forEach((res, i) => expect(res.scores).toEqual(expectedLogits(sets[i]!)));
        // 16 x 25 = 400 pairs, at most 512 a batch: the queue holds them all before the first slot frees.
        expect(session.stats()!.batches - before).toBeLessThanOrEqual(1 + concurrency);
      } finally {
        await session.close();
      }
    }
  });

  it('close() rejects unfinished requests with ERR_CLOSED and frees everything', async () => {
    const session = await load({ maxLength: 64, concurrency: 1, spinPerToken: 20_000 });
    const pairs = randomPairs(100, 20);
    const a = session.createRequest(100, 'none');
    const b = session.createRequest(100, 'none');
    void a.submit(pairs.ids, pairs.typeIds, pairs.offsets, 0);
    void b.submit(pairs.ids, pairs.typeIds, pairs.offsets, 0);
    // Settled into values at once, so no rejection is unhandled while close() runs.
    const outcomes = [a.finish(0), b.finish(0)].map((p) => p.then(() => 'resolved', (e: unknown) => e));
    await session.close();
    for (const o of await Promise.all(outcomes)) expect(o === 'resolved' || (o as { code?: string }).code === 'ERR_CLOSED').toBe(true);
    expect(session.memoryBytes).toBe(0);
    expect(() => session.createRequest(1, 'none')).toThrow(/closed/);
  });
});

describe.skipIf(reason !== '')('Reranker over the GPU pipeline (text in, top-k out)', () => {
  const model = useTinyModel('tiny-bert');
  let tokenizer: PairTokenizer;
  const query = 'where do rivers meet the sea';
  const docs = Array.from({ length: 3000 }, (_, i) => `doc ${i} ${'estuary delta river mouth '.repeat(i % 23)} tide ${i % 17}`);

  beforeAll(async () => {
    tokenizer = await PairTokenizer.fromDir(model.dir, { tokenCache: false });
  });

  const expectedFor = (texts: readonly string[]) => {
    const p = tokenizer.encodePairs(query, texts);
    return expectedLogits(p);
  };

  for (const layout of ['packed', 'padded'] as const) {
    it(`${layout}: rerank and score match the backend's formula; padded batches are length-sorted`, async () => {
      const r = await Reranker.loadTestPipeline(model.dir, { layout }, { tokenizerThreads: 2 });
      try {
        expect(r.info.maxBatchSize).toBe(512);
        const expected = expectedFor(docs);
        const scores = await r.score(query, docs, { activation: 'none' });
        expect(scores).toEqual(expected);
        expect(r.lastBatchStats?.sorted).toBe(layout === 'padded');
        const top = await r.rerank(query, docs, { topK: 25, activation: 'none', returnDocuments: true });
        const order = cpuTopK(expected, 25);
        expect(top.map((t) => t.index)).toEqual([...order]);
        expect(top.every((t) => t.document === docs[t.index] && t.score === expected[t.index])).toBe(true);
      } finally {
        await r.close();
      }
    });
  }

  it('a streamed call (above streamThreshold) keeps document order and exact scores', async () => {
    const r = await Reranker.loadTestPipeline(model.dir, { layout: 'padded' }, { tokenizerThreads: 2, streamThreshold: 1000 });
    try {
      const scores = await r.score(query, docs, { activation: 'none' });
      expect(r.lastBatchStats?.streamed).toBe(true);
      expect(r.lastBatchStats?.sorted).toBe(false);
      expect(scores).toEqual(expectedFor(docs));
    } finally {
      await r.close();
    }
  });

  it('more concurrent calls than slots and libuv threads all finish (none waits on a pool thread)', async () => {
    const r = await Reranker.loadTestPipeline(model.dir, { spinPerToken: 20_000 }, { tokenizerThreads: 2, concurrency: 2, maxBatchSize: 64 });
    try {
      const slices = Array.from({ length: 12 }, (_, i) => docs.slice(i * 200, i * 200 + 300));
      const results = await Promise.all(slices.map((d) => r.score(query, d, { activation: 'none' })));
      results.forEach((scores, i) => expect(scores).toEqual(expectedFor(slices[i]!)));
    } finally {
      await r.close();
    }
  });

  it('an AbortSignal cancels between batches and the Reranker keeps working', async () => {
    const r = await Reranker.loadTestPipeline(model.dir, { spinPerToken: 100_000 }, { tokenizerThreads: 2, concurrency: 1, maxBatchSize: 64 });
    try {
      const controller = new AbortController();
      const call = r.rerank(query, docs, { topK: 5, signal: controller.signal });
      setTimeout(() => controller.abort(new Error('user gave up')), 5);
      await expect(call).rejects.toMatchObject({ name: 'AbortError' });
      // Nothing of the aborted call is left queued ahead of this one.
      const top = await r.rerank(query, docs.slice(0, 100), { topK: 3, activation: 'none' });
      expect(top.map((t) => t.index)).toEqual([...cpuTopK(expectedFor(docs.slice(0, 100)), 3)]);
    } finally {
      await r.close();
    }
  });
});
