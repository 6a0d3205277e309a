/**
 * The CUDA backend's own kernels (native/kernels/attention.cu, encoder.cu, rotary.cu) against float64 JS
 * references computed on the same inputs rounded to the storage type: varlen attention on tensor cores (head
 * sizes 32, 64, 128; lengths 1 .. 300, so partial and several key tiles and query blocks), the last layer's
 * first-query attention, both with sliding windows (ModernBERT's local layers), LayerNorm over hidden sizes
 * from 8 to 4096 in every residual / bias / aliasing mode, the embedding LayerNorm with absent tables, the
 * activations and the gated (GeGLU) form, rotary embeddings, mean pooling and the classifier's projection.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeAddon } from '../../lib/binding/native.js';
import { SeededRandom } from '../../lib/tiny-models/random.js';
import { toBFloat16Bits, toFloat16Bits } from '../../lib/tiny-models/safetensors-writer.js';
import { gpuSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { ACTIVATIONS } from '../helpers/kernel-reference.js';

requireAddonBuilt();
const addon = loadAddon() as NativeAddon;
const reason = gpuSkipReason('CUDA encoder kernel tests');

type DType = 'fp16' | 'bf16';
type Act = 'gelu' | 'gelu_tanh' | 'relu' | 'silu' | 'tanh';
/** Where a residualLayerNorm result goes: a buffer of its own, or over one of the inputs. */
type At = 'new' | 'x' | 'residual';

/** The kernel hooks of native/binding/gpu_testing.cc added for ModernBERT, typed here until lib/binding/native.ts
 * lists them (window, residualLayerNorm, embeddingLayerNorm, classifierOutput, gatedActivation, rotary, meanPool). */
interface KernelHooks {
  attention(q: Float32Array, k: Float32Array, v: Float32Array, offsets: Int32Array, heads: number, headDim: number, dtype: DType,
    firstQueryOnly: boolean, window?: number): Float32Array;
  residualLayerNorm(x: Float32Array, residual: Float32Array | null, hidden: number, gamma: Float32Array, beta: Float32Array | null,
    eps: number, dtype: DType, options: { sum: 'none' | At; out: At }): { out: Float32Array; sum: Float32Array | null };
  embeddingLayerNorm(ids: Int32Array, typeIds: Uint8Array | null, positions: Int32Array | null, word: Float32Array,
    position: Float32Array | null, tokenType: Float32Array | null, hidden: number, gamma: Float32Array, beta: Float32Array | null,
    eps: number, dtype: DType): Float32Array;
  classifierOutput(x: Float32Array, w: Float32Array, b: Float32Array | null, count: number, hidden: number, labels: number,
    dtype: DType): Float32Array;
  gatedActivation(x: Float32Array, rows: number, width: number, act: Act, dtype: DType): Float32Array;
  rotary(qkv: Float32Array, positions: Int32Array, stride: number, heads: number, kOffset: number, headDim: number, theta: number,
    dtype: DType, rotateQ?: boolean, kHeads?: number): Float32Array;
  meanPool(x: Float32Array, offsets: Int32Array, hidden: number, dtype: DType): Float32Array;
}
const hooks = () => addon.testing as unknown as KernelHooks;

/** A generator of its own for each case (seeded by the case's name), so a case's inputs do not depend on which
 * other cases ran before it. */
function casePrng(name: string): (n: number, scale: number) => Float32Array {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  const rng = new SeededRandom(hash);
  return (n, scale) => Float32Array.from({ length: n }, () => rng.uniform(scale));
}
const offsetsOf = (lengths: number[]) => {
  const offsets = new Int32Array(lengths.length + 1);
  lengths.forEach((l, i) => (offsets[i + 1] = offsets[i]! + l));
  return offsets;
};
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
/** x as the device stores it. */
function stored(x: number, dtype: DType): number {
  if (dtype === 'fp16') return halfToNumber(toFloat16Bits(x));
  u32[0] = toBFloat16Bits(x) << 16;
  return f32[0]!;
}

let seed = 12345;
const random = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
const randomArray = (n: number, scale: number) => Float32Array.from({ length: n }, () => (2 * random() - 1) * scale);

function worstDifference(got: Float32Array, expected: Float64Array): { worst: number; at: number } {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(got[i]! - expected[i]!);
    if (!(d <= worst)) [worst, at] = [Number.isNaN(d) ? Infinity : d, i];
  }
  return { worst, at };
}

/** softmax(q . k / sqrt(D)) . v per (sequence, head), float64, on stored inputs; window >= 0: query i sees
 * keys j with |i - j| <= window only (the first query is position 0). */
function attentionReference(q: Float32Array, k: Float32Array, v: Float32Array, offsets: Int32Array, heads: number, D: number,
  dtype: DType, firstOnly: boolean, window = -1): Float64Array {
  const width = heads * D;
  const sq = q.map((x) => stored(x, dtype));
  const sk = k.map((x) => stored(x, dtype));
  const sv = v.map((x) => stored(x, dtype));
  const out = new Float64Array(q.length);
  for (let s = 0; s + 1 < offsets.length; s++) {
    const begin = offsets[s]!;
    const length = offsets[s + 1]! - begin;
    const queries = firstOnly ? 1 : length;
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < queries; i++) {
        const qRow = (firstOnly ? s : begin + i) * width + h * D;
        const from = window < 0 ? 0 : Math.max(0, i - window);
        const to = window < 0 ? length : Math.min(length, i + window + 1);
        const scores = new Float64Array(length);
        let max = -Infinity;
        for (let j = from; j < to; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += sq[qRow + d]! * sk[(begin + j) * width + h * D + d]!;
          scores[j] = dot / Math.sqrt(D);
          max = Math.max(max, scores[j]!);
        }
        let sum = 0;
        for (let j = from; j < to; j++) sum += (scores[j] = Math.exp(scores[j]! - max));
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = from; j < to; j++) acc += scores[j]! * sv[(begin + j) * width + h * D + d]!;
          out[qRow + d] = acc / sum;
        }
      }
    }
  }
  return out;
}

describe.skipIf(reason !== '')('CUDA encoder kernels', () => {
  // Lengths cover one token, a partial key tile, exact tiles (32, 64, 128) and several query blocks.
  const lengths = [1, 7, 32, 64, 65, 100, 128, 129, 300, 2];
  const offsets = Int32Array.from([0, ...lengths.map((_, i) => lengths.slice(0, i + 1).reduce((a, b) => a + b))]);
  const tokens = offsets.at(-1)!;

  for (const D of [32, 64, 128]) {
    for (const dtype of ['fp16', 'bf16'] as const) {
      for (const firstOnly of [false, true]) {
        it(`attention, head size ${D}, ${dtype}, ${firstOnly ? 'first query of each sequence' : 'every query'}`, () => {
          const heads = 2;
          const width = heads * D;
          // Scaled so that softmax is neither uniform nor one-hot: scores of a few units.
          const q = randomArray((firstOnly ? lengths.length : tokens) * width, 1.5);
          const k = randomArray(tokens * width, 1.5);
          const v = randomArray(tokens * width, 1);
          const got = addon.testing!.attention(q, k, v, offsets, heads, D, dtype, firstOnly);
          const expected = attentionReference(q, k, v, offsets, heads, D, dtype, firstOnly);
          const { worst, at } = worstDifference(got, expected);
          // P is rounded to the storage type before P . V (as FlashAttention does): a few ulps of the output.
          expect(worst, `at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(dtype === 'fp16' ? 4e-3 : 3e-2);
        });
      }
    }
  }

  it('the attention hook refuses offsets that would read outside k and v', () => {
    const q = new Float32Array(10 * 64);
    expect(() => addon.testing!.attention(q, q, q, Int32Array.from([0, 7, 3, 10]), 2, 32, 'fp16', false)).toThrow(/offsets must start at 0 and increase/);
  });

  it('attention rejects a head size it has no kernel for', () => {
    const q = new Float32Array(2 * 48);
    expect(() => addon.testing!.attention(q, q, q, Int32Array.from([0, 2]), 1, 48, 'fp16', false)).toThrow(/head sizes 32, 64 and 128/);
  });

  for (const hidden of [8, 64, 384, 768, 1000, 1024]) {
    for (const dtype of ['fp16', 'bf16'] as const) {
      it(`residual + LayerNorm, hidden ${hidden}, ${dtype}`, () => {
        const rows = 37;
        const x = randomArray(rows * hidden, 2);
        const residual = Float32Array.from({ length: rows * hidden }, (_, i) => (2 * random() - 1) * 3 + (i % hidden === 0 ? 20 : 0));
        const gamma = randomArray(hidden, 1.5);
        const beta = randomArray(hidden, 0.5);
        const eps = 1e-5;
        const got = addon.testing!.layerNorm(x, residual, hidden, gamma, beta, eps, dtype);
        const expected = new Float64Array(rows * hidden);
        for (let r = 0; r < rows; r++) {
          const row = Array.from({ length: hidden }, (_, i) => stored(x[r * hidden + i]!, dtype) + stored(residual[r * hidden + i]!, dtype));
          const mean = row.reduce((a, b) => a + b, 0) / hidden;
          const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / hidden;
          for (let i = 0; i < hidden; i++) {
            expected[r * hidden + i] = ((row[i]! - mean) / Math.sqrt(variance + eps)) * stored(gamma[i]!, dtype) + stored(beta[i]!, dtype);
          }
        }
        const { worst, at } = worstDifference(got, expected);
        // Outputs reach ~6: one rounding of the result to the storage type, plus fp32 arithmetic.
        expect(worst, `at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(dtype === 'fp16' ? 8e-3 : 6e-2);
      });
    }
  }

  it('LayerNorm refuses a hidden size that is not a multiple of 8', () => {
    const x = new Float32Array(12);
    expect(() => addon.testing!.layerNorm(x, x, 12, x, x, 1e-5, 'fp16')).toThrow(/multiple of 8/);
  });

  it('cuBLASLt GEMM with the bias epilogue, fp16 and bf16', () => {
    const [m, n, k] = [67, 40, 96];
    for (const dtype of ['fp16', 'bf16'] as const) {
      const x = randomArray(m * k, 1);
      const w = randomArray(n * k, 0.2);
      const b = randomArray(n, 1);
      const got = addon.testing!.gemm(x, w, b, m, n, k, 'bias', dtype);
      const expected = new Float64Array(m * n);
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) {
          let sum = stored(b[j]!, dtype);
          for (let t = 0; t < k; t++) sum += stored(x[i * k + t]!, dtype) * stored(w[j * k + t]!, dtype);
          expected[i * n + j] = sum;
        }
      }
      const { worst, at } = worstDifference(got, expected);
      expect(worst, `${dtype} at ${at}`).toBeLessThanOrEqual(dtype === 'fp16' ? 4e-3 : 3e-2);
    }
  });

  // The epilogue the backend fuses (ReLU models' FFN): pre-activations placed exactly (x one-hot, w holding the
  // values), so each output is relu(value), exact in fp16.
  it('cuBLASLt epilogue bias_relu computes exactly ReLU', () => {
    const n = 512;
    const k = 8;
    const values = Float32Array.from({ length: n }, (_, j) => stored(-3 + (6 * j) / n, 'fp16'));
    const x = Float32Array.from({ length: k }, (_, t) => (t === 0 ? 1 : 0));
    const w = new Float32Array(n * k);
    values.forEach((v, j) => (w[j * k] = v));
    const got = addon.testing!.gemm(x, w, new Float32Array(n), 1, n, k, 'bias_relu', 'fp16');
    for (let j = 0; j < n; j++) expect(got[j], `relu(${values[j]})`).toBe(Math.max(0, values[j]!));
  });

  it('position ids: BERT counts from 0 per sequence, XLM-R counts non-pad tokens from pad + 1 (pads inside and at ends)', () => {
    // Lengths across the kernel's 32-token steps (0 .. 100), pads scattered through the XLM-R ids.
    const lengths = [1, 0, 31, 32, 33, 64, 100, 7];
    const offsets = new Int32Array(lengths.length + 1);
    lengths.forEach((l, i) => (offsets[i + 1] = offsets[i]! + l));
    const padId = 1;
    const ids = Int32Array.from({ length: offsets[lengths.length]! }, () => (random() < 0.2 ? padId : 5 + Math.floor(random() * 1000)));
    const bert = new Int32Array(ids.length);
    const xlmr = new Int32Array(ids.length);
    for (let s = 0; s < lengths.length; s++) {
      let real = 0;
      for (let t = offsets[s]!; t < offsets[s + 1]!; t++) {
        bert[t] = t - offsets[s]!;
        xlmr[t] = ids[t] === padId ? padId : padId + ++real;
      }
    }
    expect(Array.from(addon.testing!.positionIds(ids, offsets, padId, false))).toEqual(Array.from(bert));
    expect(Array.from(addon.testing!.positionIds(ids, offsets, padId, true))).toEqual(Array.from(xlmr));
    const decreasing = Int32Array.from([0, 5, 3, ids.length]);  // ends at ids.length: only the decrease is wrong
    expect(() => addon.testing!.positionIds(ids, decreasing, padId, true)).toThrow(/offsets must start at 0, not decrease/);
  });

  for (const [name, fn] of Object.entries(ACTIVATIONS).filter(([a]) => a !== 'none')) {
    it(`activation ${name}, fp16`, () => {
      const x = randomArray(4096 + 8, 6);
      const got = addon.testing!.activation(x, name as 'gelu', 'fp16');
      const expected = Float64Array.from(x, (v) => fn(stored(v, 'fp16')));
      const { worst, at } = worstDifference(got, expected);
      expect(worst, `at ${at}: ${got[at]} vs ${expected[at]} (x = ${x[at]})`).toBeLessThanOrEqual(4e-3);
    });
  }

  // ---- ModernBERT's kernels ----

  /** LayerNorm of each row of s (float64), gamma and beta (beta null: none) as stored. */
  function layerNormReference(s: Float64Array, hidden: number, gamma: Float32Array, beta: Float32Array | null, eps: number,
    dtype: DType): Float64Array {
    const out = new Float64Array(s.length);
    for (let r = 0; r * hidden < s.length; r++) {
      const row = s.subarray(r * hidden, (r + 1) * hidden);
      const mean = row.reduce((a, b) => a + b, 0) / hidden;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / hidden;
      for (let i = 0; i < hidden; i++) {
        out[r * hidden + i] = ((row[i]! - mean) / Math.sqrt(variance + eps)) * stored(gamma[i]!, dtype) + (beta ? stored(beta[i]!, dtype) : 0);
      }
    }
    return out;
  }

  // Windows 0 (each query alone), 1, 5 (several key tiles skipped on the long sequences), 64 (ModernBERT's
  // local_attention // 2), -1 (none: the default path, given explicitly).
  for (const window of [0, 1, 5, 64, -1]) {
    for (const D of [32, 64, 128]) {
      for (const dtype of ['fp16', 'bf16'] as const) {
        for (const firstOnly of [false, true]) {
          const name = `attention, window ${window}, head size ${D}, ${dtype}, ${firstOnly ? 'first query of each sequence' : 'every query'}`;
          it(name, () => {
            const random = casePrng(name);
            const heads = 2;
            const width = heads * D;
            const q = random((firstOnly ? lengths.length : tokens) * width, 1.5);
            const k = random(tokens * width, 1.5);
            const v = random(tokens * width, 1);
            const got = hooks().attention(q, k, v, offsets, heads, D, dtype, firstOnly, window);
            const expected = attentionReference(q, k, v, offsets, heads, D, dtype, firstOnly, window);
            const { worst, at } = worstDifference(got, expected);
            expect(worst, `at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(dtype === 'fp16' ? 4e-3 : 3e-2);
          });
        }
      }
    }
  }

  // Long sequences: most key tiles of every query block lie outside its window and are skipped.
  for (const firstOnly of [false, true]) {
    const name = `attention, window 64 over sequences of 2000 and 777 tokens, ${firstOnly ? 'first query' : 'every query'}`;
    it(name, () => {
      const random = casePrng(name);
      const [heads, D] = [2, 64];
      const width = heads * D;
      const longOffsets = offsetsOf([2000, 3, 777]);
      const n = longOffsets.at(-1)!;
      const q = random((firstOnly ? 3 : n) * width, 1.5);
      const k = random(n * width, 1.5);
      const v = random(n * width, 1);
      const got = hooks().attention(q, k, v, longOffsets, heads, D, 'fp16', firstOnly, 64);
      const expected = attentionReference(q, k, v, longOffsets, heads, D, 'fp16', firstOnly, 64);
      const { worst, at } = worstDifference(got, expected);
      expect(worst, `at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(4e-3);
    });
  }

  it('attention with window 0 gives each query its own value row', () => {
    const random = casePrng('window 0 identity');
    const [heads, D] = [2, 64];
    const q = random(tokens * heads * D, 1.5);
    const v = random(tokens * heads * D, 1);
    const got = hooks().attention(q, random(tokens * heads * D, 1.5), v, offsets, heads, D, 'fp16', false, 0);
    expect(Array.from(got)).toEqual(Array.from(v, (x) => stored(x, 'fp16')));
  });

  // Every residualLayerNorm mode: [residual?, sum target, out target, beta?]. Pre-LN (ModernBERT) writes the
  // rounded sum over the residual stream and the norm elsewhere; the others alias each input in turn.
  const layerNormModes: Array<{ name: string; residual: boolean; sum: 'none' | At; out: At; beta: boolean }> = [
    { name: 'pre-LN: sum over residual, out new, no bias', residual: true, sum: 'residual', out: 'new', beta: false },
    { name: 'pre-LN: sum over residual, out over x', residual: true, sum: 'residual', out: 'x', beta: true },
    { name: 'sum over x, out over residual', residual: true, sum: 'x', out: 'residual', beta: false },
    { name: 'sum and out new', residual: true, sum: 'new', out: 'new', beta: true },
    { name: 'post-LN, out over residual, no bias', residual: true, sum: 'none', out: 'residual', beta: false },
    { name: 'post-LN, out over x', residual: true, sum: 'none', out: 'x', beta: true },
    { name: 'plain LayerNorm, no residual, no bias', residual: false, sum: 'none', out: 'new', beta: false },
    { name: 'plain LayerNorm in place, no residual', residual: false, sum: 'none', out: 'x', beta: true },
    { name: 'no residual, sum (a copy of x) new', residual: false, sum: 'new', out: 'new', beta: false },
  ];
  for (const mode of layerNormModes) {
    for (const hidden of [8, 768, 1000, 4096]) {
      for (const dtype of ['fp16', 'bf16'] as const) {
        const name = `residualLayerNorm ${mode.name}, hidden ${hidden}, ${dtype}`;
        it(name, () => {
          const random = casePrng(name);
          const rows = 37;
          const x = random(rows * hidden, 2);
          const residual = mode.residual ? random(rows * hidden, 3).map((v, i) => v + (i % hidden === 0 ? 20 : 0)) : null;
          const gamma = random(hidden, 1.5);
          const beta = mode.beta ? random(hidden, 0.5) : null;
          const eps = 1e-5;
          const got = hooks().residualLayerNorm(x, residual, hidden, gamma, beta, eps, dtype, { sum: mode.sum, out: mode.out });
          // s = x + residual as stored; with a sum output, rounded to the storage type and normalised as rounded.
          const s = Float64Array.from(x, (v, i) => stored(v, dtype) + (residual ? stored(residual[i]!, dtype) : 0));
          if (mode.sum !== 'none') {
            s.forEach((v, i) => (s[i] = stored(v, dtype)));
            expect(got.sum, 'the sum').not.toBeNull();
            const { worst, at } = worstDifference(got.sum!, s);
            expect(worst, `sum at ${at}: ${got.sum![at]} vs ${s[at]}`).toBe(0);  // both one rounding of the same sum
          } else {
            expect(got.sum).toBeNull();
          }
          const expected = layerNormReference(s, hidden, gamma, beta, eps, dtype);
          const { worst, at } = worstDifference(got.out, expected);
          expect(worst, `at ${at}: ${got.out[at]} vs ${expected[at]}`).toBeLessThanOrEqual(dtype === 'fp16' ? 8e-3 : 6e-2);
        });
      }
    }
  }

  it('residualLayerNorm refuses the sum and the output in one buffer', () => {
    const x = new Float32Array(16);
    expect(() => hooks().residualLayerNorm(x, x, 8, x.subarray(0, 8), null, 1e-5, 'fp16', { sum: 'x', out: 'x' })).toThrow(/not the same input/);
  });

  // Embedding LayerNorm: BERT's three tables, ModernBERT's word table alone without a bias, and the mixed forms.
  const embeddingModes = [
    { name: 'word + position + type, bias (BERT)', position: true, type: true, beta: true },
    { name: 'word + position + type, no bias', position: true, type: true, beta: false },
    { name: 'word alone, no bias (ModernBERT)', position: false, type: false, beta: false },
    { name: 'word + position (no type table)', position: true, type: false, beta: true },
    { name: 'word + type (no position table)', position: false, type: true, beta: true },
  ];
  for (const mode of embeddingModes) {
    for (const dtype of ['fp16', 'bf16'] as const) {
      const name = `embedding LayerNorm, ${mode.name}, ${dtype}`;
      it(name, () => {
        const random = casePrng(name);
        const [hidden, vocab, maxPositions, types, n] = [768, 50, 40, 2, 61];
        const ints = random(3 * n, 1);
        const ids = Int32Array.from({ length: n }, (_, t) => Math.floor(((ints[t]! + 1) / 2) * vocab) % vocab);
        const positions = Int32Array.from({ length: n }, (_, t) => Math.floor(((ints[n + t]! + 1) / 2) * maxPositions) % maxPositions);
        const typeIds = Uint8Array.from({ length: n }, (_, t) => (ints[2 * n + t]! > 0 ? 1 : 0));
        const word = random(vocab * hidden, 1);
        const position = random(maxPositions * hidden, 0.5);
        const tokenType = random(types * hidden, 0.5);
        const gamma = random(hidden, 1.5);
        const beta = random(hidden, 0.5);
        const got = hooks().embeddingLayerNorm(ids, mode.type ? typeIds : null, mode.position ? positions : null, word,
          mode.position ? position : null, mode.type ? tokenType : null, hidden, gamma, mode.beta ? beta : null, 1e-12, dtype);
        const s = new Float64Array(n * hidden);
        for (let t = 0; t < n; t++) {
          for (let i = 0; i < hidden; i++) {
            s[t * hidden + i] = stored(word[ids[t]! * hidden + i]!, dtype) +
              (mode.position ? stored(position[positions[t]! * hidden + i]!, dtype) : 0) +
              (mode.type ? stored(tokenType[typeIds[t]! * hidden + i]!, dtype) : 0);
          }
        }
        const expected = layerNormReference(s, hidden, gamma, mode.beta ? beta : null, 1e-12, dtype);
        const { worst, at } = worstDifference(got, expected);
        expect(worst, `at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(dtype === 'fp16' ? 8e-3 : 6e-2);
      });
    }
  }

  for (const bias of [true, false]) {
    for (const labels of [1, 2, 3]) {
      const name = `classifier projection, ${labels} label(s), ${bias ? 'with' : 'without'} bias`;
      it(name, () => {
        const random = casePrng(name);
        const [count, hidden] = [9, 768];
        for (const dtype of ['fp16', 'bf16'] as const) {
          const x = random(count * hidden, 1);
          const w = random(labels * hidden, 0.1);
          const b = random(labels, 1);
          const got = hooks().classifierOutput(x, w, bias ? b : null, count, hidden, labels, dtype);
          const expected = new Float64Array(count * labels);
          for (let s = 0; s < count; s++) {
            for (let l = 0; l < labels; l++) {
              let sum = bias ? stored(b[l]!, dtype) : 0;
              for (let i = 0; i < hidden; i++) sum += stored(x[s * hidden + i]!, dtype) * stored(w[l * hidden + i]!, dtype);
              expected[s * labels + l] = sum;
            }
          }
          const { worst, at } = worstDifference(got, expected);
          expect(worst, `${dtype} at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(1e-4);  // fp32 logits
        }
      });
    }
  }

  // GeGLU and the other gated forms: widths on the 16-byte path (8, ModernBERT-base's 1152) and off it (100, 13).
  for (const [act, fn] of Object.entries(ACTIVATIONS).filter(([a]) => a !== 'none') as Array<[Act, (x: number) => number]>) {
    for (const dtype of ['fp16', 'bf16'] as const) {
      const name = `gated activation ${act}(input) * gate, ${dtype}`;
      it(name, () => {
        const random = casePrng(name);
        const rows = 37;
        for (const width of [8, 1152, 100, 13]) {
          const x = random(rows * 2 * width, 3);
          const got = hooks().gatedActivation(x, rows, width, act, dtype);
          const expected = new Float64Array(rows * width);
          for (let r = 0; r < rows; r++) {
            for (let j = 0; j < width; j++) {
              expected[r * width + j] = fn(stored(x[r * 2 * width + j]!, dtype)) * stored(x[r * 2 * width + width + j]!, dtype);
            }
          }
          const { worst, at } = worstDifference(got, expected);
          // |out| < 9: one rounding of the product to the storage type.
          expect(worst, `width ${width} at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(dtype === 'fp16' ? 8e-3 : 6e-2);
        }
      });
    }
  }

  /** RoPE (rotate_half) of the q and k heads of each row, float64 on stored inputs; inverse frequencies and angles
   * in fp32 as torch computes them, their cos and sin in float64. Other columns keep their stored values. */
  function rotaryReference(qkv: Float32Array, positions: Int32Array, stride: number, heads: number, kOffset: number, D: number,
    theta: number, dtype: DType, rotateQ = true, kHeads = heads): Float64Array {
    const out = Float64Array.from(qkv, (x) => stored(x, dtype));
    const half = D / 2;
    const inv = Array.from({ length: half }, (_, i) => Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / D)))));
    const starts = [...(rotateQ ? Array.from({ length: heads }, (_, h) => h * D) : []), ...Array.from({ length: kHeads }, (_, h) => kOffset + h * D)];
    for (let t = 0; t < positions.length; t++) {
      for (let i = 0; i < half; i++) {
        const angle = Math.fround(positions[t]! * inv[i]!);
        const [c, s] = [Math.cos(angle), Math.sin(angle)];
        for (const start of starts) {
          const at = t * stride + start + i;
          const [x1, x2] = [stored(qkv[at]!, dtype), stored(qkv[at + half]!, dtype)];
          out[at] = x1 * c - x2 * s;
          out[at + half] = x2 * c + x1 * s;
        }
      }
    }
    return out;
  }

  const ropePositions = (random: (n: number, scale: number) => Float32Array) =>
    Int32Array.from([0, 1, 2, 63, 64, 127, 511, 1000, 4095, 8191, 8192, 8193, 12000, ...Array.from(random(51, 1), (u) => Math.floor((u + 1) * 4600))]);

  for (const D of [32, 64, 128]) {
    for (const theta of [10000, 160000]) {
      for (const dtype of ['fp16', 'bf16'] as const) {
        const name = `rotary embedding, head size ${D}, theta ${theta}, ${dtype}, fused QKV`;
        it(name, () => {
          const random = casePrng(name);
          const heads = 3;
          const stride = 3 * heads * D;  // [q | k | v]
          const positions = ropePositions(random);
          const qkv = random(positions.length * stride, 1);
          const got = hooks().rotary(qkv, positions, stride, heads, heads * D, D, theta, dtype);
          const expected = rotaryReference(qkv, positions, stride, heads, heads * D, D, theta, dtype);
          for (let t = 0; t < positions.length; t++) {  // v untouched, bit for bit
            for (let j = 2 * heads * D; j < stride; j++) expect(got[t * stride + j]).toBe(expected[t * stride + j]);
          }
          const { worst, at } = worstDifference(got, expected);
          expect(worst, `at ${at} (position ${positions[Math.floor(at / stride)]}): ${got[at]} vs ${expected[at]}`)
            .toBeLessThanOrEqual(dtype === 'fp16' ? 2e-3 : 1.6e-2);
        });
      }
    }
  }

  // The scalar path (a head size off the 16-byte grid, a row stride that is not a multiple of 8) and the
  // variants: k alone, fewer k heads than q heads.
  const ropeVariants = [
    { name: 'head size 24 (scalar path)', D: 24, heads: 2, pad: 0, rotateQ: true, kHeads: 2 },
    { name: 'head size 6 (scalar path)', D: 6, heads: 4, pad: 0, rotateQ: true, kHeads: 4 },
    { name: 'head size 64, row stride not a multiple of 8 (scalar path)', D: 64, heads: 2, pad: 3, rotateQ: true, kHeads: 2 },
    { name: 'head size 64, k heads only', D: 64, heads: 2, pad: 0, rotateQ: false, kHeads: 2 },
    { name: 'head size 128, 4 q heads and 1 k head', D: 128, heads: 4, pad: 8, rotateQ: true, kHeads: 1 },
  ];
  for (const variant of ropeVariants) {
    for (const dtype of ['fp16', 'bf16'] as const) {
      const name = `rotary embedding, ${variant.name}, ${dtype}`;
      it(name, () => {
        const random = casePrng(name);
        const { D, heads, kHeads, rotateQ } = variant;
        const kOffset = heads * D;
        const stride = kOffset + 2 * kHeads * D + variant.pad;  // [q | k | v | padding]
        const positions = ropePositions(random);
        const qkv = random(positions.length * stride, 1);
        const got = hooks().rotary(qkv, positions, stride, heads, kOffset, D, 160000, dtype, rotateQ, kHeads);
        const expected = rotaryReference(qkv, positions, stride, heads, kOffset, D, 160000, dtype, rotateQ, kHeads);
        const { worst, at } = worstDifference(got, expected);
        expect(worst, `at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(dtype === 'fp16' ? 2e-3 : 1.6e-2);
        if (!rotateQ) for (let j = 0; j < kOffset; j++) expect(got[j]).toBe(stored(qkv[j]!, dtype));  // q untouched
      });
    }
  }

  it('rotary embeddings refuse an odd head size', () => {
    const qkv = new Float32Array(2 * 30);
    expect(() => hooks().rotary(qkv, Int32Array.from([0, 1]), 30, 2, 5, 5, 10000, 'fp16')).toThrow(/even head size/);
  });

  for (const hidden of [8, 768, 1000, 12, 100]) {
    for (const dtype of ['fp16', 'bf16'] as const) {
      const name = `mean pooling, hidden ${hidden}, ${dtype}`;
      it(name, () => {
        const random = casePrng(name);
        const lengths = [1, 0, 7, 64, 300, 2, 0, 129];
        const poolOffsets = offsetsOf(lengths);
        const n = poolOffsets.at(-1)!;
        const x = random(n * hidden, 2).map((v, i) => v + ((i % hidden) % 5) - 2);  // column means away from 0
        const got = hooks().meanPool(x, poolOffsets, hidden, dtype);
        const expected = new Float64Array(lengths.length * hidden);
        for (let s = 0; s < lengths.length; s++) {
          for (let i = 0; i < hidden; i++) {
            let sum = 0;
            for (let t = poolOffsets[s]!; t < poolOffsets[s + 1]!; t++) sum += stored(x[t * hidden + i]!, dtype);
            expected[s * hidden + i] = lengths[s]! > 0 ? sum / lengths[s]! : 0;
          }
        }
        for (const s of [1, 6]) expect(Array.from(got.subarray(s * hidden, (s + 1) * hidden)).every((v) => v === 0), `empty sequence ${s}`).toBe(true);
        const { worst, at } = worstDifference(got, expected);
        // |mean| < 4: one rounding to the storage type.
        expect(worst, `at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(dtype === 'fp16' ? 4e-3 : 3e-2);
      });
    }
  }
});

