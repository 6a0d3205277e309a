#!/usr/bin/env node
// npm run bench:load — `trt-rerank serve` under load, loopback only (autocannon), and the same calls made on the
// library directly, so that what HTTP costs is stated. Three phases each way:
//   concurrent  LOAD_CONNECTIONS connections (default 64), each sending LOAD_DOCS-document requests (default 20)
//               back to back
//   sequential  one connection, the same requests one after another
//   single      one request holding every document of one round of `concurrent` (connections x docs), repeated
//               LOAD_SINGLE_REPEATS times (default 5), one at a time
// Ratios: concurrent docs/s over single-call docs/s (the scheduler batching concurrent calls as well as one big
// call gives ~1), concurrent p99 over the single call's median latency (the same work in flight at once), and
// sequential p99 over p50 (tail stability).
// Bounds: the concurrent phase sends 4 requests per connection and the sequential one 100, or LOAD_REQUESTS each
// where set; every request sent is waited for, so that none is lost at the end. LOAD_SECONDS (default 60) caps each
// phase: past it no request is sent, and autocannon drops those in flight (the row says "capped").
// Model: LOAD_MODEL (a model folder, or minilm-l6: MiniLM-L6 shapes, random weights, real BERT tokenizer) or a generated tiny random-weight BERT (then the numbers measure the server and
// scheduler more than a model); LOAD_BACKEND (default auto). Documents: passages of 120-320 words from the installed
// packages' docs (bench/corpus.mjs), every one sent once before measuring (token cache warm in both modes).
// LOAD_OUT (default $OUT) receives load.json and load.md. Runs from dist/ (npm run build:ts first).
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Reranker } from '../dist/index.js';
import { TINY_MODELS, writeTinyModel } from '../dist/tiny-models/generate.js';
import { loadCorpus } from './corpus.mjs';
import { median, percentile, sharedBertTokenizerDir } from './measure.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = (name, fallback) => (process.env[name] === undefined || process.env[name] === '' ? fallback : Number(process.env[name]));
const CONNECTIONS = env('LOAD_CONNECTIONS', 64);
const DOCS = env('LOAD_DOCS', 20);
const SECONDS = env('LOAD_SECONDS', 60);
const REQUESTS = env('LOAD_REQUESTS', undefined);
/** Requests a phase sends. */
const amount = (phase) => REQUESTS ?? (phase === 'concurrent' ? 4 * CONNECTIONS : 100);
const SINGLE_REPEATS = env('LOAD_SINGLE_REPEATS', 5);
const BACKEND = process.env.LOAD_BACKEND || 'auto';
/** LOAD_WARMUP=0 loads without the GPU warm-up (to measure what it saves on the callers' path). */
const WARMUP = process.env.LOAD_WARMUP !== '0';
const OUT = process.env.LOAD_OUT ?? process.env.OUT;
const QUERY = 'how do I configure the test runner to run only the files that changed since the last commit?';

const tmp = mkdtempSync(join(tmpdir(), 'trt-rerank-load-'));
// LOAD_MODEL=minilm-l6: ms-marco-MiniLM-L-6-v2's shapes with random weights and the real BERT uncased tokenizer
// (bench/end-to-end.mjs's model), the issue's reference load.
const MINILM = { family: 'bert', seed: 5, hiddenSize: 384, numHeads: 12, numLayers: 6, intermediateSize: 1536, numLabels: 1, hiddenAct: 'gelu', dtype: 'F16' };
async function model() {
  if (process.env.LOAD_MODEL !== 'minilm-l6') return process.env.LOAD_MODEL || writeTinyModel(join(tmp, 'tiny-bert'), TINY_MODELS['tiny-bert']);
  const tokenizerDir = sharedBertTokenizerDir(root);
  if (!tokenizerDir) throw new Error('LOAD_MODEL=minilm-l6 needs the BERT uncased tokenizer at ../shared/models/bert-base-uncased-tokenizer (or .cache/shared-models)');
  return writeTinyModel(join(tmp, 'minilm-l6'), MINILM, { tokenizerDir });
}
const modelDir = await model();
const corpus = loadCorpus(root, CONNECTIONS * DOCS);
/** Request i of the concurrent and sequential phases: slice i mod CONNECTIONS of the corpus. */
const slices = Array.from({ length: CONNECTIONS }, (_, i) => corpus.slice(i * DOCS, (i + 1) * DOCS));
const bounded = `${amount('concurrent')} concurrent and ${amount('sequential')} sequential requests, at most ${SECONDS} s a phase`;

/** One phase's row: what was done and how fast. */
function row(mode, phase, requests, docsPerRequest, seconds, latencies, errors, capped = false) {
  return {
    mode, phase, requests, errors, capped,
    rps: requests / seconds,
    docsPerSecond: (requests * docsPerRequest) / seconds,
    p50: latencies.p50, p99: latencies.p99,
  };
}

// ---- HTTP: a `trt-rerank serve` child process ----

async function startServer() {
  const child = spawn(process.execPath, [join(root, 'dist', 'cli.js'), 'serve', '--model', modelDir, '--backend', BACKEND, '--port', '0', ...(WARMUP ? [] : ['--no-warmup']),
    '--max-documents', String(Math.max(10_000, CONNECTIONS * DOCS)), '--max-body-bytes', String(256 * 1024 * 1024)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+) \((.*)\)/.exec(out);
      if (m) resolve(m[1]);
    });
    exited.then((code) => reject(new Error(`trt-rerank serve exited with ${code} before listening`)));
  });
  return { url, child, exited };
}

const body = (docs) => JSON.stringify({ query: QUERY, documents: docs });

async function cannon(url, connections, requests) {
  let next = 0;
  const instance = autocannon({
    url: `${url}/v2/rerank`,
    connections,
    pipelining: 1,
    timeout: 120,
    amount: requests,
    requests: [{
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: body(slices[next++ % slices.length]) }),
    }],
  });
  // autocannon's own summary rounds: its latencies to whole ms, its duration to its sampling ticks. Each response's
  // time (hrtime, ms) and the phase's wall time are taken here instead.
  const latencies = [];
  instance.on('response', (_client, _status, _bytes, ms) => latencies.push(ms));
  const start = performance.now();
  const cap = setTimeout(() => instance.stop(), SECONDS * 1000);
  const result = await instance;
  const seconds = (performance.now() - start) / 1000;
  clearTimeout(cap);
  const done = result['2xx'];
  const errors = result.non2xx + result.errors;
  return { done, errors, capped: done + result.non2xx < requests, seconds, latencies: { p50: median(latencies), p99: percentile(latencies, 99) } };
}

async function timeMs(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function httpPhases() {
  const server = await startServer();
  try {
    const post = async (docs) => {
      const res = await fetch(`${server.url}/v2/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(docs) });
      if (res.status !== 200) throw new Error(`warm-up: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    await post(corpus);  // warm-up: every document tokenized and cached, workers started
    const rows = [];
    const c = await cannon(server.url, CONNECTIONS, amount('concurrent'));
    rows.push(row('http', 'concurrent', c.done, DOCS, c.seconds, c.latencies, c.errors, c.capped));
    const s = await cannon(server.url, 1, amount('sequential'));
    rows.push(row('http', 'sequential', s.done, DOCS, s.seconds, s.latencies, s.errors, s.capped));
    const single = [];
    for (let i = 0; i < SINGLE_REPEATS; i++) single.push(await timeMs(() => post(corpus)));
    rows.push(row('http', 'single', single.length, corpus.length, single.reduce((a, b) => a + b, 0) / 1000, { p50: median(single), p99: percentile(single, 99) }, 0));
    const info = await (await fetch(`${server.url}/info`)).json();
    return { rows, info: info.reranker };
  } finally {
    server.child.kill('SIGTERM');
    await server.exited;
  }
}

// ---- the library directly, in this process ----

/** `workers` loops of rerank calls, each awaiting its own, until `requests` were sent or the cap passed; latencies in ms. */
async function loops(reranker, workers, requests) {
  const latencies = [];
  const until = performance.now() + SECONDS * 1000;
  let issued = 0;
  const more = () => issued < requests && performance.now() < until;
  const start = performance.now();
  await Promise.all(Array.from({ length: workers }, async () => {
    while (more()) {
      const docs = slices[issued++ % slices.length];
      latencies.push(await timeMs(() => reranker.rerank(QUERY, docs)));
    }
  }));
  return { done: latencies.length, capped: issued < requests, seconds: (performance.now() - start) / 1000, latencies: { p50: median(latencies), p99: percentile(latencies, 99) } };
}

async function libraryPhases() {
  const reranker = await Reranker.load(modelDir, { backend: BACKEND, warmup: WARMUP });
  try {
    await reranker.rerank(QUERY, corpus);  // warm-up, as for the server
    const rows = [];
    const c = await loops(reranker, CONNECTIONS, amount('concurrent'));
    rows.push(row('library', 'concurrent', c.done, DOCS, c.seconds, c.latencies, 0, c.capped));
    const s = await loops(reranker, 1, amount('sequential'));
    rows.push(row('library', 'sequential', s.done, DOCS, s.seconds, s.latencies, 0, s.capped));
    const single = [];
    for (let i = 0; i < SINGLE_REPEATS; i++) single.push(await timeMs(() => reranker.rerank(QUERY, corpus)));
    rows.push(row('library', 'single', single.length, corpus.length, single.reduce((a, b) => a + b, 0) / 1000, { p50: median(single), p99: percentile(single, 99) }, 0));
    return rows;
  } finally {
    await reranker.close();
  }
}

// ---- report ----

function ratios(rows, mode) {
  const get = (phase) => rows.find((r) => r.mode === mode && r.phase === phase);
  const [c, s, one] = [get('concurrent'), get('sequential'), get('single')];
  return { mode, throughput: c.docsPerSecond / one.docsPerSecond, tail: c.p99 / one.p50, sequentialTail: s.p99 / s.p50 };
}

try {
  // The server and the library never run at once: the HTTP phases end (server stopped) before the library's begin.
  const { rows: httpRows, info } = await httpPhases();
  const rows = [...httpRows, ...(await libraryPhases())];
  const r = [ratios(rows, 'http'), ratios(rows, 'library')];
  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  const seqHttp = rows.find((x) => x.mode === 'http' && x.phase === 'sequential');
  const seqLib = rows.find((x) => x.mode === 'library' && x.phase === 'sequential');
  const lines = [
    `Model ${modelDir} (${info.modelType}, backend ${info.backend}${info.device !== null ? ` device ${info.device}` : ''}, maxLength ${info.maxLength}, warmup ${WARMUP ? 'on' : 'off'}), ` +
      `${availableParallelism()} CPU threads, loopback. ${CONNECTIONS} connections x ${DOCS} documents; phases bounded by ${bounded}; ` +
      `single call: ${corpus.length} documents x ${SINGLE_REPEATS}. Passages of 120-320 words, token cache warm. Latency in ms ` +
      "(http: each response's time as autocannon takes it, hrtime; single: median and p99 of the repeats).", '',
    '| mode | phase | requests | errors | req/s | docs/s | p50 ms | p99 ms |', '|---|---|---|---|---|---|---|---|',
    ...rows.map((x) => `| ${x.mode} | ${x.phase}${x.capped ? ' (capped)' : ''} | ${x.requests} | ${x.errors} | ${f(x.rps)} | ${f(x.docsPerSecond, 0)} | ${f(x.p50)} | ${f(x.p99)} |`), '',
    '| mode | concurrent docs/s / single-call docs/s | concurrent p99 / single-call latency | sequential p99 / p50 |', '|---|---|---|---|',
    ...r.map((x) => `| ${x.mode} | ${f(x.throughput, 2)} | ${f(x.tail, 2)} | ${f(x.sequentialTail, 2)} |`), '',
    `HTTP overhead, sequential ${DOCS}-document requests: p50 ${f(seqHttp.p50)} ms vs ${f(seqLib.p50)} ms on the library ` +
      `(${f(seqHttp.p50 - seqLib.p50)} ms per request); throughput ${f(seqHttp.docsPerSecond / seqLib.docsPerSecond, 2)}x the library's.`,
  ];
  const md = lines.join('\n') + '\n';
  console.log(`\nbench:load\n\n${md}`);
  if (OUT) {
    writeFileSync(join(OUT, 'load.json'), JSON.stringify({ date: new Date().toISOString(), modelDir, backend: info.backend, connections: CONNECTIONS, docs: DOCS, bounded, rows, ratios: r }, null, 2));
    writeFileSync(join(OUT, 'load.md'), `# trt-rerank serve under load (bench/load.mjs)\n\n${md}`);
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
