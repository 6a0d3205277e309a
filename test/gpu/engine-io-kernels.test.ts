/**
 * The TensorRT backend's two kernels (native/kernels/engine_io.cu) against a JS reference: packed pairs into
 * [rows, seqLen] engine inputs (int32 and int64, with and without token types, dummy rows), and engine
 * logits in fp32 / fp16 / bf16 to fp32.
 */
import { describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeAddon } from '../../lib/binding/native.js';
import { gpuSkipReason, requireAddonBuilt } from '../helpers/addon.js';

requireAddonBuilt();
const addon = loadAddon() as NativeAddon;
const reason = gpuSkipReason('engine I/O kernel tests');

describe.skipIf(reason !== '')('engine I/O kernels', () => {
  const lengths = [5, 1, 16, 9];
  const offsets = Int32Array.from([0, ...lengths.map((_, i) => lengths.slice(0, i + 1).reduce((a, b) => a + b))]);
  const ids = Int32Array.from({ length: offsets.at(-1)! }, (_, t) => 1000 + t * 7);
  const typeIds = Uint8Array.from({ length: ids.length }, (_, t) => t % 2);

  for (const int64 of [false, true]) {
    for (const withTypeIds of [true, false]) {
      it(`packEngineInputs: ${int64 ? 'int64' : 'int32'}, ${withTypeIds ? 'with' : 'without'} token types, 2 dummy rows`, () => {
        const rows = 6;
        const seqLen = 16;
        const out = addon.testing!.packEngineInputs(ids, typeIds, offsets, rows, seqLen, int64, withTypeIds);
        const num = (a: Int32Array | BigInt64Array, i: number) => Number(a[i]!);
        for (let r = 0; r < rows; r++) {
          const real = r < lengths.length;
          const length = real ? lengths[r]! : 1; // dummy rows: one masked-in token, so no row is all padding
          for (let t = 0; t < seqLen; t++) {
            const i = r * seqLen + t;
            const token = t < length;
            expect(num(out.mask, i), `mask row ${r} pos ${t}`).toBe(token ? 1 : 0);
            expect(num(out.ids, i), `ids row ${r} pos ${t}`).toBe(token && real ? ids[offsets[r]! + t]! : 0);
            if (withTypeIds) expect(num(out.typeIds, i)).toBe(token && real ? typeIds[offsets[r]! + t]! : 0);
          }
        }
        // Without token types the third buffer is never written (still the 0x7f poison).
        if (!withTypeIds) expect(num(out.typeIds, 0)).not.toBe(0);
      });
    }
  }

  it('engineLogitsToFloat: fp32 copies, fp16 and bf16 widen exactly', () => {
    const values = [0, 1, -1, 0.5, -7.99975586, 3.140625, 65504, -2.5];
    const f32 = new Float32Array(values);
    expect(addon.testing!.engineLogitsToFloat(new Uint8Array(f32.buffer), 'fp32', 4, 2)).toEqual(f32);
    // fp16 bit patterns of exactly representable values
    const f16 = new Uint16Array([0x0000, 0x3c00, 0xbc00, 0x3800, 0xc7ff, 0x4248, 0x7bff, 0xc100]);
    expect([...addon.testing!.engineLogitsToFloat(new Uint8Array(f16.buffer), 'fp16', 8, 1)]).toEqual([0, 1, -1, 0.5, -7.99609375, 3.140625, 65504, -2.5]);
    // bf16: the high half of the fp32 pattern
    const bf16 = Uint16Array.from(new Uint32Array(new Float32Array([1, -2.5, 3.140625, 0.5]).buffer), (u) => u >>> 16);
    expect([...addon.testing!.engineLogitsToFloat(new Uint8Array(bf16.buffer), 'bf16', 2, 2)]).toEqual([1, -2.5, 3.140625, 0.5]);
  });
});
