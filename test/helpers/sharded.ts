import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { writeShardedSafetensors, type StoredDType, type TensorToWrite } from '../../lib/tiny-models/safetensors-writer.js';

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * The tensors of a safetensors file of one dtype, widened to float32: exact for F32, F16 and BF16, so that writing
 * them again in that dtype gives the same bytes.
 */
export async function readStoredTensors(path: string): Promise<{ dtype: StoredDType; tensors: TensorToWrite[] }> {
  const header = await readSafetensorsHeader(path);
  const bytes = await readFile(path);
  const dtypes = new Set([...header.tensors.values()].map((t) => t.dtype));
  if (dtypes.size !== 1) throw new Error(`${path} mixes dtypes ${[...dtypes].join(', ')}`);
  const dtype = [...dtypes][0] as StoredDType;
  const f32 = new Float32Array(1);
  const u32 = new Uint32Array(f32.buffer);
  const tensors = [...header.tensors].map(([name, t]) => {
    const values = new Float32Array(t.nbytes / (dtype === 'F32' ? 4 : 2));
    for (let i = 0; i < values.length; i++) {
      if (dtype === 'F32') {
        values[i] = bytes.readFloatLE(t.offset + 4 * i);
      } else if (dtype === 'BF16') {
        u32[0] = bytes.readUInt16LE(t.offset + 2 * i) << 16;
        values[i] = f32[0]!;
      } else {
        values[i] = halfToFloat(bytes.readUInt16LE(t.offset + 2 * i));
      }
    }
    return { name, shape: t.shape, values };
  });
  return { dtype, tensors };
}

/** Rewrites the model folder `dir` with its model.safetensors split over `count` shards plus an index; returns the shard names. */
export async function shardModelFolder(dir: string, count: number, options: { keepSingleFile?: boolean } = {}): Promise<string[]> {
  const single = join(dir, 'model.safetensors');
  const { dtype, tensors } = await readStoredTensors(single);
  const names = await writeShardedSafetensors(dir, tensors, dtype, count);
  if (!options.keepSingleFile) await rm(single);
  return names;
}
