/**
 * Turns one call's documents into encoded chunks for the scheduler, in document order (the scheduler regroups
 * pairs of all calls into batches; a chunk is at most one batch's pairs).
 *
 * - Fewer than `parallelMinDocs` documents (or no pool): tokenized on the calling thread, batch by batch.
 * - Up to `streamThreshold` documents: every batch is tokenized first (in parallel on the worker pool), so the
 *   backend then runs them back to back.
 * - More: batches stream. At most `window` batches are tokenized or waiting at once, so memory stays bounded
 *   however many documents come, and batch i+1 is tokenized while the backend scores batch i.
 *
 * With `sortByLength` (backends that pad each batch to its longest pair), a pre-tokenized call's pairs are
 * regrouped by length, longest first, so each batch holds pairs of similar length; each such batch carries
 * the document index of every pair. Streamed calls keep document order: sorting them would need the whole
 * call tokenized first.
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
  /** Regroup a pre-tokenized call's pairs by length (for backends that pad batches). */
  sortByLength?: boolean;
  /** Cut each document to this many tokens first (the call's maxTokensPerDoc). */
  maxDocTokens?: number;
  /** LLM rerankers: the call's instruction (default: the tokenizer's). */
  instruction?: string;
}

export interface EncodedBatch {
  /** Index of the batch's first document in the call's docs (pair i is document first + i), unless
   * docIndices is set. */
  first: number;
  pairs: EncodedPairs;
  /** Length-sorted batches: the document index of each pair. */
  docIndices?: Int32Array;
}

/** What a call's batching did, for tests and timings. */
export interface BatchStats {
  batches: number;
  streamed: boolean;
  parallel: boolean;
  /** Pairs were regrouped by length. */
  sorted: boolean;
  /** Most batches held at once (tokenizing, or tokenized and not yet taken by the backend). */
  maxHeld: number;
  /** Tasks sent to the worker pool (each batch's misses are split over the workers). */
  workerTasks: number;
}

interface PendingBatch {
  first: number;
  /** Run per document; misses are filled in when the worker answers. */
  runs: Array<Int32Array | undefined>;
  /** The distinct missing texts sent to the worker, and where each goes. */
  missTexts: string[];
  missSlots: number[][];
  /** The misses, in chunks spread over the workers (in missTexts order). */
  task: Promise<DocumentRuns[]> | undefined;
}

/** Fewest documents a worker is sent at once: below this, the message round trip outweighs the split. */
const MIN_CHUNK_DOCS = 8;

export class BatchStream {
  readonly stats: BatchStats = { batches: 0, streamed: false, parallel: false, sorted: false, maxHeld: 0, workerTasks: 0 };
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
    this.#query = tokenizer.prepareQuery(query, plan.instruction, 'options.instruction');
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<EncodedBatch> {
    if (this.#plan.sortByLength && this.#docs.length <= this.#plan.streamThreshold) {
      const inOrder: EncodedBatch[] = [];
      for await (const batch of this.#inOrder()) inOrder.push(batch);
      this.stats.sorted = true;
      yield* lengthSorted(inOrder, this.#docs.length, this.#plan.batchSize);
      return;
    }
    yield* this.#inOrder();
  }

  async *#inOrder(): AsyncGenerator<EncodedBatch> {
    const { batchSize, streamThreshold, parallelMinDocs } = this.#plan;
    const n = this.#docs.length;
    if (!this.#pool || n < parallelMinDocs) {
      for (let first = 0; first < n; first += batchSize) {
        this.stats.batches++;
        this.stats.maxHeld = 1;
        yield { first, pairs: this.#tokenizer.encodePairsPrepared(this.#query, this.#docs.slice(first, first + batchSize), this.#plan.maxDocTokens) };
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
    while (queue.length > 0) {
      const batch = queue[0]!;
      const pairs = await this.#finish(batch);
      queue.shift();
      fill();
      this.stats.batches++;
      yield { first: batch.first, pairs };
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
    // Every distinct missing text is tokenized once; its repeats within the batch share the run. The misses are
    // split over the workers, so even a call of one batch uses the whole pool.
    const missTexts = [...slotsByText.keys()];
    const missSlots = [...slotsByText.values()];
    const pool = this.#pool!;
    const chunk = Math.max(MIN_CHUNK_DOCS, Math.ceil(missTexts.length / pool.size));
    const parts: Promise<DocumentRuns>[] = [];
    for (let at = 0; at < missTexts.length; at += chunk) parts.push(pool.tokenize(missTexts.slice(at, at + chunk)));
    this.stats.workerTasks += parts.length;
    const task = parts.length > 0 ? Promise.all(parts) : undefined;
    // Handled from the start: a batch queued in the window can be rejected (the pool closed) while the generator
    // waits at a yield for its consumer, before anything awaits it; #finish still sees the rejection.
    task?.catch(() => undefined);
    return { first, runs, missTexts, missSlots, task };
  }

  async #finish(batch: PendingBatch): Promise<EncodedPairs> {
    const { runs } = batch;
    if (batch.task) {
      let m = 0;
      for (const { tokens, offsets } of await batch.task) {
        for (let j = 0; j + 1 < offsets.length; j++, m++) {
          // A copy, so the cache holds only this document's tokens, not the whole transferred buffer.
          const run = tokens.slice(offsets[j]!, offsets[j + 1]!);
          this.#tokenizer.storeRun(batch.missTexts[m]!, run);
          for (const slot of batch.missSlots[m]!) runs[slot] = run;
        }
      }
    }
    const texts = this.#docs.slice(batch.first, batch.first + runs.length);
    return this.#tokenizer.assemble(this.#query, runs as Int32Array[], this.#plan.maxDocTokens, texts);
  }
}

/**
 * Regroups document-order batches into batches of `batchSize` pairs sorted by length, longest first (ties by
 * lower document index, so the grouping is deterministic). Built one batch at a time.
 */
export function* lengthSorted(inOrder: readonly EncodedBatch[], count: number, batchSize: number): Generator<EncodedBatch> {
  const source = new Int32Array(count); // which input batch holds document d
  const lengths = new Int32Array(count);
  inOrder.forEach((batch, b) => {
    const { offsets } = batch.pairs;
    for (let i = 0; i + 1 < offsets.length; i++) {
      source[batch.first + i] = b;
      lengths[batch.first + i] = offsets[i + 1]! - offsets[i]!;
    }
  });
  const order = new Int32Array(count);
  for (let d = 0; d < count; d++) order[d] = d;
  order.sort((a, b) => lengths[b]! - lengths[a]! || a - b);
  for (let start = 0; start < count; start += batchSize) {
    const docIndices = order.slice(start, Math.min(count, start + batchSize));
    const offsets = new Int32Array(docIndices.length + 1);
    for (let i = 0; i < docIndices.length; i++) offsets[i + 1] = offsets[i]! + lengths[docIndices[i]!]!;
    const ids = new Int32Array(offsets[docIndices.length]!);
    const typeIds = new Uint8Array(ids.length);
    for (let i = 0; i < docIndices.length; i++) {
      const d = docIndices[i]!;
      const from = inOrder[source[d]!]!;
      const local = d - from.first;
      const begin = from.pairs.offsets[local]!;
      const end = from.pairs.offsets[local + 1]!;
      ids.set(from.pairs.ids.subarray(begin, end), offsets[i]!);
      typeIds.set(from.pairs.typeIds.subarray(begin, end), offsets[i]!);
    }
    yield { first: 0, pairs: { ids, typeIds, offsets }, docIndices };
  }
}
