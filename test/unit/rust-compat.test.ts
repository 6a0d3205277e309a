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
