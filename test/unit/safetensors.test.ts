import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { encodeSafetensors, toBFloat16Bits, toFloat16Bits } from '../../lib/tiny-models/safetensors-writer.js';
import { tempDir } from '../helpers/models.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await tempDir()));
afterAll(() => cleanup());

function rawFile(header: object, dataBytes: number): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const out = Buffer.alloc(8 + json.length + dataBytes);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  return out;
}

describe('safetensors header', () => {
  it('reads names, dtypes, shapes and absolute offsets', async () => {
    const path = join(dir, 'ok.safetensors');
    const buf = encodeSafetensors(
      [
        { name: 'b', shape: [2, 3], values: new Float32Array(6).fill(1.5) },
        { name: 'a', shape: [4], values: new Float32Array([1, 2, 3, 4]) },
      ],
      'F16',
    );
    await writeFile(path, buf);
    const h = await readSafetensorsHeader(path);
    expect([...h.tensors.keys()].sort()).toEqual(['a', 'b']);
    const a = h.tensors.get('a')!;
    expect(a).toMatchObject({ dtype: 'F16', shape: [4], nbytes: 8 });
    expect(buf.readUInt16LE(a.offset + 2)).toBe(toFloat16Bits(2));
    expect(h.tensors.get('b')!.offset).toBe(a.offset + 8);
  });

  const corrupt: Array<[string, Buffer, RegExp]> = [
    ['shorter than 8 bytes', Buffer.alloc(5), /fewer than the 8-byte header length/],
    ['header length past the end', (() => { const b = Buffer.alloc(16); b.writeBigUInt64LE(1000n, 0); return b; })(), /header claims 1000 bytes/],
    ['header not JSON', (() => { const b = Buffer.alloc(12); b.writeBigUInt64LE(4n, 0); b.write('{{{{', 8); return b; })(), /not valid JSON/],
    ['offsets past the data', rawFile({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8), /spans bytes 0\.\.16 .* has 8 bytes/],
    ['size not matching the shape', rawFile({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /needs 12 bytes, its offsets give 8/],
    ['unknown dtype', rawFile({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1), /unknown dtype "Q4"/],
    ['negative shape', rawFile({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /invalid shape/],
  ];
  for (const [what, bytes, message] of corrupt) {
    it(`rejects a file with ${what} as ERR_MODEL_INVALID`, async () => {
      const path = join(dir, `bad-${what.replace(/\W+/g, '-')}.safetensors`);
      await writeFile(path, bytes);
      await expect(readSafetensorsHeader(path)).rejects.toMatchObject({ code: 'ERR_MODEL_INVALID', message });
    });
  }

  it('reports a missing file as ERR_MODEL_NOT_FOUND', async () => {
    await expect(readSafetensorsHeader(join(dir, 'nope.safetensors'))).rejects.toMatchObject({ code: 'ERR_MODEL_NOT_FOUND' });
  });
});

describe('half-precision encoders', () => {
  it('round float32 to fp16 like IEEE round-to-nearest-even', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(70000)).toBe(0x7c00); // overflow to inf
    expect(toFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(toFloat16Bits(2 ** -26)).toBe(0x0000); // rounds to zero
    expect(toFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // tie to even
    expect(toFloat16Bits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie to even, upwards
    expect(toFloat16Bits(NaN) & 0x7c00).toBe(0x7c00);
  });
  it('round float32 to bf16 like IEEE round-to-nearest-even', () => {
    expect(toBFloat16Bits(1)).toBe(0x3f80);
    expect(toBFloat16Bits(-1.5)).toBe(0xbfc0);
    expect(toBFloat16Bits(1 + 2 ** -8)).toBe(0x3f80); // tie to even
    expect(toBFloat16Bits(1 + 3 * 2 ** -8)).toBe(0x3f82);
  });
});
