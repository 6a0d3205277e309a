/**
 * Qwen3 rerankers on the CUDA backend: against PyTorch/transformers float64 (test/fixtures/reference/tiny-qwen3*.json,
 * the model card's scoring) within 3e-2 in bf16 (the default for Qwen3) and fp16, or 1.5x torch's own fp16/bf16
 * error where that is more (test/helpers/tolerances.ts); the shared prompt computed once per
 * batch (contexts) against the same batches without it, through CUDA graphs (small batches) and direct runs (large
 * ones); and the scheduler's context counters.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import { readModelConfig } from '../../lib/model/config.js';
import { planModel } from '../../lib/model/plan.js';
import type { TinyModelName } from '../../lib/tiny-models/generate.js';
import type { Qwen3Fixture } from '../native/qwen3.test.js';
import { cudaBackendSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { REPO_ROOT, tempDir, writeModels } from '../helpers/models.js';
import { scoreSequences as scoreCall } from '../helpers/sessions.js';
import { qwen3Tolerance } from '../helpers/tolerances.js';

requireAddonBuilt();
const reason = cudaBackendSkipReason('Qwen3 CUDA tests');
const MODELS: TinyModelName[] = ['tiny-qwen3', 'tiny-qwen3-bf16', 'tiny-qwen3-seq-cls'];
const TOLERANCE = 3e-2;
const rawScore = (logits: number[]) => (logits.length === 2 ? logits[1]! - logits[0]! : logits[0]!);

describe.skipIf(reason !== '')('Qwen3 on the CUDA backend', () => {
  let cleanup: () => Promise<void>;
  let dirs: Record<TinyModelName, string>;
  beforeAll(async () => {
    let root: string;
    ({ dir: root, cleanup } = await tempDir());
    dirs = await writeModels(root, MODELS);
  });
  afterAll(async () => cleanup?.());

  const open = async (name: TinyModelName, options: Record<string, unknown>) => {
    const fixture = JSON.parse(readFileSync(join(REPO_ROOT, 'test', 'fixtures', 'reference', `${name}.json`), 'utf8')) as Qwen3Fixture;
    const modelOptions = fixture.labelTokenIds ? { labelTokenIds: fixture.labelTokenIds } : undefined;
    const config = await readModelConfig(dirs[name], modelOptions);
    const session = await loadAddon().loadSession(await planModel(dirs[name], config, modelOptions), { backend: 'cuda', maxLength: 8192, ...options });
    return { fixture, session };
  };

  for (const name of MODELS) {
    for (const dtype of ['bf16', 'fp16'] as const) {
      const tolerance = qwen3Tolerance(name, dtype);
      it(`${name}, ${dtype}: every reference case as one call, within ${tolerance} of transformers float64`, async () => {
        const { fixture, session } = await open(name, { dtype });
        try {
          let worst = 0;
          for (const c of fixture.cases) {
            const scores = await scoreCall(session, c.pairs.map((p) => p.ids));
            c.pairs.forEach((p, i) => {
              expect(Number.isFinite(scores[i]), `${c.maxLength}/${c.query}/${i}`).toBe(true);
              worst = Math.max(worst, Math.abs(scores[i]! - rawScore(p.logits)));
            });
          }
          const stats = session.stats()!;
          console.log(`${name} ${dtype}: largest |cuda - torch float64| ${worst.toExponential(2)}; ${stats.contexts} contexts saved ${stats.sharedTokens} of ${stats.tokens} tokens`);
          expect(worst).toBeLessThanOrEqual(tolerance);
          expect(stats.contexts).toBeGreaterThan(0);
        } finally {
          await session.close();
        }
      });
    }
  }

  // fp16: rounding differences between batch shapes (cuBLASLt picks by row count) stay small enough to see that
  // nothing else differs; in bf16 they reach torch's own error on this model.
  it('contexts change nothing: the same calls with sharePrefixes false, through graphs (small calls) and direct runs (large)', async () => {
    const shared = await open('tiny-qwen3', { dtype: 'fp16' });
    const plain = await open('tiny-qwen3', { dtype: 'fp16', sharePrefixes: false });
    try {
      const prefix = Array.from({ length: 45 }, (_, i) => (i * 7919 + 13) % 151000);
      for (const n of [2, 5, 40, 300]) {
        const seqs = Array.from({ length: n }, (_, d) => [...prefix, ...Array.from({ length: 1 + ((d * 37) % 200) }, (_, i) => (d * 1009 + i * 31 + 5) % 151000)]);
        const a = await scoreCall(shared.session, seqs);
        const b = await scoreCall(plain.session, seqs);
        let worst = 0;
        for (let i = 0; i < n; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
        console.log(`${n} pairs: largest |shared - plain| ${worst.toExponential(2)}`);
        expect(worst).toBeLessThanOrEqual(TOLERANCE);
      }
      expect(shared.session.stats()!.contexts).toBeGreaterThanOrEqual(4);
      expect(plain.session.stats()!.contexts).toBe(0);
    } finally {
      await Promise.all([shared.session.close(), plain.session.close()]);
    }
  });
});
