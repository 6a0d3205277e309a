import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseModelConfig, readModelConfig } from '../../lib/model/config.js';
import { canonicalTensorName, planModel } from '../../lib/model/plan.js';
import { writeTinyModel } from '../../lib/tiny-models/generate.js';
import { encodeSafetensors } from '../../lib/tiny-models/safetensors-writer.js';
import { tempDir, writeModels } from '../helpers/models.js';

let root: string;
let cleanup: () => Promise<void>;
let models: Record<'tiny-bert' | 'tiny-xlmr-bf16', string>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir());
  models = await writeModels(root, ['tiny-bert', 'tiny-xlmr-bf16']);
});
afterAll(() => cleanup());

const bertConfig = {
  architectures: ['BertForSequenceClassification'], model_type: 'bert', vocab_size: 100, hidden_size: 8,
  num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 16, max_position_embeddings: 32,
  type_vocab_size: 2, id2label: { 0: 'LABEL_0' },
};

describe('config.json', () => {
  it('reads a BERT config with transformers defaults', () => {
    const c = parseModelConfig(bertConfig, 'config.json');
    expect(c).toMatchObject({ family: 'bert', numLabels: 1, padTokenId: 0, maxSequenceLength: 32, tensorPrefix: 'bert.', pooling: 'cls' });
    expect(c.tensors).toContainEqual({ name: 'encoder.layer.0.attention.self.key.bias', shape: [8] });
    expect(c.tensors).toHaveLength(5 + 16 + 4);
  });
  it('gives XLM-R positions starting after padding_idx', () => {
    const c = parseModelConfig({ ...bertConfig, architectures: ['XLMRobertaForSequenceClassification'], model_type: 'xlm-roberta', pad_token_id: 1, max_position_embeddings: 514 }, 'x');
    expect(c.family).toBe('xlm-roberta');
    expect(c.maxSequenceLength).toBe(512);
  });
  it('maps tanh GELU names and rejects unknown activations', () => {
    expect(parseModelConfig({ ...bertConfig, hidden_act: 'gelu_new' }, 'x').architecture).toBe('BertForSequenceClassification');
    expect(() => parseModelConfig({ ...bertConfig, hidden_act: 'mish' }, 'x')).toThrow(/hidden_act "mish" is not supported/);
  });
  it('names the supported architectures when it meets another', () => {
    expect(() => parseModelConfig({ ...bertConfig, architectures: ['LlamaForCausalLM'] }, 'x')).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_UNSUPPORTED', message: expect.stringMatching(/unsupported architecture "LlamaForCausalLM".*BertForSequenceClassification/) }),
    );
  });
  it('rejects models with more than two labels, relative positions, bad head counts', () => {
    expect(() => parseModelConfig({ ...bertConfig, id2label: { 0: 'a', 1: 'b', 2: 'c' } }, 'x')).toThrow(/1 or 2 labels; this model has 3/);
    expect(() => parseModelConfig({ ...bertConfig, position_embedding_type: 'relative_key' }, 'x')).toThrow(/only "absolute"/);
    expect(() => parseModelConfig({ ...bertConfig, num_attention_heads: 3 }, 'x')).toThrow(/not a multiple of num_attention_heads 3/);
    expect(() => parseModelConfig({ ...bertConfig, hidden_size: 'big' }, 'x')).toThrow(/config.json: "hidden_size" must be a number, got a string/);
  });
  it('reports a missing folder and corrupt JSON with distinct codes', async () => {
    await expect(readModelConfig(join(root, 'missing'))).rejects.toMatchObject({ code: 'ERR_MODEL_NOT_FOUND' });
    const bad = join(root, 'badjson');
    await mkdir(bad, { recursive: true });
    await writeFile(join(bad, 'config.json'), '{"architectures": [');
    await expect(readModelConfig(bad)).rejects.toMatchObject({ code: 'ERR_MODEL_INVALID', message: expect.stringMatching(/not valid JSON/) });
  });
});

describe('weight plan', () => {
  it('maps every tensor of the generated models to a canonical name with its dtype', async () => {
    const bert = await planModel(models['tiny-bert'], await readModelConfig(models['tiny-bert']));
    expect(bert.storedDType).toBe('F32');
    expect(bert.tensors['encoder.layer.1.output.LayerNorm.bias']).toMatchObject({ shape: [64], dtype: 'F32' });
    expect(bert.tensors['classifier.weight']!.shape).toEqual([1, 64]);
    const xlmr = await planModel(models['tiny-xlmr-bf16'], await readModelConfig(models['tiny-xlmr-bf16']));
    expect(xlmr.storedDType).toBe('BF16');
    expect(xlmr.tensors['classifier.out_proj.weight']!.shape).toEqual([1, 128]);
    expect(xlmr.tensors['embeddings.position_embeddings.weight']!.shape).toEqual([514, 128]);
  });

  it('generated models can take another tokenizer folder, or a vocabulary size of their own (benchmark shapes)', async () => {
    const spec = { family: 'bert', seed: 3, hiddenSize: 16, numHeads: 2, numLayers: 1, intermediateSize: 32, numLabels: 1, hiddenAct: 'gelu', dtype: 'F16' } as const;
    const sized = await writeTinyModel(join(root, 'sized'), spec, { vocabSize: 777 });
    const plan = await planModel(sized, await readModelConfig(sized));
    expect((await readModelConfig(sized)).vocabSize).toBe(777);
    expect(plan.tensors['embeddings.word_embeddings.weight']!.shape).toEqual([777, 16]);
    // A tokenizer folder's files are copied and its vocabulary sizes the embedding table.
    const borrowed = await writeTinyModel(join(root, 'borrowed'), spec, { tokenizerDir: models['tiny-xlmr-bf16'] });
    const tokenizer = JSON.parse(await readFile(join(borrowed, 'tokenizer.json'), 'utf8')) as { model: { vocab: unknown[] } };
    expect(await readFile(join(borrowed, 'tokenizer.json'), 'utf8')).toBe(await readFile(join(models['tiny-xlmr-bf16'], 'tokenizer.json'), 'utf8'));
    const borrowedPlan = await planModel(borrowed, await readModelConfig(borrowed));
    expect(borrowedPlan.tensors['embeddings.word_embeddings.weight']!.shape[0]).toBe(tokenizer.model.vocab.length);
    await expect(writeTinyModel(join(root, 'too-small'), spec, { tokenizerDir: models['tiny-xlmr-bf16'], vocabSize: 3 })).rejects.toThrow(/below the \d+ ids/);
  });

  it('renames old LayerNorm gamma/beta and strips the base-model prefix', () => {
    expect(canonicalTensorName('bert.embeddings.LayerNorm.gamma', 'bert.')).toBe('embeddings.LayerNorm.weight');
    expect(canonicalTensorName('roberta.encoder.layer.3.output.LayerNorm.beta', 'roberta.')).toBe('encoder.layer.3.output.LayerNorm.bias');
    expect(canonicalTensorName('classifier.out_proj.weight', 'roberta.')).toBe('classifier.out_proj.weight');
    expect(canonicalTensorName('model.layers.2.attn.Wqkv.weight', 'model.')).toBe('layers.2.attn.Wqkv.weight');
  });

  async function rewriteWeights(dir: string, edit: (tensors: Map<string, { shape: number[]; values: Float32Array }>) => void, dtype: 'F32' | 'F16' = 'F32') {
    const buf = await readFile(join(dir, 'model.safetensors'));
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString()) as Record<string, { shape: number[]; data_offsets: [number, number] }>;
    const tensors = new Map<string, { shape: number[]; values: Float32Array }>();
    for (const [name, t] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const bytes = buf.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1]);
      tensors.set(name, { shape: t.shape, values: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)) });
    }
    edit(tensors);
    await writeFile(join(dir, 'model.safetensors'), encodeSafetensors([...tensors].map(([name, t]) => ({ name, ...t })), dtype));
  }

  it('names a tensor whose shape does not match config.json', async () => {
    const [dir] = Object.values(await writeModels(join(root, 'shape'), ['tiny-bert']));
    await rewriteWeights(dir!, (t) => {
      t.set('classifier.weight', { shape: [2, 32], values: new Float32Array(64) });
    });
    await expect(planModel(dir!, await readModelConfig(dir!))).rejects.toMatchObject({
      code: 'ERR_MODEL_INVALID',
      message: expect.stringMatching(/tensor "classifier.weight" has shape \[2, 32\] but config.json implies \[1, 64\]/),
    });
  });

  it('lists the tensors a checkpoint lacks', async () => {
    const [dir] = Object.values(await writeModels(join(root, 'missing'), ['tiny-bert']));
    await rewriteWeights(dir!, (t) => {
      t.delete('bert.pooler.dense.weight');
      t.delete('bert.encoder.layer.1.attention.self.key.bias');
    });
    await expect(planModel(dir!, await readModelConfig(dir!))).rejects.toMatchObject({
      code: 'ERR_MODEL_INVALID',
      message: expect.stringMatching(/lacks 2 tensor\(s\).*encoder.layer.1.attention.self.key.bias.*pooler.dense.weight/),
    });
  });

  it('rejects integer weights', async () => {
    const [dir] = Object.values(await writeModels(join(root, 'int'), ['tiny-bert']));
    const buf = await readFile(join(dir!, 'model.safetensors'));
    const n = Number(buf.readBigUInt64LE(0));
    const header = buf.subarray(8, 8 + n).toString().replace(/"classifier.bias":\{"dtype":"F32"/, '"classifier.bias":{"dtype":"I32"');
    buf.write(header, 8);
    await writeFile(join(dir!, 'model.safetensors'), buf);
    await expect(planModel(dir!, await readModelConfig(dir!))).rejects.toThrow(/tensor "classifier.bias" is I32; weights must be F32, F16 or BF16/);
  });
});

describe("the tokenizer's limit comes from the model layer", () => {
  it('XLM-R: positions from pad_token_id + 1 leave 512 of 514; a larger maxLength is refused naming why', async () => {
    const { Reranker } = await import('../../lib/index.js');
    // Without tokenizer_config.json's model_max_length (also 512 here), the positions set the limit alone.
    const path = join(models['tiny-xlmr-bf16'], 'tokenizer_config.json');
    const tokenizerConfig = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
    delete tokenizerConfig.model_max_length;
    await writeFile(path, JSON.stringify(tokenizerConfig));
    await expect(Reranker.load(models['tiny-xlmr-bf16'], { backend: 'cpu', maxLength: 513 })).rejects.toThrow(
      /maxLength 513 is above this model's limit of 512 tokens \(XLMRobertaForSequenceClassification's positions/,
    );
    const r = await Reranker.load(models['tiny-xlmr-bf16'], { backend: 'cpu' });
    expect(r.info.maxLength).toBe(512);
    await r.close();
  });
});

describe('loadSession options', () => {
  it('a wrong type, range or value is ERR_INVALID_ARGUMENT naming the option, not silently the default', async () => {
    const { loadAddon } = await import('../../lib/binding/loader.js');
    const plan = await planModel(models['tiny-bert'], await readModelConfig(models['tiny-bert']));
    const load = (options: Record<string, unknown>) => () => loadAddon().loadSession(plan, { backend: 'cpu', ...options } as never);
    expect(load({ threads: 'four' })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: "loadSession options 'threads' must be an integer from 0 to 4096, got a string" }));
    expect(load({ concurrency: 0 })).toThrow(/'concurrency' must be an integer from 1 to 64, got 0/);
    expect(load({ maxBatchSize: Number.POSITIVE_INFINITY })).toThrow(/'maxBatchSize' must be an integer from 0 to 1048576, got inf/);
    expect(load({ dtype: 'fp32' })).toThrow(/'dtype' must be one of 'fp16', 'bf16', got 'fp32'/);
    expect(load({ cudaGraphs: 1 })).toThrow(/'cudaGraphs' must be true or false, got a number/);
    await expect(loadAddon().loadSession(plan, { backend: 'nope' as never })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', message: "backend 'nope' is not in this build" });
  });
});
