/**
 * The HTTP pieces every route shares: the one error shape, JSON replies, and a request body read within a byte
 * limit. Every error the server answers is `{ "error": { "code", "message", "field"? } }`: `code` is stable (the
 * library's ERR_* codes where the error came from the Reranker, the server's own below otherwise), `field` names
 * the request field at fault (`documents[3].text`) where there is one.
 * @internal
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RerankError } from '../errors.js';

/** The server's own error codes, beside the library's (lib/errors.ts). */
export type ServeErrorCode =
  | 'ERR_INVALID_JSON'
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_BODY_TOO_LARGE'
  | 'ERR_TOO_MANY_DOCUMENTS'
  | 'ERR_DOCUMENT_TOO_LONG'
  | 'ERR_INPUT_TOO_LONG'
  | 'ERR_NOT_FOUND'
  | 'ERR_METHOD_NOT_ALLOWED'
  | 'ERR_DRAINING'
  | 'ERR_INTERNAL';

/** An error answered with `status` and the JSON error shape. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;
  readonly headers: Record<string, string>;
  constructor(status: number, code: ServeErrorCode | RerankError['code'], message: string, options?: { field?: string; headers?: Record<string, string> }) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = options?.field;
    this.headers = options?.headers ?? {};
  }
}

/** Seconds a client is told to wait (Retry-After) when the Reranker's queue is full. */
export const RETRY_AFTER_SECONDS = 1;

/**
 * The status a library error is answered with: invalid arguments 400, a query that truncation cannot fit 422
 * (the request is well formed but this model cannot take it), a full queue 429 (Retry-After), the call's
 * timeout 504, a closed Reranker (shutting down) 503, anything else 500.
 */
export function fromRerankError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (!(error instanceof RerankError)) {
    return new HttpError(500, 'ERR_INTERNAL', `internal error: ${(error as Error)?.message ?? String(error)}`);
  }
  switch (error.code) {
    case 'ERR_INVALID_ARGUMENT':
      return new HttpError(400, error.code, error.message);
    case 'ERR_TRUNCATION':
      return new HttpError(422, error.code, error.message);
    case 'ERR_OVERLOADED':
      return new HttpError(429, error.code, error.message, { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) } });
    case 'ERR_TIMEOUT':
      return new HttpError(504, error.code, error.message);
    case 'ERR_CLOSED':
      return new HttpError(503, error.code, 'the server is shutting down');
    default:
      return new HttpError(500, error.code, error.message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendError(res: ServerResponse, error: HttpError, headers: Record<string, string> = {}): void {
  const body = { error: { code: error.code, message: error.message, ...(error.field !== undefined ? { field: error.field } : {}) } };
  sendJson(res, error.status, body, { ...error.headers, ...headers });
}

export const bodyTooLarge = (limit: number) =>
  new HttpError(413, 'ERR_BODY_TOO_LARGE', `the request body is larger than the server's limit of ${limit} bytes (--max-body-bytes)`);

/** A declared Content-Length over `limit` (the body need not be read to refuse it), or undefined. */
export function declaredTooLarge(req: IncomingMessage, limit: number): HttpError | undefined {
  const declared = Number(req.headers['content-length']);
  return Number.isFinite(declared) && declared > limit ? bodyTooLarge(limit) : undefined;
}

/**
 * The request body as one Buffer, refused with 413 once it passes `limit` bytes (what follows is read and
 * dropped, not kept: see discardRest), or with `signal`'s reason once it fires (the client went away).
 */
export function readBody(req: IncomingMessage, limit: number, signal: AbortSignal): Promise<Buffer> {
  const early = declaredTooLarge(req, limit);
  if (early) return Promise.reject(early);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stop = (error: unknown) => {
      req.off('data', onData);
      signal.removeEventListener('abort', onAbort);
      chunks.length = 0;
      reject(error);
    };
    const onAbort = () => stop(signal.reason);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) stop(bodyTooLarge(limit));
      else chunks.push(chunk);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('data', onData);
    req.once('end', () => {
      signal.removeEventListener('abort', onAbort);
      if (size <= limit) resolve(Buffer.concat(chunks, size));
    });
    req.once('error', stop);
  });
}

/** How long the rest of a refused body is read and dropped before the connection is cut. */
const LINGER_MS = 5000;

/**
 * After answering a request whose body was not read to its end (413): reads and drops the rest for up to
 * LINGER_MS, so that a client still sending receives the answer rather than a reset (Apache's and nginx's
 * lingering close) and the connection can be reused, then cuts the connection if the body has not ended.
 */
export function discardRest(req: IncomingMessage): void {
  if (req.complete) return;
  const timer = setTimeout(() => {
    if (!req.complete) req.socket.destroy();
  }, LINGER_MS);
  timer.unref();
  const clear = () => clearTimeout(timer);
  req.once('end', clear);
  req.socket.once('close', clear);
  req.resume();
}

/** The body parsed as JSON, or 400 ERR_INVALID_JSON saying where it stopped. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new HttpError(400, 'ERR_INVALID_JSON', 'the request body is empty: expected a JSON object');
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw new HttpError(400, 'ERR_INVALID_JSON', `the request body is not valid JSON: ${(error as Error).message}`);
  }
}
