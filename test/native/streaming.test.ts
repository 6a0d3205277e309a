/**
 * Tokenization scheduling (lib/schedule/batches.ts): small calls on the calling thread, up to streamThreshold
 * tokenized first on the worker pool, larger calls streamed with a bounded window; results identical to the
 * single-threaded path in every case, in document order.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reranker } from '../../lib/index.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { REPO_ROOT, tempDir, writeCustomModel } from '../helpers/models.js';

let cleanup: () => Promise<void>;
let dir: string;
let serial: Reranker;
let parallel: Reranker;
const THREADS = 3;
const BATCH = 128;

// Distinct texts of varied length, some repeated, so the cache and the per-batch dedup both matter.
const makeDocs = (n: number) =>
  Array.from({ length: n }, (_, i) => `doc ${i % 5000} ${'city people river '.repeat(1 + (i % 7))} number ${i % 3 === 0 ? i : i % 1000}`);

beforeAll(async () => {
  requireAddonBuilt();
  let root: string;
  ({ dir: root, cleanup } = await tempDir());
  dir = await writeCustomModel(root, 'one-layer', {
    family: 'bert', seed: 11, hiddenSize: 32, numHeads: 1, numLayers: 1, intermediateSize: 64, numLabels: 1, hiddenAct: 'gelu', dtype: 'F32',
  });
  serial = await Reranker.load(dir, { backend: 'cpu', tokenizerThreads: 0, tokenCache: false, maxBatchSize: BATCH });
  parallel = await Reranker.load(dir, { backend: 'cpu', tokenizerThreads: THREADS, maxBatchSize: BATCH, streamThreshold: 10_000 });
});
afterAll(async () => {
  await serial?.close();
  await parallel?.close();
  await cleanup();
});

describe('batch scheduling', () => {
  it('a call under 64 documents stays on the calling thread', async () => {
    const docs = makeDocs(40);
    expect(await parallel.score('city', docs)).toEqual(await serial.score('city', docs));
    expect(parallel.lastBatchStats).toMatchObject({ parallel: false, streamed: false, batches: 1 });
  });

  it('up to streamThreshold documents are tokenized first on the workers, then scored', async () => {
    const docs = makeDocs(3000);
    const expected = await serial.score('river people', docs);
    expect(await parallel.score('river people', docs)).toEqual(expected);
    const batches = Math.ceil(3000 / BATCH);
    // Each batch's misses are split over the 3 workers.
    expect(parallel.lastBatchStats).toEqual({ parallel: true, streamed: false, sorted: false, batches, maxHeld: batches, workerTasks: 3 * batches });
  });

  it('a call of one batch is split over every worker', async () => {
    const docs = Array.from({ length: 100 }, (_, i) => `single batch ${i} ${'river '.repeat(i % 9)}`);
    expect(await parallel.score('river', docs)).toEqual(await serial.score('river', docs));
    expect(parallel.lastBatchStats).toMatchObject({ parallel: true, batches: 1, workerTasks: THREADS });
  });

  it('more than streamThreshold documents stream in order with at most 2 x threads batches held', async () => {
    const docs = makeDocs(25_000);
    const expected = await serial.score('number city', docs);
    const got = await parallel.score('number city', docs);
    expect(got.length).toBe(25_000);
    expect(got).toEqual(expected);
    const stats = parallel.lastBatchStats!;
    expect(stats).toMatchObject({ parallel: true, streamed: true, batches: Math.ceil(25_000 / BATCH) });
    expect(stats.maxHeld).toBe(2 * THREADS);
    const top = await parallel.rerank('number city', docs, { topK: 20 });
    expect(top.map((r) => r.score)).toEqual([...expected].sort((a, b) => b - a).slice(0, 20));
  }, 120_000);

  it('a second call with the same documents is served from the cache', async () => {
    const docs = makeDocs(2000).map((d) => `${d} again`);
    await parallel.score('q', docs);
    const before = parallel.tokenCacheStats;
    await parallel.score('another query', docs);
    const after = parallel.tokenCacheStats;
    expect(after.misses).toBe(before.misses);
    expect(after.hits - before.hits).toBe(2000);
  });
});

describe('closing during a streamed call', () => {
  // Found by the GPU soak: batches tokenizing on the workers while the call waited at a yield were rejected by the
  // pool's close with nothing attached to them yet, an unhandled rejection that ended the process. Run as a plain
  // Node process on dist/ (as the soak found it): vitest's own handlers would hide the process-level failure.
  it('rejects the call with a ClosedError and leaves no rejection unhandled', () => {
    const script = `
      import { Reranker } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'index.js'))};
      import { TINY_MODELS, writeTinyModel } from ${JSON.stringify(join(REPO_ROOT, 'dist', 'tiny-models', 'generate.js'))};
      let unhandled = 0;
      process.on('unhandledRejection', () => unhandled++);
      // tiny-bert: slow enough on the CPU that the call waits on the backend while its next batches tokenize.
      const dir = await writeTinyModel(${JSON.stringify(join(dir, '..', 'tiny-bert'))}, TINY_MODELS['tiny-bert']);
      const outcomes = [];
      for (let round = 0; round < 10; round++) {
        const r = await Reranker.load(dir, { backend: 'cpu', tokenizerThreads: 2, tokenCache: false, maxBatchSize: 16, streamThreshold: 64 });
        // Long documents, so the workers are still busy with the window's batches when close() comes.
        const docs = Array.from({ length: 400 }, (_, i) => 'round ' + round + ' document ' + i + ' ' + 'river city people '.repeat(1000 + i));
        const settled = r.score('city', docs).then(() => 'resolved', (e) => e.name === 'ClosedError' ? e.name : e.name + ': ' + e.message);
        await new Promise((resolve) => setTimeout(resolve, 5 + 20 * round));
        await r.close();
        outcomes.push(await settled);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      console.log(JSON.stringify({ outcomes, unhandled }));`;
    const file = join(dir, 'close-during-stream.mjs');  // a file, not --eval: worker threads inherit execArgv
    writeFileSync(file, script);
    const out = execFileSync(process.execPath, [file], { encoding: 'utf8', env: process.env, timeout: 60_000 });
    const { outcomes, unhandled } = JSON.parse(out.trim().split('\n').at(-1)!) as { outcomes: string[]; unhandled: number };
    expect(outcomes).toEqual(Array(10).fill('ClosedError'));
    expect(unhandled).toBe(0);
  }, 90_000);
});
