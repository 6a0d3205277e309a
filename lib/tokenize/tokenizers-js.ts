/**
 * The parts of tokenizers.js (@huggingface/tokenizers) this library uses, typed here: the package's own
 * declarations use extensionless relative imports, which TypeScript's NodeNext resolution cannot follow, so
 * through them every class would be `any` or missing.
 *
 * @internal
 */
import * as hf from '@huggingface/tokenizers';

export interface PreTokenizeOptions {
  section_index?: number;
}

export interface JsNormalizer {
  (text: string): string;
  normalize(text: string): string;
  config: unknown;
}

export interface JsPreTokenizer {
  (text: string | string[], options?: PreTokenizeOptions): string[];
  pre_tokenize(text: string | string[], options?: PreTokenizeOptions): string[];
  pre_tokenize_text(text: string, options?: PreTokenizeOptions): string[];
}

export interface JsSequenceNormalizer extends JsNormalizer {
  normalizers: Array<JsNormalizer | null>;
}

export interface JsSequencePreTokenizer extends JsPreTokenizer {
  tokenizers: Array<JsPreTokenizer | null>;
}

export interface JsModel {
  (words: string[]): string[];
  _call(words: string[]): string[];
  encode(words: string[]): string[];
  fuse_unk: boolean;
  tokens_to_ids: Map<string, number>;
  unk_token_id?: number;
}

export interface JsTokenizer {
  encode(text: string, options?: { add_special_tokens?: boolean }): { ids: number[] };
  normalizer: JsNormalizer | null;
  pre_tokenizer: JsPreTokenizer | null;
  model: JsModel | null;
}

interface Exports {
  Tokenizer: new (tokenizerJson: object, tokenizerConfig: object) => JsTokenizer;
  Normalizer: abstract new (config: object) => JsNormalizer;
  PreTokenizer: abstract new () => JsPreTokenizer;
}

const lib = hf as unknown as Exports;

/** tokenizers.js `Tokenizer`: `new Tokenizer(tokenizerJson, tokenizerConfig)`. */
export const Tokenizer = lib.Tokenizer;
/** Base class of tokenizers.js normalizers (instances are callable). */
export const NormalizerBase = lib.Normalizer;
/** Base class of tokenizers.js pre-tokenizers (instances are callable). */
export const PreTokenizerBase = lib.PreTokenizer;
