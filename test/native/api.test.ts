import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, ClosedError, InvalidArgumentError, Reranker } from '../../lib/index.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { tempDir, writeModels } from '../helpers/models.js';

const QUERY = 'How many people live in Berlin?';
const DOCS = [
  'Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.',
  'New York City is famous for the Metropolitan Museum of Art.',
  'Paris is the capital and most populous city of France.',
  'The quick brown fox jumps over the lazy dog.',
  'Tokyo is the capital of Japan.',
  'Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.',
];

let root: string;
let cleanup: () => Promise<void>;
let dirs: Record<'tiny-bert' | 'tiny-bert-2label' | 'tiny-xlmr', string>;
let bert: Reranker;
beforeAll(async () => {
  requireAddonBuilt();
  ({ dir: root, cleanup } = await tempDir());
  dirs = await writeModels(root, ['tiny-bert', 'tiny-bert-2label', 'tiny-xlmr']);
  bert = await Reranker.load(dirs['tiny-bert'], { backend: 'cpu' });
});
afterAll(async () => {
  await bert?.close();
  await cleanup();
});

describe('rerank', () => {
  it('returns every document best first, ties by lower index, with sigmoid scores', async () => {
    const results = await bert.rerank(QUERY, DOCS);
    expect(results.map((r) => r.index).sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (let i = 1; i < results.length; i++) {
      const [a, b] = [results[i - 1]!, results[i]!];
      expect(a.score > b.score || (a.score === b.score && a.index < b.index)).toBe(true);
    }
    for (const r of results) {
      expect(r.score).toBeGreaterThan(0);
      expect(r.score).toBeLessThan(1);
    }
    // Documents 0 and 5 are the same text: the same score, 0 before 5.
    const pos0 = results.findIndex((r) => r.index === 0);
    const pos5 = results.findIndex((r) => r.index === 5);
    expect(results[pos0]!.score).toBe(results[pos5]!.score);
    expect(pos0).toBeLessThan(pos5);
  });

  it('topK keeps the best k, clamps above docs.length, and rejects k < 1 or non-integers', async () => {
    const all = await bert.rerank(QUERY, DOCS);
    expect(await bert.rerank(QUERY, DOCS, { topK: 2 })).toEqual(all.slice(0, 2));
    expect(await bert.rerank(QUERY, DOCS, { topK: 100 })).toEqual(all);
    await expect(bert.rerank(QUERY, DOCS, { topK: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(bert.rerank(QUERY, DOCS, { topK: 1.5 })).rejects.toThrow(/Expected an integer between 1 and \d+ for options.topK but received 1.5/);
  });

  it('returnDocuments adds the text; an empty list gives an empty result', async () => {
    const [best] = await bert.rerank(QUERY, DOCS, { topK: 1, returnDocuments: true });
    expect(best!.document).toBe(DOCS[best!.index]);
    expect(await bert.rerank(QUERY, [])).toEqual([]);
    expect(await bert.score(QUERY, [])).toEqual(new Float32Array(0));
  });

  it('score() is in document order and agrees with rerank()', async () => {
    const scores = await bert.score(QUERY, DOCS);
    const results = await bert.rerank(QUERY, DOCS);
    for (const r of results) expect(r.score).toBe(scores[r.index]);
  });

  it("activation 'none' gives the logits whose sigmoid is the default score", async () => {
    const raw = await bert.score(QUERY, DOCS, { activation: 'none' });
    const prob = await bert.score(QUERY, DOCS);
    raw.forEach((x, i) => expect(1 / (1 + Math.exp(-x))).toBeCloseTo(prob[i]!, 6));
    expect(raw.some((x) => x < 0 || x > 1)).toBe(true);
  });

  it('two-label models score the softmax probability of label 1', async () => {
    const two = await Reranker.load(dirs['tiny-bert-2label'], { backend: 'cpu' });
    try {
      expect(two.info.numLabels).toBe(2);
      const diff = await two.score(QUERY, DOCS, { activation: 'none' }); // logit1 - logit0
      const prob = await two.score(QUERY, DOCS);
      diff.forEach((d, i) => expect(prob[i]).toBeCloseTo(Math.exp(d) / (1 + Math.exp(d)), 6));
    } finally {
      await two.close();
    }
  });

  it('a document scores the same alone as inside a batch, whatever the batch size', async () => {
    const small = await Reranker.load(dirs['tiny-xlmr'], { backend: 'cpu', maxBatchSize: 2, threads: 1 });
    try {
      const batched = await small.score(QUERY, DOCS);
      for (let i = 0; i < DOCS.length; i++) {
        const [alone] = await small.score(QUERY, [DOCS[i]!]);
        expect(alone).toBe(batched[i]);
      }
    } finally {
      await small.close();
    }
  });

  it('concurrent calls give the same results as sequential ones', async () => {
    const expected = await bert.score(QUERY, DOCS);
    const queries = ['berlin', 'paris capital', QUERY, 'tokyo japan'];
    const sequential = [];
    for (const q of queries) sequential.push(await bert.score(q, DOCS));
    const parallel = await Promise.all(queries.map((q) => bert.score(q, DOCS)));
    expect(parallel).toEqual(sequential);
    expect(parallel[2]).toEqual(expected);
  });

  it('info describes the loaded model', () => {
    expect(bert.info).toMatchObject({
      backend: 'cpu', device: null, dtype: 'fp32', maxLength: 512, truncation: 'longest_first',
      modelType: 'bert', architecture: 'BertForSequenceClassification', numLabels: 1,
    });
    expect(bert.info.memoryBytes).toBeGreaterThan(100_000);
  });
});

describe('cancellation and close', () => {
  const many = Array.from({ length: 3000 }, (_, i) => `document ${i} about the city of berlin and its people`);

  it('an aborted signal rejects with AbortError before any work', async () => {
    const controller = new AbortController();
    controller.abort(new Error('user left'));
    await expect(bert.rerank(QUERY, DOCS, { signal: controller.signal })).rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });

  it('aborting mid-call rejects with AbortError carrying the reason, and the Reranker keeps working', async () => {
    const controller = new AbortController();
    const call = bert.rerank(QUERY, many, { signal: controller.signal });
    setTimeout(() => controller.abort('stop'), 5);
    const error = await call.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).cause).toBe('stop');
    expect((await bert.rerank(QUERY, DOCS, { topK: 1 })).length).toBe(1);
  });

  it('close() while calls run rejects them with ClosedError; later calls too; close twice is fine', async () => {
    const r = await Reranker.load(dirs['tiny-bert'], { backend: 'cpu' });
    const lots = Array.from({ length: 10 }, () => many).flat();
    const running = [r.rerank(QUERY, lots), r.score(QUERY, lots)].map((call) => call.then(() => 'resolved', (e: unknown) => e));
    await new Promise((resolve) => setTimeout(resolve, 5));
    await r.close();
    const outcomes = await Promise.all(running);
    // 30 000 documents take far longer than 5 ms: both calls were running, and both reject cleanly.
    for (const outcome of outcomes) expect(outcome).toBeInstanceOf(ClosedError);
    await expect(r.rerank(QUERY, DOCS)).rejects.toBeInstanceOf(ClosedError);
    await expect(r.score(QUERY, DOCS)).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await r.close();
    expect(r.info.memoryBytes).toBe(0);
  });

  it('Symbol.asyncDispose closes', async () => {
    const r = await Reranker.load(dirs['tiny-bert'], { backend: 'cpu' });
    await r[Symbol.asyncDispose]();
    await expect(r.score(QUERY, DOCS)).rejects.toBeInstanceOf(ClosedError);
  });
});
