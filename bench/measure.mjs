// What every benchmark shares: order statistics of timed samples, a seeded generator for their synthetic
// inputs, and where the real BERT tokenizer lies.
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The middle sample (the upper middle one for an even count). */
export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** The p-th percentile, nearest rank (with under 100 samples, p = 99 is the largest). */
export const percentile = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((xs.length * p) / 100) - 1)];

/** Uniform [0, 1) from a 32-bit LCG: the same inputs on every run and platform. */
export function seededRandom(seed) {
  let state = seed;
  return () => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** The BERT uncased tokenizer folder: ../shared/models beside the checkout, or .cache/shared-models where it was
 * copied for the GPU machine; undefined when neither has it. */
export function sharedBertTokenizerDir(root) {
  return [join(root, '..', 'shared', 'models', 'bert-base-uncased-tokenizer'), join(root, '.cache', 'shared-models', 'bert-base-uncased-tokenizer')]
    .find((d) => existsSync(join(d, 'tokenizer.json')));
}
