/**
 * Turns one call's documents into encoded batches for the backend, in document order.
 *
 * - Fewer than `parallelMinDocs` documents (or no pool): tokenized on the calling thread, batch by batch.
 * - Up to `streamThreshold` documents: every batch is tokenized first (in parallel on the worker pool), so the
 *   backend then runs them back to back.
 * - More: batches stream. At most `window` batches are tokenized or waiting at once, so memory stays bounded
 *   however many documents come, and batch i+1 is tokenized while the backend scores batch i.
 *
 * The query is encoded once per call; documents found in the tokenizer's cache are not sent to a worker.
 * @internal
 */
import type { EncodedPairs, PairTokenizer, PreparedQuery } from '../tokenize/pair-tokenizer.js';
import type { DocumentRuns, TokenizerPool } from '../tokenize/worker-pool.js';

export interface BatchPlan {
  batchSize: number;
  streamThreshold: number;
  parallelMinDocs: number;
  /** Batches held at once when streaming (tokenizing or tokenized and not yet taken). */
  window: number;
}

export interface EncodedBatch {
  /** Index of the batch's first document in the call's docs. */
  first: number;
  pairs: EncodedPairs;
}

/** What a call's batching did, for tests and timings. */
export interface BatchStats {
  batches: number;
  streamed: boolean;
  parallel: boolean;
  /** Most batches held at once (tokenizing, or tokenized and not yet taken by the backend). */
  maxHeld: number;
}

interface PendingBatch {
  first: number;
  /** Run per document; misses are filled in when the worker answers. */
  runs: Array<Int32Array | undefined>;
  /** The distinct missing texts sent to the worker, and where each goes. */
  missTexts: string[];
  missSlots: number[][];
  task: Promise<DocumentRuns> | undefined;
}

export class BatchStream {
  readonly stats: BatchStats = { batches: 0, streamed: false, parallel: false, maxHeld: 0 };
  readonly #tokenizer: PairTokenizer;
  readonly #pool: TokenizerPool | undefined;
  readonly #docs: readonly string[];
  readonly #plan: BatchPlan;
  readonly #query: PreparedQuery;

  constructor(tokenizer: PairTokenizer, pool: TokenizerPool | undefined, query: string, docs: readonly string[], plan: BatchPlan) {
    this.#tokenizer = tokenizer;
    this.#pool = pool;
    this.#docs = docs;
    this.#plan = plan;
    this.#query = tokenizer.prepareQuery(query);
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<EncodedBatch> {
    const { batchSize, streamThreshold, parallelMinDocs } = this.#plan;
    const n = this.#docs.length;
    if (!this.#pool || n < parallelMinDocs) {
      for (let first = 0; first < n; first += batchSize) {
        this.stats.batches++;
        this.stats.maxHeld = 1;
        yield { first, pairs: this.#tokenizer.encodePairsPrepared(this.#query, this.#docs.slice(first, first + batchSize)) };
      }
      return;
    }
    this.stats.parallel = true;
    this.stats.streamed = n > streamThreshold;
    const window = this.stats.streamed ? Math.max(1, this.#plan.window) : Number.POSITIVE_INFINITY;
    const queue: PendingBatch[] = [];
    let next = 0;
    const fill = () => {
      while (next < n && queue.length < window) {
        queue.push(this.#start(next, Math.min(n, next + batchSize)));
        next += batchSize;
      }
      this.stats.maxHeld = Math.max(this.stats.maxHeld, queue.length);
    };
    fill();
    try {
      while (queue.length > 0) {
        const batch = queue[0]!;
        const pairs = await this.#finish(batch);
        queue.shift();
        fill();
        this.stats.batches++;
        yield { first: batch.first, pairs };
      }
    } finally {
      // Abandoned early (error, abort): settle what is still running so no rejection goes unhandled.
      for (const b of queue) b.task?.catch(() => undefined);
    }
  }

  #start(first: number, end: number): PendingBatch {
    const runs: Array<Int32Array | undefined> = new Array(end - first);
    const slotsByText = new Map<string, number[]>();
    for (let i = first; i < end; i++) {
      const text = this.#docs[i]!;
      const slots = slotsByText.get(text);
      if (slots) {
        slots.push(i - first);
        continue;
      }
      const cached = this.#tokenizer.cachedRun(text);
      if (cached) runs[i - first] = cached;
      else slotsByText.set(text, [i - first]);
    }
    // Every distinct missing text goes to the worker once; its repeats within the batch share the run.
    const missTexts = [...slotsByText.keys()];
    const missSlots = [...slotsByText.values()];
    const task = missTexts.length > 0 ? this.#pool!.tokenize(missTexts) : undefined;
    return { first, runs, missTexts, missSlots, task };
  }

  async #finish(batch: PendingBatch): Promise<EncodedPairs> {
    const { runs } = batch;
    if (batch.task) {
      const { tokens, offsets } = await batch.task;
      batch.missTexts.forEach((text, m) => {
        // A copy, so the cache holds only this document's tokens, not the whole transferred buffer.
        const run = tokens.slice(offsets[m]!, offsets[m + 1]!);
        this.#tokenizer.storeRun(text, run);
        for (const slot of batch.missSlots[m]!) runs[slot] = run;
      });
    }
    return this.#tokenizer.assemble(this.#query, runs as Int32Array[]);
  }
}
