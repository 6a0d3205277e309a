/**
 * Every public option is checked here, before any native code runs, with the checkers of check.ts (sharp's
 * lib/is.mjs habit): the error names the option, what was expected and what came.
 */
import { availableParallelism } from 'node:os';
import * as check from './check.js';
import { InvalidArgumentError } from './errors.js';

export type BackendName = 'auto' | 'tensorrt' | 'cuda' | 'cpu';
export type DType = 'fp16' | 'bf16' | 'fp32';
export type Truncation = 'longest_first' | 'only_second';
export type Activation = 'sigmoid' | 'none';

export interface LoadOptions {
  /** Which backend runs the model. `'auto'` picks the fastest one this build and machine can run. Default `'auto'`. */
  backend?: BackendName;
  /**
   * The CUDA device(s) of the GPU backends. Default 0. A list (`[0, 1]`) or `'all'` loads one model copy per device
   * behind one scheduler: batches go to whichever device is free, a call's batches may run on several and its
   * results are the same as on one; a device lost to a CUDA error takes no more batches (the calls of its failed
   * batch fail with ERR_BACKEND). `stats()`-style per-device counters: `reranker.backendCounters`. The CPU backend
   * takes one device only.
   */
  device?: number | readonly number[] | 'all';
  /** A serialized TensorRT engine (`trt-rerank build-engine`) for the `'tensorrt'` backend. Default: `model.plan`
   * or `model.engine` in the model folder, when there. */
  engine?: string;
  /** Longest pair, in tokens, special tokens included. Default: the model's limit (tokenizer_config and config.json);
   * for Qwen3-Reranker, the model card's 8192 or that limit where it is lower. Above the limit it is refused. */
  maxLength?: number;
  /** How a pair longer than maxLength is cut, with HF tokenizers' exact rules. Default `'longest_first'`. */
  truncation?: Truncation;
  /** Most pairs in one batch. `'auto'`: 512, or less where the backend takes fewer (a TensorRT profile).
   * Default `'auto'`. */
  maxBatchSize?: number | 'auto';
  /** Most tokens in one batch (for backends that pad, pairs x the batch's longest pair). Pairs of concurrent calls
   * share batches up to this budget, and the GPU's activation memory is sized by it, not by maxBatchSize x
   * maxLength. `'auto'`: from the model's activation cost per token and free device memory, between maxLength and
   * 65 536 (CPU: 16 384). Default `'auto'`. */
  maxBatchTokens?: number | 'auto';
  /** Most pairs that admitted, unfinished calls hold at once. A call that would go past it is refused at once with
   * an OverloadedError (`ERR_OVERLOADED`). Default 262 144. */
  maxQueuedPairs?: number;
  /** GPU backends: run every batch shape once at load (capturing its CUDA graph), so no call pays for it.
   * Default true. */
  warmup?: boolean;
  /** LLM rerankers (causal models): the prompt prefix the pairs of a call share (system prompt, instruction,
   * query) runs once per batch, not once per document; `reranker.stats()` counts the tokens it saved
   * (`sharedTokens`). Scores are the same either way. Default true; false is for measuring what it saves. */
  sharePrefixes?: boolean;
  /** Storage precision of GPU backends (arithmetic is fp32): default `'bf16'` for LLM rerankers (Qwen3), whose
   * activations outgrow fp16's range in trained checkpoints, `'fp16'` for cross-encoders. The CPU backend always
   * computes in fp32. */
  dtype?: DType;
  /** CPU backend threads. Default: all cores. */
  threads?: number;
  /** GPU backends: batches in flight at once, each in its own execution slot (stream and buffers, allocated at
   * load), so one batch is uploaded and launched while another computes. Default 2. */
  concurrency?: number;
  /** Cache of document tokens, keyed by text, bounded in bytes; `false` turns it off. Default 64 MiB. */
  tokenCache?: { maxBytes: number } | false;
  /** Worker threads that tokenize calls of 64 documents or more; 0 keeps tokenizing on the calling thread.
   * Default: the number of cores. */
  tokenizerThreads?: number;
  /** Calls with up to this many documents are tokenized completely before the model runs; larger ones stream
   * in batches while the model runs, with bounded memory. Default 10 000. */
  streamThreshold?: number;
  /**
   * LLM rerankers (Qwen3-Reranker) only: the instruction their prompt gives the model
   * (`<Instruct>: {instruction}\n<Query>: ...`), for every call that gives none. Default the model card's,
   * `'Given a web search query, retrieve relevant passages that answer the query'`. A cross-encoder refuses it
   * with an InvalidArgumentError.
   *
   * @example
   * ```ts
   * const reranker = await Reranker.load('./Qwen3-Reranker-0.6B', {
   *   instruction: 'Given a legal question, retrieve the statutes that answer it',
   * });
   * ```
   */
  instruction?: string;
}

export interface ScoreOptions {
  /** `'sigmoid'` (default): scores in (0, 1) as sentence-transformers' CrossEncoder gives them (for two-label
   * models, the softmax probability of label 1). `'none'`: raw logits (label 1 minus label 0 for two labels). */
  activation?: Activation;
  /** Cancels the call between batches; the promise rejects with an AbortError. */
  signal?: AbortSignal;
  /** Rejects with a TimeoutError (`ERR_TIMEOUT`) once the call has run this long, its pairs leaving the queue.
   * Default: no limit. */
  timeoutMs?: number;
  /** Cuts each document to at most this many tokens (before the pair's own truncation to maxLength). Default: no
   * cut of its own. */
  maxTokensPerDoc?: number;
  /** Called once, before the promise resolves, with what the call cost: pairs, tokens, batches, queue wait and
   * run time. */
  onTimings?: (timings: CallTimings) => void;
  /**
   * LLM rerankers (Qwen3-Reranker) only: this call's instruction, in place of the one given at load (or the model
   * card's). A cross-encoder refuses it with an InvalidArgumentError.
   *
   * @example
   * ```ts
   * const top = await qwen.rerank('sort a list in place', snippets, {
   *   topK: 5,
   *   instruction: 'Given a question, retrieve Python code that answers it',
   * });
   * ```
   */
  instruction?: string;
}

/** What one call cost (ScoreOptions.onTimings). */
export interface CallTimings {
  /** Documents scored. */
  pairs: number;
  /** Tokens of the scored pairs, special tokens included. */
  tokens: number;
  /** Batches that held at least one of the call's pairs (shared with other calls). */
  batches: number;
  /** From the call's admission to its first pair starting on the backend, in ms. */
  queueMs: number;
  /** From the call's admission to its scores (and top-k) being ready, in ms. */
  runMs: number;
}

export interface RerankOptions extends ScoreOptions {
  /** How many results to return, best first. Default: all documents. Values above docs.length are clamped. */
  topK?: number;
  /** Include each result's document text. Default false. */
  returnDocuments?: boolean;
}

export interface CheckedLoadOptions {
  backend: BackendName;
  /** The first device (the one 'auto' checks and info names first). */
  device: number;
  /** What the addon loads on: one index, a list or 'all'. */
  devices: number[] | 'all';
  engine: string | undefined;
  maxLength: number | undefined;
  truncation: Truncation;
  maxBatchSize: number | 'auto';
  maxBatchTokens: number | 'auto';
  maxQueuedPairs: number;
  warmup: boolean;
  sharePrefixes: boolean;
  dtype: DType | undefined;
  threads: number;
  concurrency: number;
  tokenCache: { maxBytes: number } | false;
  tokenizerThreads: number;
  streamThreshold: number;
  instruction: string | undefined;
}

/** `device`: an index, a non-empty list of them (repeats allowed: copies on one device), or 'all'. */
function checkDevices(device: unknown): { device: number; devices: number[] | 'all' } {
  if (device === undefined) return { device: 0, devices: [0] };
  if (device === 'all') return { device: 0, devices: 'all' };
  if (Array.isArray(device)) {
    if (device.length === 0 || device.length > 255) {
      throw new InvalidArgumentError(`options.device: a list of 1 to 255 device indices, got ${device.length === 0 ? 'an empty list' : `${device.length} entries`}`);
    }
    const devices = device.map((d: unknown, i) => check.integer(d, `options.device[${i}]`, 0, 1024));
    return { device: devices[0]!, devices };
  }
  if (typeof device === 'string') throw new InvalidArgumentError(`options.device must be a device index, a list of them or 'all', got '${device}'`);
  const index = check.integer(device, "options.device (an index, a list of them or 'all')", 0, 1024);
  return { device: index, devices: [index] };
}

export function checkLoadOptions(options: unknown): CheckedLoadOptions {
  const o = check.optionalObject(options, 'options');
  const devices = checkDevices(o.device);
  if (o.backend === 'cpu' && (devices.devices === 'all' || devices.devices.length > 1)) {
    throw new InvalidArgumentError("options.device: a device list or 'all' is for the GPU backends (cuda, tensorrt); the cpu backend runs on the host");
  }
  return {
    backend: o.backend === undefined ? 'auto' : check.oneOf(o.backend, 'options.backend', ['auto', 'tensorrt', 'cuda', 'cpu'] as const),
    ...devices,
    engine: o.engine === undefined ? undefined : check.nonEmptyString(o.engine, 'options.engine', 'a non-empty string (a file path)'),
    maxLength: o.maxLength === undefined ? undefined : check.integer(o.maxLength, 'options.maxLength', 1, 1 << 20),
    truncation: check.truncation(o.truncation, 'options.truncation'),
    maxBatchSize: o.maxBatchSize === undefined || o.maxBatchSize === 'auto' ? 'auto' : check.integer(o.maxBatchSize, "options.maxBatchSize (or 'auto')", 1, 65536),
    maxBatchTokens: o.maxBatchTokens === undefined || o.maxBatchTokens === 'auto' ? 'auto' : check.integer(o.maxBatchTokens, "options.maxBatchTokens (or 'auto')", 1, 1 << 24),
    maxQueuedPairs: o.maxQueuedPairs === undefined ? 262_144 : check.integer(o.maxQueuedPairs, 'options.maxQueuedPairs', 1, 1 << 30),
    warmup: o.warmup === undefined ? true : check.boolean(o.warmup, 'options.warmup'),
    sharePrefixes: o.sharePrefixes === undefined ? true : check.boolean(o.sharePrefixes, 'options.sharePrefixes'),
    dtype: o.dtype === undefined ? undefined : check.oneOf(o.dtype, 'options.dtype', ['fp16', 'bf16', 'fp32'] as const),
    threads: o.threads === undefined ? 0 : check.integer(o.threads, 'options.threads', 1, 1024),
    concurrency: o.concurrency === undefined ? 2 : check.integer(o.concurrency, 'options.concurrency', 1, 64),
    tokenCache: check.tokenCache(o.tokenCache, 'options.tokenCache'),
    tokenizerThreads: o.tokenizerThreads === undefined ? availableParallelism() : check.integer(o.tokenizerThreads, 'options.tokenizerThreads', 0, 1024),
    streamThreshold: o.streamThreshold === undefined ? 10_000 : check.integer(o.streamThreshold, 'options.streamThreshold', 0, Number.MAX_SAFE_INTEGER),
    instruction: checkInstruction(o.instruction, 'options.instruction'),
  };
}

/** `instruction` (LLM rerankers): a string, any string (the model card's format takes an empty one too), or undefined. */
export function checkInstruction(value: unknown, name: string): string | undefined {
  return value === undefined ? undefined : check.string(value, name);
}

/** The error for an instruction given to a model that is not an LLM reranker (`architecture`: config.json's). */
export function instructionNotTaken(name: string, architecture: string | undefined, value: unknown): InvalidArgumentError {
  const model = architecture === undefined ? 'this model is a cross-encoder' : `${architecture} is a cross-encoder`;
  return new InvalidArgumentError(
    `${name} is for LLM rerankers (Qwen3-Reranker), whose prompt holds an instruction: ${model}, which takes none; ` +
      `leave ${name} out (received ${check.describe(value)})`,
  );
}

export function checkQuery(query: unknown): string {
  return check.string(query, 'query');
}

export function checkDocs(docs: unknown): readonly string[] {
  return check.stringArray(docs, 'docs');
}

export interface CheckedScoreOptions {
  activation: Activation;
  signal: AbortSignal | undefined;
  timeoutMs: number | undefined;
  maxTokensPerDoc: number | undefined;
  onTimings: ((timings: CallTimings) => void) | undefined;
  instruction: string | undefined;
}

export function checkScoreOptions(options: unknown): CheckedScoreOptions {
  const o = check.optionalObject(options, 'options');
  return {
    activation: o.activation === undefined ? 'sigmoid' : check.oneOf(o.activation, 'options.activation', ['sigmoid', 'none'] as const),
    signal: o.signal === undefined ? undefined : check.abortSignal(o.signal, 'options.signal'),
    timeoutMs: o.timeoutMs === undefined ? undefined : check.integer(o.timeoutMs, 'options.timeoutMs', 1, 2 ** 31 - 1),
    maxTokensPerDoc: o.maxTokensPerDoc === undefined ? undefined : check.integer(o.maxTokensPerDoc, 'options.maxTokensPerDoc', 1, 1 << 24),
    onTimings: o.onTimings === undefined ? undefined : check.callback<(timings: CallTimings) => void>(o.onTimings, 'options.onTimings'),
    instruction: checkInstruction(o.instruction, 'options.instruction'),
  };
}

export interface CheckedRerankOptions extends CheckedScoreOptions {
  topK: number | undefined;
  returnDocuments: boolean;
}

export function checkRerankOptions(options: unknown): CheckedRerankOptions {
  const o = check.optionalObject(options, 'options');
  return {
    ...checkScoreOptions(o),
    topK: o.topK === undefined ? undefined : check.integer(o.topK, 'options.topK', 1, Number.MAX_SAFE_INTEGER),
    returnDocuments: o.returnDocuments === undefined ? false : check.boolean(o.returnDocuments, 'options.returnDocuments'),
  };
}
