/**
 * Weights from sharded checkpoints and picked rows on the CPU backend: a model written sharded scores
 * bit-identically to its single file; the native loader checks each tensor against its own file; a Linear of picked
 * rows (Qwen3ForCausalLM's "no"/"yes" rows of the LM head) reads those rows only, in their order.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeSession } from '../../lib/binding/native.js';
import { Reranker } from '../../lib/index.js';
import { readModelConfig } from '../../lib/model/config.js';
import { planModel, type ModelPlan } from '../../lib/model/plan.js';
import { readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { TINY_MODELS, type TinyModelName, type TinyModelSpec } from '../../lib/tiny-models/generate.js';
import { encodeSafetensors } from '../../lib/tiny-models/safetensors-writer.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { tempDir, writeCustomModel, writeModels } from '../helpers/models.js';
import { readStoredTensors, shardModelFolder } from '../helpers/sharded.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  requireAddonBuilt();
  ({ dir: root, cleanup } = await tempDir());
});
afterAll(() => cleanup());

const QUERY = 'what is the capital of france';
const DOCS = ['paris is the capital of france', 'berlin is in germany', 'the river seine flows through paris', 'a'];

/** The model folder `name` twice: as generated, and with its weights split over `shards` files. */
async function singleAndSharded(name: TinyModelName, shards: number): Promise<{ single: string; sharded: string }> {
  const single = (await writeModels(join(root, `${name}-single`), [name]))[name];
  const sharded = (await writeModels(join(root, `${name}-sharded`), [name]))[name];
  await shardModelFolder(sharded, shards);
  return { single, sharded };
}

async function labelTokenIds(dir: string): Promise<number[]> {
  const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  return [json.model.vocab.no!, json.model.vocab.yes!];
}

/** A causal-LM reranker's session (its label tokens from its tokenizer), as test/native/qwen3.test.ts opens one. */
async function openQwen3(dir: string): Promise<NativeSession> {
  const modelOptions = { labelTokenIds: await labelTokenIds(dir) };
  const plan = await planModel(dir, await readModelConfig(dir, modelOptions), modelOptions);
  return loadAddon().loadSession(plan, { backend: 'cpu', threads: 2 });
}

/** Raw scores (logit, or logit(yes) - logit(no)) of token sequences as one call. */
async function scoreIds(session: NativeSession, seqs: number[][]): Promise<Float32Array> {
  const ids = Int32Array.from(seqs.flat());
  const offsets = new Int32Array(seqs.length + 1);
  seqs.forEach((s, i) => (offsets[i + 1] = offsets[i]! + s.length));
  const request = session.createRequest(seqs.length, 'none');
  await request.submit(ids, new Uint8Array(ids.length), offsets, 0);
  return (await request.finish(0)).scores;
}

const QWEN_SEQS = Array.from({ length: 6 }, (_, d) => Array.from({ length: 3 + d * 5 }, (_, i) => (d * 7919 + i * 104729 + 11) % 151000));

describe('sharded checkpoints', () => {
  for (const name of ['tiny-bert', 'tiny-xlmr-bf16', 'tiny-modernbert-cls'] as const) {
    it(`${name} written over 3 shards scores bit-identically to its model.safetensors (Reranker.load, backend cpu)`, async () => {
      const { single, sharded } = await singleAndSharded(name, 3);
      const plan = await planModel(sharded, await readModelConfig(sharded));
      expect(plan.weightFiles).toEqual([1, 2, 3].map((i) => join(sharded, `model-0000${i}-of-00003.safetensors`)));
      expect(new Set(Object.values(plan.tensors).map((t) => t.file))).toEqual(new Set([0, 1, 2]));
      const a = await Reranker.load(single, { backend: 'cpu' });
      const b = await Reranker.load(sharded, { backend: 'cpu' });
      try {
        const expected = await a.score(QUERY, DOCS, { activation: 'none' });
        expect(await b.score(QUERY, DOCS, { activation: 'none' })).toEqual(expected);
      } finally {
        await a.close();
        await b.close();
      }
    });
  }

  it('a tied Qwen3ForCausalLM over 4 shards: the embedding table and the LM-head rows from one tensor, same scores and memory', async () => {
    const { single, sharded } = await singleAndSharded('tiny-qwen3', 4);
    const a = await openQwen3(single);
    const b = await openQwen3(sharded);
    try {
      expect(b.memoryBytes).toBe(a.memoryBytes);
      expect(await scoreIds(b, QWEN_SEQS)).toEqual(await scoreIds(a, QWEN_SEQS));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a tensor a sharded checkpoint lacks, or of the wrong shape: ERR_MODEL_INVALID naming the index, or the shard', async () => {
    const { sharded } = await singleAndSharded('tiny-bert', 2);
    const config = await readModelConfig(sharded);
    const index = join(sharded, 'model.safetensors.index.json');
    const last = join(sharded, 'model-00002-of-00002.safetensors');
    const { dtype, tensors } = await readStoredTensors(last);
    const classifier = tensors.find((t) => t.name === 'classifier.weight')!;
    await writeFile(last, encodeSafetensors(tensors.filter((t) => t !== classifier), dtype));
    const json = JSON.parse(await readFile(index, 'utf8')) as { weight_map: Record<string, string> };
    delete json.weight_map['classifier.weight'];
    await writeFile(index, JSON.stringify(json));
    await expect(planModel(sharded, config)).rejects.toMatchObject({
      code: 'ERR_MODEL_INVALID',
      message: `the 2 shard(s) of model.safetensors.index.json lack 1 tensor(s) that BertForSequenceClassification needs: classifier.weight (${index})`,
    });
    await writeFile(last, encodeSafetensors([...tensors.filter((t) => t !== classifier), { ...classifier, shape: [2, 32] }], dtype));
    json.weight_map['classifier.weight'] = 'model-00002-of-00002.safetensors';
    await writeFile(index, JSON.stringify(json));
    await expect(planModel(sharded, config)).rejects.toMatchObject({
      code: 'ERR_MODEL_INVALID',
      message: `tensor "classifier.weight" has shape [2, 32] but config.json implies [1, 64] (${last})`,
    });
  });
});

describe('the native loader checks each tensor against its own file', () => {
  let plan: ModelPlan;
  beforeAll(async () => {
    const { sharded } = await singleAndSharded('tiny-bert', 3);
    plan = await planModel(sharded, await readModelConfig(sharded));
  });
  const edited = (name: string, edit: Partial<ModelPlan['tensors'][string]>): ModelPlan => ({
    ...plan, tensors: { ...plan.tensors, [name]: { ...plan.tensors[name]!, ...edit } },
  });

  it('bytes past the end of the shard that holds them: ERR_MODEL_INVALID naming tensor and shard', async () => {
    const t = plan.tensors['classifier.bias']!;
    const file = plan.weightFiles[t.file]!;
    const size = (await readFile(file)).length;
    await expect(loadAddon().loadSession(edited('classifier.bias', { offset: size - 2 }), { backend: 'cpu' })).rejects.toMatchObject({
      code: 'ERR_MODEL_INVALID',
      message: `tensor 'classifier.bias' (4 bytes at offset ${size - 2}) lies past the end of '${file}' (${size} bytes)`,
    });
  });

  it('a file index past the plan\'s files: ERR_INVALID_ARGUMENT', () => {
    expect(() => loadAddon().loadSession(edited('classifier.bias', { file: 3 }), { backend: 'cpu' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: "model spec tensor 'classifier.bias' file must be an integer from 0 to 2, got 3" }),
    );
    expect(() => loadAddon().loadSession({ ...plan, weightFiles: [] }, { backend: 'cpu' })).toThrow("model spec: 'weightFiles' is empty");
  });
});

describe('picked rows (Qwen3ForCausalLM: the LM head\'s "no" and "yes" rows)', () => {
  const name = 'tiny-qwen3-bf16';  // BF16, lm_head.weight apart from the embedding table (tie_word_embeddings false)

  let generated: string;
  beforeAll(async () => {
    generated = (await writeModels(join(root, `${name}-picked`), [name]))[name];
  });

  /** A copy of the generated model whose lm_head.weight rows (stored bytes) `edit` changed. */
  async function withLmHead(tag: string, edit: (bytes: Buffer, rowBytes: number, rows: number, ids: number[]) => void): Promise<string> {
    const dir = join(root, `${name}-${tag}`);
    await cp(generated, dir, { recursive: true });
    const path = join(dir, 'model.safetensors');
    const head = (await readSafetensorsHeader(path)).tensors.get('lm_head.weight');
    if (!head) throw new Error(`${name} has no lm_head.weight: it must be an untied model for these tests`);
    const file = await readFile(path);
    const bytes = file.subarray(head.offset, head.offset + head.nbytes);
    edit(bytes, head.nbytes / head.shape[0]!, head.shape[0]!, await labelTokenIds(dir));
    await writeFile(path, file);
    return dir;
  }

  it('only the picked rows are read: every other row NaN scores the same; the two rows swapped negate every score', async () => {
    const plain = generated;
    const others = await withLmHead('nan', (bytes, rowBytes, rows, ids) => {
      for (let r = 0; r < rows; r++) {
        if (!ids.includes(r)) for (let i = r * rowBytes; i < (r + 1) * rowBytes; i += 2) bytes.writeUInt16LE(0x7fc0, i);  // a bf16 NaN
      }
    });
    const swapped = await withLmHead('swapped', (bytes, rowBytes, _rows, [no, yes]) => {
      const row = Buffer.from(bytes.subarray(no! * rowBytes, (no! + 1) * rowBytes));
      bytes.copyWithin(no! * rowBytes, yes! * rowBytes, (yes! + 1) * rowBytes);
      row.copy(bytes, yes! * rowBytes);
    });
    const sessions = [await openQwen3(plain), await openQwen3(others), await openQwen3(swapped)];
    try {
      const [a, b, c] = await Promise.all(sessions.map((s) => scoreIds(s, QWEN_SEQS)));
      expect(a!.every(Number.isFinite)).toBe(true);
      expect(b).toEqual(a);
      expect([...c!]).toEqual([...a!].map((x) => -x));
    } finally {
      for (const s of sessions) await s.close();
    }
  });

  it('memory counts the picked rows, not the LM head: 1000 more vocabulary rows add only the embedding table\'s', async () => {
    const spec = TINY_MODELS[name] as TinyModelSpec;
    const larger: TinyModelSpec = { ...spec, qwen3: { ...spec.qwen3!, vocabSize: spec.qwen3!.vocabSize + 1000 } };
    const dirs = [generated, await writeCustomModel(root, `${name}-larger`, larger)];
    const sessions = [await openQwen3(dirs[0]!), await openQwen3(dirs[1]!)];
    try {
      expect(sessions[1]!.memoryBytes - sessions[0]!.memoryBytes).toBe(1000 * spec.hiddenSize * 4);  // fp32 rows of the table only
    } finally {
      for (const s of sessions) await s.close();
    }
  });
});
