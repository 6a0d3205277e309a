import { describe, expect, it } from 'vitest';
import { earlyExit, truncatePair } from '../../lib/tokenize/truncation.js';

// (n1, n2, L) -> (k1, k2), worked out by hand from utils/truncation.rs truncate_encodings.
const LONGEST_FIRST: Array<[number, number, number, number, number, string]> = [
  // Rust's own unit test (truncate_encodings_longest_first, max_length 7): empty 0, short 2, medium 4, long 10.
  [0, 0, 7, 0, 0, 'fits'],
  [0, 10, 7, 0, 7, 'n1 = 0: n2 = max(0, 7)'],
  [2, 4, 7, 2, 4, 'fits: 6 <= 7'],
  [2, 10, 7, 2, 5, 'only the longer one is cut: L - n1'],
  [4, 4, 7, 3, 4, 'both cut, odd L: the shorter (first on ties) gets floor(L/2)'],
  [4, 10, 7, 3, 4, 'max(4, 3) = 4, 8 > 7: halves'],
  [10, 0, 7, 7, 0, 'swap: n2 = max(0, 7) = 7 for the longer query'],
  [10, 2, 7, 5, 2, 'swap, only the query is cut'],
  [10, 4, 7, 4, 3, 'swap, halves: the shorter document gets 3, the query 4'],
  [10, 10, 7, 3, 4, 'equal: no swap'],
  // Odd L = 13, both longer than L.
  [19, 24, 13, 6, 7, 'n1 > L: n2 = n1, 38 > 13: (6, 7)'],
  [24, 19, 13, 7, 6, 'same, swapped back'],
  [20, 20, 13, 6, 7, 'tie: no swap'],
  [14, 13, 13, 7, 6, 'n2 = L exactly, swap'],
  // Even L: halves are equal whichever is longer.
  [20, 30, 12, 6, 6, 'even L'],
  [30, 20, 12, 6, 6, 'even L, swapped'],
  // Case 2 with a long side.
  [3, 50, 13, 3, 10, 'keep the short query, the document gets L - 3'],
  [50, 3, 13, 10, 3, 'keep the short document'],
  [6, 8, 13, 6, 7, 'max(6, 7) = 7: 13 fits'],
  [7, 8, 13, 6, 7, 'max(7, 6) = 7, 14 > 13: halves'],
  // L = 1.
  [1, 1, 1, 0, 1, 'n1 = 1 <= L: n2 = max(1, 0) = 1, 2 > 1: (0, 1)'],
  [2, 1, 1, 1, 0, 'swap: (0, 1) swapped back'],
  [5, 0, 1, 1, 0, 'document empty'],
];

const ONLY_SECOND: Array<[number, number, number, [number, number] | undefined, string]> = [
  [5, 20, 13, [5, 8], 'the document loses 12'],
  [12, 5, 13, [12, 1], 'one document token left'],
  [13, 5, 13, undefined, 'the query fills L: Rust raises'],
  [13, 0, 13, [13, 0], 'nothing to cut'],
  [14, 0, 13, undefined, 'the query alone is over L: Rust raises'],
  [20, 40, 13, undefined, 'query over L'],
  [0, 40, 13, [0, 13], 'empty query'],
];

describe('truncatePair (truncate_encodings)', () => {
  it.each(LONGEST_FIRST)('longest_first (%i, %i) with L = %i keeps (%i, %i): %s', (n1, n2, l, k1, k2) => {
    expect(truncatePair(n1, n2, l, 'longest_first')).toEqual({ k1, k2 });
  });
  it.each(ONLY_SECOND)('only_second (%i, %i) with L = %i keeps %j: %s', (n1, n2, l, kept) => {
    expect(truncatePair(n1, n2, l, 'only_second')).toEqual(kept === undefined ? undefined : { k1: kept[0], k2: kept[1] });
  });
  it('never keeps more than a run has, nor more than L in all', () => {
    for (let l = 1; l <= 20; l++) {
      for (let n1 = 0; n1 <= 25; n1++) {
        for (let n2 = 0; n2 <= 25; n2++) {
          for (const s of ['longest_first', 'only_second'] as const) {
            const r = truncatePair(n1, n2, l, s);
            if (r === undefined) continue;
            expect(r.k1).toBeLessThanOrEqual(n1);
            expect(r.k2).toBeLessThanOrEqual(n2);
            expect(r.k1 + r.k2).toBe(Math.min(n1 + n2, l));
          }
        }
      }
    }
  });
});

describe('earlyExit (tokenize_with_limit, tokenizers 0.23)', () => {
  it('stops after the split that reaches maxLength, keeping the whole split', () => {
    expect(earlyExit([3, 3, 3, 3], 5)).toEqual({ length: 6, stopped: true });
    expect(earlyExit([5, 1], 5)).toEqual({ length: 5, stopped: true });
  });
  it('runs to the end of a shorter sequence', () => {
    expect(earlyExit([1, 1, 2], 5)).toEqual({ length: 4, stopped: false });
    expect(earlyExit([], 5)).toEqual({ length: 0, stopped: false });
  });
  it('counts added tokens (-1) without stopping on them', () => {
    expect(earlyExit([-1, -1, -1, -1, -1, -1], 5)).toEqual({ length: 6, stopped: false });
    expect(earlyExit([-1, -1, -1, -1, -1, 2, 4], 5)).toEqual({ length: 7, stopped: true });
    expect(earlyExit([4, -1, -1, 1], 5)).toEqual({ length: 7, stopped: true });
  });
  it('changes which run longest_first sees as longer', () => {
    // A query of 19 tokens in 7 words against a document of 19 tokens whose count passes 16 at 17: the full
    // lengths tie (no swap: query 6, document 7), the limited ones (19 vs 17) swap.
    const query = earlyExit([1, 1, 1, 1, 1, 8, 6], 16);
    const doc = earlyExit([2, 2, 2, 2, 2, 2, 2, 3, 2], 16);
    expect([query.length, doc.length]).toEqual([19, 17]);
    expect(truncatePair(19, 19, 13, 'longest_first')).toEqual({ k1: 6, k2: 7 });
    expect(truncatePair(query.length, doc.length, 13, 'longest_first')).toEqual({ k1: 7, k2: 6 });
  });
});
