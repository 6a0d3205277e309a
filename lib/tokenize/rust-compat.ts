/**
 * Where tokenizers.js (0.2.x) computes something other than HF tokenizers (Rust) for the same tokenizer.json,
 * this file swaps in a re-implementation of the Rust component (the BPE and WordLevel models: rust-models.ts).
 * Each class names the Rust file it follows (paths under huggingface/tokenizers tokenizers/src/) and the
 * tokenizers.js behaviour it replaces.
 * Components that already agree are left as tokenizers.js built them. It also logs each encode's splits
 * (SplitLog), which Rust's truncation early exit needs (truncation.ts).
 *
 * Known differences left (none in test/fixtures/tokenizer-texts.json):
 *   - NFC/NFD/NFKC/NFKD use V8's Unicode data, Rust an older table: about 200 code points assigned in
 *     Unicode 12 and later (U+32FF, Vithkuqi, Tulu-Tigalari, ...) normalize differently.
 *   - Whitespace's \w: letters new in Unicode 16/17 are word characters for V8, not yet for Rust's regex crate.
 *   - Precompiled (SentencePiece charsmap) is tokenizers.js's NFKC-based approximation.
 *   - ByteLevel's \p{L} and \p{N}: V8's Unicode data against Oniguruma's (older) tables in Rust.
 *   - Added tokens: single_word is ignored, as tokenizers.js does.
 *   - BPE dropout (random in Rust) is not applied.
 *   - Split is tokenizers.js's, not checked against Rust here, except the Qwen2 / Llama 3 patterns (rust-split.ts).
 *
 * @internal
 */
import {
  NormalizerBase,
  PreTokenizerBase,
  type JsModel,
  type JsNormalizer,
  type JsPreTokenizer,
  type JsSequenceNormalizer,
  type JsSequencePreTokenizer,
  type JsTokenizer,
  type PreTokenizeOptions,
} from './tokenizers-js.js';
import { RustBpe, wordLevelEncoder } from './rust-models.js';
import { rustSplit } from './rust-split.js';
import { RUST_BERT_STRIPPED_MARKS, RUST_CLEAN_TEXT_REMOVED, RUST_COMBINING_MARKS, RUST_PUNCTUATION, inRanges } from './rust-unicode.js';

type Json = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Character classes, as Rust's char methods and the unicode_categories crate define them
// ---------------------------------------------------------------------------------------------

const NUMERIC = /\p{N}/u;

/**
 * Rust `char::is_whitespace` by code point: the Unicode White_Space property (JS `\s` adds U+FEFF and drops
 * U+0085), a list unchanged since Unicode 6.3. A table, not a regex, because it runs once per character.
 */
export function isWhitespaceCodePoint(cp: number): boolean {
  if (cp < 0x80) return cp === 0x20 || (cp >= 0x09 && cp <= 0x0d);
  return (
    cp === 0x85 || cp === 0xa0 || cp === 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 || cp === 0x2029 || cp === 0x202f || cp === 0x205f || cp === 0x3000
  );
}

export function isRustWhitespace(c: string): boolean {
  return isWhitespaceCodePoint(c.codePointAt(0)!);
}

/** Printable ASCII with tabs and line breaks: text the BERT normalizer only lowercases and respaces. */
const PLAIN_ASCII = /^[\t\n\r\x20-\x7e]*$/;

/**
 * `char::is_ascii_punctuation(c) || c.is_punctuation()` (unicode_categories). Its tables are older than V8's
 * `\p{P}` and disagree on about 90 code points, so the non-ASCII set is Rust's own, from rust-unicode.ts.
 */
export function isRustPunctuation(_c: string, cp: number): boolean {
  if (cp < 0x80) return (cp >= 0x21 && cp <= 0x2f) || (cp >= 0x3a && cp <= 0x40) || (cp >= 0x5b && cp <= 0x60) || (cp >= 0x7b && cp <= 0x7e);
  return inRanges(RUST_PUNCTUATION, cp);
}

/** normalizers/bert.rs `is_chinese_char`, by code point (tokenizers.js tests UTF-16 units and misses planes 2 and 3). */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * NormalizedString::lowercase: `char::to_lowercase` one character at a time. `String.prototype.toLowerCase`
 * agrees except for the one context-dependent rule it applies, final sigma (word-final Σ becomes ς; Rust
 * always gives σ), so every Σ is lowered first.
 */
export function rustLowercase(text: string): string {
  return text.replaceAll('Σ', 'σ').toLowerCase();
}

// ---------------------------------------------------------------------------------------------
// Normalizers
// ---------------------------------------------------------------------------------------------

/**
 * normalizers/bert.rs. tokenizers.js's version deletes \p{Cc}, \p{Cf}, \p{Co} and \p{Cs} by V8's tables (Rust's
 * Cf list is older: U+0890, U+08E2, U+13430.. survive there), misses CJK ideographs outside the BMP, and
 * lowercases with final sigma.
 */
class RustBertNormalizer extends NormalizerBase {
  override normalize(text: string): string {
    const c = this.config as Json;
    const cleanText = c.clean_text !== false;
    const chinese = c.handle_chinese_chars !== false;
    const lowercase = c.lowercase !== false;
    const stripAccents = typeof c.strip_accents === 'boolean' ? c.strip_accents : lowercase;
    // Fast path, exact: plain ASCII has no control characters to drop, no CJK, no accents and no sigma.
    if (PLAIN_ASCII.test(text)) {
      if (cleanText) text = text.replace(/[\t\n\r]/g, ' ');
      return lowercase ? text.toLowerCase() : text;
    }
    if (cleanText || chinese) {
      let out = '';
      for (const ch of text) {
        const cp = ch.codePointAt(0)!;
        if (cleanText) {
          if (ch === '\t' || ch === '\n' || ch === '\r') {
            out += ' ';
            continue;
          }
          if (inRanges(RUST_CLEAN_TEXT_REMOVED, cp)) continue;
          if (isRustWhitespace(ch)) {
            out += ' ';
            continue;
          }
        }
        out += chinese && isChineseChar(cp) ? ` ${ch} ` : ch;
      }
      text = out;
    }
    if (stripAccents) text = dropCodePoints(text.normalize('NFD'), RUST_BERT_STRIPPED_MARKS);
    if (lowercase) text = rustLowercase(text);
    return text;
  }
}

function dropCodePoints(text: string, ranges: readonly number[]): string {
  let out = '';
  for (const ch of text) if (!inRanges(ranges, ch.codePointAt(0)!)) out += ch;
  return out;
}

/** normalizers/strip.rs StripAccents: drops combining marks by Rust's (older) tables, not V8's \p{M}. */
class RustStripAccents extends NormalizerBase {
  override normalize(text: string): string {
    return dropCodePoints(text, RUST_COMBINING_MARKS);
  }
}

/** normalizers/utils.rs Lowercase (final sigma, as above). */
class RustLowercase extends NormalizerBase {
  override normalize(text: string): string {
    return rustLowercase(text);
  }
}

const LEADING_WS = /^\p{White_Space}+/u;
const TRAILING_WS = /\p{White_Space}+$/u;

/** normalizers/strip.rs Strip: trims `char::is_whitespace` (JS `trim` also trims U+FEFF and keeps U+0085). */
class RustStrip extends NormalizerBase {
  override normalize(text: string): string {
    const c = this.config as Json;
    if (c.strip_left) text = text.replace(LEADING_WS, '');
    if (c.strip_right) text = text.replace(TRAILING_WS, '');
    return text;
  }
}

/** normalizers/prepend.rs: prepends only to a non-empty string (tokenizers.js always does). */
class RustPrepend extends NormalizerBase {
  override normalize(text: string): string {
    return text.length === 0 ? text : String((this.config as Json).prepend ?? '') + text;
  }
}

function replaceNormalizer(config: unknown, built: JsNormalizer | null): JsNormalizer | null {
  if (built === null || typeof config !== 'object' || config === null) return built;
  const c = config as Json;
  switch (c.type) {
    case 'BertNormalizer':
      return new RustBertNormalizer(c);
    case 'Lowercase':
      return new RustLowercase(c);
    case 'Strip':
      return new RustStrip(c);
    case 'StripAccents':
      return new RustStripAccents(c);
    case 'Prepend':
      return new RustPrepend(c);
    case 'Sequence': {
      const children = Array.isArray(c.normalizers) ? (c.normalizers as unknown[]) : [];
      const seq = built as JsSequenceNormalizer;
      seq.normalizers = seq.normalizers.map((n, i) => replaceNormalizer(children[i], n));
      return seq;
    }
    default:
      return built;
  }
}

// ---------------------------------------------------------------------------------------------
// Pre-tokenizers
// ---------------------------------------------------------------------------------------------

export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

/**
 * NormalizedString::split with a char predicate (tokenizer/normalizer.rs, tokenizer/pattern.rs): every
 * matching character is one delimiter; `behavior` decides what happens to it. Empty pieces are dropped, as
 * PreTokenizedString::split drops them.
 */
export function splitByChar(text: string, isDelimiter: (ch: string, cp: number) => boolean, behavior: SplitBehavior): string[] {
  // Runs of (start, end, isMatch) covering the text: each delimiter alone, non-delimiters grouped.
  const runs: Array<[number, number, boolean]> = [];
  let last = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const n = cp > 0xffff ? 2 : 1;
    if (isDelimiter(text.slice(i, i + n), cp)) {
      if (last < i) runs.push([last, i, false]);
      runs.push([i, i + n, true]);
      last = i + n;
    }
    i += n;
  }
  if (last < text.length) runs.push([last, text.length, false]);

  let pieces: Array<[number, number, boolean]>; // [start, end, remove]
  switch (behavior) {
    case 'Removed':
      pieces = runs;
      break;
    case 'Isolated':
      pieces = runs.map(([s, e]) => [s, e, false]);
      break;
    case 'Contiguous':
    case 'MergedWithPrevious': {
      pieces = [];
      let previousMatch = false;
      for (const [s, e, isMatch] of runs) {
        const merge = behavior === 'Contiguous' ? isMatch === previousMatch : isMatch && !previousMatch;
        const lastPiece = pieces[pieces.length - 1];
        if (merge && lastPiece) lastPiece[1] = e;
        else pieces.push([s, e, false]);
        previousMatch = isMatch;
      }
      break;
    }
    case 'MergedWithNext': {
      pieces = [];
      let previousMatch = false;
      for (let k = runs.length - 1; k >= 0; k--) {
        const [s, e, isMatch] = runs[k]!;
        const lastPiece = pieces[pieces.length - 1];
        if (isMatch && !previousMatch && lastPiece) lastPiece[0] = s;
        else pieces.push([s, e, false]);
        previousMatch = isMatch;
      }
      pieces.reverse();
      break;
    }
  }
  const out: string[] = [];
  for (const [s, e, remove] of pieces) if (!remove && e > s) out.push(text.slice(s, e));
  return out;
}


/**
 * Whitespace removed, and (with `punctuation`) each punctuation character isolated, in one pass: what
 * splitByChar(text, isRustWhitespace, 'Removed') followed by splitByChar(word, isRustPunctuation, 'Isolated') gives,
 * without a string per character.
 */
export function splitWhitespacePunctuation(text: string, punctuation: boolean): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const n = cp > 0xffff ? 2 : 1;
    if (isWhitespaceCodePoint(cp)) {
      if (start >= 0) out.push(text.slice(start, i));
      start = -1;
    } else if (punctuation && isRustPunctuation('', cp)) {
      if (start >= 0) out.push(text.slice(start, i));
      start = -1;
      out.push(text.slice(i, i + n));
    } else if (start < 0) {
      start = i;
    }
    i += n;
  }
  if (start >= 0) out.push(text.slice(start));
  return out;
}

/** pre_tokenizers/bert.rs: split on whitespace (removed), then on punctuation (isolated). */
class RustBertPreTokenizer extends PreTokenizerBase {
  override pre_tokenize_text(text: string): string[] {
    return splitWhitespacePunctuation(text, true);
  }
}

/** pre_tokenizers/whitespace.rs WhitespaceSplit. */
class RustWhitespaceSplit extends PreTokenizerBase {
  override pre_tokenize_text(text: string): string[] {
    return splitWhitespacePunctuation(text, false);
  }
}

// The regex crate's Unicode \w and \s (tokenizers.js uses ASCII-only \w, so "café" became "caf", "é").
const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
const WHITESPACE_RE = new RegExp(`[${WORD}]+|[^${WORD}\\p{White_Space}]+`, 'gu');

/** pre_tokenizers/whitespace.rs Whitespace: `\w+|[^\w\s]+`. */
class RustWhitespace extends PreTokenizerBase {
  override pre_tokenize_text(text: string): string[] {
    return text.match(WHITESPACE_RE) ?? [];
  }
}

/** pre_tokenizers/punctuation.rs: each punctuation character is a delimiter, Isolated by default (tokenizers.js keeps runs together). */
class RustPunctuation extends PreTokenizerBase {
  constructor(private readonly behavior: SplitBehavior) {
    super();
  }
  override pre_tokenize_text(text: string): string[] {
    return splitByChar(text, isRustPunctuation, this.behavior);
  }
}

/** pre_tokenizers/digits.rs: `char::is_numeric` (all of \p{N}; tokenizers.js matches ASCII digits only). */
class RustDigits extends PreTokenizerBase {
  constructor(private readonly individual: boolean) {
    super();
  }
  override pre_tokenize_text(text: string): string[] {
    return splitByChar(text, (c) => NUMERIC.test(c), this.individual ? 'Isolated' : 'Contiguous');
  }
}

/**
 * pre_tokenizers/metaspace.rs: replace ' ' by the replacement, prepend it per `prepend_scheme`, then split
 * before each replacement (MergedWithNext) when `split` is true, its default. tokenizers.js never splits, so
 * a Unigram model saw the whole text as one word.
 */
class RustMetaspace extends PreTokenizerBase {
  private readonly replacement: string;
  private readonly scheme: 'always' | 'first' | 'never';
  private readonly split: boolean;
  constructor(config: Json) {
    super();
    this.replacement = typeof config.replacement === 'string' && config.replacement.length > 0 ? config.replacement : '▁';
    let scheme = config.prepend_scheme;
    if (scheme !== 'always' && scheme !== 'first' && scheme !== 'never') scheme = 'always';
    if (config.add_prefix_space === false) scheme = 'never';
    this.scheme = scheme as 'always' | 'first' | 'never';
    this.split = config.split !== false;
  }
  override pre_tokenize_text(text: string, options?: PreTokenizeOptions): string[] {
    let s = text.replaceAll(' ', this.replacement);
    const first = (options?.section_index ?? 0) === 0;
    if (!s.startsWith(this.replacement) && (this.scheme === 'always' || (this.scheme === 'first' && first))) {
      s = this.replacement + s;
    }
    if (!this.split) return s.length > 0 ? [s] : [];
    const r = this.replacement;
    return splitByChar(s, (c) => c === r, 'MergedWithNext');
  }
}

/**
 * GPT-2's byte-to-character table (pre_tokenizers/byte_level.rs `bytes_char`): printable Latin-1 bytes stand
 * for themselves, the others become U+0100 onward in byte order (' ' is 'Ġ').
 */
export const BYTE_CHARS: readonly string[] = (() => {
  const chars: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars.push(String.fromCharCode(printable ? b : next++));
  }
  return chars;
})();

/**
 * byte_level.rs's GPT-2 regex as Oniguruma (Ruby syntax) reads it in Rust: its Unicode `\s` is White_Space
 * (U+0009-U+000D, U+0085, Zs, Zl, Zp). tokenizers.js uses JS `\s`, which adds U+FEFF and leaves out U+0085,
 * so "a \uFEFFb" split as "a", " ", "\uFEFF", "b" there and as "a", " \uFEFF", "b" in Rust.
 */
const BYTE_LEVEL_RE =
  /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\p{White_Space}\p{L}\p{N}]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
// eslint-disable-next-line no-control-regex -- the test is for the whole ASCII range, NUL included
const ASCII_ONLY = /^[\x00-\x7f]*$/;

/**
 * pre_tokenizers/byte_level.rs: a space before a section that does not start with one (add_prefix_space),
 * the regex split (use_regex), then each piece's UTF-8 bytes as characters of BYTE_CHARS.
 */
class RustByteLevel extends PreTokenizerBase {
  private readonly addPrefixSpace: boolean;
  private readonly useRegex: boolean;
  private readonly encoder = new TextEncoder();
  constructor(config: Json) {
    super();
    this.addPrefixSpace = config.add_prefix_space === true;
    this.useRegex = config.use_regex !== false;
  }
  override pre_tokenize_text(text: string): string[] {
    if (text.length === 0) return []; // no split to prepend to
    if (this.addPrefixSpace && !text.startsWith(' ')) text = ` ${text}`;
    const pieces = this.useRegex ? (text.match(BYTE_LEVEL_RE) ?? []) : [text];
    return pieces.map((piece) => {
      let out = '';
      if (ASCII_ONLY.test(piece)) {
        for (let i = 0; i < piece.length; i++) out += BYTE_CHARS[piece.charCodeAt(i)]!;
      } else {
        for (const b of this.encoder.encode(piece)) out += BYTE_CHARS[b]!;
      }
      return out;
    });
  }
}

function behaviorOf(value: unknown): SplitBehavior {
  const all: SplitBehavior[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];
  return all.find((b) => b.toLowerCase() === String(value ?? 'Isolated').toLowerCase()) ?? 'Isolated';
}

function replacePreTokenizer(config: unknown, built: JsPreTokenizer | null): JsPreTokenizer | null {
  if (built === null || typeof config !== 'object' || config === null) return built;
  const c = config as Json;
  switch (c.type) {
    case 'BertPreTokenizer':
      return new RustBertPreTokenizer();
    case 'WhitespaceSplit':
      return new RustWhitespaceSplit();
    case 'Whitespace':
      return new RustWhitespace();
    case 'Punctuation':
      return new RustPunctuation(behaviorOf(c.behavior));
    case 'Digits':
      return new RustDigits(c.individual_digits === true);
    case 'Metaspace':
      return new RustMetaspace(c);
    case 'ByteLevel':
      return new RustByteLevel(c);
    case 'Split':
      return rustSplit(c) ?? built;
    case 'Sequence': {
      const children = Array.isArray(c.pretokenizers) ? (c.pretokenizers as unknown[]) : [];
      const seq = built as JsSequencePreTokenizer;
      seq.tokenizers = seq.tokenizers.map((p, i) => replacePreTokenizer(children[i], p));
      return seq;
    }
    default:
      return built;
  }
}

// ---------------------------------------------------------------------------------------------
// Model, and the splits of each encode
// ---------------------------------------------------------------------------------------------

/**
 * Token counts of the splits (pre-tokens and added tokens) of the texts encoded since the last take(), in
 * order: n >= 0 for a pre-token the model turned into n tokens, -1 for an added token (one token). Rust's
 * truncation early exit (truncation.ts) needs them.
 */
export class SplitLog {
  #counts: number[] = [];
  push(count: number): void {
    this.#counts.push(count);
  }
  take(): number[] {
    const counts = this.#counts;
    this.#counts = [];
    return counts;
  }
}

/** tokenizers.js's WordPiece or Unigram on one word, with fuse_unk and Unigram's byte_fallback as Rust applies them. */
function wordPieceOrUnigramEncoder(model: JsModel, modelJson: Json): (word: string) => string[] {
  const fuse = model.fuse_unk;
  const byteFallback = modelJson.type === 'Unigram' && modelJson.byte_fallback === true;
  const ids = model.tokens_to_ids;
  const unk = model.unk_token_id;
  const isUnk = (t: string): boolean => (ids.get(t) ?? unk) === unk;
  const encoder = new TextEncoder();
  return (word: string): string[] => {
    const pieces = model.encode([word]);
    let fused: string[] = pieces;
    if (fuse) {
      fused = [];
      let previousUnk = false;
      for (const p of pieces) {
        const pUnk = isUnk(p);
        if (pUnk && previousUnk) fused[fused.length - 1] += p;
        else fused.push(p);
        previousUnk = pUnk;
      }
    }
    if (!byteFallback) return fused;
    const out: string[] = [];
    for (const p of fused) {
      if (!ids.has(p)) {
        const bytes = Array.from(encoder.encode(p), (b) => `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
        if (bytes.every((b) => ids.has(b))) {
          out.push(...bytes);
          continue;
        }
      }
      out.push(p);
    }
    return out;
  };
}

/** Words whose pieces each tokenizer (main thread and every worker) remembers: ~2-4 MB at most. */
const WORD_MEMO_ENTRIES = 20_000;

/**
 * Runs the model one pre-token at a time, as Rust does (models get one split each), logging each count. So
 * `fuse_unk` joins unknown pieces inside a word only (tokenizers.js fused them across the words of a section),
 * and Unigram's byte_fallback (models/unigram/model.rs `tokenize`), which tokenizers.js ignores, is applied.
 * BPE and WordLevel words go to the Rust ports above instead of tokenizers.js's model.
 */
function patchModel(tokenizer: JsTokenizer, modelJson: Json, log: SplitLog): void {
  const model = tokenizer.model;
  if (model === null) return;
  let encodeWord: (word: string) => string[];
  if (modelJson.type === 'BPE') {
    const bpe = new RustBpe(modelJson);
    encodeWord = (word) => bpe.tokenize(word);
  } else if (modelJson.type === 'WordLevel') {
    encodeWord = wordLevelEncoder(modelJson);
  } else {
    encodeWord = wordPieceOrUnigramEncoder(model, modelJson);
  }
  // A word's pieces depend on the word alone: remembered, since real text repeats its words (Zipf) and the
  // model's per-word search (WordPiece's greedy longest match builds a string per attempt) is the largest cost
  // of an encode. Bounded: emptied when full.
  const memo = new Map<string, string[]>();
  const piecesOf = (word: string): string[] => {
    let pieces = memo.get(word);
    if (pieces === undefined) {
      pieces = encodeWord(word);
      if (memo.size >= WORD_MEMO_ENTRIES) memo.clear();
      memo.set(word, pieces);
    }
    return pieces;
  };
  model._call = (words: string[]): string[] => {
    const out: string[] = [];
    for (const word of words) {
      if (word.length === 0) continue; // Rust drops empty splits
      const pieces = piecesOf(word);
      log.push(pieces.length);
      for (const p of pieces) out.push(p);
    }
    return out;
  };
}

/**
 * Logs the added tokens a text yields. tokenizers.js's encode_text asks `added_tokens_map.has(section)` once
 * per section and emits the section as an added token exactly when that is true (@huggingface/tokenizers
 * 0.2.x, src/core/Tokenizer.ts); PairTokenizer checks on every encode that the log adds up to the ids.
 */
function logAddedTokens(tokenizer: JsTokenizer, log: SplitLog): void {
  const map = (tokenizer as unknown as { added_tokens_map?: unknown }).added_tokens_map;
  if (!(map instanceof Map)) throw new Error('tokenizers.js Tokenizer has no added_tokens_map');
  const has = map.has.bind(map);
  map.has = (key: unknown): boolean => {
    const found = has(key);
    if (found) log.push(-1);
    return found;
  };
}

interface JsAddedToken {
  content: string;
  lstrip: boolean;
  rstrip: boolean;
}

interface JsSplitter {
  split(text: string): string[];
}

/**
 * lstrip / rstrip of added tokens (tokenizer/added_vocabulary.rs `find_matches`): the whitespace next to the
 * token, by `char::is_whitespace`, goes with it, but never into a neighbouring added token. tokenizers.js
 * trims the neighbouring sections with JS trimEnd/trimStart, which also eat U+FEFF and leave U+0085, so
 * "a \uFEFF[MASK]" lost its " \uFEFF" there. Here its flags are turned off and its section splitters do
 * the trimming with Rust's whitespace instead.
 */
function stripAroundAddedTokens(tokenizer: JsTokenizer): void {
  const t = tokenizer as unknown as { added_tokens_map?: unknown; splitter_unnormalized?: JsSplitter; splitter_normalized?: JsSplitter };
  const map = t.added_tokens_map;
  if (!(map instanceof Map)) throw new Error('tokenizers.js Tokenizer has no added_tokens_map');
  const strip = new Map<string, { lstrip: boolean; rstrip: boolean }>();
  const added = new Set<string>();
  for (const [content, token] of map as Map<string, JsAddedToken>) {
    added.add(content);
    if (token.lstrip || token.rstrip) strip.set(content, { lstrip: token.lstrip, rstrip: token.rstrip });
  }
  if (strip.size === 0) return;
  for (const token of map.values() as Iterable<JsAddedToken>) {
    token.lstrip = false;
    token.rstrip = false;
  }
  for (const splitter of [t.splitter_unnormalized, t.splitter_normalized]) {
    if (typeof splitter?.split !== 'function') throw new Error('tokenizers.js Tokenizer has no section splitters');
    const split = splitter.split.bind(splitter);
    splitter.split = (text: string): string[] => {
      const sections = split(text);
      for (let i = 0; i < sections.length; i++) {
        const flags = strip.get(sections[i]!);
        if (flags === undefined) continue;
        if (flags.lstrip && i > 0 && !added.has(sections[i - 1]!)) sections[i - 1] = sections[i - 1]!.replace(TRAILING_WS, '');
        if (flags.rstrip && i + 1 < sections.length && !added.has(sections[i + 1]!)) sections[i + 1] = sections[i + 1]!.replace(LEADING_WS, '');
      }
      return sections;
    };
  }
}

/** The model's own token -> id map of a tokenizer.json model (Unigram: a list of [piece, score], id = index). */
export function modelVocab(modelJson: Json): Map<string, number> {
  const vocab = modelJson.vocab;
  if (Array.isArray(vocab)) {
    const out = new Map<string, number>();
    vocab.forEach((entry: unknown, id) => {
      if (Array.isArray(entry) && typeof entry[0] === 'string' && !out.has(entry[0])) out.set(entry[0], id);
    });
    return out;
  }
  const out = new Map<string, number>();
  if (typeof vocab === 'object' && vocab !== null) {
    for (const [token, id] of Object.entries(vocab)) if (typeof id === 'number') out.set(token, id);
  }
  return out;
}

/** Each added token's id as HF tokenizers assigns it (see rustAddedTokenIds), by content. */
export function addedTokenIds(tokenizerJson: Json, vocab: Map<string, number>): Map<string, number> {
  const ids = new Map<string, number>();
  let next = vocab.size;
  for (const entry of Array.isArray(tokenizerJson.added_tokens) ? (tokenizerJson.added_tokens as unknown[]) : []) {
    const content = (entry as { content?: unknown } | null)?.content;
    if (typeof content !== 'string' || content.length === 0 || ids.has(content)) continue;
    ids.set(content, vocab.get(content) ?? next++);
  }
  return ids;
}

/**
 * The ids HF tokenizers gives added tokens (tokenizer/serialization.rs, then added_vocabulary.rs `add_tokens`):
 * in added_tokens order, a content already added keeps its id, one the model has takes the model's id, and any
 * other the next free id from the model's vocabulary size on. The ids written in added_tokens are only checked
 * (Rust warns where they differ); tokenizers.js used them. They agree for files that Rust itself wrote.
 */
function rustAddedTokenIds(tokenizer: JsTokenizer, tokenizerJson: Json): void {
  const t = tokenizer as unknown as { added_tokens?: unknown };
  const model = tokenizer.model;
  if (!Array.isArray(t.added_tokens) || model === null) return;
  const ids = addedTokenIds(tokenizerJson, modelVocab((tokenizerJson.model ?? {}) as Json));
  for (const token of t.added_tokens as Array<{ content: string; id: number }>) {
    const id = ids.get(token.content);
    if (id === undefined || id === token.id) continue;
    token.id = id;
    model.tokens_to_ids.set(token.content, id);
  }
}

/**
 * Swaps the components of `tokenizer` (built by tokenizers.js from `tokenizerJson`) for their Rust-faithful
 * versions and returns the log its encodes write their splits to.
 */
export function applyRustCompat(tokenizer: JsTokenizer, tokenizerJson: Json): SplitLog {
  const log = new SplitLog();
  tokenizer.normalizer = replaceNormalizer(tokenizerJson.normalizer, tokenizer.normalizer);
  tokenizer.pre_tokenizer = replacePreTokenizer(tokenizerJson.pre_tokenizer, tokenizer.pre_tokenizer);
  patchModel(tokenizer, (tokenizerJson.model ?? {}) as Json, log);
  stripAroundAddedTokens(tokenizer);
  rustAddedTokenIds(tokenizer, tokenizerJson);
  logAddedTokens(tokenizer, log);
  return log;
}
