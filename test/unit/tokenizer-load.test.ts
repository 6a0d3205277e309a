// tokenizer.json files PairTokenizer refuses at load, with the exact message.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ModelLoadError } from '../../lib/errors.js';
import { PairTokenizer } from '../../lib/tokenize/pair-tokenizer.js';

function tokenizerJson(model: object): Record<string, unknown> {
  return { version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, decoder: null, model };
}

function loadError(model: object): ModelLoadError {
  try {
    PairTokenizer.fromObjects(tokenizerJson(model), {}, null, { maxLength: 16 });
  } catch (error) {
    expect(error).toBeInstanceOf(ModelLoadError);
    return error as ModelLoadError;
  }
  throw new Error('loaded');
}

describe('tokenizer.json model types', () => {
  it.each([
    // tokenizers.js would have taken these for its Legacy model (a vocab and no known type) and loaded them.
    ['an unknown type', { type: 'Foo', vocab: { a: 0 } }, '"Foo"'],
    ['a lowercase spelling', { type: 'bpe', vocab: { a: 0 }, merges: [] }, '"bpe"'],
  ])('refuses %s as ERR_MODEL_UNSUPPORTED, naming model.type and the supported types', (_name, model, shown) => {
    const error = loadError(model);
    expect(error.code).toBe('ERR_MODEL_UNSUPPORTED');
    expect(error.message).toBe(
      `tokenizer.json model.type ${shown} is not supported: the supported types are BPE, Unigram, WordLevel, WordPiece (tokenizer.json)`,
    );
  });

  it('names the file it read', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'trt-rerank-tokenizer-'));
    try {
      await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson({ type: 'Foo', vocab: { a: 0 } })));
      await expect(PairTokenizer.fromDir(dir, { maxLength: 16 })).rejects.toThrow(
        `tokenizer.json model.type "Foo" is not supported: the supported types are BPE, Unigram, WordLevel, WordPiece (${join(dir, 'tokenizer.json')})`,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('takes a model with no type for the one its fields describe, as Rust does (older files)', () => {
    const encode = (model: object) => PairTokenizer.fromObjects(tokenizerJson(model), {}, null, { maxLength: 8 }).encodePairs('a', ['a']).ids;
    expect([...encode({ vocab: { a: 0 }, unk_token: 'a' })]).toEqual([0, 0]);                                        // WordLevel
    expect([...encode({ vocab: { a: 0, '[UNK]': 1 }, unk_token: '[UNK]', continuing_subword_prefix: '##' })]).toEqual([0, 0]);  // WordPiece
    expect([...encode({ vocab: { a: 0 }, merges: [] })]).toEqual([0, 0]);                                            // BPE
  });

  it('loads each supported type', () => {
    for (const model of [
      { type: 'BPE', vocab: { a: 0 }, merges: [] },
      { type: 'Unigram', unk_id: 0, vocab: [['a', 0]] },
      { type: 'WordLevel', vocab: { a: 0 }, unk_token: 'a' },
      { type: 'WordPiece', vocab: { a: 0 }, unk_token: 'a', continuing_subword_prefix: '##' },
    ]) {
      expect(PairTokenizer.fromObjects(tokenizerJson(model), {}, null, { maxLength: 16 }).maxLength).toBe(16);
    }
  });
});

describe('model content HF tokenizers (Rust) refuses or cannot encode with', () => {
  it.each([
    ['a merge of a token outside the vocabulary', { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [['a', 'c']] }, 'BPE merge "a c": "c" is not in the vocabulary'],
    ['a legacy merge line that is not two tokens', { type: 'BPE', vocab: { a: 0 }, merges: ['a b c'] }, 'BPE merge 1 "a b c" is not two tokens separated by one space'],
    [
      'a BPE unk_token outside the vocabulary',
      { type: 'BPE', vocab: { a: 0 }, merges: [], unk_token: '<unk>' },
      'BPE unk_token "<unk>" is not in the vocabulary: HF tokenizers cannot encode text with a character outside it',
    ],
    [
      'a WordLevel unk_token outside the vocabulary',
      { type: 'WordLevel', vocab: { a: 0 }, unk_token: '<unk>' },
      'WordLevel unk_token "<unk>" is not in the vocabulary: HF tokenizers cannot encode a word outside it',
    ],
  ])('refuses %s as ERR_MODEL_INVALID', (_name, model, message) => {
    const error = loadError(model);
    expect(error.code).toBe('ERR_MODEL_INVALID');
    expect(error.message).toBe(`tokenizer.json model: ${message} (tokenizer.json)`);
  });
});
