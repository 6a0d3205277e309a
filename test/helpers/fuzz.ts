// Property-based fuzzing of the model-file readers (test/*/*.fuzz.test.ts) with fast-check: mutations of real
// files (byte-level, and structural ones on their parsed JSON), each checked to load or to throw one of the
// library's typed errors. Bounded by FUZZ_SECONDS per property (npm run fuzz); without it a short fixed pass
// (FUZZ_RUNS, default 60) runs with the rest of the tests. FUZZ_SEED replays a run (fast-check prints the seed
// and the shrunk counterexample of a failure).
import fc from 'fast-check';
import { RerankError } from '../../lib/errors.js';

const seconds = process.env.FUZZ_SECONDS ? Number(process.env.FUZZ_SECONDS) : undefined;

/** fast-check parameters for one property: time-bounded under FUZZ_SECONDS, else a short fixed pass. */
export function fuzzParameters<T>(): fc.Parameters<T> {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
  return seconds !== undefined
    ? { numRuns: Number.MAX_SAFE_INTEGER, interruptAfterTimeLimit: seconds * 1000, markInterruptAsFailure: false, seed }
    : { numRuns: Number(process.env.FUZZ_RUNS ?? 60), interruptAfterTimeLimit: 20_000, markInterruptAsFailure: false, seed };
}

/** A test timeout that leaves room for the property's time limit. */
export const fuzzTimeout = ((seconds ?? 20) + 60) * 1000;

/** What a loader may do with a corrupt input: return, or throw a RerankError (never a TypeError or RangeError). */
export async function loadsOrTypedError(load: () => unknown): Promise<void> {
  try {
    await load();
  } catch (error) {
    if (error instanceof RerankError) return;
    throw new Error(`not a RerankError: ${(error as Error)?.stack ?? String(error)}`, { cause: error });
  }
}

type ByteEdit =
  | { kind: 'set'; at: number; value: number }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'erase'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'number'; at: number; text: string };

const numberText = fc.oneof(
  fc.constantFrom('0', '-1', '1e308', '1e400', '-0', '0.5', '9007199254740993', '4294967296', '18446744073709551616', 'null', '""', '[]', '{}'),
  fc.integer({ min: -10, max: 100_000 }).map(String),
);

const byteEdit = (size: number, focus: number): fc.Arbitrary<ByteEdit> => {
  // Half of the positions fall in the first `focus` bytes (a header, the JSON), the rest anywhere.
  const at = fc.oneof(fc.nat({ max: Math.max(0, Math.min(size, focus) - 1) }), fc.nat({ max: Math.max(0, size - 1) }));
  return fc.oneof(
    fc.record({ kind: fc.constant('set' as const), at, value: fc.nat({ max: 255 }) }),
    fc.record({ kind: fc.constant('flip' as const), at, bit: fc.nat({ max: 7 }) }),
    fc.record({ kind: fc.constant('insert' as const), at, bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
    fc.record({ kind: fc.constant('erase' as const), at, length: fc.integer({ min: 1, max: 64 }) }),
    fc.record({ kind: fc.constant('truncate' as const), at }),
    fc.record({ kind: fc.constant('number' as const), at, text: numberText }),
  );
};

function applyEdits(original: Buffer, edits: ByteEdit[]): Buffer {
  let b = Buffer.from(original);
  for (const e of edits) {
    const at = Math.min(e.at, b.length);
    switch (e.kind) {
      case 'set': if (at < b.length) b[at] = e.value; break;
      case 'flip': if (at < b.length) b[at] = b[at]! ^ (1 << e.bit); break;
      case 'insert': b = Buffer.concat([b.subarray(0, at), e.bytes, b.subarray(at)]); break;
      case 'erase': b = Buffer.concat([b.subarray(0, at), b.subarray(at + e.length)]); break;
      case 'truncate': b = b.subarray(0, at); break;
      case 'number': {  // the digit run at or after `at` becomes `text`
        const digit = (c: number) => c >= 0x30 && c <= 0x39;
        let start = at;
        while (start < b.length && !digit(b[start]!)) start++;
        if (start >= b.length) break;
        let end = start;
        while (end < b.length && (digit(b[end]!) || b[end] === 0x2e || b[end] === 0x65 || b[end] === 0x2d)) end++;
        b = Buffer.concat([b.subarray(0, start), Buffer.from(e.text), b.subarray(end)]);
        break;
      }
    }
  }
  return b;
}

/** `original` with 1 to 8 byte-level edits, half of their positions in its first `focus` bytes. */
export function mutatedBytes(original: Buffer, focus = 4096): fc.Arbitrary<Buffer> {
  return fc.array(byteEdit(original.length, focus), { minLength: 1, maxLength: 8 }).map((edits) => applyEdits(original, edits));
}

type Path = (string | number)[];

/** Every path into `value` (objects and arrays), arrays of more than `sample` entries visited at `sample` of them. */
export function jsonPaths(value: unknown, sample = 8, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(value)) {
    const step = Math.max(1, Math.floor(value.length / sample));
    for (let i = 0; i < value.length; i += step) jsonPaths(value[i] as unknown, sample, [...path, i], out);
  } else if (value !== null && typeof value === 'object') {
    const keys = Object.keys(value);
    const step = Math.max(1, Math.floor(keys.length / (sample * 4)));
    for (let i = 0; i < keys.length; i += step) {
      const key = keys[i]!;
      jsonPaths((value as Record<string, unknown>)[key], sample, [...path, key], out);
    }
  }
  return out;
}

export interface JsonEdit {
  path: Path;
  /** undefined: the key is deleted (an array entry: removed). */
  value: unknown;
}

const jsonValue = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 2, arbitrary: fc.constantFrom(undefined, null, -1, 0, 1, 1.5, 2 ** 31, 2 ** 53, -(2 ** 53), 1e308, '', 'BPE', 'WordPiece', 'Unigram', 'WordLevel', [], {}, true) },
);

/** 1 to 4 structural edits of a JSON document: a value anywhere (paths from jsonPaths) replaced or deleted. */
export function jsonEdits(paths: Path[]): fc.Arbitrary<JsonEdit[]> {
  return fc.array(fc.record({ path: fc.constantFrom(...paths), value: jsonValue }), { minLength: 1, maxLength: 4 });
}

/** Applies `edits` to `doc` in place and returns a function that restores it (big documents are not cloned). */
export function applyJsonEdits(doc: unknown, edits: JsonEdit[]): () => void {
  const undo: (() => void)[] = [];
  for (const { path, value } of edits) {
    if (path.length === 0) continue;
    let parent: unknown = doc;
    for (const key of path.slice(0, -1)) {
      parent = parent !== null && typeof parent === 'object' ? (parent as Record<string | number, unknown>)[key] : undefined;
    }
    if (parent === null || typeof parent !== 'object') continue;
    const p = parent as Record<string | number, unknown>;
    const key = path[path.length - 1]!;
    const had = Object.prototype.hasOwnProperty.call(p, key);
    const old = p[key];
    if (Array.isArray(p)) {
      // Arrays stay dense, as JSON.parse makes them (a deleted index would leave a hole no file can hold).
      if (typeof key !== 'number' || key >= p.length) continue;
      if (value === undefined) p.splice(key, 1);
      else p[key] = structuredClone(value);
      undo.push(() => (value === undefined ? p.splice(key, 0, old) : (p[key] = old)));
    } else {
      // A fresh copy: the arbitraries hand out shared constants ([], {}) that later edits would write into.
      if (value === undefined) delete p[key];
      else p[key] = structuredClone(value);
      undo.push(() => (had ? (p[key] = old) : delete p[key]));
    }
  }
  return () => {
    for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
  };
}
