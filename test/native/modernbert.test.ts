/**
 * ModernBERT's config.json as the native model layer reads it (native/models/modernbert.cc): both dialects
 * (transformers 4.48's global_attn_every_n_layers / global_rope_theta / local_rope_theta and transformers 5's
 * layer_types / rope_parameters) give the same model, and a config that cannot describe one is a ModelLoadError
 * naming the field before anything is allocated. Numerics against PyTorch: test/native/reference.test.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Reranker } from '../../lib/index.js';
import { parseModelConfig } from '../../lib/model/config.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { useTinyModel } from '../helpers/models.js';

requireAddonBuilt();

const base = {
  architectures: ['ModernBertForSequenceClassification'], model_type: 'modernbert', vocab_size: 100, hidden_size: 16,
  num_hidden_layers: 3, num_attention_heads: 2, intermediate_size: 24, local_attention: 8, global_attn_every_n_layers: 3,
  id2label: { 0: 'LABEL_0' }, pad_token_id: 3,
};
const parse = (patch: Record<string, unknown>) => parseModelConfig({ ...base, ...patch }, 'config.json');

describe('ModernBERT config.json', () => {
  it('declares the tensors transformers names, biases only where config.json asks for them', () => {
    const plain = parse({});
    expect(plain).toMatchObject({ family: 'modernbert', tensorPrefix: 'model.', pooling: 'cls', typeVocabSize: 0, maxSequenceLength: 8192, headDim: 8 });
    const names = plain.tensors.map((t) => t.name);
    expect(names).toContain('layers.1.attn_norm.weight');
    expect(names).not.toContain('layers.0.attn_norm.weight');  // layer 0 reads the embeddings' norm directly
    expect(names.filter((n) => n.endsWith('.bias'))).toEqual(['classifier.bias']);
    expect(plain.tensors).toContainEqual({ name: 'layers.2.mlp.Wi.weight', shape: [48, 16] });
    const biased = parse({ attention_bias: true, mlp_bias: true, norm_bias: true, classifier_bias: true, classifier_pooling: 'mean' });
    expect(biased.pooling).toBe('mean');
    expect(biased.tensors.map((t) => t.name)).toEqual(expect.arrayContaining(['layers.0.attn.Wqkv.bias', 'layers.2.mlp.Wo.bias', 'final_norm.bias', 'head.dense.bias']));
  });

  it.each([
    [{ layer_types: ['full_attention', 'sliding_attention'] }, /"layer_types" has 2 entries but num_hidden_layers is 3/],
    [{ layer_types: ['full_attention', 'sliding_attention', 'chunked_attention'] }, /"layer_types" entries must be "full_attention" or "sliding_attention", got "chunked_attention"/],
    [{ local_attention: 0 }, /"local_attention" must be an integer from 2 to/],
    [{ local_attention: 7 }, /"local_attention" must be even .* got 7/],
    [{ classifier_pooling: 'max' }, /"classifier_pooling" must be one of "cls", "mean", got "max"/],
    [{ num_hidden_layers: 1e9 }, /"num_hidden_layers" must be an integer from 1 to 1024, got 1000000000/],
    [{ hidden_size: 2 ** 40 }, /"hidden_size" must be an integer from 1 to 65536/],
    [{ num_attention_heads: 3 }, /hidden_size" 16 is not a multiple of num_attention_heads 3/],
    [{ norm_eps: -1 }, /"norm_eps" must be a positive number/],
    [{ attention_bias: 'yes' }, /"attention_bias" must be true or false, got a string/],
    [{ hidden_size: Infinity }, /"hidden_size" must be an integer from 1 to 65536, got inf/],
    [{ num_hidden_layers: Number.NaN }, /"num_hidden_layers" must be an integer from 1 to 1024, got nan/],
    [{ intermediate_size: 24.5 }, /"intermediate_size" must be an integer .* got 24.5/],
  ])('%j is ERR_MODEL_INVALID naming the field', (patch, message) => {
    expect(() => parse(patch)).toThrow(expect.objectContaining({ code: 'ERR_MODEL_INVALID', message: expect.stringMatching(message) }));
  });

  it.each([
    [{ hidden_activation: 'mish' }, /hidden_activation "mish" is not supported: use one of gelu/],
    [{ classifier_activation: 'prelu' }, /classifier_activation "prelu" is not supported/],
    [{ rope_parameters: { full_attention: { rope_type: 'yarn', rope_theta: 1e6, factor: 4 } } }, /rope_parameters: full_attention: rope_type "yarn" is not supported: only "default"/],
    [{ id2label: { 0: 'a', 1: 'b', 2: 'c' } }, /1 or 2 labels; this model has 3/],
  ])('%j is ERR_MODEL_UNSUPPORTED saying what is', (patch, message) => {
    expect(() => parse(patch)).toThrow(expect.objectContaining({ code: 'ERR_MODEL_UNSUPPORTED', message: expect.stringMatching(message) }));
  });
});

describe('ModernBERT dialects', () => {
  const model = useTinyModel('tiny-modernbert');

  it("transformers 5's layer_types and rope_parameters give the scores of 4.48's global_attn_every_n_layers and thetas", async () => {
    const query = 'how many people live in berlin';
    const docs = ['berlin has about 3.7 million registered inhabitants', 'the quick brown fox '.repeat(30), 'tokyo'];
    const old = await Reranker.load(model.dir, { backend: 'cpu' });
    const before = await old.score(query, docs, { activation: 'none' });
    await old.close();
    const path = join(model.dir, 'config.json');
    const original = await readFile(path, 'utf8');
    const c = JSON.parse(original) as Record<string, unknown>;
    const every = c.global_attn_every_n_layers as number;
    const layers = c.num_hidden_layers as number;
    const next: Record<string, unknown> = { ...c, layer_types: Array.from({ length: layers }, (_, i) => (i % every === 0 ? 'full_attention' : 'sliding_attention')),
      rope_parameters: { full_attention: { rope_type: 'default', rope_theta: c.global_rope_theta }, sliding_attention: { rope_type: 'default', rope_theta: c.local_rope_theta } } };
    delete next.global_attn_every_n_layers;
    delete next.global_rope_theta;
    delete next.local_rope_theta;
    try {
      await writeFile(path, JSON.stringify(next));
      const reloaded = await Reranker.load(model.dir, { backend: 'cpu' });
      expect(Array.from(await reloaded.score(query, docs, { activation: 'none' }))).toEqual(Array.from(before));
      await reloaded.close();
      // The window and the thetas matter: all-global layers, or another local theta, give other scores for long pairs.
      await writeFile(path, JSON.stringify({ ...next, layer_types: Array(layers).fill('full_attention') }));
      const global = await Reranker.load(model.dir, { backend: 'cpu' });
      expect((await global.score(query, docs, { activation: 'none' }))[1]).not.toBeCloseTo(before[1]!, 4);
      await global.close();
      await writeFile(path, JSON.stringify({ ...next, rope_parameters: { ...(next.rope_parameters as object), sliding_attention: { rope_type: 'default', rope_theta: 500 } } }));
      const theta = await Reranker.load(model.dir, { backend: 'cpu' });
      expect((await theta.score(query, docs, { activation: 'none' }))[1]).not.toBeCloseTo(before[1]!, 4);
      await theta.close();
    } finally {
      await writeFile(path, original);
    }
  });
});
