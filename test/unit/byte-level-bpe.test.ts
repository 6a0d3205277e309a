// The generated ModernBERT-style byte-level BPE (lib/tiny-models/tokenizers.ts byteLevelBpeTokenizer) and how
// PairTokenizer encodes pairs with it. The pair ids and type ids below were read from HF tokenizers 0.23.2
// (Python, `Tokenizer.from_file(tokenizer.json)`, enable_truncation, encode(query, doc)) on this tokenizer;
// the full parity table is in test/fixtures/tokenizer-golden.json once regenerated (tokenizer-golden.test.ts).
import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TruncationError } from '../../lib/errors.js';
import { byteLevelBpeTokenizer } from '../../lib/tiny-models/tokenizers.js';
import { prefixCutAllowed } from '../../lib/tokenize/long-text.js';
import { PairTokenizer, type PairTokenizerOptions, type Truncation } from '../../lib/tokenize/pair-tokenizer.js';
import { Tokenizer } from '../../lib/tokenize/tokenizers-js.js';
import { rng } from '../helpers/random.js';

type Json = Record<string, unknown>;

interface BpeJson {
  added_tokens: Array<{ id: number; content: string; lstrip: boolean }>;
  post_processor: { single: unknown[]; pair: unknown[] };
  model: { type: string; vocab: Record<string, number>; merges: Array<[string, string]> };
}

afterEach(() => {
  vi.restoreAllMocks();
});

const files = byteLevelBpeTokenizer();
const json = files.tokenizerJson as BpeJson;
const vocab = json.model.vocab;
const [UNK, CLS, SEP, PAD, MASK] = [656, 657, 658, 659, 660];

function make(opts: PairTokenizerOptions): PairTokenizer {
  return PairTokenizer.fromObjects(files.tokenizerJson, files.tokenizerConfig, null, opts);
}

function pair(tok: PairTokenizer, query: string, doc: string): { ids: number[]; typeIds: string } {
  const e = tok.encodePairs(query, [doc]);
  return { ids: Array.from(e.ids), typeIds: Array.from(e.typeIds).join('') };
}

describe('byteLevelBpeTokenizer', () => {
  it('is the same file on every run', () => {
    const again = byteLevelBpeTokenizer();
    expect(JSON.stringify(again)).toBe(JSON.stringify(files));
    // Pinned: a change here changes the golden file's tiny-bpe cases (regenerate it, tokenizer-golden.test.ts).
    expect(createHash('sha256').update(JSON.stringify(files.tokenizerJson)).digest('hex')).toBe(
      '1a0129504cbef5a3dd01c7382ac282bd8b977d83887ff9e916cf777908f81847',
    );
  });

  it('has the 256 byte symbols as ids 0-255, its merges next, then the special tokens', () => {
    const ids = Object.values(vocab).sort((a, b) => a - b);
    expect(ids).toEqual(Array.from({ length: 656 }, (_, i) => i));
    expect(vocab['!']).toBe(0x21);
    expect(vocab['Ġ']).toBe(0x20); // the space byte
    expect(vocab['Ċ']).toBe(0x0a);
    expect(vocab['Ā']).toBe(0x00);
    expect(json.added_tokens.map((t) => [t.content, t.id, t.lstrip])).toEqual([
      ['[UNK]', UNK, false], ['[CLS]', CLS, false], ['[SEP]', SEP, false], ['[PAD]', PAD, false], ['[MASK]', MASK, true],
    ]);
    expect(files.vocabSize).toBe(661);
    expect(files.vocabSize).toBe(ids.length + json.added_tokens.length);
  });

  it('learns merges whose parts and results are in the vocabulary, the space-prefixed words among them', () => {
    expect(json.model.type).toBe('BPE');
    expect(json.model.merges.length).toBe(400);
    for (const [a, b] of json.model.merges) {
      expect([a, b, a + b].every((t) => Object.hasOwn(vocab, t)), `${a} ${b}`).toBe(true);
    }
    for (const word of ['Ġthe', 'Ġof', 'Ġand', 'Ġcapital', 'Ġpeople', 'the', 'The', 'ĠĠ']) expect(Object.hasOwn(vocab, word), word).toBe(true);
    // Some merges join UTF-8 bytes of non-ASCII characters ('é' = C3 A9 is 'Ã©').
    expect(Object.hasOwn(vocab, 'Ã©')).toBe(true);
  });

  it("has ModernBERT's template, pre-tokenizer and config", () => {
    const tj = files.tokenizerJson as Json;
    expect(tj.normalizer).toEqual({ type: 'NFC' });
    expect(tj.pre_tokenizer).toEqual({ type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true });
    expect(json.post_processor.single).toEqual([{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }]);
    expect(json.post_processor.pair).toEqual([
      { SpecialToken: { id: '[CLS]', type_id: 0 } },
      { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: '[SEP]', type_id: 0 } },
      { Sequence: { id: 'B', type_id: 1 } },
      { SpecialToken: { id: '[SEP]', type_id: 1 } },
    ]);
    expect(files.tokenizerConfig).toMatchObject({ model_max_length: 8192, pad_token: '[PAD]', cls_token: '[CLS]', sep_token: '[SEP]', mask_token: '[MASK]', unk_token: '[UNK]' });
    expect(prefixCutAllowed(tj)).toBe(true);
    expect(make({}).maxLength).toBe(8192);
  });
});

describe('pairs through PairTokenizer (as HF tokenizers 0.23.2 gives them)', () => {
  it('lays out [CLS] query [SEP] document [SEP] with type ids 0 then 1', () => {
    const got = pair(make({ maxLength: 64 }), 'what is the capital of France?', 'Paris is the capital of France.');
    // [CLS] w hat Ġis Ġthe Ġcapital Ġof ĠF rance ? [SEP] P aris Ġis Ġthe Ġcapital Ġof ĠF rance . [SEP]
    expect(got.ids).toEqual([CLS, 119, 275, 299, 261, 632, 272, 331, 550, 63, SEP, 80, 529, 299, 261, 632, 272, 331, 550, 46, SEP]);
    expect(got.typeIds).toBe('0'.repeat(11) + '1'.repeat(10));
    expect([vocab['Ġthe'], vocab['Ġcapital'], vocab['Ġof']]).toEqual([261, 632, 272]);
  });

  it('encodes accents, CJK, Hangul and emoji as their UTF-8 bytes, merged where the merges say', () => {
    const got = pair(make({ maxLength: 64 }), 'café naïve', '中文 日本語 한국어 👍🏽 Ångström');
    expect(got.ids).toEqual([
      CLS, 99, 97, 102, 555, 307, 643, 175, 325, SEP,
      228, 184, 173, 230, 150, 135, 32, 230, 151, 165, 230, 156, 172, 232, 170, 158, 32, 237, 149, 156, 234, 181, 173, 236, 150, 180,
      32, 240, 159, 145, 141, 240, 159, 143, 189, 32, 195, 133, 110, 103, 292, 114, 195, 182, 109, SEP,
    ]);
    expect(got.typeIds).toBe('0'.repeat(10) + '1'.repeat(46));
  });

  const query = 'how many people live in berlin';
  const doc = 'Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.';
  it.each([
    [16, 'longest_first', [CLS, 104, 328, 634, 636, 311, 598, SEP, 66, 589, 449, 32, 97, 341, 465, SEP], '0000000011111111'],
    [12, 'longest_first', [CLS, 104, 328, 634, 636, SEP, 66, 589, 449, 32, 97, SEP], '000000111111'],
    [9, 'longest_first', [CLS, 104, 328, 634, SEP, 66, 589, 449, SEP], '000001111'],
    [16, 'only_second', [CLS, 104, 328, 634, 636, 311, 598, 283, 276, 589, SEP, 66, 589, 449, 32, SEP], '0000000000011111'],
  ] as Array<[number, Truncation, number[], string]>)('truncates to maxLength %i with %s', (maxLength, truncation, ids, typeIds) => {
    expect(pair(make({ maxLength, truncation }), query, doc)).toEqual({ ids, typeIds });
  });

  it("refuses with only_second where the query's 9 tokens leave the document none", () => {
    for (const maxLength of [9, 12]) {
      const tok = make({ maxLength, truncation: 'only_second' });
      expect(() => tok.encodePairs(query, [doc])).toThrow(TruncationError);
      expect(() => tok.encodePairs(query, [doc])).toThrow(
        `truncation 'only_second': the query of 9 tokens leaves no room for the document at maxLength ${maxLength} (3 special tokens): use truncation 'longest_first' or a larger maxLength`,
      );
    }
  });

  it('gives the same ids on every call, cached or not, from any tokenizer built from the file', () => {
    const docs = [doc, 'café 中文', doc, ''];
    const a = make({ maxLength: 32 });
    const first = a.encodePairs(query, docs);
    expect(a.encodePairs(query, docs)).toEqual(first); // second call: from the cache
    expect(make({ maxLength: 32, tokenCache: false }).encodePairs(query, docs)).toEqual(first);
    expect(PairTokenizer.fromObjects(byteLevelBpeTokenizer().tokenizerJson, files.tokenizerConfig, null, { maxLength: 32 }).encodePairs(query, docs)).toEqual(first);
  });
});

// ------------------------------------------------------------------------------------------------
// The long-text cut: tokenizing a prefix gives what tokenizing the whole text and truncating gives
// ------------------------------------------------------------------------------------------------


// Words whose byte-level pieces depend on the space before them, non-ASCII of every width, the special tokens
// ([MASK] strips the whitespace before it), and the characters where JS and Rust whitespace differ.
const POOL = [
  'the', 'The', 'capital', 'people', 'of', 'Berlin', 'café', 'naïve', 'Ångström', 'résumé', 'straße', 'ΟΔΟΣ', 'Москва',
  '中文', '日本語', '大学', '한국어', '🙂', '👍🏽', '👨\u200d👩\u200d👧', 'e\u0301', '[MASK]', '[SEP]', '[CLS]', "don't", "it's",
  '3,520,031', '891.82', '...', '(really)', 'x'.repeat(60), '\ufeff', '\u0085', '\u200b',
];
const SEPARATORS = [' ', ' ', ' ', ' ', ' ', '  ', '\n', '\n\n', '\t', ', ', '. ', '\u00a0', '\u3000', ' \ufeff', ''];

function randomText(next: () => number, chars: number): string {
  let s = '';
  while (s.length < chars) s += POOL[Math.floor(next() * POOL.length)]! + SEPARATORS[Math.floor(next() * SEPARATORS.length)]!;
  return s;
}

/** The same tokenizer with the prefix cut ruled out (an added token holding a space): the whole text is tokenized. */
function wholeText(opts: PairTokenizerOptions): PairTokenizer {
  const tj = files.tokenizerJson as Json & { added_tokens: object[] };
  const extra = { id: files.vocabSize, content: '\u0002 \u0002', single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  const noCut = { ...tj, added_tokens: [...tj.added_tokens, extra] };
  expect(prefixCutAllowed(noCut)).toBe(false);
  return PairTokenizer.fromObjects(noCut, files.tokenizerConfig, null, opts);
}

describe('long documents: the prefix cut gives the ids of the whole text, truncated', () => {
  const next = rng(20250101);
  const docs = [50, 400, 3000, 20_000, 120_000].map((chars) => randomText(next, chars));
  docs.push(
    `${'the capital '.repeat(4000)}end`, // every cut between two words that merge with the space before them
    `中文 ${'日本語 한국어 👍🏽 '.repeat(3000)}`, // cuts next to CJK, Hangul and emoji
    `${'café '.repeat(3000)}${'naïve'.repeat(5000)} x y`, // one very long word at the end
  );
  const queries = ['what is the capital', randomText(next, 300)];

  it.each([8, 16, 64, 512, 2048, 8192].flatMap((m) => (['longest_first', 'only_second'] as Truncation[]).map((t) => [m, t] as const)))(
    'maxLength %i, %s',
    (maxLength, truncation) => {
      const cut = make({ maxLength, truncation });
      const whole = wholeText({ maxLength, truncation });
      const encode = vi.spyOn(Tokenizer.prototype, 'encode');
      for (const query of queries) {
        for (const d of docs) {
          let expected: unknown;
          try {
            expected = whole.encodePairs(query, [d]);
          } catch (error) {
            expected = error;
          }
          encode.mockClear();
          let got: unknown;
          try {
            got = cut.encodePairs(query, [d]);
          } catch (error) {
            got = error;
          }
          expect(got, `query ${JSON.stringify(query.slice(0, 20))}, document of ${d.length} characters`).toEqual(expected);
          if (d.length > 100_000 && maxLength <= 2048) {
            // The cut ran: the 120 000-character document was never tokenized whole.
            expect(Math.max(...encode.mock.calls.map((c) => (c[0] as string).length))).toBeLessThan(d.length / 2);
          }
        }
      }
    },
  );
});
