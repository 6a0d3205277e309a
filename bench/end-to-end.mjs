#!/usr/bin/env node
// npm run bench:e2e (GPU machine) — text in, top-k out, the whole path, beside the seed approach in the same run:
//   seed   Python: HF transformers' fast tokenizer on the pair list (padding=True, truncation=True,
//          max_length=256), the fp16 model in batches of 512, torch.cat, torch.topk (bench/end_to_end_torch.py)
//   ours   Reranker.rerank(query, docs, { topK: 10 }) on the CUDA backend, maxLength 256:
//          cold  a Reranker without a token cache (every document tokenized in the call)
//          warm  the default token cache, after one call on the same documents
// Model: MiniLM-L6-H384 shapes (ms-marco-MiniLM-L-6-v2) with random weights and the real BERT uncased
// tokenizer (../shared/models, or .cache/shared-models on the GPU machine). Documents: passages of 120-320 words
// from the installed packages' docs (bench/corpus.mjs); the same query and documents on both sides.
// BENCH_DOCS="100,1000" sets the call sizes; BENCH_OUT (default $OUT) receives bench-e2e.json and .md.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reranker } from '../dist/index.js';
import { loadAddon } from '../dist/binding/loader.js';
import { writeTinyModel } from '../dist/tiny-models/generate.js';
import { loadCorpus } from './corpus.mjs';
import { median, percentile, sharedBertTokenizerDir } from './measure.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const info = loadAddon().systemInfo();
const tokenizerDir = sharedBertTokenizerDir(root);
if (!info.backends.includes('cuda') || info.cuda.devices.length === 0 || !tokenizerDir) {
  console.log(`bench:e2e skipped: ${!tokenizerDir ? 'the BERT tokenizer is not at ../shared/models/bert-base-uncased-tokenizer' : 'no CUDA backend or device here'}`);
  process.exit(0);
}
const SIZES = (process.env.BENCH_DOCS ?? '100,1000').split(',').map(Number);
const REPEATS = Number(process.env.BENCH_REPEATS ?? 10);
const OUT = process.env.BENCH_OUT ?? process.env.OUT;
const SPEC = { family: 'bert', seed: 5, hiddenSize: 384, numHeads: 12, numLayers: 6, intermediateSize: 1536, numLabels: 1, hiddenAct: 'gelu', dtype: 'F16' };
const QUERY = 'how do I configure the test runner to run only the files that changed since the last commit?';
const time = async (fn) => {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
};

const dir = mkdtempSync(join(tmpdir(), 'trt-rerank-e2e-'));
try {
  const modelDir = await writeTinyModel(join(dir, 'minilm-l6'), SPEC, { tokenizerDir });
  const corpus = loadCorpus(root, Math.max(...SIZES) * (REPEATS + 2));
  const docsFile = join(dir, 'docs.json');
  // Cold calls get documents never seen before (a fresh slice each repeat), on both sides.
  const slices = SIZES.map((count) => Array.from({ length: REPEATS + 1 }, (_, r) => corpus.slice(r * count, (r + 1) * count)));
  writeFileSync(docsFile, JSON.stringify({ query: QUERY, calls: slices }));
  const seed = JSON.parse(execFileSync('python3', [join(root, 'bench', 'end_to_end_torch.py'), modelDir, tokenizerDir, docsFile],
    { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] }));

  const load = (tokenCache) => Reranker.load(modelDir, { backend: 'cuda', maxLength: 256, maxBatchSize: 512, ...(tokenCache ? {} : { tokenCache: false }) });
  const cold = await load(false);
  const warm = await load(true);
  const rows = [];
  try {
    for (const [i, count] of SIZES.entries()) {
      await cold.rerank(QUERY, slices[i][0], { topK: 10 });  // warm-up (kernels, workers), then fresh documents each call
      const coldMs = [];
      for (let r = 1; r <= REPEATS; r++) coldMs.push(await time(() => cold.rerank(QUERY, slices[i][r], { topK: 10 })));
      console.error(`${count} docs, cold calls in order (ms): ${coldMs.map((t) => t.toFixed(1)).join(' ')}`);  // the worker pool's warm-up
      await warm.rerank(QUERY, slices[i][0], { topK: 10 });
      const warmMs = [];
      for (let r = 0; r < REPEATS; r++) warmMs.push(await time(() => warm.rerank(QUERY, slices[i][0], { topK: 10 })));
      const s = seed[i];
      rows.push({ docs: count, coldMs: median(coldMs), coldP99Ms: percentile(coldMs, 99), warmMs: median(warmMs), warmP99Ms: percentile(warmMs, 99),
        seedMs: median(s.total), seedTokenizeMs: median(s.tokenize) });
    }
  } finally {
    await cold.close();
    await warm.close();
  }
  const result = { device: info.cuda.devices[0].name, cpuThreads: availableParallelism(), date: new Date().toISOString(), command: 'bash .gpu/run "npm run bench" (bench/end-to-end.mjs)', rows };
  const lines = [`Device: ${result.device}, ${result.cpuThreads} CPU threads. MiniLM-L6-H384 shapes, random weights, fp16, BERT uncased ` +
    'tokenizer, maxLength 256, top-10; passages of 120-320 words. Median (upper middle) and p99 (with under 100 calls: ' +
    'their maximum) wall time per call; the seed approach in the same run.', '',
    '| docs | seed ms (tokenizing) | ours, cold cache ms (p99) | ours, warm cache ms (p99) | cold vs seed | warm vs seed |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(`| ${r.docs} | ${r.seedMs.toFixed(1)} (${r.seedTokenizeMs.toFixed(1)}) | ${r.coldMs.toFixed(2)} (${r.coldP99Ms.toFixed(2)}) | ` +
      `${r.warmMs.toFixed(2)} (${r.warmP99Ms.toFixed(2)}) | ${(r.seedMs / r.coldMs).toFixed(1)}x | ${(r.seedMs / r.warmMs).toFixed(1)}x |`);
  }
  const md = lines.join('\n') + '\n';
  console.log(`\nbench:e2e\n\n${md}`);
  if (OUT) {
    writeFileSync(join(OUT, 'bench-e2e.json'), JSON.stringify(result, null, 2));
    writeFileSync(join(OUT, 'bench-e2e.md'), `# Text in, top-k out (bench/end-to-end.mjs)\n\nCommand: \`${result.command}\`, ${result.date}.\n\n${md}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
