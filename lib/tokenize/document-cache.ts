/**
 * Least-recently-used cache of document token runs, keyed by the document text and bounded in bytes. A run is
 * the document's tokens as Rust's truncation early exit leaves them (truncation.ts): the same for every query
 * and strategy, at most max_length tokens plus the rest of one word.
 *
 * @internal
 */

export interface CacheStats {
  /** Documents served without tokenizing: from the cache, or repeated within one encodePairs call. */
  hits: number;
  /** Documents tokenized. */
  misses: number;
  /** Documents held now. */
  entries: number;
  /** Bytes held now, as counted against maxBytes. */
  bytes: number;
  /** The bound; 0 when the cache is off. */
  maxBytes: number;
}

/** Map entry, key and object headers: a rough constant so many tiny documents still count. */
const ENTRY_OVERHEAD = 96;

/** Bytes an entry is charged: the key string (UTF-16) it keeps alive, the token array, and overhead. */
export function entryBytes(text: string, run: Int32Array): number {
  return 2 * text.length + run.byteLength + ENTRY_OVERHEAD;
}

export class DocumentCache {
  readonly maxBytes: number;
  #bytes = 0;
  // A Map iterates in insertion order: re-inserting on every hit keeps the least recently used first.
  readonly #map = new Map<string, Int32Array>();

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#map.size;
  }

  get(text: string): Int32Array | undefined {
    const run = this.#map.get(text);
    if (run !== undefined) {
      this.#map.delete(text);
      this.#map.set(text, run);
    }
    return run;
  }

  set(text: string, run: Int32Array): void {
    const old = this.#map.get(text);
    if (old !== undefined) {
      this.#map.delete(text);
      this.#bytes -= entryBytes(text, old);
    }
    const size = entryBytes(text, run);
    if (size > this.maxBytes) return;
    this.#map.set(text, run);
    this.#bytes += size;
    for (const [key, value] of this.#map) {
      if (this.#bytes <= this.maxBytes) break;
      this.#map.delete(key);
      this.#bytes -= entryBytes(key, value);
    }
  }

  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }
}
