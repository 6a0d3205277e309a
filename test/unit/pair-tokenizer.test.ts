import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InvalidArgumentError, ModelLoadError, TruncationError } from '../../lib/errors.js';
import { entryBytes } from '../../lib/tokenize/document-cache.js';
import { PairTokenizer, type PairTokenizerOptions } from '../../lib/tokenize/pair-tokenizer.js';
import { Tokenizer } from '../../lib/tokenize/tokenizers-js.js';
import { SHARED_BERT_TOKENIZER, hasSharedBertTokenizer } from '../helpers/models.js';

// A small BERT-style tokenizer.json: every word below is one token.
const WORDS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'a', 'b', 'c', '##s', '.', '<s>', '</s>'];
const ID = Object.fromEntries(WORDS.map((w, i) => [w, i])) as Record<string, number>;
const special = (name: string) => ({ id: name, ids: [ID[name]!], tokens: [name] });
const TEMPLATE = {
  type: 'TemplateProcessing',
  single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
  pair: [
    { SpecialToken: { id: '[CLS]', type_id: 0 } },
    { Sequence: { id: 'A', type_id: 0 } },
    { SpecialToken: { id: '[SEP]', type_id: 0 } },
    { Sequence: { id: 'B', type_id: 1 } },
    { SpecialToken: { id: '[SEP]', type_id: 1 } },
  ],
  special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
};

function tokenizerJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map((content) => ({
      id: ID[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: TEMPLATE,
    decoder: null,
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab: ID },
    ...overrides,
  };
}

function make(opts: PairTokenizerOptions = {}, overrides: Record<string, unknown> = {}, tokenizerConfig: object = { model_max_length: 512 }): PairTokenizer {
  return PairTokenizer.fromObjects(tokenizerJson(overrides), tokenizerConfig, null, opts);
}

function pairs(tok: PairTokenizer, query: string, docs: string[]): Array<{ ids: number[]; typeIds: number[] }> {
  const e = tok.encodePairs(query, docs);
  expect(e.offsets.length).toBe(docs.length + 1);
  expect(e.offsets[0]).toBe(0);
  expect(e.offsets[docs.length]).toBe(e.ids.length);
  expect(e.typeIds.length).toBe(e.ids.length);
  return docs.map((_, i) => ({
    ids: Array.from(e.ids.subarray(e.offsets[i]!, e.offsets[i + 1]!)),
    typeIds: Array.from(e.typeIds.subarray(e.offsets[i]!, e.offsets[i + 1]!)),
  }));
}

const Q = [ID.the!, ID.quick!, ID.fox!]; // "the quick fox"
const D = [ID.lazy!, ID.dog!, ID['.']!]; // "lazy dog."
const [CLS, SEP, S, ES] = [ID['[CLS]']!, ID['[SEP]']!, ID['<s>']!, ID['</s>']!];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('pair templates', () => {
  const cases: Array<[string, unknown, number[], number[]]> = [
    ['TemplateProcessing', TEMPLATE, [CLS, ...Q, SEP, ...D, SEP], [0, 0, 0, 0, 0, 1, 1, 1, 1]],
    ['BertProcessing', { type: 'BertProcessing', sep: ['[SEP]', SEP], cls: ['[CLS]', CLS] }, [CLS, ...Q, SEP, ...D, SEP], [0, 0, 0, 0, 0, 1, 1, 1, 1]],
    [
      'RobertaProcessing',
      { type: 'RobertaProcessing', sep: ['</s>', ES], cls: ['<s>', S], trim_offsets: true, add_prefix_space: false },
      [S, ...Q, ES, ES, ...D, ES],
      [0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    ],
    ['Sequence [ByteLevel, TemplateProcessing]', { type: 'Sequence', processors: [{ type: 'ByteLevel', trim_offsets: true }, TEMPLATE] }, [CLS, ...Q, SEP, ...D, SEP], [0, 0, 0, 0, 0, 1, 1, 1, 1]],
    ['no post_processor', null, [...Q, ...D], [0, 0, 0, 1, 1, 1]],
    ['Sequence [ByteLevel]', { type: 'Sequence', processors: [{ type: 'ByteLevel', trim_offsets: true }] }, [...Q, ...D], [0, 0, 0, 1, 1, 1]],
  ];
  it.each(cases)('%s', (_name, postProcessor, ids, typeIds) => {
    const tok = make({}, { post_processor: postProcessor });
    expect(pairs(tok, 'The quick fox', ['lazy dog.'])).toEqual([{ ids, typeIds }]);
  });

  it('takes template type ids and multi-id special tokens as written', () => {
    const template = {
      ...TEMPLATE,
      pair: [
        { SpecialToken: { id: 'X', type_id: 3 } },
        { Sequence: { id: 'B', type_id: 2 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 1 } },
      ],
      special_tokens: { ...TEMPLATE.special_tokens, X: { id: 'X', ids: [CLS, ID['[MASK]']!], tokens: ['[CLS]', '[MASK]'] } },
    };
    const tok = make({ maxLength: 7 }, { post_processor: template });
    // 3 special tokens, so 4 text tokens: longest_first keeps 2 of the query and 2 of the document.
    expect(pairs(tok, 'The quick fox', ['lazy dog.'])).toEqual([
      { ids: [CLS, ID['[MASK]']!, ID.lazy!, ID.dog!, SEP, ID.the!, ID.quick!], typeIds: [3, 3, 2, 2, 0, 1, 1] },
    ]);
  });

  it('lays out several pairs back to back, empty documents included', () => {
    const tok = make();
    const e = tok.encodePairs('the quick fox', ['lazy dog.', '', 'a b c']);
    expect(Array.from(e.offsets)).toEqual([0, 9, 15, 24]);
    expect(Array.from(e.ids.subarray(9, 15))).toEqual([CLS, ...Q, SEP, SEP]);
    expect(Array.from(e.typeIds.subarray(9, 15))).toEqual([0, 0, 0, 0, 0, 1]);
    expect(Array.from(e.ids.subarray(15))).toEqual([CLS, ...Q, SEP, ID.a!, ID.b!, ID.c!, SEP]);
    expect(e.ids).toBeInstanceOf(Int32Array);
    expect(e.typeIds).toBeInstanceOf(Uint8Array);
  });

  it('returns empty arrays for no documents', () => {
    const e = make().encodePairs('the quick fox', []);
    expect([e.ids.length, e.typeIds.length, Array.from(e.offsets)]).toEqual([0, 0, [0]]);
  });

  it('refuses post-processors it does not know', () => {
    expect(() => make({}, { post_processor: { type: 'Mystery' } })).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_UNSUPPORTED', message: expect.stringMatching(/post_processor type "Mystery" is not supported/) }),
    );
    expect(() => make({}, { post_processor: { type: 'Sequence', processors: [TEMPLATE, TEMPLATE] } })).toThrow(ModelLoadError);
  });

  it('ignores the truncation and padding stored in tokenizer.json', () => {
    const tok = make({ maxLength: 64 }, { truncation: { max_length: 4, strategy: 'LongestFirst', stride: 0 }, padding: { strategy: { Fixed: 32 }, pad_id: 0 } });
    const [p] = pairs(tok, 'the quick brown fox jumps over the lazy dog', ['a b c a b c a b c']);
    expect(p!.ids.length).toBe(9 + 9 + 3);
  });
});

describe('truncation', () => {
  it('cuts with longest_first by default', () => {
    const tok = make({ maxLength: 8 }); // 5 text tokens
    expect(tok.truncation).toBe('longest_first');
    expect(pairs(tok, 'the quick brown fox', ['a b c a b c'])[0]!.ids).toEqual([CLS, ID.the, ID.quick, SEP, ID.a, ID.b, ID.c, SEP]);
  });

  it('cuts only the document with only_second', () => {
    const tok = make({ maxLength: 8, truncation: 'only_second' });
    expect(pairs(tok, 'the quick', ['a b c a b c'])[0]!.ids).toEqual([CLS, ID.the, ID.quick, SEP, ID.a, ID.b, ID.c, SEP]);
  });

  it('raises a TruncationError where Rust does: only_second with a query that fills maxLength', () => {
    const tok = make({ maxLength: 8, truncation: 'only_second' });
    const call = () => tok.encodePairs('the quick brown fox jumps', ['a b']);
    expect(call).toThrow(TruncationError);
    expect(call).toThrow(
      "truncation 'only_second': the query of 5 tokens leaves no room for the document at maxLength 8 (3 special tokens): use truncation 'longest_first' or a larger maxLength",
    );
    // A pair that fits is not truncated, so no error: 4 query tokens + 1 document token = 5.
    expect(() => tok.encodePairs('the quick brown fox', ['a'])).not.toThrow();
    expect(() => make({ maxLength: 8 }).encodePairs('the quick brown fox jumps', ['a b'])).not.toThrow();
  });
});

describe('maxLength', () => {
  const bert = { model_type: 'bert', max_position_embeddings: 512, pad_token_id: 0 };
  const xlmr = { model_type: 'xlm-roberta', max_position_embeddings: 514, pad_token_id: 1 };
  it.each([
    ['tokenizer_config model_max_length', { model_max_length: 512 }, null, 512],
    ['config.json max_position_embeddings', {}, bert, 512],
    ['the smaller of the two', { model_max_length: 256 }, bert, 256],
    ['XLM-R positions start at pad_token_id + 1', {}, xlmr, 512],
    ["transformers' 1e30 placeholder is no limit", { model_max_length: 1e30 }, xlmr, 512],
    ['a non-integer model_max_length is no limit', { model_max_length: 512.5 }, { ...bert, max_position_embeddings: 128 }, 128],
  ] as const)('defaults to %s', (_name, tokenizerConfig, modelConfig, expected) => {
    const tok = PairTokenizer.fromObjects(tokenizerJson(), tokenizerConfig, modelConfig, {});
    expect(tok.maxLength).toBe(expected);
  });

  it('refuses a maxLength above the model limit, naming both numbers', () => {
    expect(() => PairTokenizer.fromObjects(tokenizerJson(), {}, xlmr, { maxLength: 600 })).toThrow(
      "maxLength 600 is above this model's limit of 512 tokens (config.json max_position_embeddings 514 minus 2 (xlm-roberta positions start at pad_token_id + 1))",
    );
    expect(PairTokenizer.fromObjects(tokenizerJson(), {}, xlmr, { maxLength: 512 }).maxLength).toBe(512);
  });

  it('refuses a maxLength that is not an integer >= 1, or leaves no room for text', () => {
    for (const bad of [0, -1, 1.5, '512', Number.NaN]) {
      expect(() => make({ maxLength: bad as number })).toThrow(InvalidArgumentError);
    }
    expect(() => make({ maxLength: 1.5 })).toThrow('Expected an integer >= 1 for maxLength but received 1.5');
    expect(() => make({ maxLength: 3 })).toThrow('maxLength 3 leaves no room for text: the pair template (TemplateProcessing) adds 3 special tokens');
    expect(make({ maxLength: 4 }).maxLength).toBe(4);
  });

  it('asks for maxLength when the model declares none', () => {
    expect(() => PairTokenizer.fromObjects(tokenizerJson(), {}, null)).toThrow(/declares no maximum length.*pass maxLength/);
    expect(PairTokenizer.fromObjects(tokenizerJson(), {}, null, { maxLength: 100 }).maxLength).toBe(100);
  });
});

describe('argument checks', () => {
  const tok = make();
  it.each([
    [42, ['a'], 'Expected a string for query but received 42'],
    [null, ['a'], 'Expected a string for query but received null'],
    ['q', 'a doc', 'Expected an array of strings for docs but received the string "a doc"'],
    ['q', undefined, 'Expected an array of strings for docs but received undefined'],
    ['q', ['a', 'b', 7], 'Expected a string for docs[2] but received 7'],
    ['q', ['a', null], 'Expected a string for docs[1] but received null'],
    ['q', [{ text: 'a' }], 'Expected a string for docs[0] but received object'],
    // eslint-disable-next-line no-sparse-arrays
    ['q', ['a', , 'c'], 'Expected a string for docs[1] but received undefined'],
  ])('encodePairs(%j, %j)', (query, docs, message) => {
    const call = () => tok.encodePairs(query as string, docs as string[]);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(message);
  });

  it.each([
    [{ truncation: 'longest' }, "Expected one of 'longest_first', 'only_second' for truncation but received the string \"longest\""],
    [{ tokenCache: true }, 'Expected false or { maxBytes: an integer >= 0 } for tokenCache but received boolean'],
    [{ tokenCache: { maxBytes: -1 } }, 'Expected false or { maxBytes: an integer >= 0 } for tokenCache but received -1'],
    [{ tokenCache: {} }, 'Expected false or { maxBytes: an integer >= 0 } for tokenCache but received undefined'],
  ])('options %j', (opts, message) => {
    expect(() => make(opts as PairTokenizerOptions)).toThrow(message);
  });

  it('names what is wrong with a tokenizer.json', () => {
    expect(() => make({}, { model: undefined })).toThrow(expect.objectContaining({ code: 'ERR_MODEL_INVALID' }));
    expect(() => make({}, { normalizer: { type: 'Mystery' } })).toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_UNSUPPORTED', message: expect.stringMatching(/Unknown Normalizer type: Mystery/) }),
    );
    expect(() => PairTokenizer.fromObjects('{}' as unknown as object, {}, null)).toThrow('Expected an object for tokenizerJson but received the string "{}"');
  });

  it('reports a missing folder as ERR_MODEL_NOT_FOUND', async () => {
    await expect(PairTokenizer.fromDir('/nonexistent/model')).rejects.toThrow(
      expect.objectContaining({ code: 'ERR_MODEL_NOT_FOUND', path: join('/nonexistent/model', 'tokenizer.json') }),
    );
    await expect(PairTokenizer.fromDir('')).rejects.toThrow(InvalidArgumentError);
  });
});

describe('query once, documents once', () => {
  it('encodes the query once per call and each distinct uncached document once', () => {
    const tok = make();
    const encode = vi.spyOn(Tokenizer.prototype, 'encode');
    tok.encodePairs('the quick fox', ['a b', 'lazy dog', 'a b', 'c', 'lazy dog']);
    expect(encode).toHaveBeenCalledTimes(1 + 3);
    expect(encode.mock.calls.map((c) => c[0])).toEqual(['the quick fox', 'a b', 'lazy dog', 'c']);
    expect(tok.cacheStats).toMatchObject({ hits: 2, misses: 3, entries: 3 });

    encode.mockClear();
    tok.encodePairs('the lazy fox', ['c', 'a b', 'over']);
    expect(encode.mock.calls.map((c) => c[0])).toEqual(['the lazy fox', 'over']);
    expect(tok.cacheStats).toMatchObject({ hits: 4, misses: 4, entries: 4 });
  });

  it('still encodes a document once per call with the cache off', () => {
    const tok = make({ tokenCache: false });
    const encode = vi.spyOn(Tokenizer.prototype, 'encode');
    tok.encodePairs('q', ['a', 'b', 'a']);
    tok.encodePairs('q', ['a', 'b', 'a']);
    expect(encode).toHaveBeenCalledTimes(2 * (1 + 2));
    expect(tok.cacheStats).toEqual({ hits: 2, misses: 4, entries: 0, bytes: 0, maxBytes: 0 });
  });

  it('gives cached documents the same pairs as fresh ones', () => {
    const tok = make({ maxLength: 9 });
    const first = tok.encodePairs('the quick brown fox', ['a b c a b c', 'lazy dog']);
    const second = tok.encodePairs('the quick brown fox', ['a b c a b c', 'lazy dog']);
    expect(second).toEqual(first);
    expect(tok.cacheStats.hits).toBe(2);
  });
});

describe('document cache bound', () => {
  const docs = ['a b c a b', 'b c a b c', 'c a b c a', 'a a a a a', 'b b b b b'];
  // Each document is 9 characters and 5 tokens (the run kept is all of it).
  const size = entryBytes(docs[0]!, new Int32Array(5));

  it('keeps the bytes held under maxBytes, evicting the least recently used', () => {
    const tok = make({ tokenCache: { maxBytes: 2 * size + 10 } });
    const encode = vi.spyOn(Tokenizer.prototype, 'encode');
    tok.encodePairs('q', [docs[0]!, docs[1]!]);
    expect(tok.cacheStats).toMatchObject({ entries: 2, bytes: 2 * size });
    tok.encodePairs('q', [docs[0]!]); // touch 0: now 1 is the least recently used
    tok.encodePairs('q', [docs[2]!]); // evicts 1
    expect(tok.cacheStats).toMatchObject({ entries: 2, bytes: 2 * size, maxBytes: 2 * size + 10 });
    encode.mockClear();
    tok.encodePairs('q', [docs[0]!, docs[2]!]);
    expect(encode).toHaveBeenCalledTimes(1); // the query only
    tok.encodePairs('q', [docs[1]!]);
    expect(encode).toHaveBeenCalledTimes(3); // query and the evicted document
    for (const d of docs) tok.encodePairs('q', [d]);
    expect(tok.cacheStats.bytes).toBeLessThanOrEqual(2 * size + 10);
    expect(tok.cacheStats.entries).toBe(2);
  });

  it('does not keep a document larger than the whole cache', () => {
    const tok = make({ tokenCache: { maxBytes: size - 1 } });
    tok.encodePairs('q', [docs[0]!]);
    tok.encodePairs('q', [docs[0]!]);
    expect(tok.cacheStats).toMatchObject({ entries: 0, bytes: 0, hits: 0, misses: 2 });
  });

  it('charges the text and the kept tokens', () => {
    expect(entryBytes('abcd', new Int32Array(3))).toBe(8 + 12 + 96);
  });
});

describe.skipIf(!hasSharedBertTokenizer)('the real BERT uncased tokenizer', () => {
  if (!hasSharedBertTokenizer) console.warn(`skipping the real BERT tokenizer tests: ${SHARED_BERT_TOKENIZER} is absent`);
  it('loads from its folder with the limit of its tokenizer_config.json', async () => {
    expect(existsSync(join(SHARED_BERT_TOKENIZER, 'config.json'))).toBe(false);
    const tok = await PairTokenizer.fromDir(SHARED_BERT_TOKENIZER);
    expect(tok.maxLength).toBe(512);
    // [CLS] hello world [SEP] berlin [SEP]
    expect(pairs(tok, 'Hello World', ['Berlin'])).toEqual([{ ids: [101, 7592, 2088, 102, 4068, 102], typeIds: [0, 0, 0, 0, 1, 1] }]);
  });

  it('remembers the pieces of words it has seen, and encodes the same after the memory fills and empties', async () => {
    const tok = await PairTokenizer.fromDir(SHARED_BERT_TOKENIZER, { tokenCache: false });
    const text = 'Tokenization of unbelievably hyphenated-words, repeated: unbelievably, unbelievably!';
    const first = tok.tokenizeDocuments([text]);
    // More distinct words than the memory holds (20 000), as short documents (a long one would be cut before
    // its end): the memory empties on the way.
    tok.tokenizeDocuments(Array.from({ length: 26_000 }, (_, i) => `w${i}q`));
    const again = tok.tokenizeDocuments([text]);
    expect(Array.from(again.tokens)).toEqual(Array.from(first.tokens));
    // unbelievably -> un ##bel ##ie ##va ##bly each of the three times (4895 is "un").
    expect(Array.from(first.tokens).filter((id) => id === 4895)).toHaveLength(3);
  });
});
