/**
 * What `reranker.stats()` returns: the scheduler's counters since load, read from the addon in one call (a copy
 * under one lock, percentiles over a fixed window), cheap enough to call every second.
 */

/** A histogram with fixed bucket bounds, as Prometheus keeps one. */
export interface Histogram {
  /** Upper bounds of the buckets, ascending; a last bucket (+Inf) follows them. */
  le: number[];
  /** Observations per bucket (not cumulative): le.length + 1 entries, the last for +Inf. */
  counts: number[];
  /** Sum of the observations. */
  sum: number;
  /** Number of observations. */
  count: number;
}

/** Percentiles over the last 1024 calls (0 before any call). */
export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface RerankerStats {
  /** Calls that finished with scores. */
  calls: number;
  /** Admitted calls that did not finish: aborted, timed out, failed, or closed. */
  failedCalls: number;
  /** Calls refused with ERR_OVERLOADED. */
  rejectedCalls: number;
  /** Pairs scored. */
  pairs: number;
  /** Tokens of the pairs scored (real tokens; a backend that pads computes more). */
  tokens: number;
  /** Batches run. */
  batches: number;
  /**
   * Shared prompts computed once: sequences run for the prefix several pairs of a call share (causal models: the
   * system prompt, instruction and query of an LLM reranker's template), and the pair tokens that saved computing.
   */
  contexts: number;
  sharedTokens: number;
  /** Calls admitted and not yet settled. */
  activeCalls: number;
  /** Pairs of admitted calls not yet scored (the queue's depth). */
  queuedPairs: number;
  /** The limits in force: most tokens and pairs per batch, most queued pairs. */
  maxBatchTokens: number;
  maxBatchPairs: number;
  maxQueuedPairs: number;
  /** Each batch's cost in tokens over maxBatchTokens (le 0.1 .. 1). */
  batchFill: Histogram;
  /** Pairs per batch (le 1, 2, 4 .. 4096). */
  batchPairs: Histogram;
  /** Tokens per batch (le 64, 128 .. 1 048 576). */
  batchTokens: Histogram;
  /** Per call, from admission to its first pair starting, in seconds. */
  queueSeconds: Histogram;
  /** Per call, from admission to its scores being ready, in seconds. */
  runSeconds: Histogram;
  /** The same two, as percentiles in ms over the last 1024 calls. */
  queueMs: Percentiles;
  runMs: Percentiles;
}
