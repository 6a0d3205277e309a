#!/usr/bin/env node
// npm run bench:encoder (GPU machine) — the CUDA backend beside PyTorch on the same random-weight files and the
// same token ids, in the same run. Model: MiniLM-L6-H384 shapes (ms-marco-MiniLM-L-6-v2: 6 layers, hidden 384,
// 12 heads of 32, FFN 1536). Pairs: a 16-token query + 32..240 document tokens. Tokenization excluded on both
// sides (ids given); ours includes the upload of the ids, PyTorch's does not.
//   ours      packed tokens, batches of 512 through the GPU pipeline, top-10 at the end (wall time per call)
//   padded    PyTorch fp16 SDPA, pad to 256 (the seed's way)     sorted  PyTorch, length-sorted batches
// Also the share of the FLOP floor: useful FLOPs (real tokens only) at 746 TFLOP/s (fp16 dense, H100 measured).
// Writes $OUT/bench-encoder.json when OUT is set. BENCH_DOCS="100,1000" sets the call sizes.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon } from '../dist/binding/loader.js';
import { readModelConfig } from '../dist/model/config.js';
import { planModel } from '../dist/model/plan.js';
import { writeTinyModel } from '../dist/tiny-models/generate.js';

const addon = loadAddon();
const info = addon.systemInfo();
if (!info.backends.includes('cuda') || info.cuda.devices.length === 0 || !info.cublasLt.found) {
  console.log(`bench:encoder skipped: ${info.cuda.devices.length === 0 ? `no CUDA device (${info.cuda.error ?? 'none found'})` : info.cublasLt.error ?? 'no CUDA backend in this build'}`);
  process.exit(0);
}
const REPEATS = Number(process.env.BENCH_REPEATS ?? 10);
const WITH_TORCH = process.env.BENCH_TORCH !== '0';  // BENCH_TORCH=0: ours only (profiling under ncu)
const SIZES = (process.env.BENCH_DOCS ?? '100,1000').split(',').map(Number);
const FLOOR_FLOPS = 746e12;
const SPEC = { family: 'bert', seed: 5, hiddenSize: 384, numHeads: 12, numLayers: 6, intermediateSize: 1536, numLabels: 1, hiddenAct: 'gelu', dtype: 'F32' };
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length * p) / 100))];

let seed = 31;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

const dir = mkdtempSync(join(tmpdir(), 'trt-rerank-encoder-'));
try {
  const modelDir = await writeTinyModel(join(dir, 'minilm-l6-shape'), SPEC);
  const config = await readModelConfig(modelDir);
  const plan = await planModel(modelDir, config);
  const vocab = plan.vocabSize;
  const calls = SIZES.map((count) => {
    const lengths = Int32Array.from({ length: count }, () => 16 + 32 + Math.floor(random() * 209));
    const offsets = new Int32Array(count + 1);
    lengths.forEach((l, i) => (offsets[i + 1] = offsets[i] + l));
    const ids = Int32Array.from({ length: offsets[count] }, () => 5 + Math.floor(random() * (vocab - 5)));
    const typeIds = new Uint8Array(ids.length);
    for (let i = 0; i < count; i++) typeIds.fill(1, offsets[i] + 16, offsets[i + 1]);
    const file = join(dir, `ids-${count}.bin`);
    writeFileSync(file, Buffer.from(Int32Array.from([count, ...lengths, ...ids]).buffer));
    // Useful FLOPs: 2 per multiply-add over real tokens; attention 2 x 2 x len^2 x hidden per layer.
    const h = SPEC.hiddenSize, ffn = SPEC.intermediateSize;
    let flops = 0;
    for (const l of lengths) flops += SPEC.numLayers * (2 * l * (4 * h * h + 2 * h * ffn) + 4 * l * l * h);
    return { count, lengths, offsets, ids, typeIds, file, flops };
  });

  const torch = !WITH_TORCH ? calls.map(() => ({ padded: [NaN], sorted: [NaN] })) : JSON.parse(execFileSync('python3', [new URL('./encoder_torch.py', import.meta.url).pathname, modelDir, String(REPEATS), ...calls.map((c) => c.file)],
    { encoding: 'utf8', maxBuffer: 1 << 24 }));

  const session = await addon.loadSession(plan, { backend: 'cuda', dtype: 'fp16', maxLength: 256, maxBatchSize: 512, concurrency: 1 });
  const rows = [];
  try {
    for (const [i, c] of calls.entries()) {
      const once = async () => {
        const start = process.hrtime.bigint();
        const request = session.createRequest(c.count, 'sigmoid');
        for (let first = 0; first < c.count; first += 512) {
          const end = Math.min(c.count, first + 512);
          const base = c.offsets[first];
          await request.submit(c.ids.subarray(base, c.offsets[end]), c.typeIds.subarray(base, c.offsets[end]),
            c.offsets.subarray(first, end + 1).map((o) => o - base), first);
        }
        await request.finish(10);
        return Number(process.hrtime.bigint() - start) / 1e6;
      };
      for (let w = 0; w < Math.min(3, REPEATS); w++) await once();
      const ours = [];
      for (let r = 0; r < (c.count <= 100 ? 5 * REPEATS : REPEATS); r++) ours.push(await once());
      const t = torch[i];
      const floorMs = (c.flops / FLOOR_FLOPS) * 1e3;
      rows.push({
        docs: c.count,
        oursMs: median(ours), oursP99Ms: percentile(ours, 99),
        torchPaddedMs: median(t.padded), torchSortedMs: median(t.sorted),
        floorMs,
      });
    }
  } finally {
    await session.close();
  }
  const device = info.cuda.devices[0].name;
  console.log(`\nbench:encoder: ${device}; MiniLM-L6-H384 shapes, random weights, fp16; query 16 + documents 32..240 tokens; median of ${REPEATS}+ calls\n`);
  console.log('| docs | ours ms (p99) | ours docs/s | torch pad-256 ms | torch sorted ms | ours vs pad-256 | ours vs sorted | share of FLOP floor |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.docs} | ${r.oursMs.toFixed(2)} (${r.oursP99Ms.toFixed(2)}) | ${Math.round((r.docs * 1e3) / r.oursMs)} | ${r.torchPaddedMs.toFixed(2)} | ` +
      `${r.torchSortedMs.toFixed(2)} | ${(r.torchPaddedMs / r.oursMs).toFixed(2)}x | ${(r.torchSortedMs / r.oursMs).toFixed(2)}x | ${((100 * r.floorMs) / r.oursMs).toFixed(1)}% |`);
  }
  if (process.env.OUT) writeFileSync(join(process.env.OUT, 'bench-encoder.json'), JSON.stringify({ device, spec: SPEC, repeats: REPEATS, rows }, null, 2));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
