// The HTTP server (lib/serve) over a stub Reranker: request shapes and what reaches rerank(), every error
// status, the body limit, client disconnects, the draining shutdown, and /metrics' rendering of stats(). No addon:
// test/native/serve.test.ts runs the real CLI on a real model.
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, BackendError, ClosedError, OverloadedError, TimeoutError, TruncationError } from '../../lib/errors.js';
import type { RerankOptions } from '../../lib/options.js';
import type { RerankerInfo, RerankResult } from '../../lib/reranker.js';
import { startServer, type RerankServer, type ServedReranker, type ServerOptions } from '../../lib/serve/server.js';
import type { Histogram, RerankerStats } from '../../lib/stats.js';
import { checkHistograms, parsePrometheus, sampleValue } from '../helpers/prometheus.js';

const INFO = {
  backend: 'cpu', backendReason: 'requested', device: null, dtype: 'fp32', maxBatchSize: 256, maxBatchTokens: 16384, maxQueuedPairs: 262144,
  maxLength: 32, truncation: 'longest_first', modelType: 'bert', architecture: 'BertForSequenceClassification', numLabels: 1, memoryBytes: 1,
} as RerankerInfo;

interface Call {
  query: string;
  docs: readonly string[];
  options: RerankOptions;
}

/** Scores each document by its length (longer is better), as rerank would return them. */
function byLength(docs: readonly string[], options: RerankOptions): RerankResult[] {
  const all = docs.map((d, index) => ({ index, score: d.length / 100 })).sort((a, b) => b.score - a.score || a.index - b.index);
  return all.slice(0, options.topK ?? all.length);
}

class Stub implements ServedReranker {
  readonly info = INFO;
  readonly calls: Call[] = [];
  behave: (call: Call) => Promise<RerankResult[]> = async (call) => {
    call.options.onTimings?.({ pairs: call.docs.length, tokens: 7 * call.docs.length, batches: 1, queueMs: 0, runMs: 1 });
    return byLength(call.docs, call.options);
  };
  rerank(query: string, docs: readonly string[], options: RerankOptions = {}): Promise<RerankResult[]> {
    const call = { query, docs, options };
    this.calls.push(call);
    return this.behave(call);
  }
}

/** A call that runs until `release()`, or rejects with AbortError once its signal fires. */
function held(stub: Stub) {
  let release!: () => void;
  let started!: () => void;
  const running = new Promise<void>((r) => (started = r));
  const aborted = new Promise<unknown>((resolveAborted) => {
    stub.behave = (call) => new Promise((resolve, reject) => {
      started();
      release = () => resolve(byLength(call.docs, call.options));
      call.options.signal!.addEventListener('abort', () => {
        resolveAborted(call.options.signal!.reason);
        reject(new AbortError(call.options.signal!.reason));
      });
    });
  });
  return { running, aborted, release: () => release() };
}

let servers: RerankServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function serve(stub: ServedReranker, options: ServerOptions = {}) {
  const server = await startServer(stub, { port: 0, defaultMetrics: false, modelName: 'stub-model', ...options });
  servers.push(server);
  return { server, url: server.address!.url };
}

const json = (res: Response): Promise<any> => res.json();

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });

/** A raw HTTP/1.1 exchange on one socket: `first` is sent at once, `rest` after `between()` resolves. */
function raw(url: string, first: string, between: () => Promise<void>, rest: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
    socket.write(first);
    void between().then(() => socket.write(rest));
  });
}

describe('serve: request shapes', () => {
  it('Cohere v2: strings and {text} documents, top_n, return_documents, max_tokens_per_doc; billed search units', async () => {
    const stub = new Stub();
    const { url } = await serve(stub, { requestTimeoutMs: 1234 });
    const docs = Array.from({ length: 250 }, (_, i) => 'x'.repeat(i % 17));
    const res = await post(`${url}/v2/rerank`, { model: 'whatever', query: 'q', documents: docs.map((text, i) => (i % 2 ? { text } : text)), top_n: 3, return_documents: true, max_tokens_per_doc: 9 });
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(body.meta).toEqual({ billed_units: { search_units: 3 } });
    const expected = byLength(docs, { topK: 3 });
    expect(body.results).toEqual(expected.map((r) => ({ index: r.index, relevance_score: r.score, document: { text: docs[r.index] } })));
    const { query, docs: sent, options } = stub.calls[0]!;
    expect({ query, sent, topK: options.topK, maxTokensPerDoc: options.maxTokensPerDoc, timeoutMs: options.timeoutMs, activation: options.activation })
      .toEqual({ query: 'q', sent: docs, topK: 3, maxTokensPerDoc: 9, timeoutMs: 1234, activation: 'sigmoid' });
    expect(options.signal).toBeInstanceOf(AbortSignal);
    const plain = await json(await post(`${url}/v2/rerank`, { query: 'q', documents: ['a', 'bb'] }));
    expect(plain.results).toEqual([{ index: 1, relevance_score: 0.02 }, { index: 0, relevance_score: 0.01 }]);
    expect(plain.meta.billed_units.search_units).toBe(1);
  });

  it('Jina: documents returned by default, model echoed (or the served name), usage from onTimings', async () => {
    const stub = new Stub();
    const { url } = await serve(stub);
    const body = await json(await post(`${url}/v1/rerank`, { model: 'jina-reranker-v2', query: 'q', documents: ['a', { text: 'bbb' }], top_n: 1 }));
    expect(body).toEqual({ model: 'jina-reranker-v2', usage: { total_tokens: 14 }, results: [{ index: 1, relevance_score: 0.03, document: { text: 'bbb' } }] });
    const bare = await json(await post(`${url}/v1/rerank`, { query: 'q', documents: ['a'], return_documents: false }));
    expect(bare).toEqual({ model: 'stub-model', usage: { total_tokens: 7 }, results: [{ index: 0, relevance_score: 0.01 }] });
  });

  it('TEI: every text best first, raw_scores asks for logits, return_text adds the text', async () => {
    const stub = new Stub();
    const { url } = await serve(stub, { requestTimeoutMs: 0 });
    const body = await json(await post(`${url}/rerank`, { query: 'q', texts: ['a', 'ccc', 'bb'], raw_scores: true, return_text: true, truncate: true }));
    expect(body).toEqual([{ index: 1, text: 'ccc', score: 0.03 }, { index: 2, text: 'bb', score: 0.02 }, { index: 0, text: 'a', score: 0.01 }]);
    expect(stub.calls[0]!.options).toMatchObject({ activation: 'none' });
    expect(stub.calls[0]!.options.topK).toBeUndefined();
    expect(stub.calls[0]!.options.timeoutMs).toBeUndefined();
    await post(`${url}/rerank`, { query: 'q', texts: ['a'], raw_scores: null, truncation_direction: 'Right' });
    expect(stub.calls[1]!.options.activation).toBe('sigmoid');
  });

  it('GET /health, /info, HEAD', async () => {
    const { url } = await serve(new Stub(), { modelDir: '/models/some-model', maxDocuments: 5 });
    expect(await json(await fetch(`${url}/health`))).toEqual({ status: 'ok' });
    const info = await json(await fetch(`${url}/info`));
    expect(info).toMatchObject({ model: { name: 'stub-model', dir: '/models/some-model' }, reranker: INFO, limits: { maxDocuments: 5, maxBodyBytes: 10 * 1024 * 1024 } });
    expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
    const head = await fetch(`${url}/health`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });
});

describe('serve: errors', () => {
  const cases: Array<[string, string, unknown, number, string, string?]> = [
    ['bad JSON', '/v2/rerank', '{"query": ', 400, 'ERR_INVALID_JSON'],
    ['empty body', '/rerank', '', 400, 'ERR_INVALID_JSON'],
    ['not an object', '/v1/rerank', '[1, 2]', 400, 'ERR_INVALID_ARGUMENT'],
    ['missing query', '/v2/rerank', { documents: ['a'] }, 400, 'ERR_INVALID_ARGUMENT', 'query'],
    ['query of a wrong type', '/rerank', { query: 5, texts: ['a'] }, 400, 'ERR_INVALID_ARGUMENT', 'query'],
    ['missing documents', '/v1/rerank', { query: 'q' }, 400, 'ERR_INVALID_ARGUMENT', 'documents'],
    ['empty documents', '/v2/rerank', { query: 'q', documents: [] }, 400, 'ERR_INVALID_ARGUMENT', 'documents'],
    ['a document of a wrong type', '/v2/rerank', { query: 'q', documents: ['a', 3] }, 400, 'ERR_INVALID_ARGUMENT', 'documents[1]'],
    ['an object without text', '/v1/rerank', { query: 'q', documents: ['a', { txt: 'b' }] }, 400, 'ERR_INVALID_ARGUMENT', 'documents[1].text'],
    ['TEI texts are strings only', '/rerank', { query: 'q', texts: [{ text: 'a' }] }, 400, 'ERR_INVALID_ARGUMENT', 'texts[0]'],
    ['top_n 0', '/v2/rerank', { query: 'q', documents: ['a'], top_n: 0 }, 400, 'ERR_INVALID_ARGUMENT', 'top_n'],
    ['top_n 1.5', '/v1/rerank', { query: 'q', documents: ['a'], top_n: 1.5 }, 400, 'ERR_INVALID_ARGUMENT', 'top_n'],
    ['return_documents a string', '/v2/rerank', { query: 'q', documents: ['a'], return_documents: 'yes' }, 400, 'ERR_INVALID_ARGUMENT', 'return_documents'],
    ['max_tokens_per_doc 0', '/v2/rerank', { query: 'q', documents: ['a'], max_tokens_per_doc: 0 }, 400, 'ERR_INVALID_ARGUMENT', 'max_tokens_per_doc'],
    ['model not a string', '/v1/rerank', { model: 1, query: 'q', documents: ['a'] }, 400, 'ERR_INVALID_ARGUMENT', 'model'],
    ['raw_scores a number', '/rerank', { query: 'q', texts: ['a'], raw_scores: 1 }, 400, 'ERR_INVALID_ARGUMENT', 'raw_scores'],
    ['left truncation', '/rerank', { query: 'q', texts: ['a'], truncation_direction: 'left' }, 400, 'ERR_INVALID_ARGUMENT', 'truncation_direction'],
    ['too many documents', '/v2/rerank', { query: 'q', documents: ['a', 'b', 'c', 'd'] }, 413, 'ERR_TOO_MANY_DOCUMENTS', 'documents'],
    ['a document too long', '/v1/rerank', { query: 'q', documents: ['a', { text: 'x'.repeat(11) }] }, 413, 'ERR_DOCUMENT_TOO_LONG', 'documents[1].text'],
    ['a query too long', '/rerank', { query: 'x'.repeat(11), texts: ['a'] }, 413, 'ERR_DOCUMENT_TOO_LONG', 'query'],
  ];
  it.each(cases.map(([what, path, body, status, code, field]) => ({ what, path, body, status, code, field })))('$what: $path answers $status', async ({ path, body, status, code, field }) => {
    const stub = new Stub();
    const { url } = await serve(stub, { maxDocuments: 3, maxDocumentChars: 10 });
    const res = await post(`${url}${path}`, body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const { error } = await json(res);
    expect(error.code).toBe(code);
    expect(typeof error.message).toBe('string');
    expect(error.field).toBe(field);
    expect(stub.calls).toHaveLength(0);
  });

  it('unknown paths 404, wrong methods 405 with Allow', async () => {
    const { url } = await serve(new Stub());
    const missing = await post(`${url}/v3/rerank`, {});
    expect(missing.status).toBe(404);
    expect((await json(missing)).error.code).toBe('ERR_NOT_FOUND');
    const get = await fetch(`${url}/v2/rerank`);
    expect([get.status, get.headers.get('allow')]).toEqual([405, 'POST']);
    const put = await fetch(`${url}/metrics`, { method: 'PUT', body: 'x' });
    expect([put.status, put.headers.get('allow'), (await json(put)).error.code]).toEqual([405, 'GET, HEAD', 'ERR_METHOD_NOT_ALLOWED']);
  });

  it.each([
    { name: 'OverloadedError', make: () => new OverloadedError('the queue is full'), status: 429, code: 'ERR_OVERLOADED' },
    { name: 'TimeoutError', make: () => new TimeoutError(5), status: 504, code: 'ERR_TIMEOUT' },
    { name: 'TruncationError', make: () => new TruncationError('the query leaves no room'), status: 422, code: 'ERR_TRUNCATION' },
    { name: 'ClosedError', make: () => new ClosedError(), status: 503, code: 'ERR_CLOSED' },
    { name: 'BackendError', make: () => new BackendError('CUDA error'), status: 500, code: 'ERR_BACKEND' },
    { name: 'a plain Error', make: () => new Error('bug'), status: 500, code: 'ERR_INTERNAL' },
  ])('$name from rerank answers $status', async ({ make, status, code }) => {
    const stub = new Stub();
    stub.behave = async () => { throw make(); };
    const { url } = await serve(stub);
    const res = await post(`${url}/rerank`, { query: 'q', texts: ['a'] });
    expect(res.status).toBe(status);
    expect((await json(res)).error.code).toBe(code);
    expect(res.headers.get('retry-after')).toBe(status === 429 ? '1' : null);
  });

  it('a body over maxBodyBytes is 413, declared or chunked, and the connection is still answered', async () => {
    const stub = new Stub();
    const { url } = await serve(stub, { maxBodyBytes: 1000 });
    const big = JSON.stringify({ query: 'q', texts: ['x'.repeat(5000)] });
    const declared = await post(`${url}/rerank`, big);
    expect([declared.status, (await json(declared)).error.code]).toEqual([413, 'ERR_BODY_TOO_LARGE']);
    // Chunked (no Content-Length): refused once 1000 bytes have come; the rest is read and dropped.
    const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${url}/rerank`, { method: 'POST', headers: { 'transfer-encoding': 'chunked' } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      });
      req.on('error', reject);
      for (let i = 0; i < 50; i++) req.write('x'.repeat(100));
      req.end();
    });
    expect(chunked.status).toBe(413);
    expect(JSON.parse(chunked.body).error.code).toBe('ERR_BODY_TOO_LARGE');
    // Expect: 100-continue with a declared body over the limit: refused before the body is sent.
    const text = await raw(url, `POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n`, async () => {}, '');
    expect(text).toMatch(/^HTTP\/1\.1 413 /);
    expect(text).not.toMatch(/100 Continue/);
    expect(stub.calls).toHaveLength(0);
  });
});

describe('serve: connections', () => {
  it('connections past maxConnections are closed at once; the others are served', async () => {
    const { url } = await serve(new Stub(), { maxConnections: 1 });
    const { hostname, port } = new URL(url);
    const held = connect(Number(port), hostname);
    await new Promise((r) => held.once('connect', r));
    const extra = connect(Number(port), hostname);
    const closed = await new Promise<string>((resolve) => {
      extra.on('error', () => resolve('error'));
      extra.on('close', () => resolve('closed'));
      extra.on('connect', () => extra.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n'));
      extra.on('data', () => resolve('answered'));
    });
    expect(closed).not.toBe('answered');
    held.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      held.on('data', (d) => (text += d));
      held.on('close', () => resolve(text));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 [\s\S]*\{"status":"ok"\}$/);
  });

  it('a client slower than headersTimeoutMs or bodyTimeoutMs is answered 408 and cut off; the call never starts', async () => {
    const stub = new Stub();
    const { url } = await serve(stub, { headersTimeoutMs: 200, bodyTimeoutMs: 400 });
    const never = () => new Promise<void>(() => {});
    const timed = async (first: string) => {
      const start = performance.now();
      const text = await raw(url, first, never, '');
      return { text, ms: performance.now() - start };
    };
    // Headers never finished; then a body that stops halfway (headers in time, 10 of 100 bytes sent).
    const [headers, body] = await Promise.all([
      timed('POST /rerank HTTP/1.1\r\nHost: x\r\n'),
      timed('POST /rerank HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"query":'),
    ]);
    for (const { text } of [headers, body]) expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(headers.ms).toBeGreaterThanOrEqual(190);
    expect(body.ms).toBeGreaterThanOrEqual(390);
    for (const { ms } of [headers, body]) expect(ms).toBeLessThan(2000);  // node:http's own check interval is 30 s
    expect(stub.calls).toHaveLength(0);
  });
});

describe('serve: disconnects and shutdown', () => {
  it('a client that disconnects aborts its call; counted as 499', async () => {
    const stub = new Stub();
    const call = held(stub);
    const { url } = await serve(stub);
    const req = httpRequest(`${url}/v2/rerank`, { method: 'POST' });
    req.on('error', () => {});
    req.end(JSON.stringify({ query: 'q', documents: ['a'] }));
    await call.running;
    req.destroy();
    expect(await call.aborted).toBeInstanceOf(Error);
    await expect.poll(async () => {
      const metrics = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
      return sampleValue(metrics, 'trt_rerank_requests_total', 'trt_rerank_requests_total', { route: '/v2/rerank', status: '499' });
    }, { timeout: 10_000 }).toBe(1);
  });

  it('close() drains: /health and late requests 503 with Connection: close, the call in flight finishes 200', async () => {
    const stub = new Stub();
    const call = held(stub);
    const { server, url } = await serve(stub);
    const inflight = post(`${url}/v2/rerank`, { query: 'q', documents: ['a', 'bb'] });
    await call.running;
    // A connection with a request begun before close() is not idle: its request is answered while draining.
    let closing: ReturnType<RerankServer['close']> | undefined;
    const late = raw(url, 'GET /health HTTP/1.1\r\nHost: x\r\n', async () => {
      await new Promise((r) => setTimeout(r, 300));
      closing = server.close();
    }, '\r\n');
    const answer = await late;
    expect(answer).toMatch(/^HTTP\/1\.1 503 /);
    expect(answer).toMatch(/\r\nConnection: close\r\n/i);
    expect(answer).toMatch(/\{"status":"draining"\}$/);
    expect(server.draining).toBe(true);
    await expect(fetch(`${url}/health`)).rejects.toThrow();  // no longer listening
    call.release();
    const res = await inflight;
    expect(res.status).toBe(200);
    expect(res.headers.get('connection')).toBe('close');
    expect((await json(res)).results.map((r: { index: number }) => r.index)).toEqual([1, 0]);
    expect(await closing).toEqual({ drained: true });
  });

  it('past the drain timeout, calls in flight are aborted and answered 503', async () => {
    const stub = new Stub();
    const call = held(stub);
    const { server, url } = await serve(stub, { drainTimeoutMs: 200 });
    const inflight = post(`${url}/rerank`, { query: 'q', texts: ['a'] });
    await call.running;
    const closed = server.close();
    const res = await inflight;
    expect(res.status).toBe(503);
    expect((await json(res)).error).toMatchObject({ code: 'ERR_DRAINING', message: expect.stringMatching(/drain timeout of 200 ms/) });
    expect(await closed).toEqual({ drained: false });
  });
});

describe('serve: /metrics', () => {
  const hist = (le: number[], counts: number[], sum: number): Histogram => ({ le, counts, sum, count: counts.reduce((a, b) => a + b, 0) });
  const STATS: RerankerStats = {
    calls: 10, failedCalls: 2, rejectedCalls: 3, pairs: 1234, tokens: 56789, batches: 17, contexts: 5, sharedTokens: 4321, activeCalls: 1, queuedPairs: 40,
    maxBatchTokens: 16384, maxBatchPairs: 256, maxQueuedPairs: 262144,
    batchFill: hist([0.5, 1], [3, 14, 0], 12.5), batchPairs: hist([1, 2, 4], [1, 2, 3, 11], 300), batchTokens: hist([64, 128], [0, 17, 0], 2000),
    queueSeconds: hist([0.001, 0.01], [5, 4, 3], 0.2), runSeconds: hist([0.01, 0.1], [2, 8, 2], 1.5),
    queueMs: { p50: 1, p90: 2, p99: 3, max: 4 }, runMs: { p50: 1, p90: 2, p99: 3, max: 4 },
  };

  it("renders the server's and the Reranker's metrics in one parseable exposition, stats() read once per scrape", async () => {
    let reads = 0;
    const stub = Object.assign(new Stub(), { stats: () => (reads++, STATS) });
    const { url } = await serve(stub, { defaultMetrics: true });
    await post(`${url}/v2/rerank`, { query: 'q', documents: ['a'] });
    await post(`${url}/v2/rerank`, { query: 'q', documents: [] });
    reads = 0;
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parsePrometheus(await res.text());
    expect(reads).toBe(1);
    checkHistograms(m);
    const v = (family: string, name = family, labels: Record<string, string> = {}) => sampleValue(m, family, name, labels);
    expect(v('trt_rerank_requests_total', undefined, { route: '/v2/rerank', status: '200' })).toBe(1);
    expect(v('trt_rerank_requests_total', undefined, { route: '/v2/rerank', status: '400' })).toBe(1);
    expect(v('trt_rerank_request_duration_seconds', 'trt_rerank_request_duration_seconds_count', { route: '/v2/rerank' })).toBe(2);
    expect([v('trt_rerank_pairs_total'), v('trt_rerank_tokens_total'), v('trt_rerank_batches_total'), v('trt_rerank_queue_pairs'), v('trt_rerank_active_calls')])
      .toEqual([1234, 56789, 17, 40, 1]);
    expect([v('trt_rerank_shared_prefixes_total'), v('trt_rerank_shared_tokens_total')]).toEqual([5, 4321]);
    expect(['ok', 'failed', 'rejected'].map((outcome) => v('trt_rerank_calls_total', undefined, { outcome }))).toEqual([10, 2, 3]);
    const buckets = ['1', '2', '4', '+Inf'].map((le) => v('trt_rerank_batch_pairs', 'trt_rerank_batch_pairs_bucket', { le }));
    expect(buckets).toEqual([1, 3, 6, 17]);
    expect([v('trt_rerank_batch_pairs', 'trt_rerank_batch_pairs_sum'), v('trt_rerank_batch_pairs', 'trt_rerank_batch_pairs_count')]).toEqual([300, 17]);
    for (const name of ['trt_rerank_queue_duration_seconds', 'trt_rerank_run_duration_seconds', 'trt_rerank_batch_tokens', 'trt_rerank_batch_fill']) {
      expect(m.get(name)?.type).toBe('histogram');
    }
    expect(m.get('trt_rerank_queue_pairs')?.type).toBe('gauge');
    expect(m.get('trt_rerank_pairs_total')?.type).toBe('counter');
    expect(m.has('nodejs_eventloop_lag_seconds')).toBe(true);
  });

  it("without stats() only the server's own metrics are there", async () => {
    const { url } = await serve(new Stub());
    const m = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
    expect([...m.keys()].sort()).toEqual(['trt_rerank_request_duration_seconds', 'trt_rerank_requests_total']);
  });
});
