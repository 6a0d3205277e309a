/**
 * Ports of HF tokenizers' (Rust) models where tokenizers.js (0.2.x) gives other pieces for the same
 * tokenizer.json: BPE and WordLevel (paths under huggingface/tokenizers tokenizers/src/). rust-compat.ts runs
 * them one pre-token at a time in place of tokenizers.js's model.
 *
 * @internal
 */

type Json = Record<string, unknown>;

/** tokenizer.json content HF tokenizers (Rust) refuses, or cannot encode with: PairTokenizer reports it as ERR_MODEL_INVALID. */
export class TokenizerJsonError extends Error {}

function vocabMap(vocab: unknown, what: string): Map<string, number> {
  if (typeof vocab !== 'object' || vocab === null || Array.isArray(vocab)) throw new TokenizerJsonError(`${what} "vocab" must be an object of token: id`);
  const out = new Map<string, number>();
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) throw new TokenizerJsonError(`${what} vocab id of ${JSON.stringify(token)} must be an integer >= 0`);
    out.set(token, id);
  }
  return out;
}

/** A min-heap of BPE merges ordered by (rank, pos), as word.rs `Merge` orders its heap. */
class MergeQueue {
  readonly #rank: number[] = [];
  readonly #pos: number[] = [];
  readonly #id: number[] = [];
  get size(): number {
    return this.#rank.length;
  }
  #less(i: number, j: number): boolean {
    return this.#rank[i]! < this.#rank[j]! || (this.#rank[i] === this.#rank[j] && this.#pos[i]! < this.#pos[j]!);
  }
  #swap(i: number, j: number): void {
    for (const a of [this.#rank, this.#pos, this.#id]) [a[i], a[j]] = [a[j]!, a[i]!];
  }
  push(rank: number, pos: number, id: number): void {
    this.#rank.push(rank);
    this.#pos.push(pos);
    this.#id.push(id);
    for (let i = this.#rank.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }
  /** Removes the smallest merge; its [pos, newId]. */
  pop(): [number, number] {
    const top: [number, number] = [this.#pos[0]!, this.#id[0]!];
    const last = this.#rank.length - 1;
    this.#swap(0, last);
    this.#rank.pop();
    this.#pos.pop();
    this.#id.pop();
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < last && this.#less(l, m)) m = l;
      if (r < last && this.#less(r, m)) m = r;
      if (m === i) break;
      this.#swap(i, m);
      i = m;
    }
    return top;
  }
}

const utf8Length = (ch: string): number => {
  const cp = ch.codePointAt(0)!;
  return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
};

/**
 * models/bpe/model.rs (`merge_word`, `tokenize_with_cache`) and word.rs (`merge_all`), without dropout.
 * tokenizers.js's BPE differs from it: it merges first and looks up the vocabulary after, so a character
 * outside the vocabulary (no unk token) is not dropped before the merges (Rust lets its neighbours merge),
 * byte_fallback and fuse_unk apply to merged pieces instead of characters, and continuing_subword_prefix is
 * ignored. Its ids are Rust's on random vocabularies, merges and options (checked with tokenizers 0.23.2).
 */
export class RustBpe {
  readonly #vocab: Map<string, number>;
  readonly #vocabR = new Map<number, string>();
  /** (left id, right id) -> [rank, new id], keyed left * #idBound + right. */
  readonly #merges = new Map<number, [number, number]>();
  readonly #idBound: number;
  readonly #prefix: string | null;
  readonly #suffix: string | null;
  readonly #unkId: number | null;
  readonly #fuseUnk: boolean;
  readonly #byteFallback: boolean;
  readonly #ignoreMerges: boolean;
  readonly #encoder = new TextEncoder();

  constructor(config: Json) {
    const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
    this.#vocab = vocabMap(config.vocab, 'BPE');
    let maxId = 0;
    for (const [token, id] of this.#vocab) {
      this.#vocabR.set(id, token);
      maxId = Math.max(maxId, id);
    }
    this.#idBound = maxId + 1;
    this.#prefix = str(config.continuing_subword_prefix);
    this.#suffix = str(config.end_of_word_suffix);
    this.#fuseUnk = config.fuse_unk === true;
    this.#byteFallback = config.byte_fallback === true;
    this.#ignoreMerges = config.ignore_merges === true;
    const unk = str(config.unk_token);
    this.#unkId = unk === null ? null : (this.#vocab.get(unk) ?? null);
    if (unk !== null && this.#unkId === null) {
      // model.rs raises UnkTokenOutOfVocabulary on the first character outside the vocabulary.
      throw new TokenizerJsonError(`BPE unk_token ${JSON.stringify(unk)} is not in the vocabulary: HF tokenizers cannot encode text with a character outside it`);
    }
    const merges: unknown = config.merges;
    if (!Array.isArray(merges)) throw new TokenizerJsonError('BPE "merges" must be an array');
    // serialization.rs: pairs [a, b], or the legacy "a b" lines (#version lines skipped); rank = position.
    const pairs: Array<[string, string]> = [];
    for (const m of merges as unknown[]) {
      if (typeof m === 'string') {
        if (m.startsWith('#version')) continue;
        const parts = m.split(' ');
        if (parts.length !== 2) throw new TokenizerJsonError(`BPE merge ${pairs.length + 1} ${JSON.stringify(m)} is not two tokens separated by one space`);
        pairs.push([parts[0]!, parts[1]!]);
      } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') {
        pairs.push([m[0], m[1]]);
      } else {
        throw new TokenizerJsonError(`BPE merge ${pairs.length + 1} must be [left, right] or "left right", got ${JSON.stringify(m)}`);
      }
    }
    const prefixLength = this.#prefix?.length ?? 0;
    pairs.forEach(([a, b], rank) => {
      const idOf = (token: string): number => {
        const id = this.#vocab.get(token);
        if (id === undefined) throw new TokenizerJsonError(`BPE merge ${JSON.stringify(`${a} ${b}`)}: ${JSON.stringify(token)} is not in the vocabulary`);
        return id;
      };
      // model.rs `build`: the merged token is a + b without b's continuing_subword_prefix; a pair listed
      // twice keeps its last rank.
      this.#merges.set(idOf(a) * this.#idBound + idOf(b), [rank, idOf(a + b.slice(prefixLength))]);
    });
  }

  tokenize(word: string): string[] {
    if (word.length === 0) return [];
    if (this.#ignoreMerges && this.#vocab.has(word)) return [word];
    const c: number[] = [];
    const len: number[] = [];
    const add = (id: number, byteLength: number) => {
      c.push(id);
      len.push(byteLength);
    };
    const chars = Array.from(word);
    let unk: [number, number] | null = null;
    chars.forEach((ch, i) => {
      let s = ch;
      const byteLength = utf8Length(ch);
      if (i > 0 && this.#prefix !== null) s = this.#prefix + s;
      if (i === chars.length - 1 && this.#suffix !== null) s += this.#suffix;
      const id = this.#vocab.get(s);
      if (id !== undefined) {
        if (unk !== null) add(...unk);
        unk = null;
        add(id, byteLength);
        return;
      }
      if (this.#byteFallback) {
        const bytes = Array.from(this.#encoder.encode(s), (b) => this.#vocab.get(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`));
        if (bytes.every((b) => b !== undefined)) {
          // As model.rs: a pending unk stays pending, so it lands after these bytes.
          for (const b of bytes) add(b!, 1);
          return;
        }
      }
      if (this.#unkId !== null) {
        if (unk !== null && this.#fuseUnk) unk = [unk[0], unk[1] + byteLength];
        else {
          if (unk !== null) add(...unk);
          unk = [this.#unkId, byteLength];
        }
      }
    });
    if (unk !== null) add(...(unk as [number, number]));
    this.#mergeAll(c, len);
    const out: string[] = [];
    for (let i = 0; i < c.length; i++) if (len[i]! > 0) out.push(this.#vocabR.get(c[i]!)!);
    return out;
  }

  /** word.rs `merge_all`: symbols c (ids) with byte lengths len; a merged-away symbol gets length 0. */
  #mergeAll(c: number[], len: number[]): void {
    const n = c.length;
    const prev = Array.from({ length: n }, (_, i) => i - 1);
    const next = Array.from({ length: n }, (_, i) => (i + 1 < n ? i + 1 : -1));
    const queue = new MergeQueue();
    const lookup = (a: number, b: number) => this.#merges.get(a * this.#idBound + b);
    for (let i = 0; i + 1 < n; i++) {
      const m = lookup(c[i]!, c[i + 1]!);
      if (m !== undefined) queue.push(m[0], i, m[1]);
    }
    while (queue.size > 0) {
      const [pos, newId] = queue.pop();
      if (len[pos] === 0 || next[pos] === -1) continue;
      const right = next[pos]!;
      // An expired entry: the pair at pos no longer gives this new id.
      if (lookup(c[pos]!, c[right]!)?.[1] !== newId) continue;
      c[pos] = newId;
      len[pos]! += len[right]!;
      next[pos] = next[right]!;
      len[right] = 0;
      if (next[pos]! >= 0) prev[next[pos]!] = pos;
      if (prev[pos]! >= 0) {
        const m = lookup(c[prev[pos]!]!, c[pos]!);
        if (m !== undefined) queue.push(m[0], prev[pos]!, m[1]);
      }
      if (next[pos]! >= 0) {
        const m = lookup(c[pos]!, c[next[pos]!]!);
        if (m !== undefined) queue.push(m[0], pos, m[1]);
      }
    }
  }
}

/**
 * models/wordlevel/mod.rs: the word's id, else unk_token's (default "<unk>"). tokenizers.js has no WordLevel
 * and falls back to its Legacy model, whose unknown words take tokenizer_config.json's unk_token instead.
 */
export function wordLevelEncoder(config: Json): (word: string) => string[] {
  const vocab = vocabMap(config.vocab, 'WordLevel');
  const unk = typeof config.unk_token === 'string' ? config.unk_token : '<unk>';
  if (!vocab.has(unk)) {
    throw new TokenizerJsonError(`WordLevel unk_token ${JSON.stringify(unk)} is not in the vocabulary: HF tokenizers cannot encode a word outside it`);
  }
  return (word) => [vocab.has(word) ? word : unk];
}
