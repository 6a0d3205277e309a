/**
 * TEI's `truncate: false`: a pair longer than the model's maxLength is refused instead of cut. The Reranker does
 * not expose its tokenizer, so this loads the model folder's tokenizer once more, with a maxLength one above the
 * Reranker's: a pair it gives at that length was longer than maxLength. Only requests that ask for
 * `truncate: false` pay for it (a second tokenization, on the event loop, of each document as far as maxLength + 1
 * tokens reaches).
 * @internal
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PairTokenizer } from '../tokenize/pair-tokenizer.js';

/** Document tokens this tokenizer caches (documents are often sent again). */
const CACHE_BYTES = 16 * 1024 * 1024;

async function readJson(path: string, required: boolean): Promise<Record<string, unknown>> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    if (!required && (error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
}

export class LengthCheck {
  readonly maxLength: number;
  readonly #tokenizer: PairTokenizer;

  private constructor(tokenizer: PairTokenizer, maxLength: number) {
    this.#tokenizer = tokenizer;
    this.maxLength = maxLength;
  }

  /** The tokenizer of `modelDir`, for pairs of at most `maxLength` tokens (the Reranker's info.maxLength). */
  static async load(modelDir: string, maxLength: number): Promise<LengthCheck> {
    const tokenizerJson = await readJson(join(modelDir, 'tokenizer.json'), true);
    // The model's own limit would refuse maxLength + 1: left out, as the Reranker has applied it already.
    const { model_max_length: _, ...tokenizerConfig } = await readJson(join(modelDir, 'tokenizer_config.json'), false);
    const tokenizer = PairTokenizer.fromObjects(tokenizerJson, tokenizerConfig, null, {
      maxLength: maxLength + 1,
      truncation: 'longest_first',
      tokenCache: { maxBytes: CACHE_BYTES },
    });
    return new LengthCheck(tokenizer, maxLength);
  }

  /** The index of the first document whose pair with `query` is longer than maxLength, or -1. */
  firstOverLength(query: string, docs: readonly string[]): number {
    const { offsets } = this.#tokenizer.encodePairs(query, docs);
    for (let i = 0; i < docs.length; i++) {
      if (offsets[i + 1]! - offsets[i]! > this.maxLength) return i;
    }
    return -1;
  }
}
