/**
 * A pool of tokenizer worker threads, created on first use and reused for the tokenizer's lifetime. Each task
 * goes to the worker with the fewest tasks queued; results come back as transferred typed arrays. Idle workers
 * do not keep the process alive.
 * @internal
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { BackendError } from '../errors.js';
import type { TokenizerSource } from './pair-tokenizer.js';

export interface DocumentRuns {
  tokens: Int32Array;
  offsets: Int32Array;
}

interface Pending {
  resolve: (runs: DocumentRuns) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
}

/** The compiled worker script: beside this module in dist/, or dist/ itself when running from lib/ sources. */
function workerScript(): URL {
  const sibling = new URL('./tokenize-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL('../../dist/tokenize/tokenize-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(built))) return built;
  throw new BackendError('the tokenizer worker script is missing: run `npm run build:ts`');
}

export class TokenizerPool {
  readonly size: number;
  readonly #source: TokenizerSource;
  #slots: Slot[] = [];
  #nextId = 0;
  #closed = false;

  constructor(source: TokenizerSource, size: number) {
    this.#source = source;
    this.size = size;
  }

  /** Tokenizes documents on a worker: each document's run (see PairTokenizer.tokenizeDocuments). */
  tokenize(docs: readonly string[]): Promise<DocumentRuns> {
    if (this.#closed) return Promise.reject(new BackendError('the tokenizer pool is closed'));
    if (this.#slots.length === 0) this.#start();
    let slot = this.#slots[0]!;
    for (const s of this.#slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.#nextId++;
    return new Promise<DocumentRuns>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, docs });
    });
  }

  /** Ends the workers; tasks still queued reject. */
  async close(): Promise<void> {
    this.#closed = true;
    const slots = this.#slots;
    this.#slots = [];
    for (const slot of slots) {
      for (const p of slot.pending.values()) p.reject(new BackendError('the tokenizer pool was closed'));
      slot.pending.clear();
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  #start(): void {
    const script = workerScript();
    for (let i = 0; i < this.size; i++) {
      const worker = new Worker(script, { workerData: this.#source });
      const slot: Slot = { worker, pending: new Map() };
      worker.unref();
      worker.on('message', (m: { id: number; tokens?: Int32Array; offsets?: Int32Array; error?: string }) => {
        const p = slot.pending.get(m.id);
        if (!p) return;
        slot.pending.delete(m.id);
        if (slot.pending.size === 0) worker.unref();
        if (m.error !== undefined) p.reject(new BackendError(`tokenizer worker: ${m.error}`));
        else p.resolve({ tokens: m.tokens!, offsets: m.offsets! });
      });
      const failAll = (error: Error) => {
        for (const p of slot.pending.values()) p.reject(error);
        slot.pending.clear();
        // A dead worker is replaced on the next call.
        this.#slots = this.#slots.filter((s) => s !== slot);
      };
      worker.on('error', (error) => failAll(new BackendError(`tokenizer worker failed: ${error.message}`, { cause: error })));
      worker.on('exit', (code) => {
        if (!this.#closed) failAll(new BackendError(`tokenizer worker exited with code ${code}`));
      });
      this.#slots.push(slot);
    }
  }
}
