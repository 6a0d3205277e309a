// `trt-rerank serve` as a child process (dist/cli.js, as cli.test.ts runs the CLI) on a tiny random-weight model,
// CPU backend, --port 0, driven over real HTTP: every request shape against a direct Reranker.rerank on the same
// model in this process, every error status, /health, /info, /metrics moving, a client disconnect, SIGTERM
// draining a request in flight. The Reranker features a test needs (stats(), onTimings, timeoutMs, the queue
// bound) are probed on the direct Reranker first; a test whose feature is missing skips, printing why.
// Nothing here asserts a duration: waits are polls with generous timeouts.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { PairTokenizer, Reranker, type CallTimings, type RerankOptions } from '../../lib/index.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { REPO_ROOT, tempDir, writeModels } from '../helpers/models.js';
import { checkHistograms, parsePrometheus, sampleValue, type Family } from '../helpers/prometheus.js';
import { rng } from '../helpers/random.js';

const CLI = join(REPO_ROOT, 'dist', 'cli.js');
const QUERY = 'how many people live in berlin';
const WORDS = ('berlin paris city population river museum capital train people live history art music park station ' +
  'bridge north south old new large small island street market the of and in is was for with by from').split(' ');

/** `n` documents of `words`..2*`words` words, the same for a seed. */
function makeDocs(n: number, seed: number, words = 12): string[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: words + Math.floor(r() * words) }, () => WORDS[Math.floor(r() * WORDS.length)]).join(' '));
}

/** The CLI runs from dist/: it must have been compiled from this checkout's lib/serve and lib/cli.ts. */
function requireFreshDist(): void {
  const pairs = [['cli.ts', 'cli.js'], ...readdirSync(join(REPO_ROOT, 'lib', 'serve')).filter((f) => f.endsWith('.ts')).map((f) => [`serve/${f}`, `serve/${f.replace(/\.ts$/, '.js')}`])];
  for (const [ts, js] of pairs) {
    const built = join(REPO_ROOT, 'dist', js!);
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(join(REPO_ROOT, 'lib', ts!)).mtimeMs) {
      throw new Error(`dist/${js} is missing or older than lib/${ts}: run \`npm run build:ts\` (this test runs the CLI from dist/, as cli.test.ts does)`);
    }
  }
}

interface Served {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

const children: ChildProcess[] = [];
let model: string;

/** Starts `trt-rerank serve` on the tiny model and resolves once it printed its listening line. */
async function serve(extra: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', '--model', model, '--backend', 'cpu', '--port', '0', ...extra], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /^trt-rerank serve: listening on (http:\/\/\S+) \(model tiny-bert, backend cpu, maxLength \d+\)$/m.exec(out);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`trt-rerank serve exited with ${code} before listening:\n${out}\n${err}`)));
  });
  return { url, child, stderr: () => err, exited };
}

/** A reply's JSON, untyped: the tests check it field by field. */
const json = (res: Response): Promise<any> => res.json();
const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
const scrape = async (url: string) => {
  const families = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
  checkHistograms(families);
  return families;
};
const value = (m: Map<string, Family>, family: string, name = family, labels: Record<string, string> = {}) => sampleValue(m, family, name, labels) ?? 0;

/** Skips the running test, printing why, when `reason` is set. */
function skipUnless(ctx: TestContext, reason: string | undefined): void {
  if (reason) {
    console.log(`${ctx.task.name}: skipped: ${reason}`);
    ctx.skip();
  }
}

let root: string;
let cleanup: () => Promise<void>;
let direct: Reranker;
let main: Served;
/** What the Reranker in this checkout does yet: a reason per missing feature. */
const missing: { stats?: string; timings?: string; timeout?: string; overload?: string } = {};

beforeAll(async () => {
  requireAddonBuilt();
  requireFreshDist();
  ({ dir: root, cleanup } = await tempDir());
  model = (await writeModels(root, ['tiny-bert']))['tiny-bert'];
  direct = await Reranker.load(model, { backend: 'cpu' });
  if (typeof (direct as { stats?: unknown }).stats !== 'function') missing.stats = 'Reranker.stats() is not there yet';
  let timings: CallTimings | undefined;
  await direct.rerank(QUERY, ['a b c'], { onTimings: (t) => (timings = t) });
  if (!timings) missing.timings = 'rerank() does not call onTimings yet';
  const timedOut = await direct.rerank(QUERY, makeDocs(400, 1, 60), { timeoutMs: 1 }).then(() => false, (e: { code?: string }) => e.code === 'ERR_TIMEOUT');
  if (!timedOut) missing.timeout = 'rerank() does not honour timeoutMs yet';
  const small = await Reranker.load(model, { backend: 'cpu', maxQueuedPairs: 8 });
  const settled = await Promise.allSettled([0, 1, 2].map((i) => small.rerank(QUERY, makeDocs(8, 10 + i, 60))));
  await small.close();
  if (!settled.some((s) => s.status === 'rejected' && (s.reason as { code?: string }).code === 'ERR_OVERLOADED')) missing.overload = 'maxQueuedPairs does not refuse calls (ERR_OVERLOADED) yet';
  main = await serve(['--max-body-bytes', '2000000', '--max-documents', '1000', '--max-document-chars', '5000']);
}, 180_000);

afterAll(async () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await direct?.close();
  await cleanup?.();
});

/** The direct call's scores by document index. */
async function directScores(query: string, docs: string[], options: RerankOptions = {}): Promise<Map<number, number>> {
  return new Map((await direct.rerank(query, docs, options)).map((r) => [r.index, r.score]));
}

/** Results are best first and each score is the direct call's (the same model and backend in this process). */
function expectScores(results: Array<{ index: number; score: number }>, expected: Map<number, number>, count: number): void {
  expect(results).toHaveLength(count);
  const ranked = [...expected].sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, count).map(([i]) => i);
  expect(new Set(results.map((r) => r.index))).toEqual(new Set(ranked));
  for (let i = 0; i < results.length; i++) {
    expect(results[i]!.score).toBeCloseTo(expected.get(results[i]!.index)!, 5);
    if (i > 0) expect(results[i]!.score).toBeLessThanOrEqual(results[i - 1]!.score);
  }
}

describe('trt-rerank serve: request shapes', () => {
  it('Cohere v2 (/v2/rerank): strings and {text} documents, top_n, return_documents; scores as Reranker.rerank', async () => {
    const docs = makeDocs(30, 2);
    const expected = await directScores(QUERY, docs);
    const res = await post(`${main.url}/v2/rerank`, { model: 'any-name', query: QUERY, documents: docs.map((text, i) => (i % 3 ? text : { text })), top_n: 5, return_documents: true });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.meta).toEqual({ billed_units: { search_units: 1 } });
    expectScores(body.results.map((r: { index: number; relevance_score: number }) => ({ index: r.index, score: r.relevance_score })), expected, 5);
    for (const r of body.results) expect(r.document).toEqual({ text: docs[r.index] });
    const all = await json(await post(`${main.url}/v2/rerank`, { query: QUERY, documents: makeDocs(250, 3, 2) }));
    expect(all.results).toHaveLength(250);
    expect(all.results[0].document).toBeUndefined();
    expect(all.meta.billed_units.search_units).toBe(3);
  });

  it('Jina (/v1/rerank): documents returned by default, model echoed, usage.total_tokens from the call', async (ctx) => {
    const docs = makeDocs(12, 4);
    const expected = await directScores(QUERY, docs);
    const body = await json(await post(`${main.url}/v1/rerank`, { model: 'jina-reranker-v2-base-multilingual', query: QUERY, documents: docs.map((text) => ({ text })), top_n: 3 }));
    expect(body.model).toBe('jina-reranker-v2-base-multilingual');
    expectScores(body.results.map((r: { index: number; relevance_score: number }) => ({ index: r.index, score: r.relevance_score })), expected, 3);
    for (const r of body.results) expect(r.document).toEqual({ text: docs[r.index] });
    const bare = await json(await post(`${main.url}/v1/rerank`, { query: QUERY, documents: docs, return_documents: false }));
    expect(bare.model).toBe('tiny-bert');
    expect(bare.results[0].document).toBeUndefined();
    skipUnless(ctx, missing.timings);
    let tokens = 0;
    await direct.rerank(QUERY, docs, { onTimings: (t) => (tokens = t.tokens) });
    expect(tokens).toBeGreaterThan(0);
    expect(bare.usage).toEqual({ total_tokens: tokens });
  });

  it('TEI (/rerank): every text best first, raw_scores gives the logits, return_text adds the text', async () => {
    const docs = makeDocs(20, 5);
    const logits = await directScores(QUERY, docs, { activation: 'none' });
    const raw = await json(await post(`${main.url}/rerank`, { query: QUERY, texts: docs, raw_scores: true, return_text: true }));
    expectScores(raw, logits, 20);
    for (const r of raw) expect(r.text).toBe(docs[r.index]);
    expect(raw.some((r: { score: number }) => r.score < 0 || r.score > 1)).toBe(true);
    const sigmoid = await json(await post(`${main.url}/rerank`, { query: QUERY, texts: docs }));
    expectScores(sigmoid, await directScores(QUERY, docs), 20);
    expect(sigmoid[0].text).toBeUndefined();
  });

  it('TEI truncate: false refuses a pair one token over maxLength (422 naming it); true (the default) cuts it', async () => {
    const { reranker: { maxLength } } = await json(await fetch(`${main.url}/info`));
    // 'x' is one token of the tiny WordPiece vocabulary: [CLS] x [SEP] x ... x [SEP] with maxLength - 4 x's in the
    // document is maxLength tokens exactly (one x fewer gives one token fewer: nothing was cut).
    const xs = (n: number) => Array(n).fill('x').join(' ');
    const fits = xs(maxLength - 4);
    const over = xs(maxLength - 3);
    const tokenizer = await PairTokenizer.fromDir(model, { maxLength });
    const { offsets } = tokenizer.encodePairs('x', [xs(maxLength - 5), fits]);
    expect([offsets[1], offsets[2]! - offsets[1]!]).toEqual([maxLength - 1, maxLength]);
    expect((await post(`${main.url}/rerank`, { query: 'x', texts: ['a', fits], truncate: false })).status).toBe(200);
    const refused = await post(`${main.url}/rerank`, { query: 'x', texts: ['a', fits, over], truncate: false });
    expect(refused.status).toBe(422);
    expect((await json(refused)).error).toMatchObject({ code: 'ERR_INPUT_TOO_LONG', field: 'texts[2]', message: expect.stringMatching(new RegExp(`maxLength of ${maxLength} tokens`)) });
    const cut = await json(await post(`${main.url}/rerank`, { query: 'x', texts: ['a', fits, over] }));
    expectScores(cut, await directScores('x', ['a', fits, over]), 3);
  });

  it('GET /health and /info', async () => {
    expect(await json(await fetch(`${main.url}/health`))).toEqual({ status: 'ok' });
    const info = await json(await fetch(`${main.url}/info`));
    const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version;
    expect(info).toMatchObject({
      version,
      model: { name: 'tiny-bert', dir: model },
      reranker: { backend: 'cpu', maxLength: direct.info.maxLength, modelType: 'bert', numLabels: 1 },
      limits: { maxBodyBytes: 2000000, maxDocuments: 1000, maxDocumentChars: 5000, maxConnections: 1024, requestTimeoutMs: 60000 },
    });
    expect(info.endpoints).toEqual(['POST /v2/rerank', 'POST /v1/rerank', 'POST /rerank', 'GET /health', 'GET /info', 'GET /metrics']);
  });
});

describe('trt-rerank serve: errors', () => {
  it.each([
    { what: 'bad JSON', path: '/v2/rerank', body: '{"query": "a", ', status: 400, code: 'ERR_INVALID_JSON', field: undefined },
    { what: 'a missing query', path: '/v1/rerank', body: { documents: ['a'] }, status: 400, code: 'ERR_INVALID_ARGUMENT', field: 'query' },
    { what: 'a document of a wrong type', path: '/v2/rerank', body: { query: 'q', documents: ['a', { text: 7 }] }, status: 400, code: 'ERR_INVALID_ARGUMENT', field: 'documents[1].text' },
    { what: 'texts not an array', path: '/rerank', body: { query: 'q', texts: 'a' }, status: 400, code: 'ERR_INVALID_ARGUMENT', field: 'texts' },
    { what: 'top_n 0', path: '/v2/rerank', body: { query: 'q', documents: ['a'], top_n: 0 }, status: 400, code: 'ERR_INVALID_ARGUMENT', field: 'top_n' },
    { what: 'more documents than --max-documents', path: '/v2/rerank', body: { query: 'q', documents: Array(1001).fill('a') }, status: 413, code: 'ERR_TOO_MANY_DOCUMENTS', field: 'documents' },
    { what: 'a document over --max-document-chars', path: '/rerank', body: { query: 'q', texts: ['a', 'b'.repeat(5001)] }, status: 413, code: 'ERR_DOCUMENT_TOO_LONG', field: 'texts[1]' },
    { what: 'a body over --max-body-bytes', path: '/v1/rerank', body: { query: 'q', documents: Array(500).fill('c'.repeat(4500)) }, status: 413, code: 'ERR_BODY_TOO_LARGE', field: undefined },
  ])('$what: $status $code', async ({ path, body, status, code, field }) => {
    const res = await post(`${main.url}${path}`, body);
    expect(res.status).toBe(status);
    const { error } = await json(res);
    expect(error).toMatchObject({ code, message: expect.any(String) });
    expect(error.field).toBe(field);
  });

  it('unknown path 404; wrong method 405 with Allow', async () => {
    expect((await post(`${main.url}/v1/embeddings`, {})).status).toBe(404);
    const res = await fetch(`${main.url}/rerank`);
    expect([res.status, res.headers.get('allow'), (await json(res)).error.code]).toEqual([405, 'POST', 'ERR_METHOD_NOT_ALLOWED']);
  });

  it('a full queue (--max-queued-pairs) answers 429 with Retry-After; the server stays usable; SIGINT exits 0', async (ctx) => {
    skipUnless(ctx, missing.overload);
    const small = await serve(['--max-queued-pairs', '64']);
    const statuses = await Promise.all(Array.from({ length: 8 }, async (_, i) => {
      const res = await post(`${small.url}/v2/rerank`, { query: QUERY, documents: makeDocs(64, 20 + i, 100) });
      const body = await json(res);
      if (res.status === 429) expect([res.headers.get('retry-after'), body.error.code]).toEqual(['1', 'ERR_OVERLOADED']);
      else expect(body.results).toHaveLength(64);
      return res.status;
    }));
    expect(statuses.every((s) => s === 200 || s === 429)).toBe(true);
    expect(statuses).toContain(429);
    expect(statuses).toContain(200);
    expect((await post(`${small.url}/v2/rerank`, { query: QUERY, documents: ['a'] })).status).toBe(200);
    small.child.kill('SIGINT');
    expect(await small.exited).toBe(0);
  });

  it('a call past --request-timeout-ms answers 504', async (ctx) => {
    skipUnless(ctx, missing.timeout);
    const slow = await serve(['--request-timeout-ms', '1']);
    const res = await post(`${slow.url}/rerank`, { query: QUERY, texts: makeDocs(400, 30, 60) });
    expect(res.status).toBe(504);
    expect((await json(res)).error.code).toBe('ERR_TIMEOUT');
    slow.child.kill('SIGTERM');
    expect(await slow.exited).toBe(0);
  });

  it('usage errors exit 2; a port in use exits 1', async () => {
    const run = (args: string[]) => new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd: REPO_ROOT });
      let stderr = '';
      let stdout = '';
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.on('data', (d) => (stdout += d));
      child.on('exit', (code) => resolve({ code, stderr, stdout }));
    });
    expect(await run(['--port', '1'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/serve needs --model DIR/) });
    expect(await run(['--model', model, '--port', 'x'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--port must be an integer/) });
    expect(await run(['--model', model, '--bogus'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/Unknown option '--bogus'/) });
    expect(await run(['--help'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/trt-rerank serve --model DIR/) });
    const port = new URL(main.url).port;
    expect(await run(['--model', model, '--backend', 'cpu', '--port', port])).toMatchObject({ code: 1, stderr: expect.stringMatching(/cannot listen .*EADDRINUSE/) });
  });
});

describe('trt-rerank serve: metrics, disconnects, shutdown', () => {
  it('/metrics parses and moves: requests, durations, and the Reranker counters and histograms', async (ctx) => {
    const before = await scrape(main.url);
    const docs = makeDocs(5, 40);
    await post(`${main.url}/v2/rerank`, { query: QUERY, documents: docs });
    const after = await scrape(main.url);
    const delta = (family: string, name?: string, labels?: Record<string, string>) => value(after, family, name, labels) - value(before, family, name, labels);
    expect(delta('trt_rerank_requests_total', undefined, { route: '/v2/rerank', status: '200' })).toBe(1);
    expect(delta('trt_rerank_request_duration_seconds', 'trt_rerank_request_duration_seconds_count', { route: '/v2/rerank' })).toBe(1);
    expect(after.get('trt_rerank_request_duration_seconds')?.type).toBe('histogram');
    skipUnless(ctx, missing.stats);
    let timings: CallTimings | undefined;
    await direct.rerank(QUERY, docs, { onTimings: (t) => (timings = t) });
    expect(delta('trt_rerank_pairs_total')).toBe(5);
    if (timings) expect(delta('trt_rerank_tokens_total')).toBe(timings.tokens);
    expect(delta('trt_rerank_batches_total')).toBeGreaterThanOrEqual(1);
    expect(delta('trt_rerank_calls_total', undefined, { outcome: 'ok' })).toBe(1);
    for (const name of ['trt_rerank_queue_duration_seconds', 'trt_rerank_run_duration_seconds', 'trt_rerank_batch_pairs', 'trt_rerank_batch_tokens']) {
      expect(after.get(name)?.type).toBe('histogram');
      expect(delta(name, `${name}_count`)).toBeGreaterThanOrEqual(1);
    }
    expect(after.get('trt_rerank_queue_pairs')?.type).toBe('gauge');
  });

  it('a client that disconnects aborts its call (499; the call fails, not scored) and the server stays healthy', async () => {
    const before = await scrape(main.url);
    const req = httpRequest(`${main.url}/rerank`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    req.on('error', () => {});
    req.end(JSON.stringify({ query: QUERY, texts: makeDocs(800, 50, 100) }));
    if (!missing.stats) {
      await expect.poll(async () => value(await scrape(main.url), 'trt_rerank_active_calls'), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    } else {
      console.log(`client disconnect: ${missing.stats}: disconnecting after 1 s instead of once the call is admitted`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    req.destroy();
    await expect.poll(async () => value(await scrape(main.url), 'trt_rerank_requests_total', undefined, { route: '/rerank', status: '499' }) -
      value(before, 'trt_rerank_requests_total', undefined, { route: '/rerank', status: '499' }), { timeout: 30_000 }).toBe(1);
    if (!missing.stats) {
      await expect.poll(async () => {
        const m = await scrape(main.url);
        return [value(m, 'trt_rerank_calls_total', undefined, { outcome: 'failed' }) - value(before, 'trt_rerank_calls_total', undefined, { outcome: 'failed' }), value(m, 'trt_rerank_active_calls')];
      }, { timeout: 60_000 }).toEqual([1, 0]);
    }
    expect((await post(`${main.url}/v2/rerank`, { query: QUERY, documents: ['a'] })).status).toBe(200);
    expect(await json(await fetch(`${main.url}/health`))).toEqual({ status: 'ok' });
  });

  it('SIGTERM stops accepting connections, lets the request in flight finish (200), and exits 0', async () => {
    const server = await serve(['--drain-timeout-ms', '120000']);
    const docs = makeDocs(600, 60, 100);
    const inflight = post(`${server.url}/v2/rerank`, { query: QUERY, documents: docs, top_n: 600 });
    if (!missing.stats) {
      await expect.poll(async () => value(await scrape(server.url), 'trt_rerank_active_calls'), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);
    } else {
      await new Promise((r) => setTimeout(r, 1000));
    }
    server.child.kill('SIGTERM');
    await expect.poll(() => fetch(`${server.url}/health`).then(() => 'accepted', () => 'refused'), { timeout: 30_000 }).toBe('refused');
    const res = await inflight;
    expect(res.status).toBe(200);
    expectScores((await json(res)).results.map((r: { index: number; relevance_score: number }) => ({ index: r.index, score: r.relevance_score })), await directScores(QUERY, docs), 600);
    expect(await server.exited).toBe(0);
    // Where the call was seen admitted before the signal, the drain had it in flight.
    expect(server.stderr()).toMatch(missing.stats ? /SIGTERM: draining \d+ request\(s\)[\s\S]*drained; exiting/ : /SIGTERM: draining [1-9]\d* request\(s\)[\s\S]*drained; exiting/);
  });
});
