import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tinyTokenizer } from '../../lib/tiny-models/generate.js';
import { byteLevelBpeTokenizer } from '../../lib/tiny-models/tokenizers.js';
import { findCut, prefixCutAllowed } from '../../lib/tokenize/long-text.js';
import { PairTokenizer, type Truncation } from '../../lib/tokenize/pair-tokenizer.js';
import { Tokenizer } from '../../lib/tokenize/tokenizers-js.js';
import { SHARED_BERT_TOKENIZER, hasSharedBertTokenizer } from '../helpers/models.js';
import { rng } from '../helpers/random.js';

type Json = Record<string, unknown>;

afterEach(() => {
  vi.restoreAllMocks();
});

const bertLike: Json = {
  added_tokens: [{ id: 0, content: '[CLS]' }],
  normalizer: { type: 'BertNormalizer' },
  pre_tokenizer: { type: 'BertPreTokenizer' },
};

describe('prefixCutAllowed', () => {
  it.each([
    ['BERT', bertLike, true],
    ['XLM-R style: NFKC + Metaspace', { normalizer: { type: 'NFKC' }, pre_tokenizer: { type: 'Metaspace', replacement: '▁', split: true } }, true],
    ['Sequence normalizer of allowed ones', { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFD' }, { type: 'StripAccents' }, { type: 'Lowercase' }] }, pre_tokenizer: { type: 'WhitespaceSplit' } }, true],
    ['Replace of a plain string', { normalizer: { type: 'Replace', pattern: { String: '``' }, content: '"' }, pre_tokenizer: { type: 'Whitespace' } }, true],
    ['GPT-2 style ByteLevel', { normalizer: null, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true } }, true],
    ['whitespace split first, then punctuation', { pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Punctuation' }, { type: 'Digits' }] } }, true],
    ['Precompiled normalizer', { normalizer: { type: 'Precompiled', precompiled_charsmap: '' }, pre_tokenizer: { type: 'Metaspace' } }, false],
    ['Replace of a space', { normalizer: { type: 'Replace', pattern: { String: ' ' }, content: '▁' }, pre_tokenizer: { type: 'Metaspace' } }, false],
    ['Replace by nothing', { normalizer: { type: 'Replace', pattern: { String: 'x' }, content: '' }, pre_tokenizer: { type: 'Whitespace' } }, false],
    ['Replace of a regex', { normalizer: { type: 'Replace', pattern: { Regex: 'a+' }, content: 'a' }, pre_tokenizer: { type: 'Whitespace' } }, false],
    ['no pre-tokenizer', { normalizer: null, pre_tokenizer: null }, false],
    ['Metaspace without split', { pre_tokenizer: { type: 'Metaspace', split: false } }, false],
    ['ByteLevel without regex', { pre_tokenizer: { type: 'ByteLevel', use_regex: false } }, false],
    ['punctuation before the whitespace split', { pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'Punctuation' }, { type: 'WhitespaceSplit' }] } }, false],
    ['a Split regex', { pre_tokenizer: { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Split', pattern: { Regex: '\\d' } }] } }, false],
    ['an added token with a space', { ...bertLike, added_tokens: [{ id: 0, content: 'New York' }] }, false],
  ])('%s: %s', (_name, json, allowed) => {
    expect(prefixCutAllowed(json)).toBe(allowed);
  });
});

describe('findCut', () => {
  it.each([
    ['hello world again', 0, 5],
    ['hello world again', 6, 11],
    ['hello world again', 12, -1],
    ['a  b c', 0, 4], // not inside a double space
    ['x \t y z', 0, 5],
    ['中 文 ab cd', 0, 6], // never next to a CJK ideograph
    ['é é', 0, 1],
    ['e\u0301 x y', 0, 4], // not after a combining mark
    ['\ufffd x y', 0, 3], // not after a character BertNormalizer deletes
    ['🙂 x y', 0, 4], // not after a surrogate half
    ['ﾞ x y', 0, 3], // U+FF9E becomes a combining mark under NFKC
    ['word', 0, -1],
  ])('findCut(%j, %i) = %i', (text, from, cut) => {
    expect(findCut(text, from)).toBe(cut);
  });
});

// ------------------------------------------------------------------------------------------------
// Prefix cut versus whole-text tokenization on long random texts
// ------------------------------------------------------------------------------------------------


const POOL = [
  'the', 'quick', 'brown', 'fox', 'jumps', 'over', 'lazy', 'dog', 'Berlin', 'population', 'museum', 'search', 'query',
  'reranker', 'café', 'naïve', 'Ångström', 'ΟΔΟΣ', 'Σοφία', 'Москва', '中文', '日本語の', '한국어', '🙂', '👍🏽', '👨\u200d👩\u200d👧',
  '[SEP]', '</s>', '<s>', '3,520,031', '42.5%', '(really)', '...', "don't", 'e-mail', 'ﬁne', '½', '٣٤٥', 'x'.repeat(120),
  'supercalifragilistic', 'Ünïcödé', 'wörds,', '«quoted»', '—', '¿qué?', 'a\u0301', '\u200b', 'ﾞ', '\ufffd', '\u0000',
];
const SEPARATORS = [' ', ' ', ' ', ' ', ' ', ' ', '  ', '\n', '\t', ', ', ' \n ', '\u00a0', '   ', ''];

function randomText(next: () => number, chars: number): string {
  let s = '';
  while (s.length < chars) {
    s += POOL[Math.floor(next() * POOL.length)]!;
    s += SEPARATORS[Math.floor(next() * SEPARATORS.length)]!;
  }
  return s;
}

/** The same tokenizer with prefix cutting ruled out: an added token holding a space makes it non-local. */
function withoutPrefixCut(tokenizerJson: Json): Json {
  const added = (tokenizerJson.added_tokens as Array<{ id: number }>) ?? [];
  const model = tokenizerJson.model as { vocab: unknown };
  const size = Array.isArray(model.vocab) ? model.vocab.length : Object.keys(model.vocab as object).length;
  const id = Math.max(size, ...added.map((t) => t.id)) + 1;
  return { ...tokenizerJson, added_tokens: [...added, { id, content: '\u0002 \u0002', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }] };
}

interface Source {
  name: string;
  tokenizerJson: Json;
  tokenizerConfig: Json;
}

function sources(): Source[] {
  const out: Source[] = [
    { name: 'tiny-bert (WordPiece)', tokenizerJson: tinyTokenizer('bert').tokenizerJson as Json, tokenizerConfig: tinyTokenizer('bert').tokenizerConfig as Json },
    { name: 'tiny-xlmr (NFKC, Metaspace, Unigram)', tokenizerJson: tinyTokenizer('xlm-roberta').tokenizerJson as Json, tokenizerConfig: tinyTokenizer('xlm-roberta').tokenizerConfig as Json },
    { name: 'tiny-bpe (NFC, ByteLevel, byte-level BPE)', tokenizerJson: byteLevelBpeTokenizer().tokenizerJson as Json, tokenizerConfig: byteLevelBpeTokenizer().tokenizerConfig as Json },
  ];
  if (hasSharedBertTokenizer) {
    out.unshift({
      name: 'bert-base-uncased',
      tokenizerJson: JSON.parse(readFileSync(join(SHARED_BERT_TOKENIZER, 'tokenizer.json'), 'utf8')) as Json,
      tokenizerConfig: JSON.parse(readFileSync(join(SHARED_BERT_TOKENIZER, 'tokenizer_config.json'), 'utf8')) as Json,
    });
  } else {
    console.warn(`prefix-cut parity runs without the real BERT tokenizer: ${SHARED_BERT_TOKENIZER} is absent`);
  }
  return out;
}

function outcome(tok: PairTokenizer, query: string, docs: string[]): unknown {
  try {
    const e = tok.encodePairs(query, docs);
    return { ids: Array.from(e.ids), typeIds: Array.from(e.typeIds), offsets: Array.from(e.offsets) };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

describe.each(sources())('prefix cut gives the tokens of the whole text: $name', ({ tokenizerJson, tokenizerConfig }) => {
  const next = rng(20240611);
  const docs = Array.from({ length: 12 }, (_, i) => randomText(next, 3000 + Math.floor(next() * 30000) + (i === 0 ? 100_000 : 0)));
  docs.push('supercalifragilistic'.repeat(2000), `${'word '.repeat(3000)}end`, `中文 ${'日本語 '.repeat(3000)}`, `${'a '.repeat(40)}${'b'.repeat(30000)} c d e`);
  const queries = ['what is the fox', randomText(next, 1500)];

  it.each([16, 64, 128, 512].flatMap((m) => (['longest_first', 'only_second'] as Truncation[]).map((t) => [m, t] as const)))(
    'maxLength %i, %s',
    (maxLength, truncation) => {
      expect(prefixCutAllowed(tokenizerJson)).toBe(true);
      const opts = { maxLength, truncation };
      const cut = PairTokenizer.fromObjects(tokenizerJson, tokenizerConfig, null, opts);
      const whole = PairTokenizer.fromObjects(withoutPrefixCut(tokenizerJson), tokenizerConfig, null, opts);
      const encode = vi.spyOn(Tokenizer.prototype, 'encode');
      for (const query of queries) {
        encode.mockClear();
        const got = outcome(cut, query, docs);
        const longestEncoded = Math.max(...encode.mock.calls.map((c) => (c[0] as string).length));
        expect(got).toEqual(outcome(whole, query, docs));
        if (query === queries[0]) {
          // The cut path ran: the 100 KB document was never tokenized whole.
          expect(longestEncoded).toBeLessThan(docs[0]!.length / 2);
        }
        // Documents one at a time (per-document errors, and the cache being warm or cold) agree too.
        for (const d of docs.slice(0, 4)) expect(outcome(cut, query, [d])).toEqual(outcome(whole, query, [d]));
      }
    },
  );
});

it('tokenizes a 100 KB document from a short prefix', () => {
  const next = rng(7);
  const doc = randomText(next, 100_000);
  const tok = PairTokenizer.fromObjects(tinyTokenizer('bert').tokenizerJson, tinyTokenizer('bert').tokenizerConfig, null, { maxLength: 512 });
  const encode = vi.spyOn(Tokenizer.prototype, 'encode');
  tok.encodePairs('query', [doc]);
  const lengths = encode.mock.calls.map((c) => (c[0] as string).length);
  expect(lengths.length).toBeLessThanOrEqual(3);
  expect(Math.max(...lengths)).toBeLessThan(20_000);
});
