#!/usr/bin/env node
// `npm run soak`: a bounded soak of the library and of `trt-rerank serve` (issue 15 item 1), against dist/.
//
// Library phase: SOAK_CONCURRENCY (64) async callers in a loop on one Reranker; call sizes log-uniform in
// 1..SOAK_MAX_DOCS (2000) documents drawn from a fixed corpus of varied lengths; SOAK_ABORT_RATE (10%) aborted by an
// AbortController at a random delay, SOAK_TIMEOUT_RATE (5%) with a small timeoutMs (TimeoutError or success); every
// SOAK_RELOAD_EVERY calls a checkpoint: new calls wait until 1 to 16 are left in flight, the Reranker is closed with
// those in flight (each must settle,
// as a success or a ClosedError), memory is sampled, and a new Reranker is loaded.
// Serve phase: `node dist/cli.js serve --model DIR --port 0` as a child; the same callers POST /v2/rerank (Cohere) and
// /rerank (TEI) requests of random sizes, some aborted by the client; checkpoints pause and sample the child's RSS;
// then SIGTERM, which must exit 0.
// Every call that was not aborted, timed out or closed must equal the reference: each query scored against the whole
// corpus once, by a separate Reranker with the same options, before the run. On the CPU scores are bit-identical
// however pairs are batched, so the comparison is exact (SOAK_TOLERANCE 0); on a GPU within SOAK_TOLERANCE (1e-2).
// Fails (exit 1) on: a mismatch, an unexpected error, a call pending longer than SOAK_PENDING_LIMIT_S, RSS or the
// backend's memoryBytes growing more than SOAK_MEMORY_LIMIT (5%) from the sample after warm-up to the last one, serve
// not exiting 0, or resources other than the startup's stdio still open at the end.
// The last line of stdout is `SOAK_SUMMARY {json}` (for test/native/soak.test.ts).
//
// Bounds: SOAK_CALLS (total, both phases; default 2000) and SOAK_SECONDS (default 600), whichever is reached first;
// SOAK_SERVE_SHARE (0.25) of each goes to the serve phase. Run with --expose-gc (as `npm run soak` does) so the
// memory samples follow a full GC.
//   npm run soak                                              # CPU or GPU, whichever 'auto' picks
//   SOAK_BACKEND=cpu SOAK_CALLS=400 SOAK_SECONDS=60 npm run soak
//   SOAK_BACKEND=cuda SOAK_CALLS=10000 SOAK_SECONDS=1800 npm run soak
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { Reranker, AbortError, ClosedError, TimeoutError } = await import(join(ROOT, 'dist', 'index.js'));
const { TINY_MODELS, writeTinyModel } = await import(join(ROOT, 'dist', 'tiny-models', 'generate.js'));

// ---- settings ----
const env = (name, fallback) => {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (typeof fallback === 'number') {
    if (!Number.isFinite(n)) throw new Error(`${name} must be a number, got ${JSON.stringify(v)}`);
    return n;
  }
  return v;
};
const S = {
  backend: env('SOAK_BACKEND', 'auto'),
  model: env('SOAK_MODEL', ''),
  tinyModel: env('SOAK_TINY_MODEL', 'tiny-bert'),
  calls: env('SOAK_CALLS', 2000),
  seconds: env('SOAK_SECONDS', 600),
  serveShare: env('SOAK_SERVE_SHARE', 0.25),
  concurrency: env('SOAK_CONCURRENCY', 64),
  maxDocs: env('SOAK_MAX_DOCS', 2000),
  corpus: env('SOAK_CORPUS', 4000),
  queries: env('SOAK_QUERIES', 6),
  docWords: env('SOAK_DOC_WORDS', 300),
  reloadEvery: env('SOAK_RELOAD_EVERY', 300),
  abortRate: env('SOAK_ABORT_RATE', 0.1),
  timeoutRate: env('SOAK_TIMEOUT_RATE', 0.05),
  tolerance: env('SOAK_TOLERANCE', -1),  // -1: 0 on the CPU, 1e-2 elsewhere
  memoryLimit: env('SOAK_MEMORY_LIMIT', 0.05),
  rssLimit: env('SOAK_RSS_LIMIT', -1),  // -1: SOAK_MEMORY_LIMIT
  warmup: env('SOAK_WARMUP', 0.5),
  pendingLimitS: env('SOAK_PENDING_LIMIT_S', 120),
  threads: env('SOAK_THREADS', 0),  // CPU backend threads; 0: the default (all cores)
  seed: env('SOAK_SEED', 1),
  verbose: env('SOAK_VERBOSE', 0),
};
const rssLimit = S.rssLimit >= 0 ? S.rssLimit : S.memoryLimit;
const loadOptions = { backend: S.backend, ...(S.threads > 0 ? { threads: S.threads } : {}) };
const started = performance.now();
const elapsedS = () => (performance.now() - started) / 1000;
const log = (...args) => console.log(`[soak ${elapsedS().toFixed(1).padStart(6)}s]`, ...args);
// What is open before the run (stdio, once written to): the end must hold no more than this.
log('settings', JSON.stringify(S));
const startupResources = process.getActiveResourcesInfo();

// ---- deterministic randomness ----
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = rng(S.seed);
const logUniform = (lo, hi) => Math.min(hi, Math.floor(Math.exp(Math.log(lo) + random() * (Math.log(hi + 1) - Math.log(lo)))));

// ---- corpus and queries ----
const WORDS = ('berlin paris river museum train people city park market station bridge island the of and a to in is ' +
  'population capital germany france history music art science school water mountain north south east west old new ' +
  'largest small famous built century war peace trade port airport garden tower church castle forest lake sea ' +
  'unbelievably ünïcödé naïve café 東京 données 42 1999 3.14 e-mail self-driving').split(' ');
const sentence = (n) => Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)]).join(' ');
const corpus = Array.from({ length: S.corpus }, (_, i) => (i % 97 === 0 ? '' : sentence(logUniform(1, S.docWords))));
const queries = Array.from({ length: S.queries }, (_, i) => (i === 0 ? 'how many people live in berlin?' : sentence(logUniform(1, 24))));

// ---- counters ----
const counts = {
  library: { calls: 0, ok: 0, aborted: 0, abortedLate: 0, timedOut: 0, timeoutsMet: 0, closed: 0, reloads: 0, mismatches: 0, errors: 0, documents: 0 },
  serve: { calls: 0, ok: 0, aborted: 0, abortedLate: 0, mismatches: 0, errors: 0, documents: 0, exitCode: null },
};
const failures = [];
const fail = (message) => {
  if (failures.length < 50) failures.push(message);
  log('FAIL', message);
};

// ---- every promise settles: a watchdog over the calls pending ----
const pending = new Map();  // id -> { started, what }
let nextPendingId = 0;
async function tracked(what, promise) {
  const id = nextPendingId++;
  pending.set(id, { started: performance.now(), what });
  try {
    return await promise;
  } finally {
    pending.delete(id);
  }
}
const watchdog = setInterval(() => {
  const now = performance.now();
  for (const { started: t, what } of pending.values()) {
    if (now - t > S.pendingLimitS * 1000) {
      fail(`a call has been pending ${((now - t) / 1000).toFixed(1)} s (limit ${S.pendingLimitS} s): ${what}`);
      summary();
      process.exit(1);
    }
  }
  if (elapsedS() > S.seconds + 2 * S.pendingLimitS + 120) {
    fail(`the run took ${elapsedS().toFixed(0)} s, well past SOAK_SECONDS ${S.seconds}`);
    summary();
    process.exit(1);
  }
}, 1000);

// ---- the reference ----
let tolerance = 0;
const reference = { sigmoid: [], none: [] };  // [query][corpus index] as numbers (Float32 values)
const sameScore = (got, want) => (tolerance === 0 ? got === want : Math.abs(got - want) <= tolerance);

/** Checks one call's results against the reference; returns the first discrepancy or undefined. */
function checkResult(kind, q, docIdx, activation, topK, returnDocuments, got) {
  const ref = reference[activation][q];
  if (kind === 'score') {
    if (got.length !== docIdx.length) return `score returned ${got.length} scores for ${docIdx.length} documents`;
    for (let i = 0; i < docIdx.length; i++) {
      if (!sameScore(got[i], ref[docIdx[i]])) return `score[${i}] ${got[i]} != reference ${ref[docIdx[i]]} (corpus ${docIdx[i]})`;
    }
    return undefined;
  }
  const n = docIdx.length;
  const k = Math.min(topK ?? n, n);
  if (got.length !== k) return `rerank returned ${got.length} results, expected ${k}`;
  const seen = new Set();
  for (let i = 0; i < k; i++) {
    const { index, score, document } = got[i];
    if (!Number.isInteger(index) || index < 0 || index >= n || seen.has(index)) return `rerank result ${i} has a bad or repeated index ${index}`;
    seen.add(index);
    if (!sameScore(score, ref[docIdx[index]])) return `rerank result ${i}: index ${index} score ${score} != reference ${ref[docIdx[index]]}`;
    if (returnDocuments && document !== corpus[docIdx[index]]) return `rerank result ${i}: the document is not document ${index}`;
    if (!returnDocuments && document !== undefined) return `rerank result ${i} has a document though none was asked for`;
    if (i > 0) {
      const prev = got[i - 1];
      if (prev.score < score || (prev.score === score && prev.index > index)) return `rerank results ${i - 1}, ${i} out of order`;
    }
  }
  // The chosen are the top k: no document left out scores above the last chosen (ties: a lower index comes first).
  if (k < n && k > 0) {
    const last = got[k - 1];
    for (let j = 0; j < n; j++) {
      if (seen.has(j)) continue;
      const s = ref[docIdx[j]];
      if (tolerance === 0 ? s > last.score || (s === last.score && j < last.index) : s > last.score + tolerance) {
        return `rerank left out document ${j} (score ${s}) though it beats the last chosen ${last.index} (${last.score})`;
      }
    }
  }
  return undefined;
}

/** One random call: which query, documents and options. */
function randomCall() {
  const n = logUniform(1, S.maxDocs);
  const q = Math.floor(random() * queries.length);
  const docIdx = Array.from({ length: n }, () => Math.floor(random() * corpus.length));
  const kind = random() < 0.5 ? 'score' : 'rerank';
  const activation = random() < 0.8 ? 'sigmoid' : 'none';
  const topK = kind === 'rerank' && random() < 0.6 ? 1 + Math.floor(random() * Math.min(n + 5, 50)) : undefined;
  const returnDocuments = kind === 'rerank' && random() < 0.3;
  const abortAfterMs = random() < S.abortRate ? (random() < 0.1 ? 0 : random() * 300) : undefined;
  const timeoutMs = abortAfterMs === undefined && random() < S.timeoutRate / (1 - S.abortRate) ? logUniform(1, 3000) : undefined;
  return { n, q, docIdx, kind, activation, topK, returnDocuments, abortAfterMs, timeoutMs };
}

// ---- memory ----
const gc = globalThis.gc;
async function settleMemory() {
  if (!gc) return;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
  }
}
async function childRss(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
const MiB = (b) => (b === undefined ? 'n/a' : `${(b / 1048576).toFixed(1)} MiB`);
/**
 * Growth from just after warm-up to the end: the median of the quarter of the samples that follows warm-up (the first
 * SOAK_WARMUP, half, of them) against the median of the last quarter. RSS climbs until the heap and the allocator's
 * arenas have met the largest load the random calls make at once, then moves a few percent either way from one
 * checkpoint to the next (which thread lands in which malloc arena); the medians see through that, not through a leak.
 */
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
function memoryVerdict(name, samples, limit) {
  if (samples.length < 4) {
    log(`memory ${name}: ${samples.length} sample(s) (${samples.map(MiB).join(', ')}): too few for a verdict (a checkpoint every SOAK_RELOAD_EVERY calls, and one at the end; 4 or more needed)`);
    return { name, samples, baseline: samples[0], last: samples.at(-1), growth: 0, checked: false };
  }
  const n = samples.length;
  const w = Math.max(1, Math.floor(n / 4));
  const warm = Math.min(n - 1 - w, Math.floor(n * S.warmup));
  const baseline = median(samples.slice(Math.max(0, warm), Math.max(0, warm) + w));
  const last = median(samples.slice(n - w));
  const growth = baseline > 0 ? (last - baseline) / baseline : 0;
  const ok = growth <= limit;
  log(`memory ${name}: after warm-up ${MiB(baseline)}, last ${MiB(last)} (${(growth * 100).toFixed(2)}%; samples ${samples.map(MiB).join(', ')})${ok ? '' : ' FAIL'}`);
  if (!ok) fail(`${name} grew ${(growth * 100).toFixed(2)}% (limit ${(limit * 100).toFixed(0)}%): ${MiB(baseline)} -> ${MiB(last)}`);
  return { name, baseline, last, growth, checked: true, samples };
}

// ---- the callers: a pool with checkpoints every reloadEvery calls ----
/**
 * Runs `concurrency` callers until `target` calls were issued or `deadline` (ms, performance.now) passed. Every
 * `every` calls the caller whose turn it is runs `checkpoint(waitIdle)` instead of a call: new calls wait until it
 * returns; `waitIdle()` resolves once the calls in flight settled.
 */
async function runPool({ target, deadline, every, call, checkpoint }) {
  let issued = 0;
  let inflight = 0;
  let gate;
  let idleWaiters = [];  // [at most this many in flight, resolve]
  /** Resolves once at most `most` calls are in flight (0: all settled). */
  const waitIdle = (most = 0) => (inflight <= most ? Promise.resolve() : new Promise((resolve) => idleWaiters.push([most, resolve])));
  const caller = async () => {
    for (;;) {
      while (gate) await gate;
      if (issued >= target || performance.now() > deadline) return;
      const i = issued++;
      if (i > 0 && i % every === 0) {
        let open;
        gate = new Promise((resolve) => { open = resolve; });
        try {
          await checkpoint(waitIdle);
        } finally {
          gate = undefined;
          open();
        }
      }
      inflight++;
      try {
        await call(i);
      } finally {
        inflight--;
        const ready = idleWaiters.filter(([most]) => inflight <= most);
        if (ready.length > 0) {
          idleWaiters = idleWaiters.filter(([most]) => inflight > most);
          for (const [, resolve] of ready) resolve();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: S.concurrency }, caller));
  return issued;
}

function summary() {
  const out = { ok: failures.length === 0, seconds: Number(elapsedS().toFixed(1)), backend: runInfo.backend, tolerance, ...counts, memory: runInfo.memory, openResources: runInfo.openResources, failures };
  console.log(`SOAK_SUMMARY ${JSON.stringify(out)}`);
}
const runInfo = { backend: undefined, memory: {}, openResources: [] };

// ---- main ----
const tmp = await mkdtemp(join(tmpdir(), 'trt-rerank-soak-'));
try {
  const modelDir = S.model || await writeTinyModel(join(tmp, S.tinyModel), TINY_MODELS[S.tinyModel] ?? (() => { throw new Error(`SOAK_TINY_MODEL ${S.tinyModel} is not one of ${Object.keys(TINY_MODELS).join(', ')}`); })());
  log(`model ${modelDir}; corpus ${corpus.length} documents of 0-${S.docWords} words, ${queries.length} queries`);

  // The reference: a Reranker of its own, each query against the whole corpus, once per activation.
  {
    const t = performance.now();
    const ref = await Reranker.load(modelDir, loadOptions);
    runInfo.backend = ref.info.backend;
    tolerance = S.tolerance >= 0 ? S.tolerance : ref.info.backend === 'cpu' ? 0 : 1e-2;
    for (const activation of ['sigmoid', 'none']) {
      for (const q of queries) reference[activation].push(Array.from(await ref.score(q, corpus, { activation })));
    }
    await ref.close();
    log(`reference: backend ${runInfo.backend} (${ref.info.backendReason}), ${2 * queries.length * corpus.length} pairs in ${((performance.now() - t) / 1000).toFixed(1)} s; tolerance ${tolerance}`);
  }

  const serveCalls = Math.round(S.calls * S.serveShare);
  const libraryCalls = S.calls - serveCalls;
  const librarySeconds = S.seconds * (1 - S.serveShare);

  // ---- library phase ----
  {
    const c = counts.library;
    const rss = [];
    const device = [];
    let reranker = await Reranker.load(modelDir, loadOptions);
    let generation = 0;
    const closedGenerations = new Set();
    // Samples at the same point of every cycle: the backend's memory just before close() (its buffers have grown to
    // what the calls need), the process's RSS once the Reranker is closed and garbage collected.
    const sampleRss = async () => {
      await settleMemory();
      const m = process.memoryUsage();
      rss.push(m.rss);
      if (S.verbose) log(`memory: rss ${MiB(m.rss)}, heapUsed ${MiB(m.heapUsed)}, heapTotal ${MiB(m.heapTotal)}, external ${MiB(m.external)}, arrayBuffers ${MiB(m.arrayBuffers)}`);
    };
    const call = async () => {
      const spec = randomCall();
      const { q, docIdx, kind, activation, topK, returnDocuments, abortAfterMs, timeoutMs } = spec;
      const docs = docIdx.map((i) => corpus[i]);
      const r = reranker;
      const gen = generation;
      const controller = abortAfterMs === undefined ? undefined : new AbortController();
      let abortTimer;
      if (controller) {
        if (abortAfterMs === 0) controller.abort(new Error('soak: aborted at once'));
        else abortTimer = setTimeout(() => controller.abort(new Error('soak: aborted')), abortAfterMs);
      }
      const options = {
        activation,
        ...(controller ? { signal: controller.signal } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(kind === 'rerank' ? { returnDocuments, ...(topK !== undefined ? { topK } : {}) } : {}),
      };
      const what = `library ${kind} of ${docs.length} documents (query ${q}, ${JSON.stringify({ activation, topK, abortAfterMs, timeoutMs })})`;
      c.calls++;
      c.documents += docs.length;
      try {
        const got = await tracked(what, kind === 'score' ? r.score(queries[q], docs, options) : r.rerank(queries[q], docs, options));
        c.ok++;
        if (controller?.signal.aborted) c.abortedLate++;
        if (timeoutMs !== undefined) c.timeoutsMet++;
        const bad = checkResult(kind, q, docIdx, activation, topK, returnDocuments, got);
        if (bad) {
          c.mismatches++;
          fail(`${what}: ${bad}`);
        }
      } catch (error) {
        if (error instanceof AbortError && controller?.signal.aborted) c.aborted++;
        else if (error instanceof TimeoutError && timeoutMs !== undefined) c.timedOut++;
        else if (error instanceof ClosedError && closedGenerations.has(gen)) c.closed++;
        else {
          c.errors++;
          fail(`${what}: unexpected ${error?.constructor?.name} ${error?.code ?? ''}: ${error?.message}`);
        }
      } finally {
        clearTimeout(abortTimer);
      }
    };
    const checkpoint = async (waitIdle) => {
      // Close with the calls in flight: each must settle (a success, or a ClosedError), and close() must resolve.
      // A few calls (1 to a quarter of the callers) are left in flight.
      await waitIdle(1 + Math.floor(random() * Math.max(1, S.concurrency / 4)));
      const old = reranker;
      device.push(old.info.memoryBytes);
      closedGenerations.add(generation);
      await tracked(`close() of Reranker ${generation}`, Promise.all([old.close(), waitIdle()]));
      await sampleRss();
      if (S.verbose) log('stats of the closed Reranker', JSON.stringify({ calls: old.stats().calls, failedCalls: old.stats().failedCalls, batches: old.stats().batches }));
      reranker = await tracked(`Reranker.load ${generation + 1}`, Reranker.load(modelDir, loadOptions));
      generation++;
      c.reloads++;
      log(`library: ${c.calls} calls, reload ${c.reloads}: rss (closed) ${MiB(rss.at(-1))}, backend memory ${MiB(device.at(-1))}; ${JSON.stringify({ ok: c.ok, aborted: c.aborted, timedOut: c.timedOut, closed: c.closed, mismatches: c.mismatches, errors: c.errors })}`);
    };
    const t = performance.now();
    await runPool({ target: libraryCalls, deadline: t + librarySeconds * 1000, every: S.reloadEvery, call, checkpoint });
    device.push(reranker.info.memoryBytes);
    closedGenerations.add(generation);
    await reranker.close();
    await sampleRss();
    log(`library phase: ${c.calls} calls (${c.documents} documents) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    runInfo.memory.libraryRss = memoryVerdict('library RSS', rss, rssLimit);
    runInfo.memory.libraryBackendMemory = memoryVerdict('library backend memoryBytes', device, S.memoryLimit);
  }

  // ---- serve phase ----
  if (serveCalls > 0) {
    const c = counts.serve;
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'serve', '--model', modelDir, '--port', '0', '--backend', S.backend,
      ...(S.threads > 0 ? ['--threads', String(S.threads)] : [])], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const url = await tracked('trt-rerank serve to listen', new Promise((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening on (http:\/\/\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      exited.then(({ code, signal }) => reject(new Error(`trt-rerank serve exited (${code ?? signal}) before listening: ${stderr}`)));
    }));
    log(`serve: ${url} (pid ${child.pid})`);
    const rss = [];
    const call = async () => {
      const { q, docIdx, activation, topK, returnDocuments, abortAfterMs } = randomCall();
      const docs = docIdx.map((i) => corpus[i]);
      // Cohere v2 gives sigmoid scores; TEI's raw_scores gives the logits.
      const tei = activation === 'none' || random() < 0.3;
      const body = tei
        ? { query: queries[q], texts: docs, raw_scores: activation === 'none', return_text: returnDocuments }
        : { query: queries[q], documents: docs, return_documents: returnDocuments, ...(topK !== undefined ? { top_n: topK } : {}) };
      const controller = abortAfterMs === undefined ? undefined : new AbortController();
      let abortTimer;
      if (controller) {
        if (abortAfterMs === 0) controller.abort();
        else abortTimer = setTimeout(() => controller.abort(), abortAfterMs);
      }
      const what = `serve ${tei ? '/rerank' : '/v2/rerank'} of ${docs.length} documents (query ${q}, ${JSON.stringify({ activation, topK, abortAfterMs })})`;
      c.calls++;
      c.documents += docs.length;
      try {
        const reply = await tracked(what, (async () => {
          const res = await fetch(`${url}${tei ? '/rerank' : '/v2/rerank'}`, {
            method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal: controller?.signal,
          });
          const text = await res.text();
          if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${text.slice(0, 300)}`);
          return JSON.parse(text);
        })());
        c.ok++;
        if (controller?.signal.aborted) c.abortedLate++;
        const results = tei
          ? reply.map((r) => ({ index: r.index, score: r.score, ...(returnDocuments ? { document: r.text } : {}) }))
          : reply.results.map((r) => ({ index: r.index, score: r.relevance_score, ...(returnDocuments ? { document: r.document?.text } : {}) }));
        const bad = checkResult('rerank', q, docIdx, activation, tei ? undefined : topK, returnDocuments, results);
        if (bad) {
          c.mismatches++;
          fail(`${what}: ${bad}`);
        }
      } catch (error) {
        if (error?.name === 'AbortError' && controller?.signal.aborted) c.aborted++;
        else {
          c.errors++;
          fail(`${what}: ${error?.name}: ${error?.message}`);
        }
      } finally {
        clearTimeout(abortTimer);
      }
    };
    const sample = async () => {
      const bytes = await childRss(child.pid);
      if (bytes !== undefined) rss.push(bytes);
      log(`serve: ${c.calls} calls: server rss ${MiB(bytes)}; ${JSON.stringify({ ok: c.ok, aborted: c.aborted, mismatches: c.mismatches, errors: c.errors })}`);
    };
    const t = performance.now();
    await runPool({
      target: serveCalls, deadline: t + S.seconds * S.serveShare * 1000, every: S.reloadEvery, call,
      checkpoint: async (waitIdle) => {
        await waitIdle();
        await sample();
      },
    });
    await sample();
    log(`serve phase: ${c.calls} calls (${c.documents} documents) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    runInfo.memory.serveRss = memoryVerdict('serve RSS (server process, no forced GC)', rss, rssLimit);
    child.kill('SIGTERM');
    const { code, signal } = await tracked('trt-rerank serve to exit on SIGTERM', exited);
    c.exitCode = code ?? signal;
    if (code !== 0) fail(`trt-rerank serve exited with ${code ?? signal} on SIGTERM, not 0: ${stderr.slice(-1000)}`);
  }
} catch (error) {
  fail(`the run stopped: ${error?.stack ?? error}`);
} finally {
  clearInterval(watchdog);
  await rm(tmp, { recursive: true, force: true });
}

const c = counts.library;
if (c.calls > 0 && S.abortRate > 0 && c.aborted + c.abortedLate === 0) log('note: no library call was aborted');
if (pending.size > 0) fail(`${pending.size} calls still pending at the end`);

// No open handles: what is open now must be no more than what was open at startup (stdio).
await new Promise((resolve) => setImmediate(resolve));
const left = [...process.getActiveResourcesInfo()];
for (const r of startupResources) {
  const i = left.indexOf(r);
  if (i >= 0) left.splice(i, 1);
}
runInfo.openResources = left;
if (left.length > 0) fail(`resources still open at the end: ${left.join(', ')}`);

log(`library: ${JSON.stringify(counts.library)}`);
log(`serve: ${JSON.stringify(counts.serve)}`);
log(failures.length === 0 ? 'PASS' : `FAIL: ${failures.length} failure(s)`);
summary();
process.exitCode = failures.length === 0 ? 0 : 1;
// The process must now exit by itself; if something still holds it, say so and fail.
setTimeout(() => {
  console.error('soak: the process did not exit 5 s after the run: something is still open', process.getActiveResourcesInfo());
  process.exit(1);
}, 5000).unref();
