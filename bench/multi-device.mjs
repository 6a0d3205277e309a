#!/usr/bin/env node
// npm run bench:multi (GPU machine) — throughput of one Reranker over several devices against one device, in the
// same run, for the two loads of the multi-GPU issue: 5000-document calls one after another, and 64 concurrent
// callers of 20 documents. BENCH_DEVICES: the device list to compare with [0] (default: every device; on a
// one-GPU machine "0,0", two model copies on one GPU, which measures the multi-device executor's own cost, not
// a speedup). Model: MiniLM-L6-H384 shapes, random weights, the real BERT uncased tokenizer when found (else the
// tiny test tokenizer); documents from the installed packages' docs (bench/corpus.mjs), token cache warm.
// BENCH_OUT (default $OUT) receives bench-multi-device.json.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reranker } from '../dist/index.js';
import { loadAddon } from '../dist/binding/loader.js';
import { writeTinyModel } from '../dist/tiny-models/generate.js';
import { loadCorpus } from './corpus.mjs';
import { median, sharedBertTokenizerDir } from './measure.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const info = loadAddon().systemInfo();
const tokenizerDir = sharedBertTokenizerDir(root);
if (!info.backends.includes('cuda') || info.cuda.devices.length === 0 || !tokenizerDir) {
  console.log(`bench:multi skipped: ${!tokenizerDir ? 'the BERT tokenizer is not at ../shared/models/bert-base-uncased-tokenizer' : 'no CUDA backend or device here'}`);
  process.exit(0);
}
const count = info.cuda.devices.length;
const devices = (process.env.BENCH_DEVICES ?? (count > 1 ? info.cuda.devices.map((_, i) => i).join(',') : '0,0')).split(',').map(Number);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 5);
const SPEC = { family: 'bert', seed: 5, hiddenSize: 384, numHeads: 12, numLayers: 6, intermediateSize: 1536, numLabels: 1, hiddenAct: 'gelu', dtype: 'F16' };
const QUERY = 'how do I configure the test runner to run only the files that changed since the last commit?';
const seconds = async (fn) => {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
};

const dir = mkdtempSync(join(tmpdir(), 'trt-rerank-multi-'));
try {
  const modelDir = await writeTinyModel(join(dir, 'minilm-l6'), SPEC, { tokenizerDir });
  const corpus = loadCorpus(root, 5000);
  const big = corpus.slice(0, 5000);
  const small = Array.from({ length: 64 }, (_, i) => corpus.slice((i * 20) % 4980, ((i * 20) % 4980) + 20));
  const measure = async (device) => {
    const r = await Reranker.load(modelDir, { backend: 'cuda', device, maxLength: 256 });
    try {
      await r.rerank(QUERY, big, { topK: 10 });  // warm: kernels, workers, token cache
      await Promise.all(small.map((d) => r.rerank(QUERY, d, { topK: 5 })));
      const bigRuns = [], smallRuns = [];
      for (let i = 0; i < REPEATS; i++) bigRuns.push(await seconds(() => r.rerank(QUERY, big, { topK: 10 })));
      for (let i = 0; i < REPEATS; i++) smallRuns.push(await seconds(() => Promise.all(small.map((d) => r.rerank(QUERY, d, { topK: 5 })))));
      return { device, big: big.length / median(bigRuns), small: (64 * 20) / median(smallRuns), stats: r.deviceStats };
    } finally {
      await r.close();
    }
  };
  const one = await measure(0);
  const many = await measure(devices);
  const result = {
    device: info.cuda.devices.map((d) => d.name), devices, one, many,
    ratio: { big: many.big / one.big, small: many.small / one.small },
  };
  console.log(`device(s): ${result.device.join(', ')}; [0] vs [${devices.join(', ')}]`);
  console.log(`5000-document calls: ${one.big.toFixed(0)} vs ${many.big.toFixed(0)} docs/s (${result.ratio.big.toFixed(2)}x)`);
  console.log(`64 callers x 20 documents: ${one.small.toFixed(0)} vs ${many.small.toFixed(0)} docs/s (${result.ratio.small.toFixed(2)}x)`);
  console.log(`per device: ${JSON.stringify(many.stats)}`);
  const out = process.env.BENCH_OUT ?? process.env.OUT;
  if (out) writeFileSync(join(out, 'bench-multi-device.json'), JSON.stringify(result, null, 1));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
