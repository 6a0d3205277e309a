/**
 * What the GPU kernel tests' float64 references share: values as the device stores them (fp16, bf16), seeded
 * inputs per case, packed offsets, and the worst difference between a kernel's output and its reference.
 */
import { SeededRandom } from '../../lib/tiny-models/random.js';
import { toBFloat16Bits, toFloat16Bits } from '../../lib/tiny-models/safetensors-writer.js';

export type DType = 'fp16' | 'bf16';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** x as the device stores it (rounded to nearest). */
export function stored(x: number, dtype: DType): number {
  if (dtype === 'fp16') return halfToNumber(toFloat16Bits(x));
  u32[0] = toBFloat16Bits(x) << 16;
  return f32[0]!;
}

/** A generator of its own for each case (seeded by the case's name), so a case's inputs do not depend on which
 * other cases ran before it: n uniform values in (-scale, scale). */
export function casePrng(name: string): (n: number, scale: number) => Float32Array {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193) >>> 0;
  const rng = new SeededRandom(hash);
  return (n, scale) => Float32Array.from({ length: n }, () => rng.uniform(scale));
}

/** Packed offsets [0, l0, l0 + l1, ..] of sequences of the given lengths. */
export function offsetsOf(lengths: number[]): Int32Array {
  const offsets = new Int32Array(lengths.length + 1);
  lengths.forEach((l, i) => (offsets[i + 1] = offsets[i]! + l));
  return offsets;
}

/** The largest |got - expected| (NaN counts as Infinity) and where. */
export function worstDifference(got: Float32Array, expected: Float64Array): { worst: number; at: number } {
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(got[i]! - expected[i]!);
    if (!(d <= worst)) [worst, at] = [Number.isNaN(d) ? Infinity : d, i];
  }
  return { worst, at };
}

/** The activations as the models define them, in float64 (the kernels' activation.cuh). */
export const ACTIVATIONS: Record<string, (x: number) => number> = {
  none: (x) => x,
  gelu: (x) => 0.5 * x * (1 + erf(x / Math.SQRT2)),
  gelu_tanh: (x) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3))),
  relu: (x) => Math.max(0, x),
  silu: (x) => x / (1 + Math.exp(-x)),
  tanh: (x) => Math.tanh(x),
};

/** erf to ~1e-13: its Taylor series below 2.5, erfc's continued fraction above (precise enough to tell the two
 * GELUs apart, which differ by up to 4e-4). */
export function erf(x: number): number {
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
