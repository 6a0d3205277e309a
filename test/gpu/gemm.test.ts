/**
 * Our GEMM kernel (native/kernels/gemm.cu) alone against a float64 reference on the same inputs rounded to the
 * storage type: every epilogue (none, bias, each activation, the gated GeGLU / SwiGLU forms with and without a
 * bias), fp16 and bf16, each block tile, and tails on every side (m, n and k not multiples of the tile, m = 1,
 * odd n). Then the backend's dispatch (backends/cuda/linear_gemm.cc) through cuBLASLt and its 'auto' rule on the
 * same cases, and what our kernel refuses.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import { gpuSkipReason, requireAddonBuilt } from '../helpers/addon.js';
import { ACTIVATIONS, casePrng, type DType, stored } from '../helpers/kernel-reference.js';

requireAddonBuilt();
const addon = loadAddon();
const reason = gpuSkipReason('GEMM kernel tests');

type Act = 'none' | 'gelu' | 'gelu_tanh' | 'relu' | 'silu' | 'tanh';
type Tile = 'auto' | 'large' | 'medium' | 'small' | 'hopper' | 'hopper-tma';
interface GemmOptions { act: Act; gated: boolean; dtype: DType; impl: 'ours' | 'cublaslt' | 'auto'; tile?: Tile }
interface GemmHooks {
  linearGemm(x: Float32Array, w: Float32Array, bias: Float32Array | null, m: number, n: number, k: number, options: GemmOptions): Float32Array;
}
const hooks = (): GemmHooks => addon.testing as unknown as GemmHooks;

/** Relative precision of one rounding to the storage type, with a factor 2 of slack. */
const precision = (dtype: DType) => (dtype === 'fp16' ? 2 ** -10 : 2 ** -7);

interface Case { m: number; n: number; k: number; act: Act; gated: boolean; bias: boolean }

/**
 * Runs one case and checks each output against the float64 value of the same formula. The bound per output:
 * `roundings` roundings of the magnitudes involved (the result, and the pre-activation terms that cuBLASLt's path
 * rounds before its separate activation or gate pass) plus 1e-5 of the sum of |products| for fp32 accumulation
 * over k (a misplaced fragment or a missed tail is off by the size of the output itself, far above both).
 */
function check(c: Case, dtype: DType, impl: GemmOptions['impl'], tile: Tile, roundings: number): void {
  const { m, n, k, act, gated } = c;
  const rows = gated ? 2 * n : n;
  const rand = casePrng(`${m}x${n}x${k} ${act} ${gated} ${c.bias} ${dtype}`);
  const x = rand(m * k, 1);
  const w = rand(rows * k, 2 / Math.sqrt(k));
  const bias = c.bias ? rand(rows, 0.5) : null;
  const got = hooks().linearGemm(x, w, bias, m, n, k, { act, gated, dtype, impl, tile });
  expect(got.length).toBe(m * n);
  const xs = Float64Array.from(x, (v) => stored(v, dtype));
  const ws = Float64Array.from(w, (v) => stored(v, dtype));
  const bs = bias ? Float64Array.from(bias, (v) => stored(v, dtype)) : null;
  const dot = (r: number, j: number) => {
    let sum = bs ? bs[j]! : 0;
    let magnitude = Math.abs(sum);
    for (let t = 0; t < k; t++) {
      const p = xs[r * k + t]! * ws[j * k + t]!;
      sum += p;
      magnitude += Math.abs(p);
    }
    return { sum, magnitude };
  };
  const f = ACTIVATIONS[act]!;
  const eps = precision(dtype);
  let worst = 0;
  let worstAt = '';
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) {
      const u = dot(r, j);
      // scale: what is rounded to the storage type; accumulated: what fp32 sums over k carry (act' <= 1.13).
      let expected: number;
      let scale: number;
      let accumulated: number;
      if (gated) {
        const g = dot(r, n + j);
        expected = f(u.sum) * g.sum;
        scale = Math.abs(expected) + (roundings - 1) * (Math.abs(u.sum) + Math.abs(f(u.sum))) * Math.abs(g.sum);
        accumulated = 1.2 * u.magnitude * Math.abs(g.sum) + g.magnitude * Math.abs(f(u.sum));
      } else {
        expected = f(u.sum);
        scale = Math.abs(expected) + (roundings - 1) * Math.abs(u.sum);
        accumulated = 1.2 * u.magnitude;
      }
      const value = got[r * n + j]!;
      const excess = Math.abs(value - expected) / (eps * scale + 1e-5 * accumulated + 1e-7);
      if (!(excess <= worst)) [worst, worstAt] = [Number.isNaN(excess) ? Infinity : excess, `[${r}, ${j}]: ${value} vs ${expected}`];
    }
  }
  expect(worst, `${impl} ${tile} ${dtype} ${JSON.stringify(c)} worst at ${worstAt}`).toBeLessThanOrEqual(1);
}

// Shapes: exact tiles, tails on m, n and k (k a multiple of 8, not of the 32-wide stage), m = 1, odd n (the scalar
// stores), and one of a model's size (many k stages through the 4-deep ring).
const SHAPES: Array<[number, number, number]> = [
  [64, 64, 32], [130, 72, 40], [1, 24, 8], [3, 7, 16], [257, 200, 96], [129, 136, 264],
];
const EPILOGUES: Array<{ act: Act; gated: boolean; bias: boolean }> = [
  { act: 'none', gated: false, bias: false }, { act: 'none', gated: false, bias: true }, { act: 'gelu', gated: false, bias: true },
  { act: 'gelu_tanh', gated: false, bias: true }, { act: 'relu', gated: false, bias: true }, { act: 'silu', gated: false, bias: false },
  { act: 'tanh', gated: false, bias: true }, { act: 'gelu', gated: true, bias: false }, { act: 'gelu', gated: true, bias: true },
  { act: 'silu', gated: true, bias: false },
];

// The wgmma kernels run on sm_90 devices only (and the builds that include sm_90).
const hopper = !reason && addon.systemInfo().cuda.devices[0]?.computeCapability === '9.0';
if (!reason && !hopper) console.log('GEMM Hopper-tile cases skipped: not an sm_90 device');
const TILES: Tile[] = hopper ? ['large', 'medium', 'small', 'hopper', 'hopper-tma'] : ['large', 'medium', 'small'];

describe.skipIf(reason)('our GEMM kernel against float64', () => {
  for (const dtype of ['fp16', 'bf16'] as const) {
    for (const tile of TILES) {
      it(`${dtype}, ${tile} tile: every epilogue on every shape`, () => {
        for (const [m, n, k] of SHAPES) {
          for (const e of EPILOGUES) check({ m, n, k, ...e }, dtype, 'ours', tile, 1);
        }
      });
    }
    it(`${dtype}: model-sized products (MiniLM's FFN, 1000 rows; ModernBERT's GeGLU) with the automatic tile and large`, () => {
      for (const tile of ['auto', 'large'] as const) {
        check({ m: 1000, n: 1536, k: 384, act: 'gelu', gated: false, bias: true }, dtype, 'ours', tile, 1);
        check({ m: 333, n: 384, k: 1536, act: 'none', gated: false, bias: true }, dtype, 'ours', tile, 1);
        check({ m: 200, n: 1152, k: 768, act: 'gelu', gated: true, bias: false }, dtype, 'ours', tile, 1);
      }
    });
  }

  // More 128 x 256 tiles (128 x 128 gated) than an H200 has multiprocessors: each persistent block of the TMA kernel
  // runs several tiles, its ring carrying over from one tile's k steps to the next's.
  it.skipIf(!hopper)('TMA tile: more tiles than multiprocessors (persistent blocks), plain and gated, fp16 and bf16', () => {
    for (const dtype of ['fp16', 'bf16'] as const) {
      check({ m: 2200, n: 2000, k: 72, act: 'gelu', gated: false, bias: true }, dtype, 'ours', 'hopper-tma', 1);
      check({ m: 1100, n: 2000, k: 136, act: 'silu', gated: true, bias: true }, dtype, 'ours', 'hopper-tma', 1);
    }
  });

  it('refuses k that is not a multiple of 8, naming it', () => {
    const [m, n, k] = [4, 8, 12];
    expect(() => hooks().linearGemm(new Float32Array(m * k), new Float32Array(n * k), null, m, n, k,
      { act: 'none', gated: false, dtype: 'fp16', impl: 'ours' })).toThrow(/k \(12\) must be a multiple of 8/);
  });
});

// The dispatch the backend runs: cuBLASLt with its separate activation / gate passes (two roundings), and 'auto'.
const cublasReason = reason || (addon.systemInfo().cublasLt.found ? '' : `cuBLASLt did not load: ${addon.systemInfo().cublasLt.error}`);
if (!reason && cublasReason) console.log(`GEMM dispatch through cuBLASLt skipped: ${cublasReason}`);
describe.skipIf(cublasReason)('the linear dispatch through cuBLASLt and auto', () => {
  for (const impl of ['cublaslt', 'auto'] as const) {
    it(`${impl}: every epilogue, fp16 and bf16`, () => {
      for (const dtype of ['fp16', 'bf16'] as const) {
        for (const [m, n, k] of [[130, 72, 40], [1, 24, 8], [257, 200, 96]] as Array<[number, number, number]>) {
          for (const e of EPILOGUES) check({ m, n, k, ...e }, dtype, impl, 'auto', 2);
        }
      }
    });
  }
});
