/**
 * GET /metrics: one prom-client Registry renders everything, in Prometheus' text format.
 *
 * The server observes two metrics itself, as prom-client metrics: trt_rerank_requests_total{route, status}
 * (status: the HTTP status code answered, 499 where the client went away first) and
 * trt_rerank_request_duration_seconds{route}. The Reranker's own counters are read from `reranker.stats()` at
 * scrape time (one read per scrape) by custom metrics registered in the same Registry: calls by outcome, pairs,
 * tokens, batches, the queue depth and the limits as gauges, and its histograms (queue and run time per call,
 * pairs, tokens and fill per batch) with their buckets made cumulative. Node's process metrics (event loop lag,
 * heap, CPU: prom-client's default metrics) come with them.
 * @internal
 */
import { collectDefaultMetrics, Counter, Histogram, Registry, type Metric } from 'prom-client';
import type { Histogram as StatsHistogram, RerankerStats } from '../stats.js';

export type MetricRoute = '/v2/rerank' | '/v1/rerank' | '/rerank' | '/health' | '/info' | '/metrics' | 'other';

/** Request durations' bucket bounds, in seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

interface Sample {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

/** A metric whose samples are computed from a stats() snapshot when the Registry renders it (prom-client's Metric shape). */
class StatsMetric {
  readonly aggregator = 'sum';
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    readonly samples: (stats: RerankerStats) => Sample[],
    readonly snapshot: () => RerankerStats,
  ) {}

  async get() {
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values: this.samples(this.snapshot()) };
  }

  reset(): void {}
}

/** A stats() histogram (per-bucket counts) as Prometheus samples: cumulative `_bucket{le}`, `_sum`, `_count`. */
export function histogramSamples(name: string, h: StatsHistogram): Sample[] {
  const samples: Sample[] = [];
  let cumulative = 0;
  for (let i = 0; i < h.le.length; i++) {
    cumulative += h.counts[i] ?? 0;
    // Bounds computed in floating point (0.1 * 3) are written as the decimals they stand for.
    samples.push({ metricName: `${name}_bucket`, labels: { le: Number(h.le[i]!.toPrecision(12)) }, value: cumulative });
  }
  cumulative += h.counts[h.le.length] ?? 0;
  samples.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: cumulative });
  samples.push({ metricName: `${name}_sum`, labels: {}, value: h.sum });
  samples.push({ metricName: `${name}_count`, labels: {}, value: h.count });
  return samples;
}

const one = (value: number): Sample[] => [{ value, labels: {} }];

/** The metrics read from stats(), by name: type, help and samples. */
const STATS_METRICS: Array<[string, 'counter' | 'gauge' | 'histogram', string, (s: RerankerStats) => Sample[]]> = [
  ['trt_rerank_calls_total', 'counter', 'Reranker calls by outcome: ok (scored), failed (aborted, timed out, failed or closed after admission), rejected (queue full)',
    (s) => [{ value: s.calls, labels: { outcome: 'ok' } }, { value: s.failedCalls, labels: { outcome: 'failed' } }, { value: s.rejectedCalls, labels: { outcome: 'rejected' } }]],
  ['trt_rerank_pairs_total', 'counter', 'Query-document pairs scored', (s) => one(s.pairs)],
  ['trt_rerank_tokens_total', 'counter', 'Tokens of the pairs scored, special tokens included', (s) => one(s.tokens)],
  ['trt_rerank_batches_total', 'counter', 'Batches run on the backend', (s) => one(s.batches)],
  ['trt_rerank_shared_prefixes_total', 'counter', 'LLM rerankers: prompt prefixes shared by pairs of a call, computed once per batch', (s) => one(s.contexts)],
  ['trt_rerank_shared_tokens_total', 'counter', 'LLM rerankers: pair tokens not computed thanks to shared prefixes', (s) => one(s.sharedTokens)],
  ['trt_rerank_queue_pairs', 'gauge', 'Pairs of admitted calls not yet scored (the queue depth)', (s) => one(s.queuedPairs)],
  ['trt_rerank_active_calls', 'gauge', 'Calls admitted and not yet settled', (s) => one(s.activeCalls)],
  ['trt_rerank_max_batch_tokens', 'gauge', 'Most tokens per batch (limit in force)', (s) => one(s.maxBatchTokens)],
  ['trt_rerank_max_batch_pairs', 'gauge', 'Most pairs per batch (limit in force)', (s) => one(s.maxBatchPairs)],
  ['trt_rerank_max_queued_pairs', 'gauge', 'Most queued pairs before calls are refused (limit in force)', (s) => one(s.maxQueuedPairs)],
  ['trt_rerank_queue_duration_seconds', 'histogram', 'Per call, from admission to its first pair starting on the backend', (s) => histogramSamples('trt_rerank_queue_duration_seconds', s.queueSeconds)],
  ['trt_rerank_run_duration_seconds', 'histogram', 'Per call, from admission to its scores being ready', (s) => histogramSamples('trt_rerank_run_duration_seconds', s.runSeconds)],
  ['trt_rerank_batch_pairs', 'histogram', 'Pairs per batch', (s) => histogramSamples('trt_rerank_batch_pairs', s.batchPairs)],
  ['trt_rerank_batch_tokens', 'histogram', 'Tokens per batch', (s) => histogramSamples('trt_rerank_batch_tokens', s.batchTokens)],
  ['trt_rerank_batch_fill', 'histogram', "Each batch's tokens over maxBatchTokens", (s) => histogramSamples('trt_rerank_batch_fill', s.batchFill)],
];

export class ServerMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'status'>;
  readonly #duration: Histogram<'route'>;
  readonly #stats: (() => RerankerStats) | undefined;
  /** The snapshot the current render reads (one stats() call per scrape). */
  #current: RerankerStats | undefined;

  /** `stats` is the Reranker's stats(); without it only the server's own and the process metrics are kept. */
  constructor(stats: (() => RerankerStats) | undefined, options: { defaultMetrics: boolean }) {
    const registers = [this.registry];
    this.#requests = new Counter({ name: 'trt_rerank_requests_total', help: 'HTTP requests answered, by route and status code (499: the client closed the connection first)', labelNames: ['route', 'status'], registers });
    this.#duration = new Histogram({ name: 'trt_rerank_request_duration_seconds', help: 'HTTP request duration, from the request to the end of the response', labelNames: ['route'], buckets: DURATION_BUCKETS, registers });
    this.#stats = stats;
    if (stats) {
      const snapshot = () => this.#current ?? stats();
      for (const [name, type, help, samples] of STATS_METRICS) {
        this.registry.registerMetric(new StatsMetric(name, help, type, samples, snapshot) as unknown as Metric);
      }
    }
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Whether the Reranker's own metrics are there (its stats() exists). */
  get hasStats(): boolean {
    return this.#stats !== undefined;
  }

  observe(route: MetricRoute, status: number, seconds: number): void {
    this.#requests.inc({ route, status });
    this.#duration.observe({ route }, seconds);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition. The Registry asks every metric for its values at once, so one snapshot serves them all. */
  render(): Promise<string> {
    this.#current = this.#stats?.();
    try {
      return this.registry.metrics();
    } finally {
      this.#current = undefined;
    }
  }
}
