/**
 * The scheduler's behaviour (native/pipeline/scheduler.h), the same on every backend: pairs of concurrent calls
 * share batches up to the token budget, large calls do not starve small ones, the queue is bounded
 * (ERR_OVERLOADED), calls time out and abort without leaving anything queued, and stats() counts it all. Run by
 * test/native/scheduler.test.ts (CPU backend) and test/gpu/scheduler.test.ts (CUDA backend).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, ClosedError, OverloadedError, Reranker, TimeoutError, type CallTimings, type LoadOptions, type RerankerStats } from '../../lib/index.js';
import { tempDir, writeCustomModel } from './models.js';

const docsOf = (n: number, salt = '') =>
  Array.from({ length: n }, (_, i) => `${salt} document ${i} ${'river city people '.repeat(1 + (i % 5))} end ${i % 7}`);

const until = async (condition: () => boolean, what: string, ms = 60_000) => {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
};

/** Counters of `after` minus those of `before`. */
const delta = (before: RerankerStats, after: RerankerStats) => ({
  calls: after.calls - before.calls,
  batches: after.batches - before.batches,
  pairs: after.pairs - before.pairs,
  failedCalls: after.failedCalls - before.failedCalls,
  rejectedCalls: after.rejectedCalls - before.rejectedCalls,
});

/**
 * `backend` options go into every load; `slow` is a call size that keeps the backend busy for a while with
 * 4-pair batches (longer on the GPU, where batches are cheap); `close` compares the scores of one pair in two
 * different batches (exactly equal on the CPU; on the GPU a GEMM of another size may sum in another order).
 */
export function schedulerSuite(backend: Pick<LoadOptions, 'backend' | 'threads'>, slow: number, close: (a: Float32Array, b: Float32Array) => void) {
  let cleanup: () => Promise<void>;
  let dir: string;
  let reranker: Reranker;
  const load = (options: LoadOptions = {}) => Reranker.load(dir, { tokenizerThreads: 0, ...backend, ...options });

  beforeAll(async () => {
    let root: string;
    ({ dir: root, cleanup } = await tempDir());
    dir = await writeCustomModel(root, 'sched', {
      family: 'bert', seed: 5, hiddenSize: 64, numHeads: 2, numLayers: 2, intermediateSize: 128, numLabels: 1, hiddenAct: 'gelu', dtype: 'F32',
    });
    reranker = await load();
  });
  afterAll(async () => {
    await reranker?.close();
    await cleanup?.();
  });

  describe('scheduler: batches across calls', () => {
    it('64 concurrent 4-document calls run in at most 16 batches, each call scored as if alone', async () => {
      const queries = Array.from({ length: 64 }, (_, i) => `query ${i} river`);
      const docs = queries.map((_, i) => docsOf(4, `c${i}`));
      const alone: Float32Array[] = [];
      for (let i = 0; i < 64; i++) alone.push(await reranker.score(queries[i]!, docs[i]!));
      const before = reranker.stats();
      const together = await Promise.all(queries.map((q, i) => reranker.score(q, docs[i]!)));
      const d = delta(before, reranker.stats());
      console.log(`64 concurrent 4-document calls: ${d.batches} batches`);
      expect(d.calls).toBe(64);
      expect(d.pairs).toBe(256);
      expect(d.batches).toBeLessThanOrEqual(16);
      for (let i = 0; i < 64; i++) close(together[i]!, alone[i]!);
    });

    it('rerank results (top-k) are those of its scores whether a call is alone or shares batches', async () => {
      const docs = docsOf(50, 'topk');
      const [shared, scores] = await Promise.all([reranker.rerank('city river', docs, { topK: 7 }), reranker.score('city river', docs), reranker.score('other', docsOf(30, 'x'))]);
      const order = Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b);
      close(Float32Array.from(shared, (r) => r.score), Float32Array.from(order.slice(0, 7), (i) => scores[i]!));
      for (const r of shared) close(Float32Array.of(r.score), Float32Array.of(scores[r.index]!));
    });

    it('respects maxBatchTokens and maxBatchSize: no batch costs more than the budget', async () => {
      const small = await load({ maxLength: 64, maxBatchTokens: 128, maxBatchSize: 8 });
      try {
        expect(small.info).toMatchObject({ maxBatchTokens: 128, maxBatchSize: 8 });
        const docs = docsOf(40, 'budget');
        const expected = await reranker.score('q', docs);
        const got = await small.score('q', docs);
        close(got, expected);
        const s = small.stats();
        // No batch over the budget: the histogram's buckets above 128 tokens are empty; none over 8 pairs.
        const overTokens = s.batchTokens.counts.slice(s.batchTokens.le.findIndex((le) => le >= 128) + 1).reduce((a, b) => a + b, 0);
        expect(overTokens).toBe(0);
        const overPairs = s.batchPairs.counts.slice(s.batchPairs.le.findIndex((le) => le >= 8) + 1).reduce((a, b) => a + b, 0);
        expect(overPairs).toBe(0);
        expect(s.batches).toBeGreaterThanOrEqual(Math.ceil(40 / 8));
        expect(s.tokens).toBeLessThanOrEqual(s.batches * 128);
      } finally {
        await small.close();
      }
    });

    it('refuses a maxBatchTokens that cannot hold one pair of maxLength', async () => {
      await expect(load({ maxLength: 64, maxBatchTokens: 32 })).rejects.toThrow(/maxBatchTokens 32 cannot hold one pair/);
    });
  });

  describe('scheduler: fairness', () => {
    it('a small call arriving after a large one finishes first (the large one is taken in chunks, interleaved)', async () => {
      const r = await load({ maxBatchSize: 8 });
      try {
        const order: string[] = [];
        // 4 x slow: on an H200 a tiny-bert call of `slow` documents could end before the small call was even tokenized.
        const large = r.score('large', docsOf(4 * slow, 'L')).then(() => order.push('large'));
        await until(() => r.stats().batches >= 3, 'the large call to start');
        let timings: CallTimings | undefined;
        await r.score('small', docsOf(4, 'S'), { onTimings: (t) => (timings = t) }).then(() => order.push('small'));
        const pending = r.stats().queuedPairs;
        await large;
        expect(order).toEqual(['small', 'large']);
        expect(pending).toBeGreaterThan(0);  // the large call still had pairs to score when the small one finished
        expect(timings).toMatchObject({ pairs: 4, batches: 1 });
      } finally {
        await r.close();
      }
    });
  });

  describe('scheduler: backpressure, timeouts, aborts', () => {
    it('past maxQueuedPairs a call is refused at once with OverloadedError, and nothing of it is queued', async () => {
      const r = await load({ maxQueuedPairs: 100, maxBatchSize: 4 });
      try {
        expect(r.info.maxQueuedPairs).toBe(100);
        // Both calls are admitted (or not) before either promise yields: the second finds the first's 80 pairs.
        const first = r.score('a', docsOf(80, 'first'));
        const second = r.score('b', docsOf(40, 'second'));
        const refused = await second.catch((e: unknown) => e);
        expect(refused).toBeInstanceOf(OverloadedError);
        expect((refused as OverloadedError).code).toBe('ERR_OVERLOADED');
        expect(r.stats().rejectedCalls).toBe(1);
        expect((await first).length).toBe(80);
        // Room again once the first call finished.
        expect((await r.score('b', docsOf(40, 'second'))).length).toBe(40);
        const tooLarge = await r.score('c', docsOf(101)).catch((e: unknown) => e);
        expect(tooLarge).toBeInstanceOf(OverloadedError);
        expect((tooLarge as Error).message).toMatch(/more than maxQueuedPairs \(100\).*larger maxQueuedPairs/);
        expect(r.stats()).toMatchObject({ rejectedCalls: 2, activeCalls: 0, queuedPairs: 0 });
      } finally {
        await r.close();
      }
    });

    it('timeoutMs: the call rejects with TimeoutError and leaves the queue; the Reranker stays usable', async () => {
      const r = await load({ maxBatchSize: 4, maxQueuedPairs: 1 << 22 });
      try {
        const error = await r.score('slow', docsOf(slow * 8, 'T'), { timeoutMs: 30 }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(TimeoutError);
        expect(error).toMatchObject({ code: 'ERR_TIMEOUT', timeoutMs: 30 });
        expect(r.stats()).toMatchObject({ activeCalls: 0, queuedPairs: 0, failedCalls: 1 });
        expect((await r.score('after', docsOf(5))).length).toBe(5);
        // A generous timeout changes nothing.
        expect(await r.score('q', docsOf(5), { timeoutMs: 60_000 })).toEqual(await r.score('q', docsOf(5)));
      } finally {
        await r.close();
      }
    });

    it('an abort mid-call rejects with AbortError and leaves nothing queued', async () => {
      const r = await load({ maxBatchSize: 4, maxQueuedPairs: 1 << 22 });
      try {
        const controller = new AbortController();
        const call = r.score('abort me', docsOf(slow * 8, 'A'), { signal: controller.signal });
        await until(() => r.stats().batches >= 2, 'the call to start');
        controller.abort(new Error('user left'));
        const error = await call.catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AbortError);
        expect(r.stats()).toMatchObject({ activeCalls: 0, queuedPairs: 0, failedCalls: 1 });
      } finally {
        await r.close();
      }
    });

    it('close() with calls queued rejects each with ClosedError; every promise settles', async () => {
      const r = await load({ maxBatchSize: 4, maxQueuedPairs: 1 << 22 });
      const calls = Array.from({ length: 8 }, (_, i) => r.score(`q${i}`, docsOf(slow, `Z${i}`)).then(() => 'ok', (e: unknown) => e));
      await until(() => r.stats().batches >= 1, 'a batch to run');
      await r.close();
      const outcomes = await Promise.all(calls);
      for (const o of outcomes) expect(o).toBeInstanceOf(ClosedError);
      expect(r.stats()).toMatchObject({ activeCalls: 0, queuedPairs: 0, failedCalls: 8 });
    });
  });

  describe('scheduler: stats and per-call options', () => {
    it('stats(): histograms add up, percentiles are ordered, counters move', async () => {
      const before = reranker.stats();
      await Promise.all([reranker.score('a', docsOf(30)), reranker.rerank('b', docsOf(12), { topK: 3 })]);
      const s = reranker.stats();
      expect(delta(before, s)).toMatchObject({ calls: 2, pairs: 42 });
      for (const h of [s.batchFill, s.batchPairs, s.batchTokens, s.queueSeconds, s.runSeconds]) {
        expect(h.counts.length).toBe(h.le.length + 1);
        expect(h.counts.reduce((a, b) => a + b, 0)).toBe(h.count);
        expect([...h.le].sort((a, b) => a - b)).toEqual(h.le);
      }
      expect(s.batchPairs.count).toBe(s.batches);
      expect(s.batchPairs.sum).toBe(s.pairs);
      expect(s.runSeconds.count).toBe(s.calls);
      expect(s.queueMs.p50).toBeLessThanOrEqual(s.queueMs.p99);
      expect(s.runMs.p99).toBeLessThanOrEqual(s.runMs.max);
      expect(s.queueMs.p99).toBeLessThanOrEqual(s.runMs.max);
      expect(s.maxBatchPairs).toBe(reranker.info.maxBatchSize);
    });

    it('onTimings reports the pairs, tokens and batches of the call', async () => {
      let t: CallTimings | undefined;
      await reranker.rerank('city', docsOf(9), { onTimings: (x) => (t = x) });
      expect(t).toBeDefined();
      expect(t!.pairs).toBe(9);
      expect(t!.tokens).toBeGreaterThan(9 * 3);
      expect(t!.batches).toBeGreaterThanOrEqual(1);
      expect(t!.queueMs).toBeLessThanOrEqual(t!.runMs);
    });

    it('maxTokensPerDoc cuts each document before pairing: text past the cut changes nothing', async () => {
      const base = ['alpha beta gamma delta', 'river city people'];
      const longer = base.map((d) => `${d} and many more words that come after the cut`);
      const cut = { maxTokensPerDoc: 3 };
      expect(await reranker.score('q', longer, cut)).toEqual(await reranker.score('q', base, cut));
      expect(await reranker.score('q', longer)).not.toEqual(await reranker.score('q', base));
    });

    it('checks the new options', async () => {
      await expect(reranker.score('q', ['d'], { timeoutMs: 0 })).rejects.toThrow(/options.timeoutMs/);
      await expect(reranker.score('q', ['d'], { maxTokensPerDoc: 1.5 })).rejects.toThrow(/options.maxTokensPerDoc/);
      await expect(reranker.score('q', ['d'], { onTimings: 'x' as never })).rejects.toThrow(/options.onTimings/);
      await expect(load({ maxQueuedPairs: 0 })).rejects.toThrow(/options.maxQueuedPairs/);
      await expect(load({ warmup: 'yes' as never })).rejects.toThrow(/options.warmup/);
    });
  });
}
