// Where tokenizers.js differs from HF tokenizers (Rust), lib/tokenize/rust-compat.ts puts Rust's behaviour
// back. Expected values follow the Rust sources named in rust-compat.ts; the per-character ones were read from
// tokenizers 0.23.2 itself (tools/make_rust_unicode_tables.py asks it about every code point).
import { describe, expect, it } from 'vitest';
import { PairTokenizer } from '../../lib/tokenize/pair-tokenizer.js';
import { applyRustCompat, splitByChar, type SplitBehavior } from '../../lib/tokenize/rust-compat.js';
import { Tokenizer, type JsTokenizer } from '../../lib/tokenize/tokenizers-js.js';

type Json = Record<string, unknown>;

function build(normalizer: Json | null, preTokenizer: Json | null, model?: Json): JsTokenizer {
  const tj = {
    model: model ?? { type: 'WordPiece', vocab: { '[UNK]': 0 }, unk_token: '[UNK]', continuing_subword_prefix: '##' },
    normalizer,
    pre_tokenizer: preTokenizer,
    post_processor: null,
    decoder: null,
    added_tokens: [],
  };
  const t = new Tokenizer(tj, {});
  applyRustCompat(t, tj);
  return t;
}

const normalize = (config: Json, text: string): string => build(config, null).normalizer!(text);
const preTokenize = (config: Json, text: string, sectionIndex = 0): string[] => build(null, config).pre_tokenizer!(text, { section_index: sectionIndex });

describe('BertNormalizer (normalizers/bert.rs)', () => {
  const uncased = { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true };
  it.each([
    ['lowercases one character at a time: no final sigma', 'ΟΔΟΣ ΣΟΦΙΑΣ', 'οδοσ σοφιασ'],
    ['pads CJK ideographs outside the BMP too', 'a𠀀b中c', 'a 𠀀 b 中 c'],
    ['keeps unassigned code points (is_other has no Cn)', 'a\u0378b', 'a\u0378b'],
    ['keeps format characters newer than its tables', 'a\u0890b', 'a\u0890b'],
    ['deletes the format characters it knows', 'a\u200bb\ufeffc\u00add', 'abcd'],
    ['deletes controls, U+0085 included, and U+FFFD', 'a\u0085b\u0000c\ufffdd', 'abcd'],
    ['turns tabs, newlines and Unicode spaces into spaces', 'a\tb\nc\u3000d\u00a0e', 'a b c d e'],
    ['strips accents by its own list of nonspacing marks', 'Crème a\u0301 x\u07fdy', 'creme a x\u07fdy'],
  ])('%s', (_name, text, expected) => {
    expect(normalize(uncased, text)).toBe(expected);
  });
  it('keeps case and accents when cased', () => {
    expect(normalize({ ...uncased, lowercase: false }, 'Crème ΟΔΟΣ')).toBe('Crème ΟΔΟΣ');
    expect(normalize({ ...uncased, lowercase: false, strip_accents: true }, 'Crème')).toBe('Creme');
  });
});

describe('other normalizers', () => {
  it('Lowercase has no final sigma', () => {
    expect(normalize({ type: 'Lowercase' }, 'ΣΑΣ')).toBe('σασ');
  });
  it("Strip trims char::is_whitespace (U+0085 yes, U+FEFF no)", () => {
    expect(normalize({ type: 'Strip', strip_left: true, strip_right: true }, '\ufeff ab \u0085')).toBe('\ufeff ab');
    expect(normalize({ type: 'Strip', strip_left: false, strip_right: true }, '  ab  ')).toBe('  ab');
  });
  it('StripAccents drops combining marks', () => {
    expect(normalize({ type: 'StripAccents' }, 'e\u0301a\u0308')).toBe('ea');
  });
  it('Prepend leaves an empty string empty', () => {
    const n = build({ type: 'Sequence', normalizers: [{ type: 'Replace', pattern: { String: 'x' }, content: '' }, { type: 'Prepend', prepend: '▁' }] }, null).normalizer!;
    expect(n('xx')).toBe('');
    expect(n('ab')).toBe('▁ab');
  });
});

describe('pre-tokenizers (pre_tokenizers/*.rs)', () => {
  it.each([
    ['BertPreTokenizer splits on Rust punctuation (U+166D is, U+061D is not)', { type: 'BertPreTokenizer' }, 'a\u166db a\u061db', ['a', '\u166d', 'b', 'a\u061db']],
    ['BertPreTokenizer splits on U+0085, not on U+FEFF', { type: 'BertPreTokenizer' }, 'a\u0085b\ufeffc', ['a', 'b\ufeffc']],
    ['Whitespace uses Unicode \\w', { type: 'Whitespace' }, 'café naïve, ok!', ['café', 'naïve', ',', 'ok', '!']],
    ['WhitespaceSplit uses char::is_whitespace', { type: 'WhitespaceSplit' }, 'a\u0085b\ufeffc d', ['a', 'b\ufeffc', 'd']],
    ['Punctuation isolates each character', { type: 'Punctuation' }, 'wait... what?!', ['wait', '.', '.', '.', ' what', '?', '!']],
    ['Digits groups \\p{N}, not just 0-9', { type: 'Digits', individual_digits: false }, 'a٣٤b12', ['a', '٣٤', 'b', '12']],
    ['Digits one by one', { type: 'Digits', individual_digits: true }, 'a٣٤b12', ['a', '٣', '٤', 'b', '1', '2']],
    ['Metaspace splits before each ▁', { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }, 'hello  world', ['▁hello', '▁', '▁world']],
    ['Metaspace does not prepend to a leading space', { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true }, ' a', ['▁a']],
    ['Metaspace without split', { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: false }, 'hello world', ['▁hello▁world']],
    ['Metaspace add_prefix_space false means never', { type: 'Metaspace', replacement: '▁', add_prefix_space: false }, 'a b', ['a', '▁b']],
    [
      'Sequence of them',
      { type: 'Sequence', pretokenizers: [{ type: 'WhitespaceSplit' }, { type: 'Punctuation', behavior: 'Removed' }] },
      'a,b c.',
      ['a', 'b', 'c'],
    ],
  ])('%s', (_name, config, text, expected) => {
    expect(preTokenize(config, text)).toEqual(expected);
  });
  it('Metaspace prepend_scheme first prepends to the first section only', () => {
    const config = { type: 'Metaspace', replacement: '▁', prepend_scheme: 'first', split: true };
    expect(preTokenize(config, 'a b', 0)).toEqual(['▁a', '▁b']);
    expect(preTokenize(config, 'a b', 1)).toEqual(['a', '▁b']);
  });
});

describe('splitByChar behaviours (NormalizedString::split)', () => {
  // The examples of tokenizer/normalizer.rs, splitting "the-final--countdown" on '-'.
  it.each([
    ['Removed', ['the', 'final', 'countdown']],
    ['Isolated', ['the', '-', 'final', '-', '-', 'countdown']],
    ['MergedWithPrevious', ['the-', 'final-', '-', 'countdown']],
    ['MergedWithNext', ['the', '-final', '-', '-countdown']],
    ['Contiguous', ['the', '-', 'final', '--', 'countdown']],
  ] as Array<[SplitBehavior, string[]]>)('%s', (behavior, expected) => {
    expect(splitByChar('the-final--countdown', (c) => c === '-', behavior)).toEqual(expected);
  });
  it('counts astral characters as one', () => {
    expect(splitByChar('a🙂b', (_c, cp) => cp === 0x1f642, 'Isolated')).toEqual(['a', '🙂', 'b']);
  });
});

describe('models', () => {
  const unigram = (extra: Array<[string, number]>, byteFallback = false): Json => ({
    type: 'Unigram',
    unk_id: 0,
    byte_fallback: byteFallback,
    vocab: [['<unk>', 0], ['x', -1], ['y', -1], ...extra],
  });
  it('fuses unknown pieces inside a word only (fuse_unk per pre-token)', () => {
    const t = build(null, { type: 'WhitespaceSplit' }, unigram([]));
    // x ☃ | ☃ y: tokenizers.js fused the two ☃ across words into one unknown token.
    expect(t.encode('x☃ ☃y', { add_special_tokens: false }).ids).toEqual([1, 0, 0, 2]);
    expect(t.encode('x☃☃y', { add_special_tokens: false }).ids).toEqual([1, 0, 2]);
  });
  it("applies Unigram's byte_fallback", () => {
    const t = build(null, { type: 'WhitespaceSplit' }, unigram([['<0xE2>', -5], ['<0x98>', -5], ['<0x83>', -5]], true));
    expect(t.encode('x☃', { add_special_tokens: false }).ids).toEqual([1, 3, 4, 5]);
    // A character whose bytes are not all in the vocabulary stays unknown.
    expect(t.encode('x€', { add_special_tokens: false }).ids).toEqual([1, 0]);
  });
});

// Expected values below were read from tokenizers 0.23.2 (Python) on the same inputs.
describe('ByteLevel (pre_tokenizers/byte_level.rs, Oniguruma regex)', () => {
  const byteLevel = (addPrefixSpace: boolean, useRegex = true) => ({ type: 'ByteLevel', add_prefix_space: addPrefixSpace, trim_offsets: true, use_regex: useRegex });
  it.each([
    // Rust's \s is White_Space: U+FEFF is not a space (it joins the punctuation-like run after ' '), U+0085 is.
    ['U+FEFF is no whitespace', 'a \ufeffb', ['a', 'Ġï»¿', 'b']],
    ['U+0085 is whitespace', 'para\u0085 nel', ['para', 'Âħ', 'Ġnel']],
    ['contractions, numbers and punctuation', "I'm here, it's 3.14!", ['I', "'m", 'Ġhere', ',', 'Ġit', "'s", 'Ġ3', '.', '14', '!']],
    ['a whitespace run leaves its last space to the next word', 'x  \ty', ['x', 'ĠĠ', 'ĉ', 'y']],
    ['non-ASCII becomes its UTF-8 bytes', 'café 中文 👍🏽', ['cafÃ©', 'Ġä¸Ńæĸĩ', 'ĠðŁĳįðŁı½']],
  ])('%s', (_name, text, expected) => {
    expect(preTokenize(byteLevel(false), text)).toEqual(expected);
  });
  it('add_prefix_space adds a space unless there is one; use_regex false keeps the section whole', () => {
    expect(preTokenize(byteLevel(true), 'hello world')).toEqual(['Ġhello', 'Ġworld']);
    expect(preTokenize(byteLevel(true), ' hi')).toEqual(['Ġhi']);
    expect(preTokenize(byteLevel(false, false), 'a b')).toEqual(['aĠb']);
  });
});

describe('BPE (models/bpe/model.rs merge_word, word.rs merge_all)', () => {
  const bpe = (vocab: Record<string, number>, merges: Array<[string, string]>, options: Json = {}): JsTokenizer =>
    build(null, { type: 'WhitespaceSplit' }, {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false, vocab, merges, ...options,
    });
  const ids = (t: JsTokenizer, text: string) => t.encode(text, { add_special_tokens: false }).ids;
  it('drops a character outside the vocabulary before merging (no unk): its neighbours merge', () => {
    // tokenizers.js merged first and dropped after: [0, 1].
    expect(ids(bpe({ a: 0, b: 1, ab: 2 }, [['a', 'b']]), 'axb')).toEqual([2]);
  });
  it('applies continuing_subword_prefix to every character but the first', () => {
    expect(ids(bpe({ a: 0, '##b': 1, ab: 2 }, [['a', '##b']], { continuing_subword_prefix: '##' }), 'ab')).toEqual([2]);
  });
  it('byte_fallback gives byte tokens per character, which merges can join', () => {
    expect(ids(bpe({ '<0xC3>': 0, '<0xA9>': 1, '<0xC3><0xA9>': 2 }, [['<0xC3>', '<0xA9>']], { byte_fallback: true }), 'é')).toEqual([2]);
  });
  it('keeps an unk pending across byte-fallback characters, as model.rs does', () => {
    expect(ids(bpe({ '<unk>': 0, a: 1, '<0x78>': 2 }, [], { byte_fallback: true, unk_token: '<unk>' }), 'zx')).toEqual([2, 0]);
  });
  it('fuses unknown characters with fuse_unk, one unk each without', () => {
    expect(ids(bpe({ '<unk>': 0, a: 1 }, [], { unk_token: '<unk>', fuse_unk: true }), 'azza')).toEqual([1, 0, 1]);
    expect(ids(bpe({ '<unk>': 0, a: 1 }, [], { unk_token: '<unk>', fuse_unk: false }), 'azza')).toEqual([1, 0, 0, 1]);
  });
  it('merges by rank, leftmost first on ties, and reads legacy "a b" merges', () => {
    const vocab = { a: 0, b: 1, ab: 2, ba: 3, aba: 4 };
    expect(ids(bpe(vocab, [['a', 'b'], ['b', 'a'], ['ab', 'a']]), 'aba')).toEqual([4]);
    expect(ids(bpe(vocab, [['b', 'a'], ['a', 'b'], ['ab', 'a']]), 'aba')).toEqual([0, 3]);
    const legacy = bpe(vocab, ['#version: 0.2', 'a b', 'ab a'] as unknown as Array<[string, string]>);
    expect(ids(legacy, 'abab')).toEqual([2, 2]);
    expect(ids(legacy, 'ababa')).toEqual([2, 4]);
  });
});

describe('WordLevel (models/wordlevel/mod.rs)', () => {
  it("gives unknown words the model's unk_token, not tokenizer_config's", () => {
    const t = build(null, { type: 'WhitespaceSplit' }, { type: 'WordLevel', vocab: { a: 0, '[U]': 1 }, unk_token: '[U]' });
    expect(t.encode('a zz', { add_special_tokens: false }).ids).toEqual([0, 1]);
  });
});

describe('added tokens: lstrip and rstrip (tokenizer/added_vocabulary.rs)', () => {
  // A WordLevel model over whole sections (the pre-tokenizer splits on a character absent here), so what
  // stripping leaves of a section shows in its id: a section not in the vocabulary is [U] (1).
  const added = (id: number, content: string, lstrip: boolean, rstrip: boolean) => ({ id, content, single_word: false, lstrip, rstrip, normalized: false, special: true });
  const tok = PairTokenizer.fromObjects(
    {
      model: { type: 'WordLevel', vocab: { a: 0, '[U]': 1, '\ufeff': 2, '[M]': 3, '[R]': 4 }, unk_token: '[U]' },
      normalizer: null,
      pre_tokenizer: { type: 'Split', pattern: { String: 'X' }, behavior: 'Removed', invert: false },
      post_processor: null,
      added_tokens: [added(3, '[M]', true, false), added(4, '[R]', false, true)],
    },
    {},
    null,
    { maxLength: 64 },
  );
  it.each([
    ['lstrip takes the spaces before', 'a [M]', [0, 3]],
    ['lstrip takes U+0085 (char::is_whitespace)', 'a \u0085[M]', [0, 3]],
    ['lstrip stops at U+FEFF, which JS trimEnd would eat', 'a \ufeff[M]', [1, 3]],
    ['rstrip takes the spaces after', '[R] \t a', [4, 0]],
    ['rstrip takes U+0085', '[R]\u0085a', [4, 0]],
    ['rstrip stops at U+FEFF', '[R]\ufeff a', [4, 1]],
  ])('%s', (_name, text, expected) => {
    expect(Array.from(tok.encodePairs(text, ['']).ids)).toEqual(expected);
  });
});

describe('added token ids (tokenizer/added_vocabulary.rs add_tokens)', () => {
  const added = (id: number, content: string, special = true) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: !special, special });
  const encode = (model: Json, addedTokens: object[], text: string) =>
    Array.from(PairTokenizer.fromObjects({ model, normalizer: null, pre_tokenizer: { type: 'WhitespaceSplit' }, post_processor: null, added_tokens: addedTokens }, {}, null, { maxLength: 32 }).encodePairs(text, ['']).ids);
  it("takes the model's id for a token it has, not the one written in added_tokens", () => {
    expect(encode({ type: 'BPE', vocab: { a: 0, b: 1, ab: 2 }, merges: [['a', 'b']] }, [added(9, 'ab'), added(3, 'b', false)], 'ab a b')).toEqual([2, 0, 1]);
  });
  it('numbers the others from the vocabulary size on, in added_tokens order', () => {
    const unigram = { type: 'Unigram', unk_id: 0, byte_fallback: false, vocab: [['<unk>', 0], ['a', -1], ['<x>', -2]] };
    expect(encode(unigram, [added(7, '<x>'), added(8, '<y>')], 'a<x> <y>a')).toEqual([1, 2, 3, 1]);
  });
});

describe('through PairTokenizer', () => {
  it('uses the Rust-faithful pieces when encoding pairs', () => {
    const vocab = Object.fromEntries(['[UNK]', '[CLS]', '[SEP]', 'οδοσ', 'οδος', 'caf', '##e'].map((w, i) => [w, i]));
    const tok = PairTokenizer.fromObjects(
      {
        model: { type: 'WordPiece', vocab, unk_token: '[UNK]', continuing_subword_prefix: '##' },
        normalizer: { type: 'BertNormalizer', lowercase: true },
        pre_tokenizer: { type: 'BertPreTokenizer' },
        post_processor: { type: 'BertProcessing', cls: ['[CLS]', 1], sep: ['[SEP]', 2] },
        added_tokens: [],
      },
      {},
      null,
      { maxLength: 16 },
    );
    const e = tok.encodePairs('ΟΔΟΣ', ['CAFÉ']);
    expect(Array.from(e.ids)).toEqual([1, 3, 2, 5, 6, 2]);
  });
});

describe('one-pass splitting (performance path)', () => {
  it('equals the two-step splitByChar on random text with every kind of whitespace and punctuation', async () => {
    const { splitByChar, splitWhitespacePunctuation, isRustWhitespace, isRustPunctuation, isWhitespaceCodePoint } = await import('../../lib/tokenize/rust-compat.js');
    const alphabet = ['a', 'Z', 'é', '中', '😀', ' ', '\t', '\n', '\u00a0', '\u3000', '\u2009', '\u0085', '\ufeff', '.', ',', '¿', '—', '[', '#', '1', '\u200b'];
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let t = 0; t < 500; t++) {
      const text = Array.from({ length: Math.floor(rand() * 40) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
      const twoStep = splitByChar(text, isRustWhitespace, 'Removed').flatMap((w: string) => splitByChar(w, isRustPunctuation, 'Isolated'));
      expect(splitWhitespacePunctuation(text, true)).toEqual(twoStep);
      expect(splitWhitespacePunctuation(text, false)).toEqual(splitByChar(text, isRustWhitespace, 'Removed'));
    }
    // The whitespace table is the White_Space property.
    for (let cp = 0; cp < 0x10000; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      expect(isWhitespaceCodePoint(cp)).toBe(/\p{White_Space}/u.test(String.fromCodePoint(cp)));
    }
  });
});
