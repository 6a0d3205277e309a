/**
 * The CPU backend against PyTorch/transformers (float64) on the generated test models: logits within 1e-4
 * for every pair of test/fixtures/reference/*.json, which tools/make_reference_logits.py made on the GPU
 * machine from the same generated files (their sha256 is checked first).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeSession } from '../../lib/binding/native.js';
import { Reranker } from '../../lib/index.js';
import { readModelConfig } from '../../lib/model/config.js';
import { planModel } from '../../lib/model/plan.js';
import { PairTokenizer } from '../../lib/tokenize/pair-tokenizer.js';
import type { TinyModelName } from '../../lib/tiny-models/generate.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { REPO_ROOT, tempDir, writeModels } from '../helpers/models.js';
import { packSequences } from '../helpers/sessions.js';

interface Pair { ids?: number[]; type_ids?: number[]; logits?: number[]; error?: string }
interface Fixture {
  model: string; safetensorsSha256: string; numLabels: number; queries: string[]; docs: string[];
  cases: Array<{ maxLength: number; truncation: 'longest_first' | 'only_second'; query: number; pairs: Pair[] }>;
}

const MODELS: TinyModelName[] = ['tiny-bert', 'tiny-bert-f16', 'tiny-bert-2label', 'tiny-xlmr', 'tiny-xlmr-bf16', 'tiny-modernbert', 'tiny-modernbert-cls'];
const fixtures = Object.fromEntries(
  MODELS.map((m) => [m, JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'reference', `${m}.json`), 'utf8')) as Fixture]),
);
const TOLERANCE = 1e-4;

/** What the pipeline calls a raw score: the logit, or logit1 - logit0 for two labels. */
const rawScore = (logits: number[]) => (logits.length === 2 ? logits[1]! - logits[0]! : logits[0]!);
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

let root: string;
let cleanup: () => Promise<void>;
let dirs: Record<TinyModelName, string>;
beforeAll(async () => {
  requireAddonBuilt();
  ({ dir: root, cleanup } = await tempDir());
  dirs = await writeModels(root, MODELS);
});
afterAll(() => cleanup());

describe.each(MODELS)('%s against PyTorch', (name) => {
  const fixture = fixtures[name]!;
  let session: NativeSession;
  beforeAll(async () => {
    const config = await readModelConfig(dirs[name]);
    session = await loadAddon().loadSession(await planModel(dirs[name], config), { backend: 'cpu', threads: 2 });
  });
  afterAll(() => session?.close());

  it('the generator writes the file the reference was computed from', async () => {
    const digest = createHash('sha256').update(await readFile(join(dirs[name], 'model.safetensors'))).digest('hex');
    expect(digest).toBe(fixture.safetensorsSha256);
  });

  it(`CPU logits match within ${TOLERANCE} on every pair`, async () => {
    let compared = 0;
    let worst = 0;
    for (const c of fixture.cases) {
      const pairs = c.pairs.filter((p) => p.ids);
      if (pairs.length === 0) continue;
      const { ids, typeIds, offsets } = packSequences(pairs.map((p) => p.ids!), pairs.map((p) => p.type_ids!));
      const request = session.createRequest(pairs.length, 'none');
      await request.submit(ids, typeIds, offsets, 0);
      const { scores } = await request.finish(0);
      pairs.forEach((p, i) => {
        const diff = Math.abs(scores[i]! - rawScore(p.logits!));
        worst = Math.max(worst, diff);
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(50);
    expect(worst).toBeLessThan(TOLERANCE);
  });

  it('the tokenizer gives HF tokenizers\' ids, type ids and truncation errors', async () => {
    for (const c of fixture.cases) {
      const tokenizer = await PairTokenizer.fromDir(dirs[name], { maxLength: c.maxLength, truncation: c.truncation });
      const query = fixture.queries[c.query]!;
      c.pairs.forEach((p, i) => {
        const doc = fixture.docs[i]!;
        if (p.error) {
          expect(() => tokenizer.encodePairs(query, [doc])).toThrow(expect.objectContaining({ code: 'ERR_TRUNCATION' }));
          return;
        }
        const e = tokenizer.encodePairs(query, [doc]);
        expect([...e.ids]).toEqual(p.ids);
        expect([...e.typeIds]).toEqual(p.type_ids);
      });
    }
  });

  it('Reranker.score and rerank agree with the reference end to end', async () => {
    const c = fixture.cases.find((x) => x.maxLength === 512 && x.truncation === 'longest_first' && x.query === 0)!;
    const reranker = await Reranker.load(dirs[name], { backend: 'cpu', maxLength: 512 });
    try {
      const scores = await reranker.score(fixture.queries[0]!, fixture.docs);
      const expected = c.pairs.map((p) => sigmoid(rawScore(p.logits!)));
      scores.forEach((s, i) => expect(Math.abs(s - expected[i]!)).toBeLessThan(TOLERANCE));
      const ranked = await reranker.rerank(fixture.queries[0]!, fixture.docs, { topK: 5 });
      const order = expected.map((s, i) => [s, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
      // Same order as the reference wherever neighbours differ by more than the tolerance.
      ranked.forEach((r, k) => {
        if (Math.abs(order[k]![0] - r.score) > 2 * TOLERANCE) throw new Error(`rank ${k}: ${r.index} vs ${order[k]![1]}`);
        expect(Math.abs(r.score - expected[r.index]!)).toBeLessThan(TOLERANCE);
      });
      for (let k = 1; k < ranked.length; k++) expect(ranked[k - 1]!.score).toBeGreaterThanOrEqual(ranked[k]!.score);
    } finally {
      await reranker.close();
    }
  });
});
