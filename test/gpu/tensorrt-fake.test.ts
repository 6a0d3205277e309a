/**
 * The TensorRT backend end to end against a fake libnvinfer (test/fake-tensorrt/): no machine here has
 * TensorRT, so a library built from TensorRT's own headers stands in for it, implementing only the calls the
 * backend makes and checking them as TensorRT does. Its network computes the pipeline test backend's score,
 * so every logit is known exactly. This proves the backend's use of the API (loading, I/O discovery, contexts,
 * addresses, shapes, enqueueV3 and CUDA graph capture, warm-up at load, logits conversion) — not TensorRT's own
 * behaviour.
 *
 * Runs where TRT_RERANK_FAKE_TENSORRT=1, TRT_RERANK_ADDON is an addon built with the TensorRT backend and
 * LD_LIBRARY_PATH holds the fake (tools/gpu-check.sh sets all three); skips with the reason elsewhere.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeAddon } from '../../lib/binding/native.js';
import { BackendUnavailableError, InvalidArgumentError } from '../../lib/errors.js';
import { Reranker } from '../../lib/reranker.js';
import { PairTokenizer } from '../../lib/tokenize/pair-tokenizer.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { useTinyModel } from '../helpers/models.js';

requireAddonBuilt();
const addon = loadAddon() as NativeAddon;
const system = addon.systemInfo();
const reason =
  process.env.TRT_RERANK_FAKE_TENSORRT !== '1' ? 'TRT_RERANK_FAKE_TENSORRT is not set (tools/gpu-check.sh builds and sets up the fake TensorRT)'
  : !system.backends.includes('tensorrt') ? 'this addon has no TensorRT backend (TRT_RERANK_ADDON must name a TensorRT build)'
  : !system.tensorrt.found ? `the fake libnvinfer did not load: ${system.tensorrt.error}`
  : system.cuda.devices.length === 0 ? `no CUDA device: ${system.cuda.error ?? 'none found'}`
  : '';
if (reason) console.log(`TensorRT (fake library) tests skipped: ${reason}`);

/** The fake network's logit for one pair: the gpu-test backend's formula. */
function testLogit(ids: Int32Array, typeIds: Uint8Array | null, begin: number, end: number): number {
  let sum = 0;
  for (let t = begin; t < end; t++) {
    let h = (Math.imul(ids[t]!, 2654435761) ^ Math.imul(typeIds ? typeIds[t]! : 0, 40503) ^ Math.imul(t - begin, 97)) >>> 0;
    h = (h ^ (h >>> 15)) & 0xffff;
    sum = (sum + h) >>> 0;
  }
  return Math.fround((sum & 0xffff) / 4096 - 8);
}

interface FakePlan {
  inputType?: 'int32' | 'int64';
  typeIds?: boolean;
  outputType?: 'fp32' | 'fp16' | 'bf16';
  labels?: number;
  minBatch?: number;
  maxBatch?: number;
  minSeq?: number;
  maxSeq?: number;
}

function planText(p: FakePlan): string {
  return [
    'trt-rerank-fake-plan',
    `inputType=${p.inputType ?? 'int64'}`,
    `typeIds=${p.typeIds === false ? 0 : 1}`,
    `outputType=${p.outputType ?? 'fp32'}`,
    `labels=${p.labels ?? 1}`,
    `minBatch=${p.minBatch ?? 1}`,
    `maxBatch=${p.maxBatch ?? 512}`,
    `minSeq=${p.minSeq ?? 1}`,
    `optSeq=${Math.min(128, p.maxSeq ?? 512)}`,
    `maxSeq=${p.maxSeq ?? 512}`,
  ].join('\n') + '\n';
}

describe.skipIf(reason !== '')('TensorRT backend on the fake libnvinfer', () => {
  const model = useTinyModel('tiny-bert');
  const query = 'which rivers flow into the north sea';
  const docs = Array.from({ length: 1500 }, (_, i) => `doc ${i} ${'the rhine and the elbe '.repeat(i % 37)} end ${i % 13}`);

  async function engine(name: string, plan: FakePlan): Promise<string> {
    const path = join(model.root, `${name}.plan`);
    await writeFile(path, planText(plan));
    return path;
  }

  async function expectedLogits(maxLength: number, texts: readonly string[], typeIds: boolean) {
    const tok = await PairTokenizer.fromDir(model.dir, { maxLength, tokenCache: false });
    const p = tok.encodePairs(query, texts);
    return Float32Array.from({ length: texts.length }, (_, i) => testLogit(p.ids, typeIds ? p.typeIds : null, p.offsets[i]!, p.offsets[i + 1]!));
  }

  const topOrder = (scores: Float32Array, k: number) =>
    Array.from(scores.keys()).sort((a, b) => scores[b]! - scores[a]! || a - b).slice(0, k);

  it("'auto' picks model.plan from the model folder; scores and top-k are exact (int64 inputs, fp32 logits)", async () => {
    await writeFile(join(model.dir, 'model.plan'), planText({}));
    const r = await Reranker.load(model.dir, { tokenizerThreads: 2 });
    try {
      expect(r.info).toMatchObject({ backend: 'tensorrt', device: 0, dtype: 'engine', maxBatchSize: 512 });
      expect(r.info.backendReason).toMatch(/^auto: TensorRT engine .*model\.plan$/);
      const expected = await expectedLogits(r.info.maxLength, docs, true);
      expect(await r.score(query, docs, { activation: 'none' })).toEqual(expected);
      const top = await r.rerank(query, docs, { topK: 20, activation: 'none' });
      expect(top.map((t) => t.index)).toEqual(topOrder(expected, 20));
      // Again: every shape now replays its CUDA graph.
      const before = r.backendCounters;
      const batchesBefore = r.stats().batches;
      expect(before.graphsCaptured).toBeGreaterThan(0);
      expect(await r.score(query, docs, { activation: 'none' })).toEqual(expected);
      const after = r.backendCounters;
      // The scheduler cuts the 1500 pairs into token-budget batches; the first calls captured each batch's shape,
      // so each is now a graph replay.
      const batches = r.stats().batches - batchesBefore;
      expect(batches).toBeGreaterThan(0);
      expect(after.graphLaunches! - before.graphLaunches!).toBe(batches);
      expect(after.enqueues).toBe(before.enqueues);
      expect(after.graphCaptureFailures).toBe(0);
      // A 7-document call pads to 8 rows (a graph shape): exact all the same.
      expect(await r.score(query, docs.slice(0, 7), { activation: 'none' })).toEqual(expected.slice(0, 7));
    } finally {
      await r.close();
    }
  });

  it('warmup (the default) makes and captures the smallest shapes at load: one-pair calls of any length replay at once; warmup: false makes none', async () => {
    const path = await engine('warmup', {});
    const cold = await Reranker.load(model.dir, { backend: 'tensorrt', engine: path, concurrency: 1, warmup: false });
    const warm = await Reranker.load(model.dir, { backend: 'tensorrt', engine: path, concurrency: 2 });
    try {
      expect(cold.backendCounters).toMatchObject({ enqueues: 0, graphsCaptured: 0, graphLaunches: 0, warmupGraphs: 0, warmupMs: 0 });
      const loaded = warm.backendCounters;
      console.log(`warm-up: ${loaded.warmupGraphs} graphs over 2 slots, ${loaded.warmupMs!.toFixed(1)} ms`);
      // The same shapes in each slot, leaving 16 of a slot's 64 buckets for shapes first seen at run time.
      expect(loaded.warmupGraphs).toBeGreaterThan(0);
      expect(loaded.warmupGraphs! % 2).toBe(0);
      expect(loaded.warmupGraphs! / 2).toBeLessThanOrEqual(48);
      expect(loaded).toMatchObject({ graphsCaptured: loaded.warmupGraphs, graphLaunches: 0, graphCaptureFailures: 0 });
      expect(loaded.warmupMs).toBeGreaterThan(0);
      // One row (the first row bucket, every sequence bucket of it warmed): a replay, no enqueue, no new context.
      for (const doc of [docs[0]!, docs[36]!, 'tide '.repeat(300), '']) {
        const before = warm.backendCounters;
        const expected = await expectedLogits(warm.info.maxLength, [doc], true);
        expect(await warm.score(query, [doc], { activation: 'none' })).toEqual(expected);
        const after = warm.backendCounters;
        expect(after.graphsCaptured, 'captured on the call').toBe(before.graphsCaptured);
        expect(after.graphLaunches! - before.graphLaunches!).toBe(1);
        expect(after.enqueues, 'an enqueue on the call').toBe(before.enqueues);
      }
      // Larger calls: exact either way (warmed shapes replay; the others are made and captured after a first run).
      const expected = await expectedLogits(warm.info.maxLength, docs, true);
      expect(await warm.score(query, docs, { activation: 'none' })).toEqual(expected);
      expect(await cold.score(query, docs, { activation: 'none' })).toEqual(expected);
      expect(warm.backendCounters.graphCaptureFailures).toBe(0);
    } finally {
      await cold.close();
      await warm.close();
    }
  });

  it.each<[string, FakePlan, number]>([
    ['int32 inputs, no token_type_ids (XLM-R style), fp16 logits', { inputType: 'int32', typeIds: false, outputType: 'fp16' }, 1e-2],
    ['int64 inputs, bf16 logits, two labels', { outputType: 'bf16', labels: 2 }, 4e-2],
  ])('%s', async (name, plan, tolerance) => {
    const r = await Reranker.load(model.dir, { backend: 'tensorrt', engine: await engine(name.replace(/\W+/g, '-'), plan) });
    try {
      expect(r.info.backend).toBe('tensorrt');
      const expected = await expectedLogits(r.info.maxLength, docs, plan.typeIds !== false);
      const got = await r.score(query, docs, { activation: 'none' });
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
      expect(worst).toBeLessThanOrEqual(tolerance);
    } finally {
      await r.close();
    }
  });

  it("the engine profile bounds maxLength and maxBatchSize; a batch below the profile's minimum gets dummy rows", async () => {
    const path = await engine('small-profile', { maxBatch: 100, minBatch: 4, maxSeq: 64 });
    const r = await Reranker.load(model.dir, { backend: 'tensorrt', engine: path });
    try {
      expect(r.info.maxLength).toBe(64);
      expect(r.info.maxBatchSize).toBe(100);
      const expected = await expectedLogits(64, docs.slice(0, 250), true);
      expect(await r.score(query, docs.slice(0, 250), { activation: 'none' })).toEqual(expected);
      expect(await r.score(query, docs.slice(3, 4), { activation: 'none' })).toEqual(expected.slice(3, 4));
    } finally {
      await r.close();
    }
    await expect(Reranker.load(model.dir, { backend: 'tensorrt', engine: path, maxLength: 128 })).rejects.toThrow(
      /maxLength 128 is longer than the tensorrt backend takes \(64\): load with maxLength <= 64/,
    );
    await expect(Reranker.load(model.dir, { backend: 'tensorrt', engine: path, maxBatchSize: 200 })).rejects.toThrow(/larger than the tensorrt backend takes \(100\)/);
  });

  it('an engine whose I/O does not fit is refused with what it has and what is needed', async () => {
    const load = Reranker.load(model.dir, { backend: 'tensorrt', engine: await engine('three-labels', { labels: 3 }) });
    await expect(load).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(load).rejects.toThrow(/output 'logits' has shape \[-1,3\].*It has inputs: input_ids int64 \[-1,-1\] \(profile 0: min \[1,1\]/);
  });

  it('a file that is not a plan for this TensorRT says how to get one; a missing file is unavailable', async () => {
    const bogus = join(model.root, 'bogus.plan');
    await writeFile(bogus, 'not a plan');
    await expect(Reranker.load(model.dir, { backend: 'tensorrt', engine: bogus })).rejects.toThrow(
      /could not load the engine .*bogus\.plan: fake TensorRT: the blob is not a fake plan.*rebuild it here/,
    );
    await expect(Reranker.load(model.dir, { backend: 'tensorrt', engine: join(model.root, 'none.plan') })).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  it('concurrent calls run in separate execution contexts and stay exact', async () => {
    const r = await Reranker.load(model.dir, { backend: 'tensorrt', engine: await engine('concurrent', {}), concurrency: 2, maxBatchSize: 64 });
    try {
      const halves = [docs.slice(0, 700), docs.slice(700)];
      const expected = await Promise.all(halves.map((h) => expectedLogits(r.info.maxLength, h, true)));
      const got = await Promise.all([...halves, ...halves].map((h) => r.score(query, h, { activation: 'none' })));
      expect(got).toEqual([...expected, ...expected]);
    } finally {
      await r.close();
    }
  });
});
