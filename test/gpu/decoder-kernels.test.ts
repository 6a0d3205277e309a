/**
 * The CUDA backend's kernels for decoders (Qwen3 rerankers) against float64 JS references computed on the same
 * inputs rounded to the storage type: causal grouped-query attention over every query (head sizes 32, 64, 128;
 * lengths 0 .. 300, so partial and several key tiles and query blocks), with and without contexts (shared
 * prefixes of 0 .. 129 tokens, up to several key tiles, before each sequence's own keys), the last layer's
 * last-token query (with contexts, and empty graph-padding sequences), Qwen3's per-head RMSNorm fused with RoPE,
 * RMSNorm (and LayerNorm) in every residual / sum / fp32-stream mode the models use, the embedding without a
 * norm, last-row gathers of fp32 and storage rows, and position ids with contexts.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeAddon } from '../../lib/binding/native.js';
import { gpuSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { casePrng, type DType, offsetsOf, stored, worstDifference } from '../helpers/kernel-reference.js';

requireAddonBuilt();
const addon = loadAddon() as NativeAddon;
const reason = gpuSkipReason('CUDA decoder kernel tests');

type Queries = 'all' | 'first' | 'last';
type At = 'new' | 'x' | 'residual';

/** The decoder hooks of native/binding/gpu_testing_decoder.cc (and the extended positionIds and
 * embeddingLayerNorm of gpu_testing.cc), typed here until lib/binding/native.ts lists them. */
interface DecoderHooks {
  decoderAttention(q: Float32Array, k: Float32Array, v: Float32Array, offsets: Int32Array, contextOf: Int32Array | null,
    options: { heads: number; kvHeads: number; headDim: number; dtype: DType; queries: Queries; causal: boolean; window?: number }): Float32Array;
  headNormRotary(qkv: Float32Array, positions: Int32Array | null, options: { stride: number; qHeads: number; kHeads: number; kOffset: number;
    headDim: number; qWeight: Float32Array | null; kWeight: Float32Array | null; eps: number; theta: number; dtype: DType }): Float32Array;
  residualNorm(x: Float32Array, residual: Float32Array | null, hidden: number, gamma: Float32Array, beta: Float32Array | null, eps: number,
    dtype: DType, options: { kind: 'layer' | 'rms'; sum: 'none' | At; out: At; residualFloat?: boolean; sumFloat?: boolean }):
    { out: Float32Array; sum: Float32Array | null };
  lastTokens(x: Float32Array, offsets: Int32Array, hidden: number, dtype: DType | 'fp32'): Float32Array;
  positionIds(ids: Int32Array, offsets: Int32Array, padId: number, xlmr: boolean, contextOf?: Int32Array | null): Int32Array;
  embeddingLayerNorm(ids: Int32Array, typeIds: Uint8Array | null, positions: Int32Array | null, word: Float32Array,
    position: Float32Array | null, tokenType: Float32Array | null, hidden: number, gamma: Float32Array | null, beta: Float32Array | null,
    eps: number, dtype: DType): Float32Array;
}
const hooks = () => addon.testing as unknown as DecoderHooks;

/** The first element outside |got - expected| <= rel |expected| + abs (NaN never within), or -1. One rounding to
 * the storage type is at most half an ulp, an ulp at most 2^-10 |x| (fp16) or 2^-7 |x| (bf16) of a normal value. */
function firstOutside(got: Float32Array, expected: Float64Array, rel: number, abs: number): number {
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(got[i]! - expected[i]!) <= rel * Math.abs(expected[i]!) + abs)) return i;
  }
  return -1;
}
const ulpBound = (dtype: DType) => (dtype === 'fp16' ? 2 ** -10 : 2 ** -7);

/** A batch as the scheduler lays it out: the pairs' sequences first, then the contexts they share; pairContext[i]
 * is pair i's context (an index into contextLengths) or -1. */
function contextBatch(pairLengths: number[], contextLengths: number[], pairContext: (i: number) => number) {
  const lengths = [...pairLengths, ...contextLengths];
  const contextOf = Int32Array.from(lengths, (_, s) => {
    if (s >= pairLengths.length) return -1;
    const c = pairContext(s);
    return c < 0 ? -1 : pairLengths.length + c;
  });
  const offsets = offsetsOf(lengths);
  return { lengths, offsets, contextOf, tokens: offsets.at(-1)! };
}

/** softmax(q . k / sqrt(D)) . v, float64 on stored inputs: query head h reads K/V head h / (heads / kvHeads); the
 * keys of sequence s are its context's rows (all), then its own (causal: j <= i). queries 'last': the query is row
 * offsets[s + 1] - 1 of q, out row s (zeros for an empty sequence); 'first': row s of q, own keys only. */
function decoderReference(q: Float32Array, k: Float32Array, v: Float32Array, offsets: Int32Array, contextOf: Int32Array | null,
  heads: number, kvHeads: number, D: number, dtype: DType, queries: Queries, causal: boolean): Float64Array {
  const [width, kvWidth, group] = [heads * D, kvHeads * D, heads / kvHeads];
  const storedOf = (a: Float32Array) => Float64Array.from(a, (x) => stored(x, dtype));
  const [sq, sk, sv] = [storedOf(q), storedOf(k), storedOf(v)];
  const count = offsets.length - 1;
  const out = new Float64Array((queries === 'all' ? offsets[count]! : count) * width);
  for (let s = 0; s < count; s++) {
    const begin = offsets[s]!;
    const length = offsets[s + 1]! - begin;
    const c = contextOf ? contextOf[s]! : -1;
    const contextRows = c < 0 ? [] : Array.from({ length: offsets[c + 1]! - offsets[c]! }, (_, j) => offsets[c]! + j);
    const own = queries === 'all' ? Array.from({ length }, (_, i) => i) : length > 0 ? [queries === 'first' ? 0 : length - 1] : [];
    for (const i of own) {
      const qRow = queries === 'first' ? s : begin + i;
      const outRow = queries === 'all' ? begin + i : s;
      const keyRows = [...contextRows, ...Array.from({ length: causal ? i + 1 : length }, (_, j) => begin + j)];
      for (let h = 0; h < heads; h++) {
        const g = Math.floor(h / group);
        const scores = keyRows.map((row) => {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += sq[qRow * width + h * D + d]! * sk[row * kvWidth + g * D + d]!;
          return dot / Math.sqrt(D);
        });
        const max = Math.max(...scores);
        const weights = scores.map((x) => Math.exp(x - max));
        const sum = weights.reduce((a, b) => a + b, 0);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          keyRows.forEach((row, j) => (acc += weights[j]! * sv[row * kvWidth + g * D + d]!));
          out[outRow * width + h * D + d] = acc / sum;
        }
      }
    }
  }
  return out;
}

describe.skipIf(reason !== '')('CUDA decoder kernels', () => {
  // Own lengths across partial, exact and several key tiles (32 and 64) and query blocks (64), an empty one; the
  // contexts from empty to several tiles; pair i shares context (i % 7) - 1 (none for every seventh).
  const pairLengths = [1, 7, 32, 64, 65, 100, 0, 128, 129, 300, 2, 63];
  const contextLengths = [0, 1, 31, 64, 100, 129];
  const tolerance = (dtype: DType) => (dtype === 'fp16' ? 4e-3 : 3e-2);

  function runAttention(name: string, D: number, dtype: DType, heads: number, kvHeads: number, queries: Queries, causal: boolean,
    withContexts: boolean) {
    it(name, () => {
      const random = casePrng(name);
      const batch = withContexts ? contextBatch(pairLengths, contextLengths, (i) => (i % 7) - 1) : contextBatch(pairLengths, [], () => -1);
      const contextOf = withContexts ? batch.contextOf : null;
      const count = batch.lengths.length;
      // Scaled so that softmax is neither uniform nor one-hot: scores of a few units.
      const q = random((queries === 'first' ? count : batch.tokens) * heads * D, 1.5);
      const k = random(batch.tokens * kvHeads * D, 1.5);
      const v = random(batch.tokens * kvHeads * D, 1);
      const got = hooks().decoderAttention(q, k, v, batch.offsets, contextOf, { heads, kvHeads, headDim: D, dtype, queries, causal });
      const expected = decoderReference(q, k, v, batch.offsets, contextOf, heads, kvHeads, D, dtype, queries, causal);
      expect(got.length).toBe(expected.length);
      const { worst, at } = worstDifference(got, expected);
      // P is rounded to the storage type before P . V (as FlashAttention does): a few ulps of the output.
      expect(worst, `at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(tolerance(dtype));
    });
  }

  for (const D of [32, 64, 128]) {
    for (const dtype of ['fp16', 'bf16'] as const) {
      runAttention(`causal GQA attention (4 heads, 2 K/V heads), every query, contexts, head size ${D}, ${dtype}`, D, dtype, 4, 2, 'all', true, true);
      runAttention(`causal GQA attention (4 heads, 2 K/V heads), every query, no contexts, head size ${D}, ${dtype}`, D, dtype, 4, 2, 'all', true, false);
      runAttention(`last-token query (4 heads, 2 K/V heads), contexts, head size ${D}, ${dtype}`, D, dtype, 4, 2, 'last', true, true);
      runAttention(`last-token query (4 heads, 2 K/V heads), no contexts, head size ${D}, ${dtype}`, D, dtype, 4, 2, 'last', true, false);
    }
  }
  // One K/V head for all (MQA), as many as query heads, contexts without causal masking, and GQA for first queries.
  runAttention('causal attention, 3 heads sharing 1 K/V head, contexts, head size 128, fp16', 128, 'fp16', 3, 1, 'all', true, true);
  runAttention('causal attention, 2 heads and 2 K/V heads, contexts, head size 64, bf16', 64, 'bf16', 2, 2, 'all', true, true);
  runAttention('last-token query, 8 heads sharing 1 K/V head, contexts, head size 128, bf16', 128, 'bf16', 8, 1, 'last', true, true);
  runAttention('attention without causal masking, contexts, head size 64, fp16', 64, 'fp16', 4, 2, 'all', false, true);
  runAttention('first-token query, 4 heads and 2 K/V heads, head size 64, fp16', 64, 'fp16', 4, 2, 'first', false, false);

  it('causal attention over a 1000-token sequence after a 333-token context, every query and the last', () => {
    const random = casePrng('long causal');
    const [heads, kvHeads, D] = [2, 1, 128];
    const batch = contextBatch([1000, 5], [333], (i) => (i === 0 ? 0 : -1));
    const q = random(batch.tokens * heads * D, 1.5);
    const k = random(batch.tokens * kvHeads * D, 1.5);
    const v = random(batch.tokens * kvHeads * D, 1);
    for (const queries of ['all', 'last'] as const) {
      const got = hooks().decoderAttention(q, k, v, batch.offsets, batch.contextOf, { heads, kvHeads, headDim: D, dtype: 'fp16', queries, causal: true });
      const expected = decoderReference(q, k, v, batch.offsets, batch.contextOf, heads, kvHeads, D, 'fp16', queries, true);
      const { worst, at } = worstDifference(got, expected);
      expect(worst, `${queries} at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(4e-3);
    }
  });

  it('causal attention: the first query of a sequence without a context is its own value row', () => {
    const random = casePrng('causal identity');
    const [heads, D] = [2, 64];
    const offsets = offsetsOf([70, 3, 1]);
    const q = random(74 * heads * D, 1.5);
    const v = random(74 * heads * D, 1);
    const got = hooks().decoderAttention(q, random(74 * heads * D, 1.5), v, offsets, null,
      { heads, kvHeads: heads, headDim: D, dtype: 'fp16', queries: 'all', causal: true });
    for (const row of [0, 70, 73]) {
      for (let j = 0; j < heads * D; j++) expect(got[row * heads * D + j]).toBe(stored(v[row * heads * D + j]!, 'fp16'));
    }
  });

  it('last-token queries of empty sequences (graph padding, also first in the batch) are zeros, the others unaffected', () => {
    const random = casePrng('padding');
    const [heads, kvHeads, D] = [4, 2, 64];
    // Empty sequences first, in the middle (one with a context: no own token, no query) and at the end.
    const lengths = [0, 5, 0, 40, 3, 0, 0];
    const offsets = offsetsOf(lengths);
    const contextOf = Int32Array.from([-1, 4, 4, -1, -1, -1, -1]);
    const tokens = offsets.at(-1)!;
    const q = random(tokens * heads * D, 1.5);
    const k = random(tokens * kvHeads * D, 1.5);
    const v = random(tokens * kvHeads * D, 1);
    const got = hooks().decoderAttention(q, k, v, offsets, contextOf, { heads, kvHeads, headDim: D, dtype: 'fp16', queries: 'last', causal: true });
    for (const s of [0, 2, 5, 6]) expect(Array.from(got.subarray(s * heads * D, (s + 1) * heads * D)).every((x) => x === 0), `sequence ${s}`).toBe(true);
    const expected = decoderReference(q, k, v, offsets, contextOf, heads, kvHeads, D, 'fp16', 'last', true);
    const { worst, at } = worstDifference(got, expected);
    expect(worst, `at ${at}: ${got[at]} vs ${expected[at]}`).toBeLessThanOrEqual(4e-3);
  });

  it('attention refuses a window with causal masking or contexts, K/V heads that do not divide, nested contexts', () => {
    const x = new Float32Array(4 * 128);  // 4 tokens of 2 heads of 64
    const offsets = Int32Array.from([0, 2, 4]);
    const base = { heads: 2, kvHeads: 2, headDim: 64, dtype: 'fp16' as const, queries: 'all' as const, causal: true };
    expect(() => hooks().decoderAttention(x, x, x, offsets, null, { ...base, window: 4 })).toThrow(/sliding window/);
    expect(() => hooks().decoderAttention(x, x, x, offsets, Int32Array.from([1, -1]), { ...base, causal: false, window: 4 })).toThrow(/sliding window/);
    expect(() => hooks().decoderAttention(new Float32Array(4 * 192), new Float32Array(4 * 128), new Float32Array(4 * 128), offsets, null,
      { ...base, heads: 3, kvHeads: 2 })).toThrow(/do not divide/);
    expect(() => hooks().decoderAttention(new Float32Array(6 * 128), new Float32Array(6 * 128), new Float32Array(6 * 128), Int32Array.from([0, 2, 4, 6]),
      Int32Array.from([1, 2, -1]), base)).toThrow(/contextOf/);
  });

  // ---- q_norm / k_norm + RoPE ----

  /** Per-head RMSNorm (weight null: none) then rotate_half RoPE at positions (null: none), float64 on stored
   * inputs; inverse frequencies and angles in fp32 as torch computes them. Other columns keep their stored values. */
  function headNormRotaryReference(qkv: Float32Array, positions: Int32Array | null, stride: number, qHeads: number, kHeads: number,
    kOffset: number, D: number, qWeight: Float32Array | null, kWeight: Float32Array | null, eps: number, theta: number, dtype: DType): Float64Array {
    const out = Float64Array.from(qkv, (x) => stored(x, dtype));
    const half = D / 2;
    const inv = Array.from({ length: half }, (_, i) => (theta > 0 ? Math.fround(1 / Math.fround(Math.pow(theta, Math.fround((2 * i) / D)))) : 0));
    const heads = [...Array.from({ length: qHeads }, (_, h) => ({ start: h * D, w: qWeight })),
      ...Array.from({ length: kHeads }, (_, h) => ({ start: kOffset + h * D, w: kWeight }))];
    for (let t = 0; t * stride < qkv.length; t++) {
      const position = positions && theta > 0 ? positions[t]! : 0;
      for (const { start, w } of heads) {
        const x = Array.from({ length: D }, (_, i) => stored(qkv[t * stride + start + i]!, dtype));
        const scale = w ? 1 / Math.sqrt(x.reduce((a, b) => a + b * b, 0) / D + eps) : 1;
        const y = x.map((value, i) => (w ? value * scale * stored(w[i]!, dtype) : value));
        for (let i = 0; i < half; i++) {
          const angle = Math.fround(position * inv[i]!);
          const [c, s] = [Math.cos(angle), Math.sin(angle)];
          out[t * stride + start + i] = y[i]! * c - y[i + half]! * s;
          out[t * stride + start + i + half] = y[i + half]! * c + y[i]! * s;
        }
      }
    }
    return out;
  }

  const positionsOf = (random: (n: number, scale: number) => Float32Array, n: number) =>
    Int32Array.from({ length: n }, (_, t) => [0, 1, 2, 63, 64, 511, 4095, 8191, 8192, 12000, 40959][t] ?? Math.floor((random(1, 1)[0]! + 1) * 20000));

  // Qwen3's shapes (head size 128, GQA), the other kernel sizes (1, 2, 4 pairs a lane), head sizes off the 32-lane
  // grid (96, 24: lanes idle), one weight only, no weights (RoPE alone), theta 0 (the norm alone).
  const headVariants = [
    { name: 'head size 128, 4 q heads and 2 k heads (Qwen3)', D: 128, qHeads: 4, kHeads: 2, q: true, k: true, theta: 1000000 },
    { name: 'head size 64, 2 q heads and 2 k heads', D: 64, qHeads: 2, kHeads: 2, q: true, k: true, theta: 10000 },
    { name: 'head size 32, 9 q heads and 3 k heads (two blocks of heads)', D: 32, qHeads: 9, kHeads: 3, q: true, k: true, theta: 10000 },
    { name: 'head size 256, 2 q heads and 1 k head', D: 256, qHeads: 2, kHeads: 1, q: true, k: true, theta: 10000 },
    { name: 'head size 96 (lanes idle), 3 q heads and 1 k head', D: 96, qHeads: 3, kHeads: 1, q: true, k: true, theta: 10000 },
    { name: 'head size 24, 2 q heads and 2 k heads', D: 24, qHeads: 2, kHeads: 2, q: true, k: true, theta: 10000 },
    { name: 'head size 128, k norm only', D: 128, qHeads: 2, kHeads: 1, q: false, k: true, theta: 1000000 },
    { name: 'head size 128, no norm weights (RoPE alone)', D: 128, qHeads: 2, kHeads: 1, q: false, k: false, theta: 1000000 },
    { name: 'head size 128, theta 0 (the norm alone)', D: 128, qHeads: 2, kHeads: 1, q: true, k: true, theta: 0 },
  ];
  for (const variant of headVariants) {
    for (const dtype of ['fp16', 'bf16'] as const) {
      const name = `q/k RMSNorm + RoPE, ${variant.name}, ${dtype}`;
      it(name, () => {
        const random = casePrng(name);
        const { D, qHeads, kHeads, theta } = variant;
        const kOffset = qHeads * D;
        const stride = kOffset + 2 * kHeads * D + 8;  // [q | k | v | padding]
        const tokens = 37;
        const positions = positionsOf(random, tokens);
        const qkv = random(tokens * stride, 2);
        const qWeight = variant.q ? random(D, 1.5) : null;
        const kWeight = variant.k ? random(D, 1.5) : null;
        const got = hooks().headNormRotary(qkv, positions, { stride, qHeads, kHeads, kOffset, headDim: D, qWeight, kWeight, eps: 1e-6, theta, dtype });
        const expected = headNormRotaryReference(qkv, positions, stride, qHeads, kHeads, kOffset, D, qWeight, kWeight, 1e-6, theta, dtype);
        for (let t = 0; t < tokens; t++) {  // v and the padding untouched, bit for bit
          for (let j = kOffset + kHeads * D; j < stride; j++) expect(got[t * stride + j]).toBe(expected[t * stride + j]);
        }
        const at = firstOutside(got, expected, ulpBound(dtype), 1e-4);
        expect(at, at < 0 ? '' : `at ${at} (position ${positions[Math.floor(at / stride)]}): ${got[at]} vs ${expected[at]}`).toBe(-1);
      });
    }
  }

  // ---- RMSNorm and the fp32 residual stream ----

  // [residual: none, storage or fp32; sum: where and in what type; out: where]. Qwen3 uses the first four
  // (layer 0's input norm over the embeddings, the stream's adds, the final norm of the last tokens).
  const normModes: Array<{ name: string; kind: 'layer' | 'rms'; residual: 'none' | 'storage' | 'fp32'; sum: 'none' | At; sumFloat: boolean; out: At }> = [
    { name: 'no residual, fp32 sum new (the stream starts)', kind: 'rms', residual: 'none', sum: 'new', sumFloat: true, out: 'new' },
    { name: 'fp32 residual, fp32 sum over it (the stream adds)', kind: 'rms', residual: 'fp32', sum: 'residual', sumFloat: true, out: 'new' },
    { name: 'fp32 residual, fp32 sum over it, out over x', kind: 'rms', residual: 'fp32', sum: 'residual', sumFloat: true, out: 'x' },
    { name: 'fp32 residual, no sum (a final norm)', kind: 'rms', residual: 'fp32', sum: 'none', sumFloat: false, out: 'new' },
    { name: 'fp32 residual, no sum, out over x', kind: 'rms', residual: 'fp32', sum: 'none', sumFloat: false, out: 'x' },
    { name: 'fp32 residual, storage sum new', kind: 'rms', residual: 'fp32', sum: 'new', sumFloat: false, out: 'new' },
    { name: 'storage residual, fp32 sum new', kind: 'rms', residual: 'storage', sum: 'new', sumFloat: true, out: 'residual' },
    { name: 'storage residual, storage sum over it', kind: 'rms', residual: 'storage', sum: 'residual', sumFloat: false, out: 'new' },
    { name: 'storage residual, no sum, out over residual', kind: 'rms', residual: 'storage', sum: 'none', sumFloat: false, out: 'residual' },
    { name: 'plain RMSNorm in place', kind: 'rms', residual: 'none', sum: 'none', sumFloat: false, out: 'x' },
    { name: 'LayerNorm, fp32 residual, fp32 sum over it (ModernBERT)', kind: 'layer', residual: 'fp32', sum: 'residual', sumFloat: true, out: 'new' },
    { name: 'LayerNorm, fp32 residual, no sum', kind: 'layer', residual: 'fp32', sum: 'none', sumFloat: false, out: 'new' },
  ];
  for (const mode of normModes) {
    for (const hidden of [8, 1024, 1000, 2560, 4096]) {
      for (const dtype of ['fp16', 'bf16'] as const) {
        const name = `residual ${mode.kind === 'rms' ? 'RMSNorm' : 'LayerNorm'}, ${mode.name}, hidden ${hidden}, ${dtype}`;
        it(name, () => {
          const random = casePrng(name);
          const rows = 13;
          const x = random(rows * hidden, 2);
          const residual = mode.residual === 'none' ? null : random(rows * hidden, 3).map((v, i) => v + (i % hidden === 0 ? 20 : 0));
          const gamma = random(hidden, 1.5);
          const beta = mode.kind === 'layer' ? random(hidden, 0.5) : null;
          const eps = 1e-6;
          const got = hooks().residualNorm(x, residual, hidden, gamma, beta, eps, dtype,
            { kind: mode.kind, sum: mode.sum, out: mode.out, residualFloat: mode.residual === 'fp32', sumFloat: mode.sumFloat });
          // s = x + residual, x as stored, an fp32 residual as given; with a sum, rounded to its type (fp32: the
          // device's one fp32 add) and normalised as rounded.
          const s = Float64Array.from(x, (v, i) => stored(v, dtype) + (residual ? (mode.residual === 'fp32' ? residual[i]! : stored(residual[i]!, dtype)) : 0));
          if (mode.sum !== 'none') {
            s.forEach((v, i) => (s[i] = mode.sumFloat ? Math.fround(v) : stored(v, dtype)));
            const { worst, at } = worstDifference(got.sum!, s);
            expect(worst, `sum at ${at}: ${got.sum![at]} vs ${s[at]}`).toBe(0);  // both one rounding of the same sum
          } else {
            expect(got.sum).toBeNull();
          }
          const expected = new Float64Array(s.length);
          for (let r = 0; r < rows; r++) {
            const row = s.subarray(r * hidden, (r + 1) * hidden);
            const mean = mode.kind === 'rms' ? 0 : row.reduce((a, b) => a + b, 0) / hidden;
            const scale = 1 / Math.sqrt(row.reduce((a, b) => a + (b - mean) ** 2, 0) / hidden + eps);
            for (let i = 0; i < hidden; i++) {
              expected[r * hidden + i] = (row[i]! - mean) * scale * stored(gamma[i]!, dtype) + (beta ? stored(beta[i]!, dtype) : 0);
            }
          }
          const at = firstOutside(got.out, expected, ulpBound(dtype), 1e-4);
          expect(at, at < 0 ? '' : `at ${at}: ${got.out[at]} vs ${expected[at]}`).toBe(-1);
        });
      }
    }
  }

  it('RMSNorm refuses a bias', () => {
    const x = new Float32Array(16);
    expect(() => hooks().residualNorm(x, null, 8, x.subarray(0, 8), x.subarray(0, 8), 1e-6, 'fp16', { kind: 'rms', sum: 'none', out: 'new' }))
      .toThrow(/RMSNorm has no bias/);
  });

  // ---- the embedding without a norm, last rows, positions ----

  for (const dtype of ['fp16', 'bf16'] as const) {
    it(`embedding without a norm: the word row as stored (and with a position table, the sum rounded once), ${dtype}`, () => {
      const random = casePrng(`embedding without norm ${dtype}`);
      const [hidden, vocab, maxPositions, n] = [1024, 50, 40, 61];
      const ints = random(2 * n, 1);
      const ids = Int32Array.from({ length: n }, (_, t) => Math.floor(((ints[t]! + 1) / 2) * vocab) % vocab);
      const positions = Int32Array.from({ length: n }, (_, t) => Math.floor(((ints[n + t]! + 1) / 2) * maxPositions) % maxPositions);
      const word = random(vocab * hidden, 1);
      const position = random(maxPositions * hidden, 0.5);
      const alone = hooks().embeddingLayerNorm(ids, null, null, word, null, null, hidden, null, null, 1e-6, dtype);
      const withPositions = hooks().embeddingLayerNorm(ids, null, positions, word, position, null, hidden, null, null, 1e-6, dtype);
      for (let t = 0; t < n; t++) {
        for (let i = 0; i < hidden; i++) {
          const w = stored(word[ids[t]! * hidden + i]!, dtype);
          expect(alone[t * hidden + i]).toBe(w);
          expect(withPositions[t * hidden + i]).toBe(stored(Math.fround(w + stored(position[positions[t]! * hidden + i]!, dtype)), dtype));
        }
      }
    });
  }

  // Rows on the 16-byte path (hidden 8 and 1024 in either type; 12 in fp32) and off it (12 and 13 in storage: 4-
  // and 1-byte copies; 13 in fp32: 4-byte copies); empty sequences (graph padding) first, inside and last.
  for (const dtype of ['fp32', 'fp16', 'bf16'] as const) {
    for (const hidden of [8, 1024, 12, 13]) {
      const name = `last rows of each sequence, hidden ${hidden}, ${dtype}`;
      it(name, () => {
        const random = casePrng(name);
        const lengths = [0, 1, 7, 0, 300, 2, 0, 0];
        const offsets = offsetsOf(lengths);
        const x = random(offsets.at(-1)! * hidden, 4);
        const got = hooks().lastTokens(x, offsets, hidden, dtype);
        expect(got.length).toBe(lengths.length * hidden);
        lengths.forEach((length, s) => {
          for (let i = 0; i < hidden; i++) {
            const value = x[(offsets[s + 1]! - 1) * hidden + i]!;
            expect(got[s * hidden + i], `sequence ${s}`).toBe(length === 0 ? 0 : dtype === 'fp32' ? value : stored(value, dtype));
          }
        });
      });
    }
  }

  it('position ids with contexts: a sequence counts from its context\'s length, its context from 0', () => {
    // Pairs of 3, 0, 40, 5, 33 tokens, then contexts of 64 and 37 tokens; across the kernel's 32-token steps.
    const batch = contextBatch([3, 0, 40, 5, 33], [64, 37], (i) => [0, 1, -1, 1, 0][i]!);
    const ids = Int32Array.from({ length: batch.tokens }, (_, t) => 5 + (t % 97));
    const expected = new Int32Array(batch.tokens);
    batch.lengths.forEach((_, s) => {
      const c = batch.contextOf[s]!;
      const first = c < 0 ? 0 : batch.lengths[c]!;
      for (let t = batch.offsets[s]!; t < batch.offsets[s + 1]!; t++) expected[t] = first + t - batch.offsets[s]!;
    });
    expect(Array.from(hooks().positionIds(ids, batch.offsets, 0, false, batch.contextOf))).toEqual(Array.from(expected));
    expect(Array.from(hooks().positionIds(ids, batch.offsets, 0, false, null))).toEqual(
      batch.lengths.flatMap((length) => Array.from({ length }, (_, i) => i)));
    expect(() => hooks().positionIds(ids, batch.offsets, 1, true, batch.contextOf)).toThrow(/contexts only with the sequential rule/);
  });
});
