#!/usr/bin/env node
// npm run bench:pipeline (GPU machine) — does the GPU pipeline keep the backend busy?
//
// With the gpu-test backend given a fixed cost per token (spinPerToken), compare in the same run:
//   alone     the backend enqueued back to back on one batch already on the device (CUDA events): the bound
//   pipeline  a request of BATCHES x 512 pre-tokenized pairs through submit()/finish(topK 10): pinned staging,
//             H2D copy on the copy stream, activation + scatter into the score buffer, top-k, 10 results back
//   serial    the same batches, one request per batch (submit then finish): no overlap between host work,
//             upload and compute, for contrast
// Target (issue 4): pipeline >= 0.95 x alone. Pairs are 16 query tokens + 32..240 document tokens, as in
// the backend benchmarks. Writes $OUT/bench-pipeline.json when OUT is set.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAddon, preferTestingAddon, testingUnavailable } from '../dist/binding/loader.js';
import { median, seededRandom } from './measure.mjs';

preferTestingAddon();  // addon.testing and the gpu-test backend are in the testing addon only
const addon = loadAddon();
const info = addon.systemInfo();
const skip = testingUnavailable(addon) || (info.cuda.devices.length === 0 ? `no CUDA device (${info.cuda.error ?? 'none found'})` : '');
if (skip) {
  console.log(`bench:pipeline skipped: ${skip}`);
  process.exit(0);
}

const BATCH = 512;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 40);
const REPEATS = 5;
async function repeat(fn) {
  const xs = [];
  for (let r = 0; r < REPEATS; r++) xs.push(await fn());
  return xs;
}

const random = seededRandom(99);
function makeBatch() {
  const offsets = new Int32Array(BATCH + 1);
  for (let i = 0; i < BATCH; i++) offsets[i + 1] = offsets[i] + 16 + 32 + Math.floor(random() * 209);
  const ids = Int32Array.from({ length: offsets[BATCH] }, () => Math.floor(random() * 30522));
  const typeIds = Uint8Array.from({ length: ids.length }, () => (random() < 0.3 ? 0 : 1));
  return { ids, typeIds, offsets };
}
const batches = Array.from({ length: 8 }, makeBatch);
const tokensPerBatch = batches.reduce((s, b) => s + b.ids.length, 0) / batches.length;

async function alone(options) {
  const per = [];
  for (const b of batches.slice(0, 3)) per.push(await addon.testing.benchTestBackend(b.ids, b.typeIds, b.offsets, options, 20));
  return per.reduce((a, b) => a + b) / per.length; // µs per batch
}

async function pipeline(session) {
  const request = session.createRequest(BATCHES * BATCH, 'sigmoid');
  const start = process.hrtime.bigint();
  for (let i = 0; i < BATCHES; i++) {
    const b = batches[i % batches.length];
    await request.submit(b.ids, b.typeIds, b.offsets, i * BATCH);
  }
  await request.finish(10);
  return Number(process.hrtime.bigint() - start) / 1e3 / BATCHES; // µs per batch
}

async function serial(session) {
  const start = process.hrtime.bigint();
  for (let i = 0; i < BATCHES; i++) {
    const b = batches[i % batches.length];
    const request = session.createRequest(BATCH, 'sigmoid');
    await request.submit(b.ids, b.typeIds, b.offsets, 0);
    await request.finish(10);
  }
  return Number(process.hrtime.bigint() - start) / 1e3 / BATCHES;
}

// Backend costs: calibrated so the backend alone takes about 0.5, 2 and 8 ms per batch of 512.
const probe = await alone({ layout: 'packed', spinPerToken: 1000 });
const rows = [];
for (const targetMs of [0.5, 2, 8]) {
  const spinPerToken = Math.max(1, Math.round((1000 * targetMs * 1000) / probe));
  for (const layout of ['packed', 'padded']) {
    const options = { layout, spinPerToken };
    const aloneMicros = await alone(options);
    const session = await addon.loadSession(null, { backend: 'gpu-test', ...options, maxLength: 512 });
    try {
      await pipeline(session); // warm-up: first-touch of staging and score buffers
      const pipeMicros = median(await repeat(() => pipeline(session)));
      const serialMicros = median(await repeat(() => serial(session)));
      rows.push({
        layout, spinPerToken, aloneMicros, pipeMicros, serialMicros,
        aloneDocsPerSec: (BATCH * 1e6) / aloneMicros,
        pipeDocsPerSec: (BATCH * 1e6) / pipeMicros,
        serialDocsPerSec: (BATCH * 1e6) / serialMicros,
        ratio: aloneMicros / pipeMicros,
        serialRatio: aloneMicros / serialMicros,
      });
    } finally {
      await session.close();
    }
  }
}

const device = info.cuda.devices[0].name;
console.log(`\nbench:pipeline: ${device}; batches of ${BATCH} pairs, ${Math.round(tokensPerBatch)} tokens per batch on average; ` +
  `pipeline = one request of ${BATCHES} batches + top-10; median of ${REPEATS}\n`);
console.log('| layout | backend alone ms/batch | pipeline ms/batch | pipeline / alone | serial ms/batch | serial / alone |');
console.log('|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.layout} | ${(r.aloneMicros / 1e3).toFixed(3)} | ${(r.pipeMicros / 1e3).toFixed(3)} | ${r.ratio.toFixed(3)} | ` +
    `${(r.serialMicros / 1e3).toFixed(3)} | ${r.serialRatio.toFixed(3)} |`);
}
if (process.env.OUT) {
  writeFileSync(join(process.env.OUT, 'bench-pipeline.json'),
    JSON.stringify({ device, batch: BATCH, batches: BATCHES, tokensPerBatch, repeats: REPEATS, rows }, null, 2));
}
