// Parity with HF tokenizers (Rust): test/fixtures/tokenizer-golden.json holds what Rust's
// Tokenizer.encode(query, doc) gives for every (query, document) of test/fixtures/tokenizer-texts.json, per
// tokenizer, post-processor variant, max length and truncation strategy. Made on a machine with Python and
// tokenizers 0.23 (the GPU machine, where the shared models sit at .cache/shared-models) by
//   node tools/generate-test-models.mjs test/.models     # the tiny models and the tiny-bpe tokenizer folder
//   python3 tools/make_tokenizer_golden.py test/fixtures/tokenizer-golden.json \
//     .cache/shared-models/bert-base-uncased-tokenizer test/.models/tiny-bert test/.models/tiny-xlmr test/.models/tiny-bpe
// The tiny tokenizers are rebuilt here from lib/tiny-models (their sha256 must match); the BERT one is read
// from ../shared/models, and its cases skip with a printed reason where that folder is absent. A generated
// tokenizer the golden file has no cases for yet (made before it existed) is skipped with a printed reason.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tinyTokenizer } from '../../lib/tiny-models/generate.js';
import { byteLevelBpeTokenizer, type TokenizerFiles } from '../../lib/tiny-models/tokenizers.js';
import { PairTokenizer, type Truncation } from '../../lib/tokenize/pair-tokenizer.js';
import { REPO_ROOT, SHARED_BERT_TOKENIZER } from '../helpers/models.js';

interface GoldenCase {
  tokenizer: string;
  tokenizer_json_sha256: string;
  variant: string;
  post_processor: object | null;
  max_length: number;
  strategy: Truncation;
  ids: Array<number[] | null>;
  type_ids: Array<string | null>;
  errors: Record<string, string>;
}
interface SweepVariant {
  tokenizer_json: Record<string, unknown>;
  /** strategy -> max_length -> "k1,k2 ..." (or E), n1-major over n1, n2 < sweep_n. */
  results: Record<Truncation, Record<string, string>>;
}
interface Golden {
  tokenizers_version: string;
  texts_sha256: string;
  queries: number;
  documents: number;
  sweep_n: number;
  truncation_sweep: Record<string, SweepVariant>;
  cases: GoldenCase[];
}

const GOLDEN_PATH = join(REPO_ROOT, 'test/fixtures/tokenizer-golden.json');
const TEXTS_PATH = join(REPO_ROOT, 'test/fixtures/tokenizer-texts.json');

const golden: Golden | null = existsSync(GOLDEN_PATH) ? (JSON.parse(readFileSync(GOLDEN_PATH, 'utf8')) as Golden) : null;
if (golden === null) {
  console.warn(`tokenizer golden parity skipped: ${GOLDEN_PATH} is absent (make it with tools/make_tokenizer_golden.py, see this file's header)`);
}

/** The texts exactly as the generator builds them. */
function loadTexts(): { sha256: string; queries: string[]; docs: string[] } {
  const raw = readFileSync(TEXTS_PATH);
  const t = JSON.parse(raw.toString('utf8')) as { queries: string[]; documents: string[]; long_documents: Array<{ text: string; times: number }> };
  return {
    sha256: createHash('sha256').update(raw).digest('hex'),
    queries: t.queries,
    docs: [...t.documents, ...t.long_documents.map((d) => d.text.repeat(d.times))],
  };
}

interface Source {
  raw: string;
  tokenizerConfig: object;
}

/** The generated tokenizers, by the folder name tools/generate-test-models.mjs writes them under. */
const GENERATED: Record<string, () => TokenizerFiles> = {
  'tiny-bert': () => tinyTokenizer('bert'),
  'tiny-xlmr': () => tinyTokenizer('xlm-roberta'),
  'tiny-bpe': byteLevelBpeTokenizer,
};

/** Where a golden tokenizer's files come from, or why it is not here. */
function tokenizerSource(name: string): Source | string {
  const generate = GENERATED[name];
  if (generate !== undefined) {
    const t = generate();
    return { raw: JSON.stringify(t.tokenizerJson), tokenizerConfig: t.tokenizerConfig };
  }
  const dirs = name === 'bert-base-uncased-tokenizer' ? [SHARED_BERT_TOKENIZER] : [join(REPO_ROOT, 'test/.models', name)];
  for (const dir of dirs) {
    if (!existsSync(join(dir, 'tokenizer.json'))) continue;
    const config = join(dir, 'tokenizer_config.json');
    return {
      raw: readFileSync(join(dir, 'tokenizer.json'), 'utf8'),
      tokenizerConfig: existsSync(config) ? (JSON.parse(readFileSync(config, 'utf8')) as object) : {},
    };
  }
  return `tokenizer ${name} not found (looked in ${dirs.join(', ')})`;
}

describe.skipIf(golden === null)('tokenizer parity with HF tokenizers (Rust)', () => {
  const texts = loadTexts();
  const sources = new Map<string, Source | string>();

  it('was made from the current texts fixture', () => {
    expect(golden!.texts_sha256, 'test/fixtures/tokenizer-texts.json changed: regenerate the golden file').toBe(texts.sha256);
    expect([golden!.queries, golden!.documents]).toEqual([texts.queries.length, texts.docs.length]);
  });

  // A one-token-per-word tokenizer, every (n1, n2) below sweep_n: the truncation rules on their own, early exit
  // included, through the whole PairTokenizer.
  for (const [variant, sweep] of Object.entries(golden?.truncation_sweep ?? {})) {
    for (const strategy of ['longest_first', 'only_second'] as const) {
      it(`truncation sweep: ${variant} template, ${strategy}`, () => {
        const n = golden!.sweep_n;
        let checked = 0;
        for (const [maxLength, row] of Object.entries(sweep.results[strategy])) {
          const tok = PairTokenizer.fromObjects(sweep.tokenizer_json, {}, null, { maxLength: Number(maxLength), truncation: strategy });
          const cells = row.split(' ');
          expect(cells.length).toBe(n * n);
          cells.forEach((cell, k) => {
            const [n1, n2] = [Math.floor(k / n), k % n];
            const query = Array<string>(n1).fill('a').join(' ');
            const doc = Array<string>(n2).fill('b').join(' ');
            const where = `max_length ${maxLength}, ${n1} query and ${n2} document tokens`;
            if (cell === 'E') {
              expect(() => tok.encodePairs(query, [doc]), where).toThrow(expect.objectContaining({ code: 'ERR_TRUNCATION' }));
            } else {
              const ids = Array.from(tok.encodePairs(query, [doc]).ids);
              expect(`${ids.filter((x) => x === 0).length},${ids.filter((x) => x === 1).length}`, where).toBe(cell);
            }
            checked++;
          });
        }
        expect(checked).toBeGreaterThan(0);
      });
    }
  }

  // Every generated tokenizer has its cases, or says why not.
  for (const name of Object.keys(GENERATED)) {
    if ((golden?.cases ?? []).some((c) => c.tokenizer === name)) continue;
    const why = `test/fixtures/tokenizer-golden.json has no cases for ${name} yet (regenerate it, see this file's header)`;
    console.warn(`skipping the ${name} parity cases: ${why}`);
    it.skip(`${name}: ${why}`, () => {});
  }

  for (const c of golden?.cases ?? []) {
    const title = `${c.tokenizer} ${c.variant} maxLength=${c.max_length} ${c.strategy}`;
    if (!sources.has(c.tokenizer)) sources.set(c.tokenizer, tokenizerSource(c.tokenizer));
    const source = sources.get(c.tokenizer)!;
    if (typeof source === 'string') {
      console.warn(`skipping ${title}: ${source}`);
      it.skip(title, () => {});
      continue;
    }
    it(title, () => {
      const sha = createHash('sha256').update(source.raw).digest('hex');
      expect(sha, `${c.tokenizer}/tokenizer.json changed since the golden file was made: regenerate it`).toBe(c.tokenizer_json_sha256);
      const tokenizerJson = JSON.parse(source.raw) as Record<string, unknown>;
      if (c.post_processor !== null) tokenizerJson.post_processor = c.post_processor;
      const tok = PairTokenizer.fromObjects(tokenizerJson, source.tokenizerConfig, null, { maxLength: c.max_length, truncation: c.strategy });
      const D = texts.docs.length;
      let checked = 0;
      texts.queries.forEach((query, qi) => {
        const row = Array.from({ length: D }, (_, di) => qi * D + di);
        const rowHasError = row.some((k) => c.ids[k] === null);
        // Where Rust raised for some document, encode one document at a time (an error fails the whole call).
        const batches = rowHasError ? row.map((k) => [k]) : [row];
        for (const batch of batches) {
          const docs = batch.map((k) => texts.docs[k % D]!);
          const where = `query ${qi} ${JSON.stringify(query.slice(0, 30))}, document ${batch[0]! % D}`;
          if (batch.length === 1 && c.ids[batch[0]!] === null) {
            expect(c.errors[String(batch[0])], where).toMatch(/too short/);
            expect(() => tok.encodePairs(query, docs), where).toThrow(expect.objectContaining({ code: 'ERR_TRUNCATION' }));
            checked++;
            continue;
          }
          const enc = tok.encodePairs(query, docs);
          batch.forEach((k, j) => {
            const from = enc.offsets[j]!;
            const to = enc.offsets[j + 1]!;
            const at = `${title}, query ${qi} ${JSON.stringify(query.slice(0, 30))}, document ${k % D} ${JSON.stringify(texts.docs[k % D]!.slice(0, 30))}`;
            expect(Array.from(enc.ids.subarray(from, to)), at).toEqual(c.ids[k]);
            expect(Array.from(enc.typeIds.subarray(from, to)).join(''), at).toBe(c.type_ids[k]);
            checked++;
          });
        }
      });
      expect(checked).toBe(c.ids.length);
    });
  }
});
