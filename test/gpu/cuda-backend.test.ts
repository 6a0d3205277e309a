/**
 * The CUDA backend against the CPU backend (itself within 1e-6 of PyTorch float64, test/native/reference)
 * on the same generated weight files: fp16 logits within 1e-2, bf16 within 3e-2; same top-10 except near-ties;
 * no NaN or inf on long, empty or degenerate inputs; head sizes 32, 64 and 128; BERT, XLM-R and ModernBERT (mean
 * and cls pooling, sliding windows far shorter than the long documents); one and two labels; fp32, fp16 and bf16
 * checkpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeAddon } from '../../lib/binding/native.js';
import { Reranker } from '../../lib/reranker.js';
import { TINY_MODELS, type TinyModelName } from '../../lib/tiny-models/generate.js';
import { cudaBackendSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { tempDir, writeCustomModel, writeModels } from '../helpers/models.js';
import { qwen3Tolerance } from '../helpers/tolerances.js';

requireAddonBuilt();
const addon = loadAddon() as NativeAddon;
const reason = cudaBackendSkipReason('CUDA backend tests');

const query = 'how do tides depend on the moon';
let seed = 77;
const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const words = ['tide', 'moon', 'sea', 'gravity', 'ocean', 'the', 'of', 'and', 'orbit', 'earth', 'water', 'high', 'low', 'café', '海', '🌊'];
const docs = [
  ...Array.from({ length: 600 }, () => Array.from({ length: 1 + Math.floor(random() * 120) }, () => words[Math.floor(random() * words.length)]).join(' ')),
  '', ' ', '\t\n', 'tide '.repeat(2000), '🌊'.repeat(300), 'x',
];

// bf16 keeps 8 bits of mantissa: on the pre-LN ModernBERT test models PyTorch itself, run in bf16 on the GPU,
// lands 3.2e-2 (tiny-modernbert) and 5.3e-2 (tiny-modernbert-cls) from its float64 reference (tools/torch_precision.py,
// H200, 2026-12-01; fp16: 3.5e-3 and 5.4e-3), so the BERT-family 3e-2 cannot hold for them in bf16 storage. Ours
// there: 2.1e-2 and 5.0e-2 (same day), with the residual stream kept in fp32.
const BF16_PRE_LN_TOLERANCE = 6e-2;

describe.skipIf(reason !== '')('CUDA backend numerics against the CPU backend', () => {
  let cleanup: () => Promise<void>;
  const dirs: Record<string, string> = {};
  beforeAll(async () => {
    let root: string;
    ({ dir: root, cleanup } = await tempDir());
    Object.assign(dirs, await writeModels(root, Object.keys(TINY_MODELS) as TinyModelName[]));
    // Head size 128 (hidden 256, 2 heads), and a three-layer BERT with head size 64.
    dirs['bert-d128'] = await writeCustomModel(root, 'bert-d128', {
      family: 'bert', seed: 9, hiddenSize: 256, numHeads: 2, numLayers: 2, intermediateSize: 512, numLabels: 1, hiddenAct: 'gelu', dtype: 'F32',
    });
    dirs['bert-d64'] = await writeCustomModel(root, 'bert-d64', {
      family: 'bert', seed: 10, hiddenSize: 128, numHeads: 2, numLayers: 3, intermediateSize: 384, numLabels: 2, hiddenAct: 'relu', dtype: 'F16',
    });
  });
  afterAll(async () => cleanup?.());

  const cases = [...Object.keys(TINY_MODELS), 'bert-d128', 'bert-d64'];
  for (const name of cases) {
    for (const dtype of ['fp16', 'bf16'] as const) {
      it(`${name}, ${dtype}`, async () => {
        // Qwen3 (issue 14): as against its reference (test/gpu/qwen3.test.ts, test/helpers/tolerances.ts).
        const tolerance = name.includes('qwen3') ? qwen3Tolerance(name, dtype) : dtype === 'fp16' ? 1e-2 : name.includes('modernbert') ? BF16_PRE_LN_TOLERANCE : 3e-2;
        const cpu = await Reranker.load(dirs[name]!, { backend: 'cpu' });
        const gpu = await Reranker.load(dirs[name]!, { backend: 'cuda', dtype });
        try {
          expect(gpu.info).toMatchObject({ backend: 'cuda', dtype, device: 0 });
          const expected = await cpu.score(query, docs, { activation: 'none' });
          const got = await gpu.score(query, docs, { activation: 'none' });
          let worst = 0;
          let worstAt = -1;
          for (let i = 0; i < docs.length; i++) {
            expect(Number.isFinite(got[i]), `document ${i} gave ${got[i]}`).toBe(true);
            const d = Math.abs(got[i]! - expected[i]!);
            if (d > worst) [worst, worstAt] = [d, i];
          }
          console.log(`${name} ${dtype}: largest |cuda - cpu| ${worst.toExponential(2)} (document ${worstAt})`);
          expect(worst, `largest difference at document ${worstAt}: ${got[worstAt]} vs ${expected[worstAt]}`).toBeLessThanOrEqual(tolerance);
          // Top 10: the same documents, except where the CPU scores are closer than the tolerance allows to tell.
          const top = await gpu.rerank(query, docs, { topK: 10, activation: 'none' });
          const cpuTop = await cpu.rerank(query, docs, { topK: 10, activation: 'none' });
          for (let r = 0; r < 10; r++) {
            if (top[r]!.index !== cpuTop[r]!.index) {
              expect(Math.abs(expected[top[r]!.index]! - expected[cpuTop[r]!.index]!), `rank ${r}`).toBeLessThanOrEqual(2 * tolerance);
            }
          }
        } finally {
          await cpu.close();
          await gpu.close();
        }
      });
    }
  }

  it.each(['tiny-xlmr', 'tiny-modernbert'])('%s: small batches replay CUDA graphs: the same scores as their direct first run, with new inputs, and as the CPU', async (model) => {
    const cpu = await Reranker.load(dirs[model]!, { backend: 'cpu', maxLength: 512 });
    // Without warm-up a bucket's first batch runs directly and its second is captured (warm-up: the test below).
    const gpu = await Reranker.load(dirs[model]!, { backend: 'cuda', concurrency: 1, maxLength: 512, warmup: false });
    try {
      expect(gpu.backendCounters).toMatchObject({ graphsCaptured: 0, graphLaunches: 0, warmupGraphs: 0 });
      const sizes = [1, 10, 100, 128];  // each one batch of a graph bucket; 129 pairs run without a graph
      for (const n of [...sizes, 129]) {
        const subset = docs.slice(600 - n + 6);  // ends with the degenerate documents (empty, long, emoji)
        const reversed = [...subset].reverse();  // the same bucket (pairs, tokens, longest), other contents per row
        const expected = await cpu.score(query, subset, { activation: 'none' });
        const first = await gpu.score(query, subset, { activation: 'none' });      // direct, padded to the bucket
        const captured = await gpu.score(query, subset, { activation: 'none' });   // captured, then replayed
        const replayed = (await gpu.score(query, reversed, { activation: 'none' })).reverse();
        for (let i = 0; i < n; i++) {
          expect(Math.abs(first[i]! - expected[i]!), `${n} pairs, document ${i}`).toBeLessThanOrEqual(1e-2);
          expect(Math.abs(captured[i]! - first[i]!), `${n} pairs, document ${i}, captured run`).toBeLessThanOrEqual(1e-6);
          expect(Math.abs(replayed[i]! - first[i]!), `${n} pairs, document ${i}, replay on other inputs`).toBeLessThanOrEqual(1e-6);
        }
      }
      // k distinct buckets among the sizes: each captured on its second call (2 replays of its 3 calls); a size whose
      // bucket an earlier size already captured replays all 3 (the token ladder is coarse near its top: 100 and 128
      // pairs may share one). So captures + replays = 3 per size.
      const counters = gpu.backendCounters;
      console.log(`${model}: ${counters.graphsCaptured} buckets for ${sizes.length} sizes`);
      expect(counters.graphsCaptured).toBeGreaterThanOrEqual(1);
      expect(counters.graphsCaptured).toBeLessThanOrEqual(sizes.length);
      expect(counters.graphsCaptured! + counters.graphLaunches!).toBe(3 * sizes.length);
      expect(counters).toMatchObject({ graphCaptureFailures: 0, warmupGraphs: 0 });
      // One pair fewer: mostly the same bucket, replayed with one more empty padding sequence; right either way.
      const fewer = docs.slice(600 - 100 + 6, 605);
      const launches = gpu.backendCounters.graphLaunches!;
      const expected = await cpu.score(query, fewer, { activation: 'none' });
      const got = await gpu.score(query, fewer, { activation: 'none' });
      for (let i = 0; i < fewer.length; i++) expect(Math.abs(got[i]! - expected[i]!), `99 pairs, document ${i}`).toBeLessThanOrEqual(1e-2);
      console.log(`99 pairs after 100: ${gpu.backendCounters.graphLaunches! > launches ? 'replayed the 100-pair graph' : 'another bucket'}`);
    } finally {
      await cpu.close();
      await gpu.close();
    }
  });

  it.each(['tiny-xlmr', 'tiny-modernbert', 'bert-d128'])(
    '%s: warm-up captures every graph bucket at load: first calls of any size capture nothing and replay, scoring as a direct run and the CPU',
    async (model) => {
      const options = { backend: 'cuda', concurrency: 1, maxLength: 512, maxBatchTokens: 65536 } as const;
      const cpu = await Reranker.load(dirs[model]!, { backend: 'cpu', maxLength: 512 });
      const cold = await Reranker.load(dirs[model]!, { ...options, warmup: false });
      const warm = await Reranker.load(dirs[model]!, options);  // warmup: true is the default
      try {
        // warmup: false captures nothing at load.
        expect(cold.backendCounters).toMatchObject({ graphsCaptured: 0, graphLaunches: 0, warmupGraphs: 0, warmupMs: 0 });
        const loaded = warm.backendCounters;
        console.log(`${model}: warm-up captured ${loaded.warmupGraphs} graphs in ${loaded.warmupMs!.toFixed(1)} ms`);
        expect(loaded.warmupGraphs).toBeGreaterThan(0);
        expect(loaded.warmupGraphs).toBeLessThanOrEqual(64);  // one slot: at most kMaxGraphsPerSlot
        expect(loaded.warmupMs).toBeGreaterThan(0);
        expect(loaded).toMatchObject({ graphsCaptured: loaded.warmupGraphs, graphLaunches: 0, graphCaptureFailures: 0 });
        // Sizes and lengths of every kind: one pair, short ones, the degenerate documents (empty, 2000 words, emoji).
        const subsets = [1, 2, 7, 10, 33, 64, 100, 128].flatMap((n) => [docs.slice(0, n), docs.slice(600 - n + 6)]);
        for (const subset of subsets) {
          const n = subset.length;
          const before = warm.backendCounters;
          const got = await warm.score(query, subset, { activation: 'none' });
          const after = warm.backendCounters;
          expect(after.graphsCaptured, `${n} pairs: a capture on the caller's path`).toBe(before.graphsCaptured);
          expect(after.graphLaunches! - before.graphLaunches!, `${n} pairs: no graph replayed`).toBeGreaterThanOrEqual(1);
          // The same bucket without warm-up: its first batch runs directly (or replays a graph an earlier subset of
          // that bucket captured: the same scores either way).
          const direct = await cold.score(query, subset, { activation: 'none' });
          const expected = await cpu.score(query, subset, { activation: 'none' });
          for (let i = 0; i < n; i++) {
            expect(Math.abs(got[i]! - direct[i]!), `${n} pairs, document ${i}: warm-up graph vs direct`).toBeLessThanOrEqual(1e-6);
            expect(Math.abs(got[i]! - expected[i]!), `${n} pairs, document ${i}: vs the CPU`).toBeLessThanOrEqual(1e-2);
          }
        }
        // Past the graphs' 128 pairs: a direct run (its kernels warmed at load), nothing captured or replayed.
        const before = warm.backendCounters;
        const many = docs.slice(0, 129);
        const got = await warm.score(query, many, { activation: 'none' });
        expect(warm.backendCounters).toMatchObject({ graphsCaptured: before.graphsCaptured, graphLaunches: before.graphLaunches });
        const expected = await cpu.score(query, many, { activation: 'none' });
        for (let i = 0; i < many.length; i++) expect(Math.abs(got[i]! - expected[i]!), `129 pairs, document ${i}`).toBeLessThanOrEqual(1e-2);
        expect(warm.backendCounters).toMatchObject({ graphCaptureFailures: 0, warmupGraphs: loaded.warmupGraphs });
      } finally {
        await Promise.all([cpu.close(), cold.close(), warm.close()]);
      }
    },
  );

  it('warm-up runs in every slot: each captures the same buckets', async () => {
    const one = await Reranker.load(dirs['tiny-bert']!, { backend: 'cuda', concurrency: 1, maxLength: 512, maxBatchTokens: 65536 });
    const two = await Reranker.load(dirs['tiny-bert']!, { backend: 'cuda', concurrency: 2, maxLength: 512, maxBatchTokens: 65536 });
    try {
      expect(one.backendCounters.warmupGraphs).toBeGreaterThan(0);
      expect(two.backendCounters).toMatchObject({ warmupGraphs: 2 * one.backendCounters.warmupGraphs!, graphCaptureFailures: 0 });
      // Concurrent calls land in either slot: neither captures on the caller's path.
      const captured = two.backendCounters.graphsCaptured;
      await Promise.all(Array.from({ length: 8 }, (_, i) => two.score(query, docs.slice(i * 10, i * 10 + 1 + i), { activation: 'none' })));
      expect(two.backendCounters.graphsCaptured).toBe(captured);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it('refuses what would read past the model tables: token ids outside the vocabulary, maxLength past the positions', async () => {
    const { readModelConfig } = await import('../../lib/model/config.js');
    const { planModel } = await import('../../lib/model/plan.js');
    const dir = dirs['tiny-bert']!;
    const config = await readModelConfig(dir);
    const plan = await planModel(dir, config);
    await expect(addon.loadSession(plan, { backend: 'cuda', maxLength: config.maxSequenceLength + 1 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/maxLength 513 is longer than the cuda backend takes \(512\)/),
    });
    const session = await addon.loadSession(plan, { backend: 'cuda', maxLength: 64 });
    try {
      const request = session.createRequest(1, 'none');
      // Checked as the chunk is queued: a synchronous throw, nothing queued.
      expect(() => request.submit(Int32Array.from([101, config.vocabSize, 102]), new Uint8Array(3), Int32Array.from([0, 3]), 0)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/token id \d+ is outside the model's vocabulary of \d+/) }),
      );
      await request.cancel();
    } finally {
      await session.close();
    }
  });

  it("'auto' picks the CUDA backend on a GPU, and says so", async () => {
    const r = await Reranker.load(dirs['tiny-bert']!);
    try {
      expect(r.info.backend).toBe('cuda');
      expect(r.info.backendReason).toMatch(/^auto: CUDA backend on /);
      expect(r.info.memoryBytes).toBeGreaterThan(0);
    } finally {
      await r.close();
    }
  });
});
