import type { Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { ModelLoadError } from '../errors.js';

/** Element sizes of the safetensors dtypes a file may hold (the model reads only F32, F16 and BF16). */
const DTYPE_BYTES: Record<string, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1, U16: 2, U32: 4, U64: 8,
  F8_E4M3: 1, F8_E5M2: 1,
};

export interface SafetensorsTensor {
  dtype: string;
  shape: number[];
  /** Absolute byte offset in the file. */
  offset: number;
  nbytes: number;
}

export interface SafetensorsHeader {
  path: string;
  fileBytes: number;
  tensors: Map<string, SafetensorsTensor>;
}

// The format: u64 little-endian header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
// "__metadata__"?: {...}}, then the data; offsets are relative to the end of the header.
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

/** Reads and checks a safetensors header without reading the tensor data; errors name the file (its base name). */
export async function readSafetensorsHeader(path: string): Promise<SafetensorsHeader> {
  const file = basename(path);
  const invalid = (message: string): never => {
    throw new ModelLoadError('ERR_MODEL_INVALID', path, `${file} is corrupt: ${message}`);
  };
  let stats: Stats;
  try {
    stats = await stat(path);
  } catch (cause) {
    throw new ModelLoadError('ERR_MODEL_NOT_FOUND', path, `${file} not found`, { cause });
  }
  if (!stats.isFile()) throw new ModelLoadError('ERR_MODEL_INVALID', path, `${file} is not a file`);
  const fileBytes = stats.size;
  if (fileBytes < 8) invalid(`the file has ${fileBytes} bytes, fewer than the 8-byte header length`);
  const handle = await open(path, 'r');
  try {
    const lengthBytes = Buffer.alloc(8);
    await handle.read(lengthBytes, 0, 8, 0);
    const headerLength = lengthBytes.readBigUInt64LE(0);
    if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, fileBytes - 8))) {
      invalid(`the header claims ${headerLength} bytes but the file has ${fileBytes}`);
    }
    const n = Number(headerLength);
    const headerBytes = Buffer.alloc(n);
    await handle.read(headerBytes, 0, n, 8);
    let json: unknown;
    try {
      json = JSON.parse(headerBytes.toString('utf8'));
    } catch (cause) {
      invalid(`the header is not valid JSON (${(cause as Error).message})`);
    }
    if (typeof json !== 'object' || json === null || Array.isArray(json)) invalid('the header is not a JSON object');
    const dataStart = 8 + n;
    const dataBytes = fileBytes - dataStart;
    const tensors = new Map<string, SafetensorsTensor>();
    for (const [name, value] of Object.entries(json as Record<string, unknown>)) {
      if (name === '__metadata__') continue;
      const t = value as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const elementBytes = typeof t?.dtype === 'string' ? DTYPE_BYTES[t.dtype] : undefined;
      if (elementBytes === undefined) invalid(`tensor "${name}" has unknown dtype ${JSON.stringify(t?.dtype)}`);
      const shape = t.shape;
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
        invalid(`tensor "${name}" has an invalid shape ${JSON.stringify(shape)}`);
      }
      const offsets = t.data_offsets;
      if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
        invalid(`tensor "${name}" has invalid data_offsets ${JSON.stringify(offsets)}`);
      }
      const [begin, end] = offsets as [number, number];
      if (begin > end || end > dataBytes) {
        invalid(`tensor "${name}" spans bytes ${begin}..${end} of the data, but the data has ${dataBytes} bytes (truncated file?)`);
      }
      const elements = (shape as number[]).reduce((a, b) => a * b, 1);
      if (elements * elementBytes! !== end - begin) {
        invalid(`tensor "${name}" of shape [${(shape as number[]).join(', ')}] ${t.dtype} needs ${elements * elementBytes!} bytes, its offsets give ${end - begin}`);
      }
      tensors.set(name, { dtype: t.dtype as string, shape: shape as number[], offset: dataStart + begin, nbytes: end - begin });
    }
    return { path, fileBytes, tensors };
  } finally {
    await handle.close();
  }
}
