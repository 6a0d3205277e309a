/**
 * Length-sorted regrouping for backends that pad each batch (lib/schedule/batches.ts): every pair kept
 * exactly once with its document index, batches longest first, ties by lower document index.
 */
import { describe, expect, it } from 'vitest';
import { lengthSorted, type EncodedBatch } from '../../lib/schedule/batches.js';

/** Document d is d % 7 + 1 tokens, each token id 1000 * d + position, type id = position parity. */
function inOrderBatches(count: number, batchSize: number): EncodedBatch[] {
  const batches: EncodedBatch[] = [];
  for (let first = 0; first < count; first += batchSize) {
    const n = Math.min(batchSize, count - first);
    const offsets = new Int32Array(n + 1);
    for (let i = 0; i < n; i++) offsets[i + 1] = offsets[i]! + ((first + i) % 7) + 1;
    const ids = new Int32Array(offsets[n]!);
    const typeIds = new Uint8Array(ids.length);
    for (let i = 0; i < n; i++) {
      for (let t = offsets[i]!; t < offsets[i + 1]!; t++) {
        ids[t] = 1000 * (first + i) + (t - offsets[i]!);
        typeIds[t] = (t - offsets[i]!) % 2;
      }
    }
    batches.push({ first, pairs: { ids, typeIds, offsets } });
  }
  return batches;
}

describe('lengthSorted', () => {
  it('regroups pairs longest first with their document indices, each pair intact', () => {
    const count = 103;
    const sorted = [...lengthSorted(inOrderBatches(count, 10), count, 16)];
    expect(sorted.map((b) => b.docIndices!.length)).toEqual([16, 16, 16, 16, 16, 16, 7]);
    const seen = new Set<number>();
    let previous: [number, number] = [Infinity, -1];
    for (const batch of sorted) {
      const { ids, typeIds, offsets } = batch.pairs;
      expect(offsets[0]).toBe(0);
      expect(offsets[offsets.length - 1]).toBe(ids.length);
      batch.docIndices!.forEach((d, i) => {
        const length = offsets[i + 1]! - offsets[i]!;
        expect(length).toBe((d % 7) + 1);
        for (let t = 0; t < length; t++) {
          expect(ids[offsets[i]! + t]).toBe(1000 * d + t);
          expect(typeIds[offsets[i]! + t]).toBe(t % 2);
        }
        // Longest first; equal lengths by lower index.
        expect(length < previous[0] || (length === previous[0] && d > previous[1])).toBe(true);
        previous = [length, d];
        seen.add(d);
      });
    }
    expect(seen.size).toBe(count);
  });

  it('handles one document and batches larger than the call', () => {
    const [only, ...rest] = [...lengthSorted(inOrderBatches(1, 4), 1, 512)];
    expect(rest).toEqual([]);
    expect([...only!.docIndices!]).toEqual([0]);
    expect([...only!.pairs.ids]).toEqual([0]);
  });
});
