/**
 * CUDA top-k (native/kernels/topk.cu) against a CPU sort: exact, sorted descending, ties by lower index,
 * NaN last, for every algorithm (one-block sort, radix select, full radix sort) and N up to 10^7.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeAddon } from '../../lib/binding/native.js';
import { gpuSkipReason, requireAddonBuilt } from '../helpers/addon.js';

requireAddonBuilt();
const addon = loadAddon() as NativeAddon;
const reason = gpuSkipReason('GPU top-k tests');

/** The expected top k by a CPU sort: numbers descending (−0 equal to +0), NaN after them, ties by index. */
function referenceTopK(scores: Float32Array, k: number): number[] {
  const sorted = Float32Array.from(scores).sort().reverse(); // NaN sorts last ascending, so first here
  const numbers = sorted.filter((x) => !Number.isNaN(x));
  k = Math.min(k, scores.length);
  const better = (a: number, b: number) => {
    const x = scores[a]!, y = scores[b]!;
    if (Number.isNaN(x) !== Number.isNaN(y)) return Number.isNaN(x) ? 1 : -1;
    if (!Number.isNaN(x) && x !== y) return y - x;
    return a - b;
  };
  // Only elements at or above the k-th largest number can be in the answer (plus NaNs when numbers run out).
  const threshold = k <= numbers.length ? numbers[k - 1]! : -Infinity;
  const candidates: number[] = [];
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (Number.isNaN(s) ? k > numbers.length : s >= threshold) candidates.push(i);
  }
  return candidates.sort(better).slice(0, k);
}

let seed = 12345;
const random = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const inputs: Record<string, (n: number) => Float32Array> = {
  random: (n) => Float32Array.from({ length: n }, () => random() * 20 - 10),
  constant: (n) => new Float32Array(n).fill(0.5),
  'few distinct (ties)': (n) => Float32Array.from({ length: n }, () => Math.floor(random() * 5) / 4),
  'with ±inf, ±0 and NaN': (n) =>
    Float32Array.from({ length: n }, (_, i) => [Infinity, -Infinity, NaN, 0, -0, 1e30, -1e30][i % 11] ?? random() * 2 - 1),
  'mostly NaN': (n) => Float32Array.from({ length: n }, (_, i) => (i % 97 === 0 ? random() : NaN)),
};

async function check(scores: Float32Array, k: number) {
  const got = await addon.testing!.topK(scores, k);
  const expected = referenceTopK(scores, k);
  expect(got.indices.length).toBe(expected.length);
  for (let r = 0; r < expected.length; r++) {
    if (got.indices[r] !== expected[r]) {
      throw new Error(`rank ${r}: got index ${got.indices[r]} (${scores[got.indices[r]!]}), expected ${expected[r]} (${scores[expected[r]!]})`);
    }
    expect(Object.is(got.scores[r], scores[expected[r]!]) || (Number.isNaN(got.scores[r]!) && Number.isNaN(scores[expected[r]!]!))).toBe(true);
  }
}

describe.skipIf(reason !== '')('CUDA top-k', () => {
  for (const [name, make] of Object.entries(inputs)) {
    it(`${name}: N from 1 to 1M, k from 1 to N, every algorithm`, async () => {
      for (const n of [1, 2, 7, 1000, 4096, 4097, 100_000, 1_000_000]) {
        const scores = make(n);
        for (const k of [1, 10, 100, 1000, 4096, 5000, n]) {
          if (k > n && k !== n) continue;
          await check(scores, k);
        }
      }
    }, 300_000);
  }

  it('N = 10^7 with k = 10, 1000 and 10 000', async () => {
    const scores = inputs.random!(10_000_000);
    for (const k of [10, 1000, 10_000]) await check(scores, k);
    const ties = inputs['few distinct (ties)']!(10_000_000);
    await check(ties, 1000);
  }, 300_000);
});
