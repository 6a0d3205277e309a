/**
 * `trt-rerank serve`'s HTTP server (node:http): routing, limits, the Reranker call of each request, and a
 * draining shutdown. One Reranker, one model; the three rerank dialects are in dialects.ts, the metrics in
 * metrics.ts.
 *
 *   POST /v2/rerank (Cohere v2)   POST /v1/rerank (Jina)   POST /rerank (TEI)
 *   GET /health (200 { status: 'ok' }; 503 { status: 'draining' } once close() began)
 *   GET /info (model, backend, limits, version)   GET /metrics (Prometheus text format)
 *
 * Each request's call gets an AbortSignal that fires when the client closes the connection before its answer
 * (the call stops between batches), and `requestTimeoutMs` as its timeoutMs. close() stops accepting
 * connections, answers requests that still arrive on open connections with 503, waits for the requests in
 * flight up to `drainTimeoutMs`, then aborts those left (503) and closes every connection.
 * @internal
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { basename, resolve as resolvePath } from 'node:path';
import type { RerankOptions } from '../options.js';
import type { RerankerInfo, RerankResult } from '../reranker.js';
import type { RerankerStats } from '../stats.js';
import { cohere, jina, tei, type Dialect, type DialectContext, type RerankCall } from './dialects.js';
import { discardRest, fromRerankError, HttpError, parseJson, readBody, sendError, sendJson } from './http.js';
import { LengthCheck } from './length-check.js';
import { ServerMetrics, type MetricRoute } from './metrics.js';

/** What the server needs of a Reranker (lib/reranker.ts); `stats` feeds /metrics where the Reranker has it. */
export interface ServedReranker {
  readonly info: RerankerInfo;
  rerank(query: string, docs: readonly string[], options?: RerankOptions): Promise<RerankResult[]>;
  stats?: () => RerankerStats;
}

export interface ServerOptions {
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default 8080; 0 picks a free port (see `address`). */
  port?: number;
  /** The model folder: shown by /info, and read for TEI's `truncate: false` (see length-check.ts). */
  modelDir?: string;
  /** The model's name in /info and Jina replies to requests that name none. Default: the model folder's name. */
  modelName?: string;
  /** Largest request body in bytes (413 above). Default 10 MiB. */
  maxBodyBytes?: number;
  /** Most documents per request (413 above). Default 10 000. */
  maxDocuments?: number;
  /** Most characters in the query and in each document (413 above). Default 100 000. */
  maxDocumentChars?: number;
  /** Most open connections; further ones are closed at once (node:http's server.maxConnections). Default 1024. */
  maxConnections?: number;
  /** Each call's timeoutMs (504 past it); 0 for none. Default 60 000. */
  requestTimeoutMs?: number;
  /** How long close() waits for requests in flight before aborting them. Default 30 000. */
  drainTimeoutMs?: number;
  /** Time to receive a request's headers (node:http headersTimeout; 408 past it). Default 30 000. */
  headersTimeoutMs?: number;
  /** Time to receive a whole request, body included (node:http requestTimeout; 408 past it). Default 60 000. */
  bodyTimeoutMs?: number;
  /** Add Node's process metrics (prom-client's default metrics) to /metrics. Default true. */
  defaultMetrics?: boolean;
}

export type ResolvedServerOptions = Required<Omit<ServerOptions, 'modelDir'>> & { modelDir: string | undefined };

export const SERVER_DEFAULTS = {
  host: '127.0.0.1',
  port: 8080,
  maxBodyBytes: 10 * 1024 * 1024,
  maxDocuments: 10_000,
  maxDocumentChars: 100_000,
  maxConnections: 1024,
  requestTimeoutMs: 60_000,
  drainTimeoutMs: 30_000,
  headersTimeoutMs: 30_000,
  bodyTimeoutMs: 60_000,
  defaultMetrics: true,
} as const;

export interface ServerAddress {
  host: string;
  port: number;
  /** `http://host:port`, IPv6 hosts in brackets. */
  url: string;
}

/** What close() found: whether every request in flight finished before the drain timeout. */
export interface CloseResult {
  drained: boolean;
}

/** After the drain timeout, how long the aborted requests get to answer before their connections are cut. */
const ABORT_GRACE_MS = 2000;

const PACKAGE_VERSION = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();

interface Route {
  methods: readonly string[];
  handle(req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> | void;
}

/** The abort reason of calls cut by close() once the drain timeout passed. */
class ShutdownReason extends Error {}

export class RerankServer {
  readonly server: Server;
  readonly options: ResolvedServerOptions;
  readonly metrics: ServerMetrics;
  readonly #reranker: ServedReranker;
  readonly #routes: Map<string, Route>;
  readonly #context: DialectContext;
  /** One controller per request being handled (from its arrival to the end of its response). */
  readonly #inflight = new Set<AbortController>();
  #onIdle: (() => void) | undefined;
  #draining = false;
  #closing: Promise<CloseResult> | undefined;
  #lengthCheck: Promise<LengthCheck> | undefined;

  constructor(reranker: ServedReranker, options: ServerOptions = {}) {
    const modelDir = options.modelDir === undefined ? undefined : resolvePath(options.modelDir);
    this.options = {
      ...SERVER_DEFAULTS,
      ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)),
      modelDir,
      modelName: options.modelName ?? (modelDir ? basename(modelDir) : 'model'),
    } as ResolvedServerOptions;
    this.#reranker = reranker;
    const stats = typeof reranker.stats === 'function' ? () => reranker.stats!() : undefined;
    this.metrics = new ServerMetrics(stats, { defaultMetrics: this.options.defaultMetrics });
    this.#context = { limits: this.options, modelName: this.options.modelName };
    const rerankRoute = (dialect: Dialect): Route => ({ methods: ['POST'], handle: (req, res, signal) => this.#rerank(dialect, req, res, signal) });
    const getRoute = (handle: Route['handle']): Route => ({ methods: ['GET', 'HEAD'], handle });
    this.#routes = new Map<string, Route>([
      ['/v2/rerank', rerankRoute(cohere)],
      ['/v1/rerank', rerankRoute(jina)],
      ['/rerank', rerankRoute(tei)],
      ['/health', getRoute((_req, res) => sendJson(res, 200, { status: 'ok' }))],
      ['/info', getRoute((_req, res) => sendJson(res, 200, this.info()))],
      ['/metrics', getRoute(async (_req, res) => {
        const text = await this.metrics.render();
        this.#closeIfDraining(res);
        res.writeHead(200, { 'Content-Type': this.metrics.contentType, 'Content-Length': Buffer.byteLength(text) });
        res.end(text);
      })],
    ]);
    const o = this.options;
    this.server = createHttpServer({
      headersTimeout: o.headersTimeoutMs,
      requestTimeout: Math.max(o.bodyTimeoutMs, o.headersTimeoutMs),
      // node:http looks for requests past those timeouts this often (its default, 30 s, would let a slow client
      // hold a connection up to 30 s past them): a tenth of the shorter, at least 10 ms, at most 30 s.
      connectionsCheckingInterval: Math.min(30_000, Math.max(10, Math.ceil(Math.min(o.headersTimeoutMs, o.bodyTimeoutMs) / 10))),
    });
    this.server.maxConnections = o.maxConnections;
    this.server.on('request', (req, res) => void this.#handle(req, res));
    // `Expect: 100-continue` with a declared body over the limit: refused before the client sends it.
    this.server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      const declared = Number(req.headers['content-length']);
      if (!(Number.isFinite(declared) && declared > o.maxBodyBytes)) res.writeContinue();
      else res.setHeader('Connection', 'close');
      void this.#handle(req, res);
    });
  }

  /** Listens on options.host and options.port; resolves with the address once listening. */
  listen(): Promise<ServerAddress> {
    return new Promise((resolve, reject) => {
      const onError = (error: Error) => reject(error);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        resolve(this.address!);
      });
    });
  }

  /** Where the server listens, or undefined before listen(). */
  get address(): ServerAddress | undefined {
    const a = this.server.address() as AddressInfo | string | null;
    if (!a || typeof a === 'string') return undefined;
    const host = a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]` : a.address;
    return { host: a.address, port: a.port, url: `http://${host}:${a.port}` };
  }

  /** True once close() began: /health answers 503, other requests 503 with `Connection: close`. */
  get draining(): boolean {
    return this.#draining;
  }

  /** Requests being handled now. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** What GET /info answers: the model, the Reranker's info (its batch and queue limits among it), the server's limits. */
  info() {
    const o = this.options;
    return {
      version: PACKAGE_VERSION,
      model: { name: o.modelName, dir: o.modelDir ?? null },
      reranker: this.#reranker.info,
      limits: {
        maxBodyBytes: o.maxBodyBytes,
        maxDocuments: o.maxDocuments,
        maxDocumentChars: o.maxDocumentChars,
        maxConnections: o.maxConnections,
        requestTimeoutMs: o.requestTimeoutMs,
        drainTimeoutMs: o.drainTimeoutMs,
        headersTimeoutMs: o.headersTimeoutMs,
        bodyTimeoutMs: o.bodyTimeoutMs,
      },
      endpoints: [...this.#routes].map(([path, route]) => `${route.methods[0]} ${path}`),
    };
  }

  /**
   * Stops accepting connections and drains: requests in flight finish (up to drainTimeoutMs; past it they are
   * aborted and answered 503), then every connection is closed. The Reranker is left open (its owner closes it).
   * Calling it again returns the same promise.
   */
  close(): Promise<CloseResult> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<CloseResult> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const idle = () => this.#inflight.size === 0 ? Promise.resolve(true) : new Promise<boolean>((resolve) => (this.#onIdle = () => resolve(true)));
    const within = (ms: number) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
      return Promise.race([idle(), timeout]).finally(() => clearTimeout(timer));
    };
    const drained = await within(this.options.drainTimeoutMs);
    if (!drained) {
      const reason = new ShutdownReason(`the server shut down: the call did not finish within the drain timeout of ${this.options.drainTimeoutMs} ms`);
      for (const controller of this.#inflight) controller.abort(reason);
      await within(ABORT_GRACE_MS);
    }
    this.#onIdle = undefined;
    this.server.closeAllConnections();
    await closed;
    return { drained };
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const path = (req.url ?? '/').split('?', 1)[0]!;
    const route = this.#routes.get(path);
    const controller = new AbortController();
    this.#inflight.add(controller);
    res.once('close', () => {
      const finished = res.writableFinished;
      if (!finished) controller.abort(new Error('the client closed the connection before the response'));
      this.#inflight.delete(controller);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      this.metrics.observe(route ? (path as MetricRoute) : 'other', finished ? res.statusCode : 499, seconds);
      if (this.#inflight.size === 0) this.#onIdle?.();
    });
    this.#closeIfDraining(res);
    try {
      if (this.#draining) {
        if (path === '/health') return sendJson(res, 503, { status: 'draining' });
        throw new HttpError(503, 'ERR_DRAINING', 'the server is shutting down: send the request to another instance');
      }
      if (!route) throw new HttpError(404, 'ERR_NOT_FOUND', `no route ${path}: the server answers POST /v2/rerank, /v1/rerank, /rerank and GET /health, /info, /metrics`);
      if (!route.methods.includes(req.method ?? '')) {
        throw new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `${path} takes ${route.methods.join(' or ')}, not ${req.method}`, { headers: { Allow: route.methods.join(', ') } });
      }
      await route.handle(req, res, controller.signal);
    } catch (error) {
      if (res.headersSent || res.destroyed) return;  // the client went away; nothing to answer
      const reason: unknown = controller.signal.reason;
      const e = reason instanceof ShutdownReason
        ? new HttpError(503, 'ERR_DRAINING', reason.message)
        : fromRerankError(error);
      this.#closeIfDraining(res);
      sendError(res, e);
      if (e.status === 413) discardRest(req);
    }
  }

  async #rerank(dialect: Dialect, req: IncomingMessage, res: ServerResponse, signal: AbortSignal): Promise<void> {
    const body = parseJson(await readBody(req, this.options.maxBodyBytes, signal));
    const { call, reply } = dialect(body, this.#context);
    if (call.refuseOverLength) await this.#refuseOverLength(call);
    let tokens = 0;
    const timeoutMs = this.options.requestTimeoutMs;
    const results = await this.#reranker.rerank(call.query, call.docs, {
      ...(call.topK !== undefined ? { topK: call.topK } : {}),
      ...(call.maxTokensPerDoc !== undefined ? { maxTokensPerDoc: call.maxTokensPerDoc } : {}),
      ...(timeoutMs > 0 ? { timeoutMs } : {}),
      activation: call.activation,
      signal,
      onTimings: (t) => (tokens = t.tokens),
    });
    this.#closeIfDraining(res);
    sendJson(res, 200, reply(results, { tokens }));
  }

  /** While draining, every answer closes its connection, so that clients reconnect (to another instance). */
  #closeIfDraining(res: ServerResponse): void {
    if (this.#draining && !res.headersSent) res.setHeader('Connection', 'close');
  }

  /** TEI's `truncate: false`: 422 naming the first document whose pair is longer than the model's maxLength. */
  async #refuseOverLength(call: RerankCall): Promise<void> {
    const dir = this.options.modelDir;
    if (dir === undefined) {
      throw new HttpError(501, 'ERR_INTERNAL', 'truncate: false needs the model folder (ServerOptions.modelDir) to count tokens; send truncate: true');
    }
    const maxLength = this.#reranker.info.maxLength;
    // Loaded on the first such request; a failed load is tried again by the next one.
    this.#lengthCheck ??= LengthCheck.load(dir, maxLength).catch((error: unknown) => {
      this.#lengthCheck = undefined;
      throw error;
    });
    const index = (await this.#lengthCheck).firstOverLength(call.query, call.docs);
    if (index >= 0) {
      const field = `${call.docsField}[${index}]`;
      throw new HttpError(422, 'ERR_INPUT_TOO_LONG',
        `the query and ${field} make a pair longer than the model's maxLength of ${maxLength} tokens, and truncate is false: send "truncate": true to cut it`, { field });
    }
  }
}

/** A server for `reranker`, not yet listening (call listen()). */
export function createServer(reranker: ServedReranker, options?: ServerOptions): RerankServer {
  return new RerankServer(reranker, options);
}

/** A server for `reranker`, listening on options.host and options.port. */
export async function startServer(reranker: ServedReranker, options?: ServerOptions): Promise<RerankServer> {
  const server = createServer(reranker, options);
  await server.listen();
  return server;
}
