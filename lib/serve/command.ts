/**
 * `trt-rerank serve`: its options, and the command itself (load the Reranker, listen, print one line, drain on
 * SIGTERM or SIGINT). lib/cli.ts dispatches to serveCommand.
 * @internal
 */
import { parseArgs } from 'node:util';
import type { LoadOptions } from '../options.js';
import { Reranker } from '../reranker.js';
import { SERVER_DEFAULTS, startServer, type ServerOptions } from './server.js';

export const SERVE_USAGE = `Usage:
  trt-rerank serve --model DIR [--host ${SERVER_DEFAULTS.host}] [--port ${SERVER_DEFAULTS.port}] [--model-name NAME]
      [--backend auto|tensorrt|cuda|cpu] [--device N|N,M,..|all] [--engine FILE] [--dtype fp16|bf16|fp32] [--max-length N]
      [--truncation longest_first|only_second] [--max-batch-size N] [--max-batch-tokens N] [--max-queued-pairs N]
      [--threads N] [--concurrency N] [--tokenizer-threads N] [--no-warmup] [--instruction TEXT]
      [--max-body-bytes N] [--max-documents N] [--max-document-chars N] [--max-connections N]
      [--request-timeout-ms N] [--drain-timeout-ms N] [--headers-timeout-ms N] [--body-timeout-ms N]
  Serves the model over HTTP: POST /v2/rerank (Cohere v2), /v1/rerank (Jina), /rerank (TEI); GET /health, /info,
  /metrics. --port 0 picks a free port. Prints one line once listening; SIGTERM or SIGINT drains the requests in
  flight (up to --drain-timeout-ms), closes the Reranker and exits 0 (1 where the drain timed out).
  Limits (defaults): --max-body-bytes ${SERVER_DEFAULTS.maxBodyBytes}, --max-documents ${SERVER_DEFAULTS.maxDocuments}, --max-document-chars ${SERVER_DEFAULTS.maxDocumentChars} (413 past
  each), --max-connections ${SERVER_DEFAULTS.maxConnections}, --request-timeout-ms ${SERVER_DEFAULTS.requestTimeoutMs} (504 past it; 0: none), --drain-timeout-ms ${SERVER_DEFAULTS.drainTimeoutMs},
  --headers-timeout-ms ${SERVER_DEFAULTS.headersTimeoutMs} and --body-timeout-ms ${SERVER_DEFAULTS.bodyTimeoutMs} (a client slower to send its headers or its whole request: 408).`;

/** A wrong or missing option of `serve`: the CLI prints it with the usage and exits 2 (`help`: the usage alone, 0). */
export class ServeUsageError extends Error {
  constructor(message: string, readonly help = false) {
    super(message);
  }
}

export interface ServeArgs {
  modelDir: string;
  load: LoadOptions;
  server: ServerOptions;
}

const STRING_OPTIONS = [
  'model', 'host', 'port', 'model-name', 'backend', 'device', 'engine', 'dtype', 'max-length', 'truncation', 'max-batch-size',
  'max-batch-tokens', 'max-queued-pairs', 'threads', 'concurrency', 'tokenizer-threads', 'max-body-bytes', 'max-documents',
  'max-document-chars', 'max-connections', 'request-timeout-ms', 'drain-timeout-ms', 'headers-timeout-ms', 'body-timeout-ms',
  'instruction',
] as const;

/** Parses serve's arguments; range and value checks of load options are Reranker.load's (ERR_INVALID_ARGUMENT). */
export function parseServeArgs(args: string[]): ServeArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        ...Object.fromEntries(STRING_OPTIONS.map((name) => [name, { type: 'string' as const }])),
        'no-warmup': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    throw new ServeUsageError(`serve: ${(error as Error).message}`);
  }
  const v = values as Partial<Record<(typeof STRING_OPTIONS)[number], string>> & { 'no-warmup'?: boolean; help?: boolean };
  if (v.help) throw new ServeUsageError('serve --help', true);
  if (!v.model) throw new ServeUsageError('serve needs --model DIR');
  const integer = (name: (typeof STRING_OPTIONS)[number], min: number): number | undefined => {
    const value = v[name];
    if (value === undefined) return undefined;
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new ServeUsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    return n;
  };
  // --device 1, --device 0,1 (a model copy per device) or --device all.
  const deviceOption = (value: string | undefined): LoadOptions['device'] => {
    if (value === undefined) return undefined;
    if (value === 'all') return 'all';
    const devices = value.split(',').map((d) => Number(d));
    if (value.trim() === '' || devices.some((d, i) => !Number.isSafeInteger(d) || d < 0 || value.split(',')[i]!.trim() === '')) {
      throw new ServeUsageError(`--device must be an index, a comma-separated list of them or 'all', got ${JSON.stringify(value)}`);
    }
    return devices.length === 1 ? devices[0] : devices;
  };
  const port = integer('port', 0);
  if (port !== undefined && port > 65535) throw new ServeUsageError(`--port must be between 0 and 65535, got ${port}`);
  const defined = <T extends object>(o: T) => Object.fromEntries(Object.entries(o).filter(([, x]) => x !== undefined)) as T;
  const load = defined({
    backend: v.backend as LoadOptions['backend'],
    device: deviceOption(v.device),
    engine: v.engine,
    dtype: v.dtype as LoadOptions['dtype'],
    maxLength: integer('max-length', 1),
    truncation: v.truncation as LoadOptions['truncation'],
    maxBatchSize: v['max-batch-size'] === 'auto' ? 'auto' : integer('max-batch-size', 1),
    maxBatchTokens: v['max-batch-tokens'] === 'auto' ? 'auto' : integer('max-batch-tokens', 1),
    maxQueuedPairs: integer('max-queued-pairs', 1),
    threads: integer('threads', 1),
    concurrency: integer('concurrency', 1),
    tokenizerThreads: integer('tokenizer-threads', 0),
    warmup: v['no-warmup'] ? false : undefined,
    instruction: v.instruction,  // LLM rerankers: the prompt's instruction for every request (the dialects have no field for it)
  } satisfies LoadOptions);
  const server = defined({
    host: v.host,
    port,
    modelDir: v.model,
    modelName: v['model-name'],
    maxBodyBytes: integer('max-body-bytes', 1),
    maxDocuments: integer('max-documents', 1),
    maxDocumentChars: integer('max-document-chars', 1),
    maxConnections: integer('max-connections', 1),
    requestTimeoutMs: integer('request-timeout-ms', 0),
    drainTimeoutMs: integer('drain-timeout-ms', 0),
    headersTimeoutMs: integer('headers-timeout-ms', 1),
    bodyTimeoutMs: integer('body-timeout-ms', 1),
  } satisfies ServerOptions);
  return { modelDir: v.model, load, server };
}

/**
 * Runs the server until SIGTERM or SIGINT, then drains it and closes the Reranker. Resolves with the exit code:
 * 0 once every request in flight finished, 1 where the drain timeout cut some.
 */
export async function serveCommand(args: string[]): Promise<number> {
  const { modelDir, load, server: serverOptions } = parseServeArgs(args);
  const reranker = await Reranker.load(modelDir, load);
  let server;
  try {
    server = await startServer(reranker, serverOptions);
  } catch (error) {
    await reranker.close();
    const e = error as NodeJS.ErrnoException;
    console.error(`trt-rerank serve: cannot listen on ${serverOptions.host ?? SERVER_DEFAULTS.host}:${serverOptions.port ?? SERVER_DEFAULTS.port}: ${e.code ?? ''} ${e.message}`);
    return 1;
  }
  const { info } = reranker;
  console.log(`trt-rerank serve: listening on ${server.address!.url} (model ${server.options.modelName}, backend ${info.backend}, maxLength ${info.maxLength})`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  console.error(`trt-rerank serve: ${signal}: draining ${server.inflight} request(s) (up to ${server.options.drainTimeoutMs} ms)`);
  // A second signal stops waiting for the drain.
  const force = () => {
    console.error('trt-rerank serve: second signal: exiting now');
    process.exit(1);
  };
  process.once('SIGTERM', force);
  process.once('SIGINT', force);
  const { drained } = await server.close();
  await reranker.close();
  console.error(drained ? 'trt-rerank serve: drained; exiting' : `trt-rerank serve: the drain timeout passed with requests in flight (answered 503); exiting`);
  // Nothing should be left running; if something is (a stuck handle), it must not keep the process up.
  setTimeout(() => process.exit(drained ? 0 : 1), 2000).unref();
  return drained ? 0 : 1;
}
