/** Writes safetensors files: u64 header length, JSON header (padded to 8 bytes), then the tensor data; or sharded. */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type StoredDType = 'F32' | 'F16' | 'BF16';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> bfloat16 bits, round to nearest even (NaN kept quiet). */
export function toBFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | 0x40) & 0xffff;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 -> IEEE half bits, round to nearest even, with subnormals, overflow to inf, NaN. */
export function toFloat16Bits(x: number): number {
  f32[0] = x;
  const bits = u32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exp = (bits >>> 23) & 0xff;
  let mant = bits & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = mant & ((1 << shift) - 1);
    let h = mant >>> shift;
    if (rest > half || (rest === half && (h & 1))) h++;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1))) h++;
  return sign | h;
}

export interface TensorToWrite {
  name: string;
  shape: number[];
  values: Float32Array;
}

export function encodeSafetensors(tensors: TensorToWrite[], dtype: StoredDType): Buffer {
  const elementBytes = dtype === 'F32' ? 4 : 2;
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const t of sorted) {
    const n = t.values.length * elementBytes;
    header[t.name] = { dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const t of sorted) {
    for (const v of t.values) {
      if (dtype === 'F32') out.writeFloatLE(v, pos);
      else out.writeUInt16LE(dtype === 'F16' ? toFloat16Bits(v) : toBFloat16Bits(v), pos);
      pos += elementBytes;
    }
  }
  return out;
}

/** A sharded checkpoint as transformers' save_pretrained writes one: shard files and model.safetensors.index.json. */
export interface ShardedSafetensors {
  /** model-0000i-of-0000n.safetensors, in order, with their bytes. */
  shards: Array<{ name: string; bytes: Buffer }>;
  /** model.safetensors.index.json's content: {metadata: {total_size}, weight_map: {tensor: shard}}. */
  index: { metadata: { total_size: number }; weight_map: Record<string, string> };
}

/**
 * `tensors` split over `count` shards in name order, each shard taking tensors until it holds about 1 / count of
 * the data (every shard at least one tensor), as transformers fills shards up to max_shard_size.
 */
export function encodeShardedSafetensors(tensors: TensorToWrite[], dtype: StoredDType, count: number): ShardedSafetensors {
  if (!Number.isInteger(count) || count < 1 || count > tensors.length) {
    throw new RangeError(`shard count must be an integer from 1 to the ${tensors.length} tensors, got ${count}`);
  }
  const elementBytes = dtype === 'F32' ? 4 : 2;
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const total = sorted.reduce((n, t) => n + t.values.length * elementBytes, 0);
  const groups: TensorToWrite[][] = [];
  let bytes = 0;
  sorted.forEach((t, i) => {
    const left = sorted.length - i;  // tensors not yet placed, this one included
    const open = groups.length;      // shards started
    // A new shard when this one is full, or when the shards left need every tensor left.
    if (open === 0 || (open < count && (bytes >= (total * open) / count || left <= count - open))) groups.push([]);
    groups[groups.length - 1]!.push(t);
    bytes += t.values.length * elementBytes;
  });
  const pad = (n: number) => String(n).padStart(5, '0');
  const shards = groups.map((group, i) => ({ name: `model-${pad(i + 1)}-of-${pad(count)}.safetensors`, bytes: encodeSafetensors(group, dtype) }));
  const weightMap: Record<string, string> = {};
  groups.forEach((group, i) => {
    for (const t of group) weightMap[t.name] = shards[i]!.name;
  });
  return { shards, index: { metadata: { total_size: total }, weight_map: weightMap } };
}

/** Writes encodeShardedSafetensors' shards and index into `dir`; returns the shard names. */
export async function writeShardedSafetensors(dir: string, tensors: TensorToWrite[], dtype: StoredDType, count: number): Promise<string[]> {
  const sharded = encodeShardedSafetensors(tensors, dtype, count);
  for (const shard of sharded.shards) await writeFile(join(dir, shard.name), shard.bytes);
  await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify(sharded.index, null, 2) + '\n');
  return sharded.shards.map((s) => s.name);
}
