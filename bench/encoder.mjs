#!/usr/bin/env node
// npm run bench:encoder (GPU machine) — the CUDA backend beside PyTorch on the same random-weight files and the
// same token ids, in the same run, for the shapes of three rerankers:
//   minilm-l6   ms-marco-MiniLM-L-6-v2 (BERT: 6 layers, hidden 384, 12 heads of 32, FFN 1536, vocab 30522)
//   xlmr-base   bge-reranker-base      (XLM-R: 12 layers, hidden 768, 12 heads of 64, FFN 3072, vocab 250002)
//   xlmr-large  bge-reranker-large     (XLM-R: 24 layers, hidden 1024, 16 heads of 64, FFN 4096, vocab 250002)
//   modernbert  gte-reranker-modernbert-base (ModernBERT: 22 layers, hidden 768, 12 heads of 64, GeGLU FFN 1152,
//               global attention every 3rd layer, the others a 128-token window, RoPE, vocab 50368, mean pooling)
// Pairs: a 16-token query + 32..240 document tokens (uniform). Tokenization excluded on both sides (ids given);
// ours includes the upload of the ids, PyTorch's does not.
//   ours       packed tokens, batches of 512 through the GPU pipeline, top-10 at the end (wall time per call)
//   pad-256    PyTorch fp16 SDPA, every pair padded to 256, batches of 512 (the seed's way)
//   sorted     PyTorch, pairs sorted by length, each batch padded to its own longest
// Also: the share of the FLOP floor (useful FLOPs over real tokens only, at the fp16 dense GEMM rate measured by
// torch.matmul on this device at the start of the run; BENCH_FLOOR_TFLOPS overrides it), and the CUDA backend's device memory at batch 512 x 256 tokens (session.memoryBytes,
// the sum of its allocations, less the weights).
// Calls of up to 128 documents (one batch) also run on a second session with CUDA graphs off, in the same run.
// Environment: BENCH_MODELS="minilm-l6,xlmr-base,xlmr-large", BENCH_DOCS="10,100,1000,5000", BENCH_REPEATS (calls
// per size; default 30 / 10 / 5 for 100 / 1000 / 5000 documents), BENCH_TORCH=0 (ours only, e.g. under ncu),
// BENCH_OUT (folder for bench-encoder.json / .md / .svg; default $OUT, else none).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from '../dist/binding/loader.js';
import { readModelConfig } from '../dist/model/config.js';
import { planModel } from '../dist/model/plan.js';
import { writeTinyModel } from '../dist/tiny-models/generate.js';
import { barChartSvg } from './chart.mjs';
import { median, percentile, seededRandom } from './measure.mjs';

const addon = loadAddon();
const info = addon.systemInfo();
if (!info.backends.includes('cuda') || info.cuda.devices.length === 0) {
  console.log(`bench:encoder skipped: ${info.cuda.devices.length === 0 ? `no CUDA device (${info.cuda.error ?? 'none found'})` : 'no CUDA backend in this build'}`);
  process.exit(0);
}

const MODELS = {
  'minilm-l6': { label: 'MiniLM-L6-H384', vocabSize: 30522,
    spec: { family: 'bert', seed: 5, hiddenSize: 384, numHeads: 12, numLayers: 6, intermediateSize: 1536, numLabels: 1, hiddenAct: 'gelu', dtype: 'F16' } },
  'xlmr-base': { label: 'XLM-R base', vocabSize: 250002,
    spec: { family: 'xlm-roberta', seed: 6, hiddenSize: 768, numHeads: 12, numLayers: 12, intermediateSize: 3072, numLabels: 1, hiddenAct: 'gelu', dtype: 'F16' } },
  'xlmr-large': { label: 'XLM-R large', vocabSize: 250002,
    spec: { family: 'xlm-roberta', seed: 7, hiddenSize: 1024, numHeads: 16, numLayers: 24, intermediateSize: 4096, numLabels: 1, hiddenAct: 'gelu', dtype: 'F16' } },
  'modernbert': { label: 'ModernBERT base (gte-reranker)', vocabSize: 50368,
    spec: { family: 'modernbert', seed: 8, hiddenSize: 768, numHeads: 12, numLayers: 22, intermediateSize: 1152, numLabels: 1, hiddenAct: 'gelu', dtype: 'F16',
      modernbert: { globalEvery: 3, localAttention: 128, pooling: 'mean', biases: false, transformers5Config: false } } },
};
const QUERY_TOKENS = 16;
// The fp16 dense GEMM rate of this device, measured now (8192^3 torch.matmul, median of 20 after warm-up).
function measuredGemmRate() {
  if (process.env.BENCH_FLOOR_TFLOPS) return { flops: Number(process.env.BENCH_FLOOR_TFLOPS) * 1e12, how: 'BENCH_FLOOR_TFLOPS' };
  try {
    const script = 'import torch,statistics\nn=8192\na=torch.randn(n,n,device="cuda",dtype=torch.float16)\nb=torch.randn(n,n,device="cuda",dtype=torch.float16)\n' +
      'for _ in range(5): a@b\nts=[]\nfor _ in range(20):\n  s=torch.cuda.Event(enable_timing=True);e=torch.cuda.Event(enable_timing=True);s.record();a@b;e.record();e.synchronize();ts.append(s.elapsed_time(e))\n' +
      'print(2*n**3/(statistics.median(ts)/1e3))';
    return { flops: Number(execFileSync('python3', ['-c', script], { encoding: 'utf8' }).trim()), how: 'torch.matmul fp16 8192^3, this run' };
  } catch (error) {
    return { flops: 746e12, how: `not measured (${error.message.split('\n')[0]}); the H100's 746 TFLOP/s` };
  }
}
const GEMM_RATE = measuredGemmRate();
const FLOOR_FLOPS = GEMM_RATE.flops;
console.error(`FLOP floor rate: ${(FLOOR_FLOPS / 1e12).toFixed(0)} TFLOP/s (${GEMM_RATE.how})`);
const BATCH = 512;
const MAX_LENGTH = 256;
const GRAPH_MAX_DOCS = 128;  // the CUDA backend's graph limit (kGraphMaxSequences)
const names = (process.env.BENCH_MODELS ?? Object.keys(MODELS).join(',')).split(',').filter(Boolean);
for (const n of names) if (!MODELS[n]) throw new Error(`unknown model ${n}: one of ${Object.keys(MODELS).join(', ')}`);
const SIZES = (process.env.BENCH_DOCS ?? '10,100,1000,5000').split(',').map(Number);
const repeatsFor = (count) => Number(process.env.BENCH_REPEATS ?? (count <= 100 ? 30 : count <= 1000 ? 10 : 5));
const WITH_TORCH = process.env.BENCH_TORCH !== '0';
const OUT = process.env.BENCH_OUT ?? process.env.OUT;


const random = seededRandom(31);

function makeCall(dir, count, vocab, spec) {
  const lengths = Int32Array.from({ length: count }, () => QUERY_TOKENS + 32 + Math.floor(random() * 209));
  const offsets = new Int32Array(count + 1);
  lengths.forEach((l, i) => (offsets[i + 1] = offsets[i] + l));
  const ids = Int32Array.from({ length: offsets[count] }, () => 5 + Math.floor(random() * (vocab - 5)));
  const cls = { bert: 101, 'xlm-roberta': 0, modernbert: 50281 }[spec.family];
  for (let i = 0; i < count; i++) ids[offsets[i]] = cls;  // [CLS] / <s>
  const typeIds = new Uint8Array(ids.length);
  if (spec.family === 'bert') for (let i = 0; i < count; i++) typeIds.fill(1, offsets[i] + QUERY_TOKENS, offsets[i + 1]);
  const file = join(dir, `ids-${count}.bin`);
  writeFileSync(file, Buffer.from(Int32Array.from([count, ...lengths, ...ids]).buffer));
  // Useful FLOPs: 2 per multiply-add over real tokens (all layers in full); attention 2 x 2 x (query, key) pairs x
  // hidden, the pairs within the window on ModernBERT's sliding layers; GeGLU's Wi is 2 x FFN wide.
  const h = spec.hiddenSize, ffn = spec.intermediateSize;
  const m = spec.modernbert;
  const dense = m ? 4 * h * h + 3 * h * ffn : 4 * h * h + 2 * h * ffn;
  const windowPairs = (l, w) => {
    let n = 0;
    for (let i = 0; i < l; i++) n += Math.min(l - 1, i + w) - Math.max(0, i - w) + 1;
    return n;
  };
  let flops = 0;
  for (const l of lengths) {
    for (let layer = 0; layer < spec.numLayers; layer++) {
      const pairs = m && layer % m.globalEvery !== 0 ? windowPairs(l, m.localAttention / 2) : l * l;
      flops += 2 * l * dense + 4 * pairs * h;
    }
  }
  return { count, lengths, offsets, ids, typeIds, file, flops, repeats: repeatsFor(count) };
}

async function benchModel(name, dir) {
  const { label, vocabSize, spec } = MODELS[name];
  const started = Date.now();
  const modelDir = await writeTinyModel(join(dir, name), spec, { vocabSize });
  const plan = await planModel(modelDir, await readModelConfig(modelDir));
  console.error(`${name}: model written in ${((Date.now() - started) / 1e3).toFixed(1)} s`);
  const calls = SIZES.map((count) => makeCall(dir, count, vocabSize, spec));
  const torch = !WITH_TORCH ? calls.map(() => null) : JSON.parse(execFileSync('python3',
    [new URL('./encoder_torch.py', import.meta.url).pathname, modelDir, ...calls.map((c) => `${c.file}:${c.repeats}`)],
    { encoding: 'utf8', maxBuffer: 1 << 24, stdio: ['ignore', 'pipe', 'inherit'] }));

  const load = (cudaGraphs) => addon.loadSession(plan, { backend: 'cuda', dtype: 'fp16', maxLength: MAX_LENGTH, maxBatchSize: BATCH, concurrency: 1, cudaGraphs });
  const session = await load(true);
  // Calls of up to GRAPH_MAX_DOCS pairs replay CUDA graphs; the same calls without them, for the comparison.
  const direct = calls.some((c) => c.count <= GRAPH_MAX_DOCS) ? await load(false) : null;
  const weightBytes = Object.values(plan.tensors).reduce((sum, t) => sum + 2 * t.shape.reduce((a, b) => a * b, 1), 0);
  const memory = { sessionBytes: session.memoryBytes, weightBytes, activationBytes: session.memoryBytes - weightBytes, batch: BATCH, maxLength: MAX_LENGTH };
  const rows = [];
  try {
    for (const [i, c] of calls.entries()) {
      const once = async (session) => {
        const start = process.hrtime.bigint();
        const request = session.createRequest(c.count, 'sigmoid');
        for (let first = 0; first < c.count; first += BATCH) {
          const end = Math.min(c.count, first + BATCH);
          const base = c.offsets[first];
          await request.submit(c.ids.subarray(base, c.offsets[end]), c.typeIds.subarray(base, c.offsets[end]),
            c.offsets.subarray(first, end + 1).map((o) => o - base), first);
        }
        await request.finish(10);
        return Number(process.hrtime.bigint() - start) / 1e6;
      };
      const measure = async (session) => {
        for (let w = 0; w < 3; w++) await once(session);
        const times = [];
        for (let r = 0; r < c.repeats; r++) times.push(await once(session));
        return times;
      };
      const ours = await measure(session);
      const ungraphed = c.count <= GRAPH_MAX_DOCS && direct ? await measure(direct) : null;
      const t = torch[i];
      rows.push({
        docs: c.count, tokens: c.ids.length, repeats: c.repeats,
        oursMs: median(ours), oursP99Ms: percentile(ours, 99), oursNoGraphsMs: ungraphed ? median(ungraphed) : null,
        torchPaddedMs: t ? median(t.padded) : null, torchSortedMs: t ? median(t.sorted) : null,
        floorMs: (c.flops / FLOOR_FLOPS) * 1e3,
      });
    }
  } finally {
    await session.close();
    await direct?.close();
  }
  return { name, label, spec: { ...spec, vocabSize }, rows, memory };
}

const fmt = (x, digits = 2) => (x == null ? '–' : x.toFixed(digits));
function markdown(result) {
  const lines = [`Device: ${result.device}. Random weights, fp16; pairs of a 16-token query + 32..240 document tokens; ` +
    'ids given (tokenization excluded). Median (upper middle for an even count) and p99 (with under 100 calls: ' +
    `their maximum) wall time per call; PyTorch ${result.torch} in the same run. Floor: the full encoder's FLOPs ` +
    `over real tokens at ${result.floorTflops.toFixed(0)} TFLOP/s (${result.floorHow}); the BERT and XLM-R forward skips the last layer's rows ` +
    'the classifier does not read, which counts in its favour (about 14% of the FLOPs for MiniLM-L6, 7% for XLM-R base, 3.5% for large; ' +
    'ModernBERT with mean pooling reads every row).', '',
    '| model | docs | ours ms (p99) | ours without CUDA graphs ms | ours docs/s | torch pad-256 ms | torch sorted ms | vs pad-256 | vs sorted | share of floor |',
    '|---|---|---|---|---|---|---|---|---|---|'];
  for (const m of result.models) {
    for (const r of m.rows) {
      lines.push(`| ${m.label} | ${r.docs} | ${fmt(r.oursMs)} (${fmt(r.oursP99Ms)}) | ${fmt(r.oursNoGraphsMs)} | ${Math.round((r.docs * 1e3) / r.oursMs)} | ` +
        `${fmt(r.torchPaddedMs)} | ${fmt(r.torchSortedMs)} | ${r.torchPaddedMs ? fmt(r.torchPaddedMs / r.oursMs) + 'x' : '–'} | ` +
        `${r.torchSortedMs ? fmt(r.torchSortedMs / r.oursMs) + 'x' : '–'} | ${fmt((100 * r.floorMs) / r.oursMs, 1)}% |`);
    }
  }
  lines.push('', '| model | device memory at 512 x 256 tokens, one slot | weights (fp16) | activations + scratch |', '|---|---|---|---|');
  for (const m of result.models) {
    const gb = (b) => (b / 2 ** 30).toFixed(2) + ' GiB';
    lines.push(`| ${m.label} | ${gb(m.memory.sessionBytes)} | ${gb(m.memory.weightBytes)} | ${gb(m.memory.activationBytes)} |`);
  }
  return lines.join('\n') + '\n';
}

const dir = mkdtempSync(join(tmpdir(), 'trt-rerank-encoder-'));
try {
  const models = [];
  for (const name of names) {
    models.push(await benchModel(name, dir));
    rmSync(join(dir, name), { recursive: true, force: true });
  }
  const torchVersion = WITH_TORCH ? execFileSync('python3', ['-c', 'import torch, transformers; print(f"torch {torch.__version__}, transformers {transformers.__version__}")'], { encoding: 'utf8' }).trim() : 'not run';
  const result = { device: info.cuda.devices[0].name, date: new Date().toISOString(), command: 'bash .gpu/run "npm run bench" (bench/encoder.mjs)', torch: torchVersion,
    floorTflops: FLOOR_FLOPS / 1e12, floorHow: GEMM_RATE.how, models };
  const md = markdown(result);
  console.log(`\nbench:encoder\n\n${md}`);
  if (OUT) {
    writeFileSync(join(OUT, 'bench-encoder.json'), JSON.stringify(result, null, 2));
    writeFileSync(join(OUT, 'bench-encoder.md'), `# CUDA backend vs PyTorch (bench/encoder.mjs)\n\nCommand: \`${result.command}\`, ${result.date}.\n\n${md}`);
    writeFileSync(join(OUT, 'bench-encoder.svg'), barChartSvg({
      title: `Documents per second, ${result.device}, fp16 (log scale)`,
      groups: models.flatMap((m) => m.rows.map((r) => ({ label: `${m.label}, ${r.docs} docs`, values: [
        (r.docs * 1e3) / r.oursMs, r.torchSortedMs ? (r.docs * 1e3) / r.torchSortedMs : null, r.torchPaddedMs ? (r.docs * 1e3) / r.torchPaddedMs : null] }))),
      series: ['trt-rerank CUDA backend', 'PyTorch, length-sorted', 'PyTorch, pad to 256'],
      footnote: `bench/encoder.mjs, ${result.date.slice(0, 10)}; ${result.torch}`,
    }));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
