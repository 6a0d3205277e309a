#!/usr/bin/env node
// Seed corpora for the native fuzz harnesses (test/fuzz/), from the tiny test models (lib/tiny-models, written
// here by tools/generate-test-models.mjs's generator): corpus/config/<model>.json is a model's config.json;
// corpus/weights/<model> is config.json, a NUL byte and model.safetensors (fuzz_weights.cc's input). Qwen3 configs
// get the label token ids a causal-LM reranker reads from tokenizer.json ("trt_rerank_fuzz_label_tokens"), and
// the Qwen3 weights seed is tiny-qwen3 cut to its first 64 vocabulary rows (the real tokenizer's 151936 rows make
// a 39 MB seed). Needs the compiled library (npm run build:ts).
//   node tools/fuzz-seeds.mjs OUT_DIR
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTinyModels } from '../dist/tiny-models/generate.js';

const out = process.argv[2];
if (!out) throw new Error('usage: node tools/fuzz-seeds.mjs OUT_DIR');
const models = await writeTinyModels(join(out, 'models'));
await mkdir(join(out, 'corpus', 'config'), { recursive: true });
await mkdir(join(out, 'corpus', 'weights'), { recursive: true });

const QWEN3_LABELS = [3, 5];  // within the 64 rows of the cut seed, and of the full vocabulary
const withLabels = (config) => (config.architectures?.[0] === 'Qwen3ForCausalLM' ? { ...config, trt_rerank_fuzz_label_tokens: QWEN3_LABELS } : config);
const seed = (config, weights) => Buffer.concat([Buffer.from(JSON.stringify(config, null, 1)), Buffer.from([0]), weights]);

// A safetensors file's tensors, each [name, {dtype, shape}, bytes]; and back.
function decode(file) {
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString('utf8'));
  delete header.__metadata__;
  return Object.entries(header).map(([name, t]) => [name, t, file.subarray(8 + n + t.data_offsets[0], 8 + n + t.data_offsets[1])]);
}
function encode(tensors) {
  const header = {};
  let at = 0;
  for (const [name, t, bytes] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + bytes.length] };
    at += bytes.length;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([length, json, ...tensors.map(([, , bytes]) => bytes)]);
}

for (const [name, dir] of Object.entries(models)) {
  const config = withLabels(JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')));
  await writeFile(join(out, 'corpus', 'config', `${name}.json`), JSON.stringify(config, null, 1));
  let weights = await readFile(join(dir, 'model.safetensors'));
  if (config.model_type === 'qwen3') {
    if (name !== 'tiny-qwen3' && name !== 'tiny-qwen3-seq-cls') continue;  // one of each head is enough
    const rows = 64;
    const cut = decode(weights).map(([tensor, t, bytes]) =>
      t.shape[0] === config.vocab_size ? [tensor, { ...t, shape: [rows, ...t.shape.slice(1)] }, bytes.subarray(0, (bytes.length / t.shape[0]) * rows)] : [tensor, t, bytes]);
    weights = encode(cut);
    config.vocab_size = rows;
  } else if (name.endsWith('-2label') || name.endsWith('-cls')) {
    continue;  // same tensors as their base model but the head
  }
  await writeFile(join(out, 'corpus', 'weights', name), seed(config, weights));
}
console.log(`fuzz seeds in ${join(out, 'corpus')}`);
