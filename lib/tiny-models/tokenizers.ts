/**
 * Small tokenizers for the generated test models, in the tokenizer.json format of HF tokenizers:
 * a BERT-style WordPiece (BertNormalizer, BertPreTokenizer, `[CLS] A [SEP] B [SEP]`), an
 * XLM-R-style Unigram (NFKC, Metaspace, `<s> A </s></s> B </s>`) and a ModernBERT-style byte-level BPE
 * (NFC, ByteLevel, `[CLS] A [SEP] B [SEP]` with type ids 1 for B). Their vocabularies come from fixed word
 * lists (the BPE's merges are learned from them by a deterministic trainer), so the files are the same on
 * every run.
 */

import { BYTE_CHARS } from '../tokenize/rust-compat.js';

const WORDS = (
  'the of and to in is was for on that with as by at from it an be are this which or his her their they ' +
  'he she we you i not but have has had were been one all there what when who where how why can will would ' +
  'about into than more most some such no only other new first after also many may people time year years ' +
  'city capital country population state world river mountain water energy light sun moon earth planet ' +
  'science history music art book language learning machine model search query document rank reranker ' +
  'cross encoder neural network gpu fast speed test data result score best berlin paris london tokyo new york ' +
  'france germany japan china korea museum famous registered inhabitants area square kilometers million ' +
  'many live how what largest small large old young good great high low long short day night food health ' +
  'medicine doctor school student university computer software hardware memory program code number ' +
  'quick brown fox jumps over lazy dog hello world example question answer passage relevant information'
).split(/\s+/);

const SUFFIXES = ['s', 'es', 'ed', 'ing', 'er', 'ers', 'ly', 'ion', 'al', 'est', 'ment', 'ness'];
const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const DIGITS = '0123456789';
const PUNCT = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const CJK = '中文日本語国人大学东京北京';
const HANGUL = '한국어';

export interface TokenizerFiles {
  tokenizerJson: object;
  tokenizerConfig: object;
  vocabSize: number;
}

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

/**
 * A TemplateProcessing post-processor: `cls A sep B sep` (BERT, B with type id 1) or, with `doubleSep`,
 * `cls A sep sep B sep` (XLM-R, all type ids 0).
 */
function templateProcessing(cls: string, sep: string, idOf: (token: string) => number, doubleSep: boolean) {
  const token = (id: string, typeId: number) => ({ SpecialToken: { id, type_id: typeId } });
  const sequence = (id: string, typeId: number) => ({ Sequence: { id, type_id: typeId } });
  const b = doubleSep ? 0 : 1;
  const special = (name: string) => ({ id: name, ids: [idOf(name)], tokens: [name] });
  return {
    type: 'TemplateProcessing',
    single: [token(cls, 0), sequence('A', 0), token(sep, 0)],
    pair: [token(cls, 0), sequence('A', 0), token(sep, 0), ...(doubleSep ? [token(sep, 0)] : []), sequence('B', b), token(sep, b)],
    special_tokens: { [cls]: special(cls), [sep]: special(sep) },
  };
}

function unique(items: string[]): string[] {
  return [...new Set(items)];
}

export function wordPieceTokenizer(): TokenizerFiles {
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const pieces = unique([
    ...specials,
    ...LETTERS, ...DIGITS, ...PUNCT, ...CJK, ...HANGUL,
    ...[...LETTERS, ...DIGITS, ...HANGUL].map((c) => `##${c}`),
    ...SUFFIXES.map((s) => `##${s}`),
    ...WORDS,
  ]);
  const vocab: Record<string, number> = {};
  pieces.forEach((p, i) => (vocab[p] = i));
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s) => addedToken(vocab[s]!, s)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: templateProcessing('[CLS]', '[SEP]', (t) => vocab[t]!, false),
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
  const tokenizerConfig = {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 512,
    cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]',
    clean_up_tokenization_spaces: true,
  };
  return { tokenizerJson, tokenizerConfig, vocabSize: pieces.length };
}

export function unigramTokenizer(): TokenizerFiles {
  const specials = ['<s>', '<pad>', '</s>', '<unk>'];
  // Scores are log-probabilities: whole words beat their pieces, so common words stay one token.
  const scored: Array<[string, number]> = [
    ['▁', -3],
    ...WORDS.map((w): [string, number] => [`▁${w}`, -5 - w.length * 0.05]),
    ...WORDS.slice(0, 60).map((w): [string, number] => [`▁${w[0]!.toUpperCase()}${w.slice(1)}`, -6 - w.length * 0.05]),
    ...SUFFIXES.map((s): [string, number] => [s, -6.5]),
    ...[...LETTERS, ...LETTERS.toUpperCase(), ...DIGITS, ...PUNCT, ...CJK, ...HANGUL].map((c): [string, number] => [c, -9]),
    ...[...LETTERS, ...DIGITS].map((c): [string, number] => [`▁${c}`, -8]),
  ];
  const seen = new Set<string>(specials);
  const vocab: Array<[string, number]> = specials.map((s) => [s, 0]);
  for (const [piece, score] of scored) {
    if (seen.has(piece)) continue;
    seen.add(piece);
    vocab.push([piece, score]);
  }
  vocab.push(['<mask>', 0]);
  const id = (t: string) => vocab.findIndex(([p]) => p === t);
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [...specials, '<mask>'].map((s) => addedToken(id(s), s)),
    normalizer: { type: 'NFKC' },
    pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    post_processor: templateProcessing('<s>', '</s>', id, true),
    decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    model: { type: 'Unigram', unk_id: id('<unk>'), vocab, byte_fallback: false },
  };
  const tokenizerConfig = {
    tokenizer_class: 'XLMRobertaTokenizer',
    model_max_length: 512,
    bos_token: '<s>', eos_token: '</s>', sep_token: '</s>', cls_token: '<s>', unk_token: '<unk>', pad_token: '<pad>', mask_token: '<mask>',
    clean_up_tokenization_spaces: true,
  };
  return { tokenizerJson, tokenizerConfig, vocabSize: vocab.length };
}

/** Merges the byte-level BPE learns from its corpus: with 256 byte symbols and 5 special tokens, ~660 ids. */
const BPE_MERGES = 400;
/** Non-ASCII words of the BPE corpus, so some merges join the UTF-8 bytes of accented letters, CJK and Hangul. */
const BPE_NON_ASCII = ['café', 'naïve', 'résumé', 'über', 'straße', 'Ångström', '中文', '日本語', '大学', '东京', '北京', '한국어'];

/**
 * BPE training, deterministic: `count` times, the adjacent pair with the largest weighted count over the
 * corpus (ties: the smaller pair, first by its left then its right symbol, in UTF-16 order) is merged
 * everywhere, left to right. `corpus` holds words, already split into symbols, with their weights.
 */
function learnMerges(corpus: ReadonlyArray<[string[], number]>, count: number): Array<[string, string]> {
  const words = corpus.map(([symbols, weight]) => ({ symbols: [...symbols], weight }));
  const merges: Array<[string, string]> = [];
  // Symbols are byte-level characters, never U+0000, so `a \0 b` keys sort as (a, b).
  const SEP = '\u0000';
  while (merges.length < count) {
    const pairs = new Map<string, number>();
    for (const { symbols, weight } of words) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const key = symbols[i]! + SEP + symbols[i + 1]!;
        pairs.set(key, (pairs.get(key) ?? 0) + weight);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [key, n] of pairs) {
      if (n > bestCount || (n === bestCount && best !== undefined && key < best)) {
        best = key;
        bestCount = n;
      }
    }
    if (best === undefined) break;
    const [a, b] = best.split(SEP) as [string, string];
    merges.push([a, b]);
    for (const word of words) {
      const out: string[] = [];
      for (let i = 0; i < word.symbols.length; i++) {
        if (word.symbols[i] === a && word.symbols[i + 1] === b) {
          out.push(a + b);
          i++;
        } else {
          out.push(word.symbols[i]!);
        }
      }
      word.symbols = out;
    }
  }
  return merges;
}

/** The trainer's result, kept after the first call (~0.1 s); each call still returns fresh objects. */
let learnedMerges: Array<[string, string]> | undefined;

/**
 * The merges of {@link byteLevelBpeTokenizer}, learned from WORDS (each as a sentence-initial word, after a
 * space as 'Ġword', and both capitalized, with Zipf-like weights by position), some accented, CJK and Hangul
 * words, and runs of spaces and newlines.
 */
function bpeMerges(symbols: (text: string) => string[]): Array<[string, string]> {
  if (learnedMerges === undefined) {
    const capitalized = (w: string) => w[0]!.toUpperCase() + w.slice(1);
    const corpus: Array<[string[], number]> = [];
    unique(WORDS).forEach((w, rank) => {
      const weight = Math.ceil(600 / (rank + 3));
      corpus.push([symbols(` ${w}`), 3 * weight], [symbols(w), weight], [symbols(` ${capitalized(w)}`), weight], [symbols(capitalized(w)), weight]);
    });
    BPE_NON_ASCII.forEach((w) => corpus.push([symbols(` ${w}`), 6], [symbols(w), 6]));
    corpus.push([symbols('  '), 40], [symbols('    '), 20], [symbols('\n\n'), 20]);
    learnedMerges = learnMerges(corpus, BPE_MERGES);
  }
  return learnedMerges.map(([a, b]): [string, string] => [a, b]);
}

/**
 * A ModernBERT-style byte-level BPE (answerdotai/ModernBERT-base's layout, GPT-NeoX / OLMo family): NFC,
 * ByteLevel pre-tokenizer without prefix space, a BPE over the 256 byte symbols (ids 0-255, id = byte value)
 * and {@link BPE_MERGES} learned merges (bpeMerges), so ' the' is one token ('Ġthe') and 'café' or '中文'
 * a few. Special tokens follow the BPE vocabulary: [UNK] [CLS] [SEP] [PAD] [MASK] ([MASK] with lstrip, as
 * ModernBERT's). Template: `[CLS] A [SEP]`, pair `[CLS] A [SEP] B:1 [SEP]:1`; model_max_length 8192.
 */
export function byteLevelBpeTokenizer(): TokenizerFiles {
  const alphabet = BYTE_CHARS;  // byte -> the character byte-level BPE writes it as
  const encoder = new TextEncoder();
  const merges = bpeMerges((text) => Array.from(encoder.encode(text), (b) => alphabet[b]!));
  const vocab: Record<string, number> = {};
  let size = 0;
  for (const piece of [...alphabet, ...merges.map(([a, b]) => a + b)]) {
    if (!Object.hasOwn(vocab, piece)) vocab[piece] = size++;
  }
  const specials = ['[UNK]', '[CLS]', '[SEP]', '[PAD]', '[MASK]'];
  const id = (token: string) => size + specials.indexOf(token);
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: specials.map((s) => ({ ...addedToken(id(s), s), lstrip: s === '[MASK]' })),
    normalizer: { type: 'NFC' },
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: templateProcessing('[CLS]', '[SEP]', id, false),
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    model_max_length: 8192,
    cls_token: '[CLS]', sep_token: '[SEP]', pad_token: '[PAD]', unk_token: '[UNK]', mask_token: '[MASK]',
    clean_up_tokenization_spaces: true,
    model_input_names: ['input_ids', 'attention_mask'],
  };
  return { tokenizerJson, tokenizerConfig, vocabSize: size + specials.length };
}
