/** Sharded checkpoints (model.safetensors.index.json + shards): the writer, and readCheckpoint's choices and errors. */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../../lib/model/plan.js';
import { encodeSafetensors, encodeShardedSafetensors, writeShardedSafetensors, type TensorToWrite } from '../../lib/tiny-models/safetensors-writer.js';
import { tempDir } from '../helpers/models.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir: root, cleanup } = await tempDir()));
afterAll(() => cleanup());

const tensor = (name: string, n: number, fill = 1): TensorToWrite => ({ name, shape: [n], values: new Float32Array(n).fill(fill) });
const TENSORS = [tensor('a', 16), tensor('b', 4), tensor('c', 4), tensor('d', 8), tensor('e', 2), tensor('f', 30)];

let folders = 0;
/** A folder with TENSORS sharded over 3 files, the index then edited by `edit`. */
async function shardedFolder(edit?: (index: { weight_map: Record<string, unknown> }) => void): Promise<string> {
  const dir = join(root, `f${folders++}`);
  await mkdir(dir);
  await writeShardedSafetensors(dir, TENSORS, 'F32', 3);
  if (edit) {
    const path = join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(await readFile(path, 'utf8')) as { weight_map: Record<string, unknown> };
    edit(index);
    await writeFile(path, JSON.stringify(index));
  }
  return dir;
}

describe('the sharded writer', () => {
  it('splits tensors in name order over n shards of about equal bytes, each at least one tensor, with the index', () => {
    const { shards, index } = encodeShardedSafetensors(TENSORS, 'F32', 3);
    expect(shards.map((s) => s.name)).toEqual(['model-00001-of-00003.safetensors', 'model-00002-of-00003.safetensors', 'model-00003-of-00003.safetensors']);
    expect(index.weight_map).toEqual({
      a: 'model-00001-of-00003.safetensors', b: 'model-00001-of-00003.safetensors', c: 'model-00001-of-00003.safetensors',
      d: 'model-00002-of-00003.safetensors', e: 'model-00002-of-00003.safetensors', f: 'model-00003-of-00003.safetensors',
    });
    expect(index.metadata.total_size).toBe(64 * 4);
    // As many shards as tensors: one each; one shard: every tensor in it, the same bytes as the single file.
    expect(Object.values(encodeShardedSafetensors(TENSORS, 'BF16', 6).index.weight_map)).toEqual(TENSORS.map((_, i) => `model-0000${i + 1}-of-00006.safetensors`));
    expect(encodeShardedSafetensors(TENSORS, 'F16', 1).shards[0]!.bytes).toEqual(encodeSafetensors(TENSORS, 'F16'));
    expect(() => encodeShardedSafetensors(TENSORS, 'F32', 7)).toThrow('shard count must be an integer from 1 to the 6 tensors, got 7');
  });
});

describe('readCheckpoint', () => {
  it('reads the index and every shard: each tensor with its file and its offset there', async () => {
    const dir = await shardedFolder();
    const c = await readCheckpoint(dir);
    expect(c.sharded).toBe(true);
    expect(c.path).toBe(join(dir, 'model.safetensors.index.json'));
    expect(c.files).toEqual([1, 2, 3].map((i) => join(dir, `model-0000${i}-of-00003.safetensors`)));
    expect([...c.tensors.keys()].sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    const d = c.tensors.get('d')!;
    expect(d).toMatchObject({ file: 1, dtype: 'F32', shape: [8], nbytes: 32 });
    const shard = await readFile(c.files[1]!);
    expect(shard.readFloatLE(d.offset)).toBe(1);
    expect(d.offset).toBe(8 + Number(shard.readBigUInt64LE(0)));  // d is the shard's first tensor
  });

  it('prefers model.safetensors when both it and an index are there (transformers order); the index is not read', async () => {
    const dir = await shardedFolder();
    await writeFile(join(dir, 'model.safetensors'), encodeSafetensors([tensor('only', 3)], 'F32'));
    await writeFile(join(dir, 'model.safetensors.index.json'), 'not json');
    const c = await readCheckpoint(dir);
    expect(c).toMatchObject({ sharded: false, path: join(dir, 'model.safetensors'), files: [join(dir, 'model.safetensors')] });
    expect([...c.tensors.keys()]).toEqual(['only']);
    expect(c.tensors.get('only')!.file).toBe(0);
  });

  it('neither file: ERR_MODEL_NOT_FOUND naming both', async () => {
    const dir = join(root, 'empty');
    await mkdir(dir);
    await expect(readCheckpoint(dir)).rejects.toMatchObject({
      code: 'ERR_MODEL_NOT_FOUND',
      path: join(dir, 'model.safetensors'),
      message: 'model.safetensors not found, nor model.safetensors.index.json (sharded weights): trt-rerank reads safetensors weights; ' +
        `convert pytorch_model.bin with transformers' save_pretrained(safe_serialization=True) (${join(dir, 'model.safetensors')})`,
    });
  });

  it('an index that is not JSON, or has no weight_map object, or an empty one: ERR_MODEL_INVALID naming the index', async () => {
    const cases: Array<[string, string]> = [
      ['{"weight_map": ', /^model\.safetensors\.index\.json is not valid JSON: /.source],
      ['{"metadata": {}}', 'model.safetensors.index.json has no "weight_map" object (tensor name -> shard file)'],
      ['{"weight_map": ["a"]}', 'model.safetensors.index.json has no "weight_map" object (tensor name -> shard file)'],
      ['null', 'model.safetensors.index.json has no "weight_map" object (tensor name -> shard file)'],
      ['{"weight_map": {}}', 'model.safetensors.index.json maps no tensors: its "weight_map" is empty'],
      ['{"weight_map": {"a": 3}}', 'model.safetensors.index.json maps tensor "a" to 3, not a file name'],
    ];
    for (const [text, message] of cases) {
      const dir = await shardedFolder();
      const index = join(dir, 'model.safetensors.index.json');
      await writeFile(index, text);
      const error = await readCheckpoint(dir).then(() => undefined, (e: unknown) => e as { code: string; path: string; message: string });
      expect(error, text).toMatchObject({ code: 'ERR_MODEL_INVALID', path: index });
      if (message.startsWith('^')) expect(error!.message).toMatch(new RegExp(message));
      else expect(error!.message).toBe(`${message} (${index})`);
    }
  });

  it('refuses shard names that leave the folder: absolute, "..", separators, drives', async () => {
    for (const shard of ['/etc/passwd', '../model-00001-of-00003.safetensors', 'sub/model.safetensors', 'sub\\model.safetensors', '..', '.', '',
      'C:model.safetensors', 'a\0b']) {
      const dir = await shardedFolder((index) => {
        index.weight_map.b = shard;
      });
      const index = join(dir, 'model.safetensors.index.json');
      await expect(readCheckpoint(dir), shard).rejects.toMatchObject({
        code: 'ERR_MODEL_INVALID',
        path: index,
        message: `model.safetensors.index.json maps tensor "b" to shard ${JSON.stringify(shard)}, outside the model folder: a shard must be a file ` +
          `name in the folder (no path separators, no "..") (${index})`,
      });
    }
  });

  it('a shard missing: ERR_MODEL_NOT_FOUND naming it', async () => {
    const dir = await shardedFolder();
    const shard = join(dir, 'model-00002-of-00003.safetensors');
    await rm(shard);
    await expect(readCheckpoint(dir)).rejects.toMatchObject({
      code: 'ERR_MODEL_NOT_FOUND',
      path: shard,
      message: `shard model-00002-of-00003.safetensors not found: model.safetensors.index.json maps 2 tensor(s) to it (${shard})`,
    });
  });

  it('a corrupt shard: ERR_MODEL_INVALID naming that shard', async () => {
    const dir = await shardedFolder();
    const shard = join(dir, 'model-00003-of-00003.safetensors');
    await writeFile(shard, Buffer.alloc(5));
    await expect(readCheckpoint(dir)).rejects.toMatchObject({
      code: 'ERR_MODEL_INVALID',
      message: `model-00003-of-00003.safetensors is corrupt: the file has 5 bytes, fewer than the 8-byte header length (${shard})`,
    });
  });

  it('a tensor the index maps to a shard that lacks it: ERR_MODEL_INVALID naming tensor and shard', async () => {
    const dir = await shardedFolder((index) => {
      index.weight_map.a = 'model-00003-of-00003.safetensors';
      index.weight_map.ghost = 'model-00002-of-00003.safetensors';
    });
    const third = join(dir, 'model-00003-of-00003.safetensors');
    await expect(readCheckpoint(dir)).rejects.toMatchObject({
      code: 'ERR_MODEL_INVALID',
      path: third,
      message: `model.safetensors.index.json maps tensor "a" to model-00003-of-00003.safetensors, which does not hold it (it is in ` +
        `model-00001-of-00003.safetensors) (${third})`,
    });
    const dir2 = await shardedFolder((index) => {
      index.weight_map.ghost = 'model-00002-of-00003.safetensors';
    });
    const second = join(dir2, 'model-00002-of-00003.safetensors');
    await expect(readCheckpoint(dir2)).rejects.toMatchObject({
      message: `model.safetensors.index.json maps tensor "ghost" to model-00002-of-00003.safetensors, which does not hold it (${second})`,
    });
  });

  it('a tensor in two shards: ERR_MODEL_INVALID naming both', async () => {
    const dir = await shardedFolder();
    await writeFile(join(dir, 'model-00003-of-00003.safetensors'), encodeSafetensors([tensor('f', 30), tensor('b', 4, 2)], 'F32'));
    const index = join(dir, 'model.safetensors.index.json');
    await expect(readCheckpoint(dir)).rejects.toMatchObject({
      code: 'ERR_MODEL_INVALID',
      path: index,
      message: `tensor "b" is in two shards, model-00001-of-00003.safetensors and model-00003-of-00003.safetensors (${index})`,
    });
  });
});
