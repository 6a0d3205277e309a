/**
 * The Split pre-tokenizer of the GPT-4-style regexes that Qwen2/Qwen3 and Llama 3 tokenizers use, as HF
 * tokenizers (Rust) runs them: pre_tokenizers/split.rs over Oniguruma (Ruby syntax, UTF-8).
 *
 * tokenizers.js translates the pattern itself, and agrees except in one place: it reads `(?i:'s|'t|...)` as ASCII
 * case folding (`'[sS]`), while Oniguruma folds by Unicode's case folding, where U+017F LATIN SMALL LETTER LONG S
 * folds to 's' (the only code point that folds to one of the pattern's letters s, t, r, e, v, m, l, d). So
 * "it'ſx" splits as "it", "'ſ", "x" in Rust and as "it", "'ſx" in tokenizers.js. Oniguruma's Unicode `\s` is the
 * White_Space property (U+0085 in, U+FEFF out), as in rust-compat.ts's ByteLevel regex.
 *
 * These patterns are also "local at a space" (long-text.ts, prompt-template.ts): no match contains a
 * non-whitespace character followed by ' ', and none looks behind, so the matches before such a pair do not
 * depend on what follows it:
 *   - `'s|'t|...` end in a letter; `[^\r\n\p{L}\p{N}]?\p{L}+` is one optional non-letter and then letters only;
 *   - `\p{N}` (`\p{N}{1,3}`) digits only; ` ?[^\s\p{L}\p{N}]+[\r\n]*` a run of non-space symbols, then CR/LF only;
 *   - the three whitespace alternatives start with whitespace; `(?!\S)` looks ahead only.
 *
 * @internal
 */
import { PreTokenizerBase, type JsPreTokenizer } from './tokenizers-js.js';

type Json = Record<string, unknown>;

const QWEN2_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const LLAMA3_PATTERN =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const CONTRACTIONS = "'[sS\\u017F]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]";
const REST = (digits: string) =>
  `[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|${digits}| ?[^\\p{White_Space}\\p{L}\\p{N}]+[\\r\\n]*|\\p{White_Space}*[\\r\\n]+|` +
  '\\p{White_Space}+(?!\\P{White_Space})|\\p{White_Space}+';

/** tokenizer.json pattern -> the same regex for V8. */
const KNOWN: ReadonlyMap<string, RegExp> = new Map([
  [QWEN2_PATTERN, new RegExp(`${CONTRACTIONS}|${REST('\\p{N}')}`, 'gu')],
  [LLAMA3_PATTERN, new RegExp(`${CONTRACTIONS}|${REST('\\p{N}{1,3}')}`, 'gu')],
]);

/** The regex of a Split pre-tokenizer config this file implements (a known pattern, Isolated, not inverted), or undefined. */
function knownSplit(config: Json): RegExp | undefined {
  const pattern = config.pattern;
  const regex = typeof pattern === 'object' && pattern !== null ? (pattern as Json).Regex : undefined;
  const behavior = String(config.behavior ?? 'Isolated').toLowerCase();
  if (typeof regex !== 'string' || behavior !== 'isolated' || config.invert === true) return undefined;
  return KNOWN.get(regex);
}

/** Whether a Split config is one of the known patterns above: local at a single space (see the file comment). */
export function isLocalSplit(config: Json): boolean {
  return knownSplit(config) !== undefined;
}

/** split.rs with the Isolated behavior: every match is a piece, and so is every gap between matches. */
class RustKnownSplit extends PreTokenizerBase {
  constructor(private readonly regex: RegExp) {
    super();
  }
  override pre_tokenize_text(text: string): string[] {
    const out: string[] = [];
    let at = 0;
    for (const m of text.matchAll(this.regex)) {
      if (m.index > at) out.push(text.slice(at, m.index));
      if (m[0].length > 0) out.push(m[0]);
      at = m.index + m[0].length;
    }
    if (at < text.length) out.push(text.slice(at));
    return out;
  }
}

/** A Rust-faithful replacement for tokenizers.js's Split where the pattern is a known one, else undefined. */
export function rustSplit(config: Json): JsPreTokenizer | undefined {
  const regex = knownSplit(config);
  return regex === undefined ? undefined : new RustKnownSplit(regex);
}
