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
