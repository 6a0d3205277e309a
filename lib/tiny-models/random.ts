import type { TensorToWrite } from './safetensors-writer.js';

/**
 * A seeded generator whose output is the same on every platform and Node version: integer arithmetic only
 * (SplitMix32), and uniform floats made from it by exact scaling (no Math.log/Math.cos, whose last bits
 * are not specified). Generated model files are therefore identical byte for byte everywhere, which is
 * what lets committed reference logits describe files that each test run generates again.
 */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }
  /** Uniform in [-scale, scale), rounded to float32. */
  uniform(scale: number): number {
    return Math.fround(((this.nextUint32() / 4294967296) * 2 - 1) * scale);
  }
}

/**
 * A function that appends to `out` a tensor of values center + Uniform(-scale, scale) drawn from `rng` (float32),
 * in call order: the generated weights depend only on the seed and the order of the calls.
 */
export function uniformTensors(rng: SeededRandom, out: TensorToWrite[]) {
  return (name: string, shape: number[], scale: number, center = 0): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(n);
    for (let i = 0; i < n; i++) values[i] = Math.fround(center + rng.uniform(scale));
    out.push({ name, shape, values });
  };
}
