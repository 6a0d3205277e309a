/**
 * Long documents: tokenize a prefix instead of 100 KB of text to keep a few hundred tokens.
 *
 * tokenizers 0.23 itself stops tokenizing a document at the split where its token count reaches maxLength
 * (truncation.ts, step 1), and the result depends on nothing after that point. So a prefix P of the document
 * T = P + S does as well as T if (a) P's splits are T's first splits with the same tokens, and (b) the stop
 * point lies inside P. PairTokenizer checks (b) on P's own splits, doubling P until it holds (first try: 8
 * characters per token of maxLength); (a) holds when P is cut at a single space between two visible
 * characters (P ends with a letter, digit, punctuation or symbol; S is ' ' and another such character; neither
 * may be one that a normalizer deletes, turns into a mark or pads with spaces, like CJK ideographs under
 * BertNormalizer) and every stage of the tokenizer is "local at whitespace":
 *   - added tokens: none contains whitespace, so no added-token match spans the cut, and the sections before
 *     the cut are the same for P and T (lstrip/rstrip only eat whitespace, which P does not end with).
 *   - normalizer: each allowed one maps normalize(P + S) to normalize(P) + normalize(S) with normalize(S) still
 *     starting with ' ': BertNormalizer, Lowercase and StripAccents work one character at a time (NFD's
 *     reordering and NFC/NFKC's composition never cross a space, a starter that composes with nothing), Strip
 *     only touches the ends (P ends with a non-space, and P's start is T's), Prepend only the start, and a
 *     Replace of a string without whitespace by another cannot match across or at the space.
 *   - pre-tokenizer: the first stage splits at the space with the pieces before it the same for P and T
 *     (BertPreTokenizer, Whitespace, WhitespaceSplit drop whitespace; Metaspace with split puts a boundary
 *     before each '▁'; ByteLevel's regex never carries a letter, digit or symbol run over a space, and with one
 *     space between two non-spaces its whitespace runs split alike; so do the Qwen2 / Llama 3 Split regexes,
 *     rust-split.ts), and the later stages of a Sequence (Punctuation, Digits, ByteLevel and the same) work
 *     piece by piece. Byte-level BPE: a word's pieces depend on the
 *     space before it ('Ġword' vs 'word'), never on what follows; the space at the cut opens S's first
 *     pre-token (' ?\p{L}+' and the like take it), so P's last pre-token, without it, is T's.
 *   - model: every model tokenizes one pre-token at a time.
 * Anything else is tokenized whole. (A pre-tokenizer Sequence that does not start with a whitespace splitter is
 * treated as not local, though some are, to keep the argument one line per stage.)
 *
 * @internal
 */

import { isChineseChar } from './rust-compat.js';
import { isLocalSplit } from './rust-split.js';
import { RUST_BERT_STRIPPED_MARKS, RUST_CLEAN_TEXT_REMOVED, RUST_COMBINING_MARKS, inRanges } from './rust-unicode.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const HAS_WHITESPACE = /[\s\p{White_Space}]/u;

function localNormalizer(n: unknown): boolean {
  if (n === null || n === undefined) return true;
  if (!isObject(n)) return false;
  switch (n.type) {
    case 'BertNormalizer':
    case 'Lowercase':
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
    case 'StripAccents':
    case 'Strip':
    case 'Prepend':
      return true;
    case 'Replace': {
      // Content must not be empty or whitespace either: P's normalized text must still end in a non-space.
      const p = n.pattern;
      const ok = (s: unknown): boolean => typeof s === 'string' && s.length > 0 && !HAS_WHITESPACE.test(s);
      return isObject(p) && ok(p.String) && ok(n.content);
    }
    case 'Sequence':
      return Array.isArray(n.normalizers) && n.normalizers.every(localNormalizer);
    default:
      return false;
  }
}

/** Pre-tokenizers that split at a space such that the pieces before it do not depend on what follows. */
function splitsAtSpace(p: Json): boolean {
  switch (p.type) {
    case 'BertPreTokenizer':
    case 'Whitespace':
    case 'WhitespaceSplit':
      return true;
    case 'Metaspace':
      return p.split !== false;
    case 'ByteLevel':
      return p.use_regex !== false;
    case 'Split':
      return isLocalSplit(p);
    default:
      return false;
  }
}

/** Pre-tokenizers that work piece by piece on what the first stage produced (ByteLevel without its regex only maps bytes). */
function piecewise(p: unknown): boolean {
  return isObject(p) && (splitsAtSpace(p) || p.type === 'Punctuation' || p.type === 'Digits' || p.type === 'ByteLevel');
}

function localPreTokenizer(p: unknown): boolean {
  if (!isObject(p)) return false;
  if (p.type !== 'Sequence') return splitsAtSpace(p);
  const stages = Array.isArray(p.pretokenizers) ? p.pretokenizers : [];
  const first: unknown = stages[0];
  return isObject(first) && splitsAtSpace(first) && stages.every(piecewise);
}

/** Whether this tokenizer.json lets a long document be tokenized by prefix (see the file comment). */
export function prefixCutAllowed(tokenizerJson: Json): boolean {
  const added = Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [];
  const addedOk = added.every((t: unknown) => isObject(t) && typeof t.content === 'string' && !HAS_WHITESPACE.test(t.content));
  return addedOk && localNormalizer(tokenizerJson.normalizer) && localPreTokenizer(tokenizerJson.pre_tokenizer);
}

const LETTER_DIGIT_PUNCT_SYMBOL = /[\p{L}\p{N}\p{P}\p{S}]/u;
const STARTS_WITH_MARK = /^\p{M}/u;

/**
 * Whether `c` may stand next to the cut: a letter, digit, punctuation or symbol of the BMP (a surrogate half is
 * not) that no allowed normalizer deletes, turns into a mark (U+FFFD; halfwidth U+FF9E/U+FF9F under NFKC) or
 * surrounds with spaces (CJK under BertNormalizer). Then normalize(P) ends in a non-space and normalize(S) is
 * one space and a non-space, so even ByteLevel's whitespace runs (`\s+(?!\S)`) split the same way.
 */
function visible(c: string | undefined): boolean {
  if (c === undefined) return false;
  const cp = c.charCodeAt(0);
  return (
    LETTER_DIGIT_PUNCT_SYMBOL.test(c) &&
    !isChineseChar(cp) &&
    !STARTS_WITH_MARK.test(c.normalize('NFKD')) &&
    !inRanges(RUST_CLEAN_TEXT_REMOVED, cp) &&
    !inRanges(RUST_BERT_STRIPPED_MARKS, cp) &&
    !inRanges(RUST_COMBINING_MARKS, cp)
  );
}

/** The first index i >= from with text[i] === ' ' between two {@link visible} characters, or -1. */
export function findCut(text: string, from: number): number {
  let i = Math.max(from, 1);
  for (;;) {
    i = text.indexOf(' ', i);
    if (i < 0) return -1;
    if (visible(text[i - 1]) && visible(text[i + 1])) return i;
    i++;
  }
}
