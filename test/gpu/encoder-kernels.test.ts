/**
 * The CUDA backend's own kernels (native/kernels/attention.cu, encoder.cu) against float64 JS references
 * computed on the same inputs rounded to the storage type: varlen attention on tensor cores (head sizes 32,
 * 64, 128; lengths 1 .. 300, so partial and several key tiles and query blocks), the last layer's first-query
 * attention, LayerNorm over hidden sizes from 8 to 1024, and the activations.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeAddon } from '../../lib/binding/native.js';
import { toBFloat16Bits, toFloat16Bits } from '../../lib/tiny-models/safetensors-writer.js';
import { gpuSkipReason, requireAddonBuilt } from '../helpers/addon.js';

requireAddonBuilt();
const addon = loadAddon() as NativeAddon;
const reason = gpuSkipReason('CUDA encoder kernel tests');

type DType = 'fp16' | 'bf16';
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

/** softmax(q . k / sqrt(D)) . v per (sequence, head), float64, on stored inputs. */
function attentionReference(q: Float32Array, k: Float32Array, v: Float32Array, offsets: Int32Array, heads: number, D: number,
  dtype: DType, firstOnly: boolean): Float64Array {
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
        const scores = new Float64Array(length);
        let max = -Infinity;
        for (let j = 0; j < length; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += sq[qRow + d]! * sk[(begin + j) * width + h * D + d]!;
          scores[j] = dot / Math.sqrt(D);
          max = Math.max(max, scores[j]!);
        }
        let sum = 0;
        for (let j = 0; j < length; j++) sum += (scores[j] = Math.exp(scores[j]! - max));
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j < length; j++) acc += scores[j]! * sv[(begin + j) * width + h * D + d]!;
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

  const activations: Record<string, (x: number) => number> = {
    gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
    gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
    relu: (x) => Math.max(0, x),
    silu: (x) => x / (1 + Math.exp(-x)),
    tanh: (x) => Math.tanh(x),
  };
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

  for (const [name, fn] of Object.entries(activations)) {
    it(`activation ${name}, fp16`, () => {
      const x = randomArray(4096 + 8, 6);
      const got = addon.testing!.activation(x, name as 'gelu', 'fp16');
      const expected = Float64Array.from(x, (v) => fn(stored(v, 'fp16')));
      const { worst, at } = worstDifference(got, expected);
      expect(worst, `at ${at}: ${got[at]} vs ${expected[at]} (x = ${x[at]})`).toBeLessThanOrEqual(4e-3);
    });
  }
});

/** erf to ~1e-13: its Taylor series below 2.5, erfc's continued fraction above (precise enough to tell the two
 * GELUs apart, which differ by up to 4e-4). */
function erf(x: number): number {
  const t = Math.abs(x);
  if (t < 2.5) {
    let sum = 0;
    let term = t;
    for (let n = 0; n < 100; n++) {
      sum += term / (2 * n + 1);
      term *= (-t * t) / (n + 1);
    }
    return (Math.sign(x) * 2 * sum) / Math.sqrt(Math.PI);
  }
  let f = t;
  for (let n = 80; n >= 1; n--) f = t + n / 2 / f;
  return Math.sign(x) * (1 - Math.exp(-t * t) / Math.sqrt(Math.PI) / f);
}
