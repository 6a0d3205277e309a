/**
 * The addon's exports, typed once (node-llama-cpp's AddonTypes habit). Mirrors native/addon.cc and
 * native/binding/session.h.
 * @internal
 */
import type { ModelPlan } from '../model/plan.js';
import type { CallTimings } from '../options.js';
import type { RerankerStats } from '../stats.js';

export interface NativeCudaDevice {
  index: number;
  name: string;
  computeCapability: string;
  totalMemoryBytes: number;
  multiprocessors: number;
}

export interface NativeSystemInfo {
  napiVersion: number;
  hardwareThreads: number;
  cuda: {
    built: boolean;
    note: string;
    runtimeVersion?: number;
    /** CUDA version the driver supports (e.g. 13000), 0 without a driver. */
    driverVersion: number;
    /** The NVIDIA driver's version string, null without a driver. */
    driver: string | null;
    devices: NativeCudaDevice[];
    error?: string;
  };
  tensorrt: {
    /** TensorRT headers this build's TensorRT backend was compiled against (e.g. "10.16.0"); null: no backend. */
    compiled: string | null;
    /** Whether libnvinfer loads (with the backend: exactly the compiled major). */
    found: boolean;
    library?: string;
    version?: string;
    /** Why it did not load. */
    error?: string;
  };
  /** cuBLASLt, loaded at run time by the cuda backend. */
  cublasLt: { found: boolean; library?: string; error?: string };
  /** Which GEMM the CUDA backend's linear layers run (TRT_RERANK_GEMM): 'auto' picks per call, 'ours' never loads cuBLASLt. */
  gemm?: 'auto' | 'ours' | 'cublaslt';
  /** Why TRT_RERANK_GEMM's value is refused, where it is. */
  gemmError?: string;
  backends: string[];
}

export interface NativeTopK {
  /** Document indices, best first (empty when topK was 0). */
  indices: Int32Array;
  /** Their scores; with topK 0, every score in document order. */
  scores: Float32Array;
}

export interface NativeResult extends NativeTopK {
  /** What the call cost (the scheduler's view). */
  timings: CallTimings;
}

export interface NativeRequest {
  /** Queues one chunk of packed pairs (copied); pair i scores document docIndices[i], or firstIndex + i. A promise
   * back means the call has enough queued: wait for it before the next chunk. Throws (synchronously) on bad input,
   * nothing queued. */
  submit(ids: Int32Array, typeIds: Uint8Array, offsets: Int32Array, firstIndex: number, docIndices?: Int32Array): Promise<void> | undefined;
  finish(topK: number): Promise<NativeResult>;
  /** The call leaves the queue; settles once no batch in flight holds its pairs. Never rejects. */
  cancel(): Promise<void>;
}

/** The scheduler's counters: RerankerStats (lib/stats.ts) as the addon reports them. */
export type NativeStats = RerankerStats;

export interface NativeSession {
  readonly backend: string;
  readonly memoryBytes: number;
  readonly numLabels: number;
  /** Most pairs of one batch. */
  readonly maxBatchSize: number;
  /** Most tokens of one batch (padding backends: pairs x longest pair). */
  readonly maxBatchTokens: number;
  /** Most pairs admitted, unfinished calls hold. */
  readonly maxQueuedPairs: number;
  /** True when the backend pads each batch to its longest pair: the caller sorts pairs by length. */
  readonly padsBatches: boolean;
  /** Batches in flight at once (GPU execution slots; 1 on the CPU). */
  readonly slots: number;
  /** Longest pair the engine takes. */
  readonly maxLength: number;
  /** The backend's counters (graphsCaptured, graphLaunches, graphCaptureFailures, loadWarmupMs, ...). */
  readonly counters: Record<string, number>;
  /** Admits a call, or throws ERR_OVERLOADED at once. */
  createRequest(count: number, activation: 'sigmoid' | 'none'): NativeRequest;
  /** null once closed. */
  stats(): NativeStats | null;
  close(): Promise<void>;
}

export interface NativeLoadOptions {
  backend: 'cpu' | 'gpu-test' | 'tensorrt' | 'cuda';
  /** cuda backend: storage type of weights and activations (arithmetic is fp32). */
  dtype?: 'fp16' | 'bf16';
  threads?: number;
  /** Pairs per batch; 0 or absent: the executor's default (GPU 512, CPU 256, or the backend's cap). */
  maxBatchSize?: number;
  /** Tokens per batch; 0 or absent: the executor's default. */
  maxBatchTokens?: number;
  /** Most pairs admitted, unfinished calls hold (default 262 144). */
  maxQueuedPairs?: number;
  /** GPU backends: run every stateful batch shape at load (default true). */
  warmup?: boolean;
  /** Causal models: compute a prefix the pairs of a call share once per batch (default true). */
  sharePrefixes?: boolean;
  /** GPU backends: a device, a list (a model copy on each, behind one scheduler) or 'all'. */
  device?: number | number[] | 'all';
  /** Testing addon, cpu backend: copies behind one multi-device executor (its dispatch, tested without GPUs). */
  cpuReplicas?: number;
  /** GPU execution slots (batches in flight at once), per device. */
  concurrency?: number;
  /** Longest pair in tokens (sizes the GPU staging buffers). */
  maxLength?: number;
  /** maxLength is the model's default: lower it to the backend's limit rather than fail. */
  clampMaxLength?: boolean;
  /** tensorrt backend: the serialized engine. */
  engine?: string;
  /** tensorrt and cuda backends: replay CUDA graphs for small batches (default true). */
  cudaGraphs?: boolean;
  /** gpu-test backend: input layout, labels, and extra work per token. */
  layout?: 'packed' | 'padded';
  numLabels?: number;
  spinPerToken?: number;
  /** gpu-test backend: a failure to inject on batch faultAtBatch (1-based), for the error-path tests. */
  fault?: 'bad-launch' | 'illegal-address';
  faultAtBatch?: number;
}

export interface NativeTesting {
  topK(scores: Float32Array, k: number): Promise<NativeTopK>;
  benchTopK(scores: Float32Array, k: number, iterations: number): Promise<Float64Array>;
  /** Microseconds per batch of the gpu-test backend alone, one batch already on the device, enqueued
   * `iterations` times back to back. */
  benchTestBackend(
    ids: Int32Array,
    typeIds: Uint8Array,
    offsets: Int32Array,
    options: Pick<NativeLoadOptions, 'layout' | 'numLabels' | 'spinPerToken'>,
    iterations: number,
  ): Promise<number>;
  /** The TensorRT backend's input kernel: packed pairs -> [rows, seqLen] engine inputs. */
  packEngineInputs(
    ids: Int32Array,
    typeIds: Uint8Array,
    offsets: Int32Array,
    rows: number,
    seqLen: number,
    int64: boolean,
    withTypeIds: boolean,
  ): { ids: Int32Array | BigInt64Array; mask: Int32Array | BigInt64Array; typeIds: Int32Array | BigInt64Array };
  /** The TensorRT backend's output kernel: raw engine logits -> fp32. */
  engineLogitsToFloat(raw: Uint8Array, type: 'fp32' | 'fp16' | 'bf16', count: number, labels: number): Float32Array;
  /** The CUDA backend's attention over packed sequences (q, k, v given in fp32, stored as `dtype`). q is
   * [tokens, heads * headDim], or [sequences, ...] with firstQueryOnly (each sequence's first query). */
  attention(
    q: Float32Array, k: Float32Array, v: Float32Array, offsets: Int32Array, heads: number, headDim: number,
    dtype: 'fp16' | 'bf16', firstQueryOnly: boolean,
  ): Float32Array;
  /** LayerNorm(x + residual) per row of `hidden` values. */
  layerNorm(x: Float32Array, residual: Float32Array, hidden: number, gamma: Float32Array, beta: Float32Array, eps: number,
    dtype: 'fp16' | 'bf16'): Float32Array;
  activation(x: Float32Array, act: 'gelu' | 'gelu_tanh' | 'relu' | 'silu' | 'tanh', dtype: 'fp16' | 'bf16'): Float32Array;
  /** epilogue(x . w^T + bias) through cuBLASLt: x [m, k], w [n, k], bias [n] -> [m, n]. */
  gemm(x: Float32Array, w: Float32Array, bias: Float32Array, m: number, n: number, k: number,
    epilogue: 'bias' | 'bias_relu', dtype: 'fp16' | 'bf16'): Float32Array;
  /** Position ids of packed sequences as transformers computes them: BERT t within the sequence; XLM-R (xlmr
   * true) padId + the count of non-pad tokens up to t, padId for a pad token. */
  positionIds(ids: Int32Array, offsets: Int32Array, padId: number, xlmr: boolean): Int32Array;
}

/** What the native model layer (native/models/) makes of a config.json: describeModel's result. */
export interface NativeModelDescription {
  /** config.json architectures[0], e.g. 'BertForSequenceClassification'. */
  architecture: string;
  family: 'bert' | 'xlm-roberta' | 'modernbert' | 'qwen3';
  /** config.json's model_type. */
  modelType: string;
  /** The base model's prefix in checkpoint tensor names ('bert.', 'roberta.', 'model.'). */
  tensorPrefix: string;
  /** 'last': each sequence's last token (causal decoders). */
  pooling: 'cls' | 'mean' | 'last';
  /** Causal attention (a decoder: Qwen3); false for the encoders. */
  causal: boolean;
  numLabels: 1 | 2;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** K/V heads (grouped-query attention); numHeads for the encoders. */
  numKvHeads: number;
  headDim: number;
  intermediateSize: number;
  vocabSize: number;
  /** 0: the model reads no token type ids. */
  typeVocabSize: number;
  /** The longest sequence the model's positions allow. */
  maxSequenceLength: number;
  padTokenId: number;
  /** Dense-layer FLOPs per token of the full encoder. */
  gemmFlopsPerToken: number;
  /** Every tensor the model reads, by canonical name (the prefix removed), with its shape. */
  tensors: Array<{ name: string; shape: number[] }>;
}

/** What a model reads besides config.json (native/models/model.h ModelOptions). */
export interface NativeModelOptions {
  /** A causal-LM reranker's label tokens [no, yes] (Qwen3ForCausalLM): the LM head rows that are its two logits. */
  labelTokenIds?: number[];
}

export interface NativeAddon {
  /** The model config.json describes; throws a coded error (ERR_MODEL_INVALID / ERR_MODEL_UNSUPPORTED) naming the field.
   * Qwen3ForCausalLM needs `options.labelTokenIds`. */
  describeModel(config: Record<string, unknown>, options?: NativeModelOptions): NativeModelDescription;
  /** spec is null for the gpu-test backend (testing addon only), which has no weights. */
  loadSession(spec: ModelPlan | null, options: NativeLoadOptions): Promise<NativeSession>;
  /** The testing addon of CUDA builds only (trt_rerank_testing.node, never trt_rerank.node): the kernels alone,
   * for tests and benchmarks. */
  testing?: NativeTesting;
  systemInfo(): NativeSystemInfo;
  /** The backends 'auto' may choose, in the order it tries them, and why each cannot run on `device` ('' when it can). */
  backendStatus(device: number): Array<{ name: 'tensorrt' | 'cuda' | 'cpu'; inBuild: boolean; unavailable: string }>;
  /** The TensorRT backend's I/O checks and shape plans (every build; no TensorRT needed). */
  engineIo: NativeEngineIo;
  /** trt-rerank build-engine (TensorRT builds only; elsewhere it rejects, saying what the build lacks). */
  buildEngine(options: NativeBuildEngineOptions): Promise<{ bytes: number }>;
}

export type NativeTensorType = 'fp32' | 'fp16' | 'bf16' | 'int8' | 'int32' | 'int64' | 'bool' | 'uint8' | 'other';

/** One I/O tensor of a TensorRT engine, as the backend reads it (shape -1: dynamic). */
export interface NativeTensorDesc {
  name: string;
  input: boolean;
  type: NativeTensorType;
  shape: number[];
  /** Inputs: optimization profile 0. */
  profileMin?: number[];
  profileOpt?: number[];
  profileMax?: number[];
}

export interface NativeEngineIoPlan {
  idsName: string;
  maskName: string;
  typeIdsName: string | null;
  inputType: 'int32' | 'int64';
  outputName: string;
  outputType: 'fp32' | 'fp16' | 'bf16';
  numLabels: 1 | 2;
  minBatch: number;
  maxBatch: number;
  minSeq: number;
  optSeq: number;
  maxSeq: number;
}

export interface NativeEngineIo {
  plan(tensors: NativeTensorDesc[]): NativeEngineIoPlan;
  buckets(plan: NativeEngineIoPlan): number[];
  batchShape(plan: NativeEngineIoPlan, count: number, longest: number): { rows: number; seqLen: number };
}

export interface NativeBuildEngineOptions {
  onnx: string;
  out: string;
  maxBatch?: number;
  maxSeq?: number;
  optSeq?: number;
  precision?: 'fp32' | 'fp16' | 'bf16';
  workspaceBytes?: number;
  /** Loadable by later TensorRT runtimes of the same major (the plan embeds the lean runtime). */
  versionCompatible?: boolean;
  /** Runs on GPUs other than the builder's: 'ampere+' (any sm_80 or newer) or 'same-cc' (same compute capability). */
  hardwareCompatibility?: 'none' | 'ampere+' | 'same-cc';
}

/** Errors the addon throws or rejects with carry one of these codes (listed in native/common/error_codes.json). */
export type { NativeErrorCode } from '../generated/error-codes.js';
