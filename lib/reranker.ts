import { loadAddon } from './binding/loader.js';
import * as check from './check.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { NativeLoadOptions, NativeRequest, NativeSession } from './binding/native.js';
import {
  AbortError,
  BackendError,
  BackendUnavailableError,
  ClosedError,
  fromNativeCode,
  InvalidArgumentError,
  RerankError,
  TimeoutError,
} from './errors.js';
import { parseModelConfig, readConfigJson, type ModelConfig } from './model/config.js';
import { planModel, type ModelPlan, type PlanModelOptions } from './model/plan.js';
import {
  checkDocs,
  checkLoadOptions,
  checkQuery,
  checkRerankOptions,
  checkScoreOptions,
  instructionNotTaken,
  type CheckedLoadOptions,
  type CheckedScoreOptions,
  type BackendName,
  type DType,
  type LoadOptions,
  type RerankOptions,
  type ScoreOptions,
  type Truncation,
} from './options.js';
import { BatchStream, type BatchStats } from './schedule/batches.js';
import type { RerankerStats } from './stats.js';
import { PairTokenizer, readTokenizerFiles, type TokenizerFiles } from './tokenize/pair-tokenizer.js';
import { labelTokenIds, llmRerankerOf } from './tokenize/prompt-template.js';
import { TokenizerPool } from './tokenize/worker-pool.js';

export interface RerankResult {
  /** Position of the document in the `docs` array passed in. */
  index: number;
  /** Relevance score: higher is more relevant. In (0, 1) with the default sigmoid activation. */
  score: number;
  /** The document text, when `returnDocuments` is true. */
  document?: string;
}

export interface RerankerInfo {
  /** The backend that runs the model. */
  backend: Exclude<BackendName, 'auto'>;
  /** Why this backend: what `'auto'` chose and what it passed over. */
  backendReason: string;
  /** CUDA device index (the first, where there are several), or null on the CPU. */
  device: number | null;
  /** Every CUDA device with a model copy (`device: [0, 1]` or 'all'), or null on the CPU. */
  devices: number[] | null;
  /** Compute precision; `'engine'` for TensorRT, whose precision was fixed when the engine was built. */
  dtype: DType | 'engine';
  /** Most pairs of one batch. */
  maxBatchSize: number;
  /** Most tokens of one batch (backends that pad: pairs x the batch's longest pair). */
  maxBatchTokens: number;
  /** Most pairs that admitted, unfinished calls hold; past it calls are refused (ERR_OVERLOADED). */
  maxQueuedPairs: number;
  /** Longest pair in tokens, special tokens included. */
  maxLength: number;
  truncation: Truncation;
  /** config.json's model_type, e.g. 'bert' or 'xlm-roberta'. */
  modelType: string;
  architecture: ModelConfig['architecture'];
  numLabels: 1 | 2;
  /** Memory the backend holds now (weights and scratch), in bytes. */
  memoryBytes: number;
}

/** model.plan or model.engine in the model folder, if there. */
function findEngine(modelDir: string): string | undefined {
  return ['model.plan', 'model.engine'].map((f) => join(modelDir, f)).find((f) => existsSync(f));
}

/** The scheduler's settings, for every backend. */
function schedulerOptions(o: CheckedLoadOptions) {
  return {
    maxBatchSize: o.maxBatchSize === 'auto' ? 0 : o.maxBatchSize,
    maxBatchTokens: o.maxBatchTokens === 'auto' ? 0 : o.maxBatchTokens,
    maxQueuedPairs: o.maxQueuedPairs,
    sharePrefixes: o.sharePrefixes,
  };
}

/** The GPU pipeline's settings, for every GPU backend. */
function gpuSessionOptions(o: CheckedLoadOptions, maxLength: number) {
  return {
    ...schedulerOptions(o),
    device: o.devices,
    concurrency: o.concurrency,
    maxLength,
    clampMaxLength: o.maxLength === undefined,
    warmup: o.warmup,
  };
}

/** Why the TensorRT backend cannot use `engine` (the addon's own reasons come first), or undefined when it can. */
function engineUnavailable(engine: string | undefined): string | undefined {
  if (!engine) return 'no engine: the model folder has no model.plan or model.engine and no `engine` option was given (`trt-rerank build-engine` makes one)';
  if (!existsSync(engine)) return `the engine file ${engine} does not exist`;
  return undefined;
}

/** What a backend's loader hands the Reranker. */
interface OpenedSession {
  session: NativeSession;
  /** Why this backend (RerankerInfo.backendReason). */
  reason: string;
  device: number | null;
  devices: number[] | null;
  dtype: DType | 'engine';
}

/** The devices a GPU load runs on: the list, or every device for 'all'. */
function devicesOf(o: CheckedLoadOptions, system: { cuda: { devices: unknown[] } }): number[] {
  return o.devices === 'all' ? system.cuda.devices.map((_, i) => i) : o.devices;
}

/** 'NVIDIA H200' or 'NVIDIA H200 x 2 (devices 0, 1)'. */
function gpuNames(devices: number[], system: { cuda: { devices: Array<{ name: string }> } }): string {
  const names = [...new Set(devices.map((d) => system.cuda.devices[d]?.name ?? `device ${d}`))].join(', ');
  return devices.length === 1 ? names : `${names} x ${devices.length} (devices ${devices.join(', ')})`;
}
/** Calls with fewer documents are tokenized on the calling thread: a worker round trip would cost more. */
const PARALLEL_MIN_DOCS = 64;

/** Maps an error from the addon to the public error classes. */
function fromNative(error: unknown, signal: AbortSignal | undefined, closed: boolean, modelDir?: string): RerankError {
  // Whatever failed once close() began (a cancelled batch, a terminated tokenizer worker) failed because of it.
  if (closed && !(error instanceof ClosedError)) return new ClosedError('the Reranker was closed while the call ran');
  if (error instanceof RerankError) return error;
  switch ((error as { code?: string } | undefined)?.code) {
    case 'ERR_CLOSED':
      return new ClosedError('the Reranker was closed while the call ran');
    case 'ERR_CANCELLED':
      return closed ? new ClosedError('the Reranker was closed while the call ran') : new AbortError(signal?.reason);
    default:
      return fromNativeCode(error, modelDir);
  }
}

/**
 * A cross-encoder loaded on one backend. Load it once and reuse it: every call is asynchronous, runs its
 * model work off the JavaScript thread, and can run while other calls are in flight.
 *
 * @example
 * ```ts
 * import { Reranker } from 'trt-rerank';
 * const reranker = await Reranker.load('./ms-marco-MiniLM-L-6-v2');
 * const top = await reranker.rerank('how many people live in berlin?', docs, { topK: 3 });
 * // [{ index: 4, score: 0.97 }, { index: 0, score: 0.61 }, { index: 2, score: 0.12 }]
 * await reranker.close();
 * ```
 */
export class Reranker {
  readonly #session: NativeSession;
  readonly #opened: OpenedSession;
  /** Read once: the session answers 'closed' and 0 after close(). */
  readonly #backend: string;
  readonly #maxBatchSize: number;
  readonly #maxBatchTokens: number;
  readonly #maxQueuedPairs: number;
  readonly #tokenizer: PairTokenizer;
  readonly #config: ModelConfig;
  readonly #pool: TokenizerPool | undefined;
  readonly #streamThreshold: number;
  #lastBatchStats: BatchStats | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(
    opened: OpenedSession,
    tokenizer: PairTokenizer,
    config: ModelConfig,
    pool: TokenizerPool | undefined,
    streamThreshold: number,
  ) {
    this.#opened = opened;
    this.#session = opened.session;
    this.#backend = opened.session.backend;
    this.#maxBatchSize = opened.session.maxBatchSize;
    this.#maxBatchTokens = opened.session.maxBatchTokens;
    this.#maxQueuedPairs = opened.session.maxQueuedPairs;
    if (typeof opened.session.stats !== 'function') {
      throw new BackendError('the native addon has no scheduler: it is older than this package; rebuild it (npm rebuild trt-rerank)');
    }
    this.#pool = pool;
    this.#streamThreshold = streamThreshold;
    this.#tokenizer = tokenizer;
    this.#config = config;
  }

  /**
   * Loads a Hugging Face cross-encoder folder (config.json, model.safetensors, tokenizer.json,
   * tokenizer_config.json), or an LLM reranker's (Qwen3-Reranker: its model card's prompt, `instruction`, and
   * maxLength 8192 by default).
   *
   * @example
   * ```ts
   * const reranker = await Reranker.load('./bge-reranker-base', { backend: 'cpu', maxLength: 256 });
   * console.log(reranker.info.backend, reranker.info.maxLength);
   * ```
   * @example
   * ```ts
   * const qwen = await Reranker.load('./Qwen3-Reranker-0.6B', { instruction: 'Given a question, retrieve code that answers it' });
   * const scores = await qwen.score('sort a list', snippets);  // P(yes); { activation: 'none' }: logit(yes) - logit(no)
   * ```
   */
  static async load(modelDir: string, options?: LoadOptions): Promise<Reranker> {
    const o = checkLoadOptions(options);
    return Reranker.#open(modelDir, o, async (plan, tokenizer) => {
      const addon = loadAddon();
      const system = addon.systemInfo();
      const gpuOptions = gpuSessionOptions(o, tokenizer.maxLength);
      const engine = o.engine ?? findEngine(modelDir);
      // The addon's backend table (native/backends/registry.h), in the order 'auto' tries it, with why each
      // cannot run here; the conditions only this side knows (an engine file, the dtype) follow.
      const status = addon.backendStatus(o.device);
      const extra: Partial<Record<string, string | undefined>> = {
        tensorrt: engineUnavailable(engine),
        cuda: o.dtype === 'fp32' ? "dtype 'fp32' was asked for; the CUDA backend stores fp16 or bf16 (its arithmetic is fp32)" : undefined,
      };
      const passedOver: string[] = [];  // what 'auto' passed over, and why: the reason it reports
      for (const { name, unavailable: native } of status) {
        if (o.backend !== 'auto' && o.backend !== name) continue;
        if (o.backend === 'auto' && name === 'tensorrt' && !engine) continue;  // tried only where an engine is
        const unavailable = native || extra[name];
        if (name === 'tensorrt') {
          if (!unavailable) {
            const session = await addon.loadSession(null, { ...gpuOptions, backend: 'tensorrt', engine: engine! });
            const reason = o.backend === 'tensorrt' ? `requested (engine ${engine})` : `auto: TensorRT engine ${engine}`;
            return { session, reason, device: o.device, devices: devicesOf(o, system), dtype: 'engine' as const };
          }
          if (o.backend === 'tensorrt') throw new BackendUnavailableError(`the TensorRT backend cannot run here: ${unavailable}`);
          passedOver.push(`TensorRT engine ${engine} found, but ${unavailable}`);
        } else if (name === 'cuda') {
          if (!unavailable) {
            // bf16 for LLM rerankers (their activations outgrow fp16's range in trained checkpoints), fp16 otherwise.
            const dtype = o.dtype === 'bf16' || o.dtype === 'fp16' ? o.dtype : llmRerankerOf(plan.config) ? 'bf16' : 'fp16';
            const session = await addon.loadSession(plan, { ...gpuOptions, backend: 'cuda', dtype });
            const gpu = gpuNames(devicesOf(o, system), system);
            const reason = o.backend === 'cuda' ? `requested (${gpu})` : `auto: CUDA backend on ${gpu}${passedOver.length ? ` (${passedOver.join('; ')})` : ''}`;
            return { session, reason, device: o.device, devices: devicesOf(o, system), dtype };
          }
          if (o.backend === 'cuda') throw new BackendUnavailableError(`the CUDA backend cannot run here: ${unavailable}`);
          passedOver.push(`CUDA backend: ${unavailable}`);
        } else if (name === 'cpu') {
          const reason = o.backend === 'cpu' ? 'requested' : `auto: ${passedOver.join('; ')}; using the CPU backend`;
          const session = await addon.loadSession(plan, { ...schedulerOptions(o), backend: 'cpu', threads: o.threads, maxLength: tokenizer.maxLength });
          return { session, reason, device: null, devices: null, dtype: 'fp32' as const };
        }
      }
      throw new BackendUnavailableError(`backend '${o.backend}' is not one this build of trt-rerank has (${status.map((b) => b.name).join(', ')})`);
    });
  }

  /**
   * Loads `modelDir`'s config and tokenizer with the addon's `gpu-test` backend, which derives a deterministic
   * score from the token ids (no weights): the GPU pipeline's tests and benchmark drive the whole path, text
   * to top-k, through it. The testing addon of a CUDA build only (TRT_RERANK_TESTING=1, lib/binding/loader.ts);
   * the production addon rejects it with ERR_BACKEND_UNAVAILABLE, saying so.
   * @internal
   */
  static async loadTestPipeline(
    modelDir: string,
    backend: Pick<NativeLoadOptions, 'layout' | 'numLabels' | 'spinPerToken' | 'fault' | 'faultAtBatch'>,
    options?: LoadOptions,
  ): Promise<Reranker> {
    const o = checkLoadOptions(options);
    return Reranker.#open(modelDir, o, async (_plan, tokenizer, config) => {
      const session = await loadAddon().loadSession(null, {
        ...gpuSessionOptions(o, tokenizer.maxLength),
        ...backend,
        backend: 'gpu-test',
        numLabels: backend.numLabels ?? config.numLabels,
      });
      return { session, reason: 'requested (test backend)', device: o.device, devices: devicesOf(o, loadAddon().systemInfo()), dtype: 'fp32' };
    });
  }

  /**
   * The cpu backend with `replicas` model copies behind one multi-device executor (native/pipeline/
   * multi_device_executor.h): how its dispatch and merging are tested on machines without GPUs. The testing
   * addon only (the production addon loads one copy).
   * @internal
   */
  static async loadCpuReplicas(modelDir: string, replicas: number, options?: LoadOptions): Promise<Reranker> {
    const o = checkLoadOptions({ ...options, backend: 'cpu' });
    return Reranker.#open(modelDir, o, async (plan, tokenizer) => {
      const session = await loadAddon().loadSession(plan, { ...schedulerOptions(o), backend: 'cpu', threads: o.threads, maxLength: tokenizer.maxLength, cpuReplicas: replicas });
      return { session, reason: `requested (${replicas} cpu copies)`, device: null, devices: null, dtype: 'fp32' as const };
    });
  }

  static async #open(
    modelDir: string,
    o: CheckedLoadOptions,
    openSession: (plan: ModelPlan, tokenizer: PairTokenizer, config: ModelConfig) => Promise<OpenedSession>,
  ): Promise<Reranker> {
    if (typeof modelDir !== 'string' || modelDir.length === 0) {
      throw new InvalidArgumentError(`Expected a model folder path (string) for modelDir but received ${modelDir === '' ? 'an empty string' : typeof modelDir}`);
    }
    const { json, path } = await readConfigJson(modelDir);
    const llm = llmRerankerOf(check.isPlainObject(json) ? json : null);
    if (o.instruction !== undefined && llm === undefined) {
      const architecture = check.isPlainObject(json) && Array.isArray(json.architectures) ? json.architectures[0] : undefined;
      throw instructionNotTaken('options.instruction', typeof architecture === 'string' ? architecture : undefined, o.instruction);
    }
    // A causal-LM reranker's logits are its LM head's rows for two tokens, which the model layer needs the ids of
    // before it describes the model: tokenizer.json is read first for it.
    let files: TokenizerFiles | undefined;
    let modelOptions: PlanModelOptions | undefined;
    if (llm?.labelTokens) {
      files = await readTokenizerFiles(modelDir);
      modelOptions = { labelTokenIds: labelTokenIds(files.tokenizerJson, llm, files.path) };
    }
    const config = parseModelConfig(json, path, modelOptions);
    const plan = await planModel(modelDir, config, modelOptions);
    const tokenizerFiles = files ?? (await readTokenizerFiles(modelDir));
    const tokenizerFor = (maxLength: number | undefined) =>
      PairTokenizer.fromFiles(tokenizerFiles, config.json, {
        ...(maxLength !== undefined ? { maxLength } : {}), truncation: o.truncation, tokenCache: o.tokenCache,
        ...(o.instruction !== undefined ? { instruction: o.instruction } : {}),
        modelPositions: { limit: config.maxSequenceLength, why: `${config.architecture}'s positions (config.json, as the model layer reads it)` },
      });
    let tokenizer = tokenizerFor(o.maxLength);
    let opened: OpenedSession;
    try {
      opened = await openSession(plan, tokenizer, config);
    } catch (error) {
      throw fromNative(error, undefined, false, modelDir);
    }
    // The backend takes shorter pairs than the model's default (a TensorRT profile): tokenize to its limit.
    const limit = opened.session.maxLength;
    if (limit > 0 && limit < tokenizer.maxLength) {
      tokenizer = tokenizerFor(limit);
    }
    // Workers start on the first call large enough to use them, and are reused after.
    const pool = o.tokenizerThreads > 0 ? new TokenizerPool(tokenizer.workerSource, o.tokenizerThreads) : undefined;
    return new Reranker(opened, tokenizer, config, pool, o.streamThreshold);
  }

  get info(): RerankerInfo {
    return {
      backend: this.#backend as RerankerInfo['backend'],
      backendReason: this.#opened.reason,
      device: this.#opened.device,
      devices: this.#opened.devices,
      dtype: this.#opened.dtype,
      maxBatchSize: this.#maxBatchSize,
      maxBatchTokens: this.#maxBatchTokens,
      maxQueuedPairs: this.#maxQueuedPairs,
      maxLength: this.#tokenizer.maxLength,
      truncation: this.#tokenizer.truncation,
      modelType: this.#config.modelType,
      architecture: this.#config.architecture,
      numLabels: this.#config.numLabels,
      memoryBytes: this.#closed ? 0 : this.#session.memoryBytes,
    };
  }

  /**
   * Scores every document against the query and returns them best first: score descending, ties by
   * lower index.
   *
   * @example
   * ```ts
   * const results = await reranker.rerank(query, docs, { topK: 10, returnDocuments: true });
   * for (const { index, score, document } of results) console.log(index, score.toFixed(3), document);
   * ```
   */
  async rerank(query: string, docs: readonly string[], options?: RerankOptions): Promise<RerankResult[]> {
    const q = checkQuery(query);
    const d = checkDocs(docs);
    const o = checkRerankOptions(options);
    const topK = Math.min(o.topK ?? d.length, d.length);
    const { indices, scores } = await this.#run(q, d, topK, o);
    const results: RerankResult[] = new Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const index = indices[i]!;
      results[i] = o.returnDocuments ? { index, score: scores[i]!, document: d[index]! } : { index, score: scores[i]! };
    }
    return results;
  }

  /**
   * Scores every document against the query, in document order.
   *
   * @example
   * ```ts
   * const scores = await reranker.score('what is a cross-encoder?', docs, { activation: 'none' }); // raw logits
   * ```
   */
  async score(query: string, docs: readonly string[], options?: ScoreOptions): Promise<Float32Array> {
    const q = checkQuery(query);
    const d = checkDocs(docs);
    const o = checkScoreOptions(options);
    return (await this.#run(q, d, 0, o)).scores;
  }

  /**
   * Frees the model. Calls still running reject with a ClosedError; later calls too. Safe to call twice.
   */
  close(): Promise<void> {
    if (!this.#closing) {
      this.#closed = true;
      this.#closing = Promise.all([this.#session.close(), this.#pool?.close()]).then(() => undefined);
    }
    return this.#closing;
  }

  /**
   * The scheduler's counters since load: calls, pairs, tokens, batches, how full batches ran, queue wait and run
   * time (histograms and percentiles). One copy from the addon; cheap enough to call every second. After close(),
   * the last counters (calls it ended count as failed).
   *
   * @example
   * ```ts
   * const { calls, batches, queueMs, batchFill } = reranker.stats();
   * console.log(`${calls} calls in ${batches} batches, queue p99 ${queueMs.p99.toFixed(2)} ms`);
   * ```
   */
  stats(): RerankerStats {
    const stats = this.#session.stats();
    if (!stats) throw new ClosedError();  // a session from an older addon
    return stats;
  }

  /**
   * How the last call was tokenized into chunks: batch count, whether it streamed or used the worker pool, and the most
   * batches held at once. For tests and tuning.
   * @internal
   */
  get lastBatchStats(): BatchStats | undefined {
    return this.#lastBatchStats;
  }

  /**
   * The backend's own counters, e.g. for TensorRT how many batches ran as CUDA graphs. For tests and tuning.
   * @internal
   */
  get backendCounters(): Record<string, number> {
    return this.#closed ? {} : this.#session.counters;
  }

  /**
   * Per device, where the Reranker spans several (`device: [0, 1]` or 'all'): the batches, pairs and tokens each
   * ran since load, and whether it was lost to a CUDA error (it then takes no more batches). `name` is
   * `device<d>`, with `.<i>` where a device is listed twice. Null with one device.
   */
  get deviceStats(): Array<{ name: string; batches: number; pairs: number; tokens: number; lost: boolean }> | null {
    const counters = this.backendCounters;
    const names = Object.keys(counters).filter((k) => k.endsWith('.lost')).map((k) => k.slice(0, -'.lost'.length));
    if (names.length === 0) return null;
    return names.map((name) => ({
      name, batches: counters[`${name}.batches`] ?? 0, pairs: counters[`${name}.pairs`] ?? 0, tokens: counters[`${name}.tokens`] ?? 0, lost: counters[`${name}.lost`] === 1,
    }));
  }

  /** Document token cache counters: hits, misses, entries, bytes. */
  get tokenCacheStats() {
    return this.#tokenizer.cacheStats;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #run(query: string, docs: readonly string[], topK: number, o: CheckedScoreOptions) {
    const { signal, timeoutMs } = o;
    if (this.#closed) throw new ClosedError();
    if (signal?.aborted) throw new AbortError(signal.reason);
    if (o.instruction !== undefined && this.#tokenizer.instruction === undefined) {
      throw instructionNotTaken('options.instruction', this.#config.architecture, o.instruction);
    }
    if (docs.length === 0) {
      o.onTimings?.({ pairs: 0, tokens: 0, batches: 0, queueMs: 0, runMs: 0 });
      return { indices: new Int32Array(0), scores: new Float32Array(0) };
    }
    let request: NativeRequest;
    try {
      request = this.#session.createRequest(docs.length, o.activation);  // admission: ERR_OVERLOADED at once
    } catch (error) {
      throw fromNative(error, signal, this.#closed);
    }
    let timedOut = false;
    const stop = () => void request.cancel();
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      // Inside the try: whatever throws from here on (the query's tokenization, too) takes the call out of the queue.
      timer = timeoutMs === undefined ? undefined : setTimeout(() => {
        timedOut = true;
        stop();
      }, timeoutMs);
      signal?.addEventListener('abort', stop, { once: true });
      const stream = new BatchStream(this.#tokenizer, this.#pool, query, docs, {
        ...(o.instruction !== undefined ? { instruction: o.instruction } : {}),
        batchSize: this.#maxBatchSize,
        streamThreshold: this.#streamThreshold,
        parallelMinDocs: PARALLEL_MIN_DOCS,
        window: 2 * (this.#pool?.size ?? 1),
        sortByLength: this.#session.padsBatches,
        ...(o.maxTokensPerDoc !== undefined ? { maxDocTokens: o.maxTokensPerDoc } : {}),
      });
      this.#lastBatchStats = stream.stats;
      // The scheduler batches this call's chunks with other calls' while the next chunk is tokenized; a chunk
      // waits (the promise submit returns) only when the call already has two batches' worth queued.
      for await (const { first, pairs, docIndices } of stream) {
        if (this.#closed) throw new ClosedError('the Reranker was closed while the call ran');
        if (signal?.aborted) throw new AbortError(signal.reason);
        if (timedOut) throw new TimeoutError(timeoutMs!);
        const room = request.submit(pairs.ids, pairs.typeIds, pairs.offsets, first, docIndices);
        if (room) await room;
      }
      const result = await request.finish(topK);
      o.onTimings?.(result.timings);
      return result;
    } catch (error) {
      // Nothing outlives the call: it leaves the queue, and the batches holding its pairs finish, first.
      await request.cancel();
      if (timedOut && !this.#closed) throw new TimeoutError(timeoutMs!);
      throw fromNative(error, signal, this.#closed);
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', stop);
    }
  }
}
