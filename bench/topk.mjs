#!/usr/bin/env node
// npm run bench:topk (GPU machine) — trt-rerank's CUDA top-k beside torch.topk on the same data in the same
// run: N = 1k, 100k, 1M, 10M; k = 10, 100, 1000. Median of CUDA-event timings per call (one call = the whole
// top-k on a device buffer, nothing copied). Writes $OUT/bench-topk.json when OUT is set.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAddon, preferTestingAddon, testingUnavailable } from '../dist/binding/loader.js';
import { median, seededRandom } from './measure.mjs';

preferTestingAddon();  // addon.testing and the gpu-test backend are in the testing addon only
const addon = loadAddon();
const info = addon.systemInfo();
const skip = testingUnavailable(addon) || (info.cuda.devices.length === 0 ? `no CUDA device (${info.cuda.error ?? 'none found'})` : '');
if (skip) {
  console.log(`bench:topk skipped: ${skip}`);
  process.exit(0);
}
const ITERATIONS = 50;
const SIZES = [1_000, 100_000, 1_000_000, 10_000_000];
const KS = [10, 100, 1000];

const random = seededRandom(7);
const dir = mkdtempSync(join(tmpdir(), 'trt-rerank-topk-'));
const rows = [];
try {
  const files = [];
  const data = {};
  for (const n of SIZES) {
    const scores = Float32Array.from({ length: n }, () => random() * 20 - 10);
    const path = join(dir, `scores-${n}.f32`);
    writeFileSync(path, Buffer.from(scores.buffer));
    files.push(`${path}:${KS.join(',')}`);
    data[n] = scores;
  }
  const torch = JSON.parse(execFileSync('python3', [new URL('./topk_torch.py', import.meta.url).pathname, String(ITERATIONS), ...files], { encoding: 'utf8', maxBuffer: 1 << 24 }));
  for (const n of SIZES) {
    for (const k of KS) {
      const ours = median(await addon.testing.benchTopK(data[n], k, ITERATIONS));
      const theirs = median(torch[`${n},${k}`]);
      rows.push({ n, k, oursMicros: ours, torchMicros: theirs, speedup: theirs / ours });
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const device = info.cuda.devices[0].name;
console.log(`\nbench:topk: ${device}, median of ${ITERATIONS} calls each (CUDA events), random float32 scores\n`);
console.log('| N | k | trt-rerank µs | torch.topk µs | torch / ours |\n|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.n} | ${r.k} | ${r.oursMicros.toFixed(1)} | ${r.torchMicros.toFixed(1)} | ${r.speedup.toFixed(2)} |`);
if (process.env.OUT) writeFileSync(join(process.env.OUT, 'bench-topk.json'), JSON.stringify({ device, iterations: ITERATIONS, rows }, null, 2));
