/**
 * Every public option is checked here, before any native code runs (sharp's lib/is.mjs habit): the error
 * names the option, what was expected and what came.
 */
import { availableParallelism } from 'node:os';
import { InvalidArgumentError } from './errors.js';

export type BackendName = 'auto' | 'tensorrt' | 'cuda' | 'cpu';
export type DType = 'fp16' | 'bf16' | 'fp32';
export type Truncation = 'longest_first' | 'only_second';
export type Activation = 'sigmoid' | 'none';

export interface LoadOptions {
  /** Which backend runs the model. `'auto'` picks the fastest one this build and machine can run. Default `'auto'`. */
  backend?: BackendName;
  /** CUDA device index for GPU backends. Default 0. */
  device?: number;
  /** A serialized TensorRT engine (`trt-rerank build-engine`) for the `'tensorrt'` backend. Default: `model.plan`
   * or `model.engine` in the model folder, when there. */
  engine?: string;
  /** Longest pair, in tokens, special tokens included. Default: the model's limit (tokenizer_config and config.json). */
  maxLength?: number;
  /** How a pair longer than maxLength is cut, with HF tokenizers' exact rules. Default `'longest_first'`. */
  truncation?: Truncation;
  /** Pairs per batch. `'auto'` sizes it from the backend (GPU: free memory, capped at 512). Default `'auto'`. */
  maxBatchSize?: number | 'auto';
  /** Compute precision of GPU backends (default `'fp16'`). The CPU backend always computes in fp32. */
  dtype?: DType;
  /** CPU backend threads. Default: all cores. */
  threads?: number;
  /** GPU backends: calls that run on the GPU at once, each in its own execution slot (stream and buffers,
   * allocated at load). Further calls wait for a free slot. Default 2. */
  concurrency?: number;
  /** Cache of document tokens, keyed by text, bounded in bytes; `false` turns it off. Default 64 MiB. */
  tokenCache?: { maxBytes: number } | false;
  /** Worker threads that tokenize calls of 64 documents or more; 0 keeps tokenizing on the calling thread.
   * Default: the number of cores. */
  tokenizerThreads?: number;
  /** Calls with up to this many documents are tokenized completely before the model runs; larger ones stream
   * in batches while the model runs, with bounded memory. Default 10 000. */
  streamThreshold?: number;
}

export interface ScoreOptions {
  /** `'sigmoid'` (default): scores in (0, 1) as sentence-transformers' CrossEncoder gives them (for two-label
   * models, the softmax probability of label 1). `'none'`: raw logits (label 1 minus label 0 for two labels). */
  activation?: Activation;
  /** Cancels the call between batches; the promise rejects with an AbortError. */
  signal?: AbortSignal;
}

export interface RerankOptions extends ScoreOptions {
  /** How many results to return, best first. Default: all documents. Values above docs.length are clamped. */
  topK?: number;
  /** Include each result's document text. Default false. */
  returnDocuments?: boolean;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
  if (typeof value === 'number') return String(value);
  return typeof value;
}

export function invalidOption(name: string, expected: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

function checkObject(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidOption(name, 'an object', value);
  return value as Record<string, unknown>;
}

function checkOneOf<T extends string>(value: unknown, name: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value as T)) throw invalidOption(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  return value as T;
}

function checkInt(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalidOption(name, `an integer between ${min} and ${max}`, value);
  }
  return value;
}

function checkNonEmptyString(value: unknown, name: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalidOption(name, 'a non-empty string (a file path)', value);
  return value;
}

function checkSignal(value: unknown, name: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidOption(name, 'an AbortSignal', value);
  return value;
}

export interface CheckedLoadOptions {
  backend: BackendName;
  device: number;
  engine: string | undefined;
  maxLength: number | undefined;
  truncation: Truncation;
  maxBatchSize: number | 'auto';
  dtype: DType | undefined;
  threads: number;
  concurrency: number;
  tokenCache: { maxBytes: number } | false;
  tokenizerThreads: number;
  streamThreshold: number;
}

export const DEFAULT_TOKEN_CACHE_BYTES = 64 * 1024 * 1024;

export function checkLoadOptions(options: unknown): CheckedLoadOptions {
  const o = checkObject(options, 'options');
  let tokenCache: CheckedLoadOptions['tokenCache'] = { maxBytes: DEFAULT_TOKEN_CACHE_BYTES };
  if (o.tokenCache === false) tokenCache = false;
  else if (o.tokenCache !== undefined) {
    const t = checkObject(o.tokenCache, 'options.tokenCache');
    tokenCache = { maxBytes: checkInt(t.maxBytes, 'options.tokenCache.maxBytes', 0, Number.MAX_SAFE_INTEGER) };
  }
  return {
    backend: checkOneOf(o.backend, 'options.backend', ['auto', 'tensorrt', 'cuda', 'cpu'] as const, 'auto'),
    device: o.device === undefined ? 0 : checkInt(o.device, 'options.device', 0, 1024),
    engine: o.engine === undefined ? undefined : checkNonEmptyString(o.engine, 'options.engine'),
    maxLength: o.maxLength === undefined ? undefined : checkInt(o.maxLength, 'options.maxLength', 1, 1 << 20),
    truncation: checkOneOf(o.truncation, 'options.truncation', ['longest_first', 'only_second'] as const, 'longest_first'),
    maxBatchSize: o.maxBatchSize === undefined || o.maxBatchSize === 'auto' ? 'auto' : checkInt(o.maxBatchSize, "options.maxBatchSize (or 'auto')", 1, 65536),
    dtype: o.dtype === undefined ? undefined : checkOneOf(o.dtype, 'options.dtype', ['fp16', 'bf16', 'fp32'] as const, 'fp16'),
    threads: o.threads === undefined ? 0 : checkInt(o.threads, 'options.threads', 1, 1024),
    concurrency: o.concurrency === undefined ? 2 : checkInt(o.concurrency, 'options.concurrency', 1, 64),
    tokenCache,
    tokenizerThreads: o.tokenizerThreads === undefined ? availableParallelism() : checkInt(o.tokenizerThreads, 'options.tokenizerThreads', 0, 1024),
    streamThreshold: o.streamThreshold === undefined ? 10_000 : checkInt(o.streamThreshold, 'options.streamThreshold', 0, Number.MAX_SAFE_INTEGER),
  };
}

export function checkQuery(query: unknown): string {
  if (typeof query !== 'string') throw invalidOption('query', 'a string', query);
  return query;
}

export function checkDocs(docs: unknown): readonly string[] {
  if (!Array.isArray(docs)) throw invalidOption('docs', 'an array of strings', docs);
  for (let i = 0; i < docs.length; i++) {
    if (typeof docs[i] !== 'string') throw invalidOption(`docs[${i}]`, 'a string', docs[i]);
  }
  return docs as readonly string[];
}

export interface CheckedScoreOptions {
  activation: Activation;
  signal: AbortSignal | undefined;
}

export function checkScoreOptions(options: unknown): CheckedScoreOptions {
  const o = checkObject(options, 'options');
  return {
    activation: checkOneOf(o.activation, 'options.activation', ['sigmoid', 'none'] as const, 'sigmoid'),
    signal: checkSignal(o.signal, 'options.signal'),
  };
}

export interface CheckedRerankOptions extends CheckedScoreOptions {
  topK: number | undefined;
  returnDocuments: boolean;
}

export function checkRerankOptions(options: unknown): CheckedRerankOptions {
  const o = checkObject(options, 'options');
  if (o.returnDocuments !== undefined && typeof o.returnDocuments !== 'boolean') {
    throw invalidOption('options.returnDocuments', 'a boolean', o.returnDocuments);
  }
  return {
    ...checkScoreOptions(o),
    topK: o.topK === undefined ? undefined : checkInt(o.topK, 'options.topK', 1, Number.MAX_SAFE_INTEGER),
    returnDocuments: o.returnDocuments === true,
  };
}
