/**
 * trt-rerank: cross-encoder reranking for Node.js on NVIDIA GPUs, with a CPU fallback.
 * The public surface; everything else in lib/ is internal.
 */
export { Reranker, type RerankResult, type RerankerInfo } from './reranker.js';
export type { Activation, BackendName, CallTimings, DType, LoadOptions, RerankOptions, ScoreOptions, Truncation } from './options.js';
export type { Histogram, Percentiles, RerankerStats } from './stats.js';
export { PairTokenizer, type EncodePairsOptions, type EncodedPairs, type PairTokenizerOptions } from './tokenize/pair-tokenizer.js';
export { systemInfo, type BinaryInfo, type SystemInfo } from './system-info.js';
export {
  AbortError,
  BackendError,
  BackendUnavailableError,
  ClosedError,
  InvalidArgumentError,
  ModelLoadError,
  NativeAddonError,
  OverloadedError,
  RerankError,
  TimeoutError,
  TruncationError,
  type RerankErrorCode,
} from './errors.js';
