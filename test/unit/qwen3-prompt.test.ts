/**
 * Qwen3-Reranker's prompt (lib/tokenize/prompt-template.ts) with the real Qwen3 tokenizer: every pair equals the
 * model card's prefix + middle[: maxLength - |prefix| - |suffix|] + suffix, each part tokenized whole (the
 * reference encoder of test/helpers/qwen3-tokenizer.ts), for hard and random texts, truncation inside the document,
 * inside the query part and exactly at their ends, through the cache, the worker path and the long-text prefix;
 * the split's proof conditions, the fallback where they fail, instructions, label tokens, maxLength, errors.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ModelLoadError, TruncationError } from '../../lib/errors.js';
import { wordPieceTokenizer } from '../../lib/tiny-models/tokenizers.js';
import { prefixCutAllowed } from '../../lib/tokenize/long-text.js';
import { PairTokenizer } from '../../lib/tokenize/pair-tokenizer.js';
import { labelTokenIds, llmRerankerOf, splitUnproven } from '../../lib/tokenize/prompt-template.js';
import { isLocalSplit, rustSplit } from '../../lib/tokenize/rust-split.js';
import { Tokenizer } from '../../lib/tokenize/tokenizers-js.js';
import { REPO_ROOT } from '../helpers/models.js';
import { CARD, cardPair, qwen3ModelConfig, qwen3TokenizerFiles, wholeEncoder } from '../helpers/qwen3-tokenizer.js';

type Json = Record<string, unknown>;

const { tokenizerJson, tokenizerConfig } = qwen3TokenizerFiles();
const encode = wholeEncoder();
const P = encode(CARD.prefix).length;
const S = encode(CARD.suffix).length;
/** Middle tokens of the small tokenizer's pairs. */
const ROOM = 64;

function texts(): { queries: string[]; docs: string[]; instructions: string[] } {
  const read = (f: string) => JSON.parse(readFileSync(join(REPO_ROOT, 'test/fixtures', f), 'utf8')) as {
    queries: string[]; documents: string[]; instructions?: Array<string | null>; long_documents: Array<{ text: string; times: number }>;
  };
  const a = read('tokenizer-texts.json');
  const b = read('qwen3-texts.json');
  return {
    queries: [...a.queries, ...b.queries],
    docs: [...a.documents, ...b.documents, ...b.long_documents.map((d) => d.text.repeat(Math.min(d.times, 300)))],
    instructions: [CARD.defaultInstruction, ...(b.instructions ?? []).filter((i): i is string => i !== null)],
  };
}
const { queries: QUERIES, docs: DOCS, instructions: INSTRUCTIONS } = texts();

const build = (opts: Json = {}, modelConfig: Json = qwen3ModelConfig(), json: Json = tokenizerJson, config: Json = tokenizerConfig) =>
  PairTokenizer.fromObjects(json, config, modelConfig, opts);

function pairsOf(e: { ids: Int32Array; offsets: Int32Array }): number[][] {
  return Array.from({ length: e.offsets.length - 1 }, (_, i) => Array.from(e.ids.subarray(e.offsets[i]!, e.offsets[i + 1]!)));
}

/** Pieces that stress every stage around the cut: added tokens, ':' and spaces, marks, joiners, CR/LF, scripts. */
const PIECES = [
  ' ', '  ', '\n', '\r\n', '\t', '\u00a0', '\u3000', '\u0085', '\ufeff', '\u200d', '\u0301', '\u0308\u0323', 'e\u0301', ':', ': ', '::',
  "'s", "'ſ", "'S", "'re", 'ſ', 'K', 'Å', '\u1100\u1161', '<|im_end|>', '<|im_start|>', '<think>', '</think>', '<|endoftext|>',
  '<Document>:', '<Query>: ', '中文', '日本語', '한국어', '👍🏽', '👨‍👩‍👧', '🏳️‍🌈', '1️⃣', 'مرحبا', 'नमस्ते', '١٢٣', '12345', '3.14',
  'yes', 'no', 'word', 'Word', '--', '...', '"', '>', '<',
];
const adversarial = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((a) => a.join('')) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 12 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);

describe('the split: tokens(A + " " + D) = tokens(A) + tokens(" " + D)', () => {
  const queryPart = (instruction: string, query: string) => `<Instruct>: ${instruction}\n<Query>: ${query}\n<Document>:`;

  it('holds for adversarial instructions, queries and documents', () => {
    fc.assert(
      fc.property(adversarial, adversarial, adversarial, (instruction, query, doc) => {
        const a = queryPart(instruction, query);
        expect(encode(`${a} ${doc}`)).toEqual([...encode(a), ...encode(` ${doc}`)]);
      }),
      { numRuns: 600, seed: 14 },
    );
  });

  it('holds for the fixture texts', () => {
    for (const query of QUERIES.slice(0, 6)) {
      const a = queryPart(CARD.defaultInstruction, query);
      for (const doc of DOCS) expect(encode(`${a} ${doc}`)).toEqual([...encode(a), ...encode(` ${doc}`)]);
    }
  });

  it('is proven for the Qwen3 tokenizer.json', () => {
    expect(splitUnproven(tokenizerJson)).toBeNull();
  });

  it.each([
    ['an added token holding ": "', { added_tokens: [...(tokenizerJson.added_tokens as Json[]), { id: 151669, content: '>: <', special: false }] }, 'the added token ">: <" holds ": "'],
    ['an added token that strips the space after it', { added_tokens: [{ id: 151669, content: 'x:', rstrip: true }] }, 'strips the whitespace after it'],
    ['a Strip normalizer', { normalizer: { type: 'Strip', strip_left: true, strip_right: false } }, 'its normalizer'],
    ['a Prepend normalizer', { normalizer: { type: 'Sequence', normalizers: [{ type: 'NFC' }, { type: 'Prepend', prepend: '▁' }] } }, 'its normalizer'],
    ['an unknown Split regex', { pre_tokenizer: { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Isolated', invert: false } }, 'its pre-tokenizer'],
    ['ByteLevel without its regex alone', { pre_tokenizer: { type: 'ByteLevel', use_regex: false } }, 'its pre-tokenizer'],
  ])('is not proven with %s', (_name, change, reason) => {
    expect(splitUnproven({ ...tokenizerJson, ...change })).toContain(reason);
  });

  it('is proven for GPT-2 style ByteLevel and the Llama 3 regex', () => {
    expect(splitUnproven({ ...tokenizerJson, normalizer: null, pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, use_regex: true } })).toBeNull();
    const llama3 = (tokenizerJson.pre_tokenizer as { pretokenizers: Json[] }).pretokenizers[0]!;
    const regex = ((llama3.pattern as Json).Regex as string).replace('|\\p{N}|', '|\\p{N}{1,3}|');
    expect(splitUnproven({ ...tokenizerJson, pre_tokenizer: { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false } })).toBeNull();
  });
});

describe('rust-split.ts: the Qwen2 / Llama 3 Split as Oniguruma runs it', () => {
  const split = (tokenizerJson.pre_tokenizer as { pretokenizers: Json[] }).pretokenizers[0]!;

  it("folds 's with U+017F LONG S, as Unicode case folding does (tokenizers.js folds ASCII only)", () => {
    const pre = rustSplit(split)!;
    expect(pre.pre_tokenize_text("it'ſx IT'S they'RE")).toEqual(['it', "'ſ", 'x', ' IT', "'S", ' they', "'RE"]);
    expect(pre.pre_tokenize_text('<Document>: hello\n\nworld  x')).toEqual(['<Document', '>:', ' hello', '\n\n', 'world', ' ', ' x']);
  });

  it('is local at a space, so long documents are tokenized by prefix', () => {
    expect(isLocalSplit(split)).toBe(true);
    expect(isLocalSplit({ ...split, behavior: 'Removed' })).toBe(false);
    expect(isLocalSplit({ ...split, invert: true })).toBe(false);
    expect(prefixCutAllowed(tokenizerJson)).toBe(true);
  });
});

describe('PairTokenizer for Qwen3-Reranker', () => {
  let tok: PairTokenizer;
  let small: PairTokenizer;
  beforeAll(() => {
    tok = build();
    small = build({ maxLength: P + S + ROOM });
  });

  it('defaults maxLength to the card\'s 8192 and the instruction to the card\'s', () => {
    expect(tok.maxLength).toBe(8192);
    expect(tok.instruction).toBe(CARD.defaultInstruction);
    expect(small.maxLength).toBe(P + S + ROOM);
  });

  it('gives the card\'s pairs for the fixture texts', () => {
    for (const [tokenizer, maxLength] of [[tok, 8192], [small, P + S + ROOM]] as const) {
      for (const query of QUERIES) {
        const got = pairsOf(tokenizer.encodePairs(query, DOCS));
        expect(got).toEqual(DOCS.map((d) => cardPair(encode, maxLength, CARD.defaultInstruction, query, d)));
      }
    }
  });

  it('gives the card\'s pairs for every instruction, given per call', () => {
    for (const instruction of INSTRUCTIONS) {
      for (const query of [QUERIES[0]!, QUERIES.at(-1)!]) {
        const got = pairsOf(small.encodePairs(query, DOCS, { instruction }));
        expect(got).toEqual(DOCS.map((d) => cardPair(encode, P + S + ROOM, instruction, query, d)));
      }
    }
  });

  it('gives the card\'s pairs for random texts', () => {
    fc.assert(
      fc.property(adversarial, adversarial, fc.array(adversarial, { minLength: 1, maxLength: 4 }), (instruction, query, docs) => {
        for (const [tokenizer, maxLength] of [[tok, 8192], [small, P + S + ROOM]] as const) {
          const got = pairsOf(tokenizer.encodePairs(query, docs, { instruction }));
          expect(got).toEqual(docs.map((d) => cardPair(encode, maxLength, instruction, query, d)));
        }
      }),
      { numRuns: 150, seed: 3 },
    );
  });

  it('cuts exactly at the end of the query part and of the document', () => {
    const base = 'how many people live in Berlin?';
    const queryLength = (q: string) => encode(`<Instruct>: ${CARD.defaultInstruction}\n<Query>: ${q}\n<Document>:`).length;
    const padded = (target: number) => {
      let k = 0;
      while (queryLength(base + ' x'.repeat(k)) < target) k++;
      expect(queryLength(base + ' x'.repeat(k))).toBe(target);
      return base + ' x'.repeat(k);
    };
    for (const q of [ROOM - 3, ROOM - 2, ROOM - 1, ROOM, ROOM + 1, ROOM + 5].map(padded)) {
      const nq = queryLength(q);
      // Documents of 1 .. ROOM + 2 tokens (' word' is one token each): the cut lands before, at and after their end.
      const docs = Array.from({ length: ROOM + 2 }, (_, j) => Array.from({ length: j + 1 }, () => 'word').join(' '));
      const got = pairsOf(small.encodePairs(q, docs));
      got.forEach((pair, j) => {
        expect(pair).toEqual(cardPair(encode, P + S + ROOM, CARD.defaultInstruction, q, docs[j]!));
        expect(pair.length).toBe(P + S + Math.min(ROOM, nq + j + 1));
      });
    }
  });

  it('the smallest maxLength keeps one middle token; one less is refused, naming the prompt', () => {
    const one = build({ maxLength: P + S + 1 });
    expect(pairsOf(one.encodePairs('q', ['d']))).toEqual([cardPair(encode, P + S + 1, CARD.defaultInstruction, 'q', 'd')]);
    expect(() => build({ maxLength: P + S })).toThrow(
      new InvalidArgumentError(`maxLength ${P + S} leaves no room for text: the Qwen3-Reranker prompt's prefix and suffix take ${P + S} tokens`),
    );
  });

  it('takes document runs from the cache, across queries and instructions, with the same pairs', () => {
    const cached = build({ maxLength: P + S + ROOM });
    const uncached = build({ maxLength: P + S + ROOM, tokenCache: false });
    const docs = DOCS.slice(0, 20);
    const first = pairsOf(cached.encodePairs('first query', docs));
    expect(cached.cacheStats).toMatchObject({ hits: 0, misses: 20, entries: 20 });
    expect(pairsOf(cached.encodePairs('first query', docs))).toEqual(first);
    expect(cached.cacheStats).toMatchObject({ hits: 20, misses: 20 });
    const other = pairsOf(cached.encodePairs('another, longer query about it', docs, { instruction: 'Find it' }));
    expect(cached.cacheStats).toMatchObject({ hits: 40, misses: 20 });
    expect(other).toEqual(pairsOf(uncached.encodePairs('another, longer query about it', docs, { instruction: 'Find it' })));
    expect(other).toEqual(docs.map((d) => cardPair(encode, P + S + ROOM, 'Find it', 'another, longer query about it', d)));
    // A document twice in one call is tokenized once.
    const before = uncached.cacheStats;
    uncached.encodePairs('q', ['same', 'same', 'other']);
    expect(uncached.cacheStats).toMatchObject({ hits: before.hits + 1, misses: before.misses + 2, entries: 0 });
  });

  it('the worker path (runs tokenized apart, then assembled) gives the same pairs', () => {
    const source = tok.workerSource;
    const worker = PairTokenizer.fromObjects(source.tokenizerJson, source.tokenizerConfig, source.modelConfig, {
      maxLength: source.maxLength, truncation: source.truncation, tokenCache: false,
    });
    const { tokens, offsets } = worker.tokenizeDocuments(DOCS);
    const runs = DOCS.map((_, i) => tokens.slice(offsets[i]!, offsets[i + 1]!));
    const q = tok.prepareQuery('where is it', 'Find it');
    expect(pairsOf(tok.assemble(q, runs, undefined, DOCS))).toEqual(pairsOf(tok.encodePairs('where is it', DOCS, { instruction: 'Find it' })));
  });

  it('tokenizes a long document only as far as truncation keeps it', () => {
    const doc = 'Rerankers read documents, 42 of them — 日本語 too! '.repeat(20_000);
    const lengths: number[] = [];
    const original = Tokenizer.prototype.encode;
    Tokenizer.prototype.encode = function (this: unknown, text: string, options?: { add_special_tokens?: boolean }) {
      lengths.push(text.length);
      return original.call(this, text, options);
    };
    let pair: number[];
    try {
      pair = pairsOf(tok.encodePairs('what do rerankers read?', [doc]))[0]!;
    } finally {
      Tokenizer.prototype.encode = original;
    }
    expect(Math.max(...lengths)).toBeLessThan(doc.length / 4);
    expect(pair).toEqual(cardPair(encode, 8192, CARD.defaultInstruction, 'what do rerankers read?', doc));
    expect(pair.length).toBe(8192);
  });

  it('cuts each document run to maxTokensPerDoc first', () => {
    const q = small.prepareQuery('capital of france');
    const docs = ['Paris is the capital and largest city of France, on the Seine.', 'short'];
    const runs = docs.map((d) => Int32Array.from(encode(` ${d}`)));
    const got = pairsOf(small.assemble(q, runs, 3, docs));
    const qpart = encode(`<Instruct>: ${CARD.defaultInstruction}\n<Query>: capital of france\n<Document>:`);
    docs.forEach((d, i) => {
      const middle = [...qpart, ...encode(` ${d}`).slice(0, 3)].slice(0, ROOM);
      expect(got[i]).toEqual([...encode(CARD.prefix), ...middle, ...encode(CARD.suffix)]);
    });
  });

  it("only_second keeps the query part whole and refuses one that leaves no room", () => {
    const onlySecond = build({ maxLength: P + S + ROOM, truncation: 'only_second' });
    expect(pairsOf(onlySecond.encodePairs('short query', DOCS))).toEqual(pairsOf(small.encodePairs('short query', DOCS)));
    const long = 'word '.repeat(ROOM);
    expect(() => onlySecond.encodePairs(long, ['doc'])).toThrow(TruncationError);
    expect(() => onlySecond.encodePairs(long, ['doc'])).toThrow(/the query part of \d+ tokens \(the instruction and the query\) leaves no room for the document/);
  });

  it('takes a load-time instruction as the default of its calls', () => {
    const custom = build({ maxLength: P + S + ROOM, instruction: 'Given a question, retrieve code' });
    expect(custom.instruction).toBe('Given a question, retrieve code');
    expect(pairsOf(custom.encodePairs('sort a list', ['sorted(x)']))).toEqual([cardPair(encode, P + S + ROOM, 'Given a question, retrieve code', 'sort a list', 'sorted(x)')]);
    expect(pairsOf(custom.encodePairs('sort a list', ['sorted(x)'], { instruction: '' }))).toEqual([cardPair(encode, P + S + ROOM, '', 'sort a list', 'sorted(x)')]);
  });

  it('refuses an instruction that is not a string, naming the option', () => {
    expect(() => tok.encodePairs('q', ['d'], { instruction: 5 as unknown as string })).toThrow(
      new InvalidArgumentError('Expected a string for options.instruction but received 5'),
    );
    expect(() => build({ instruction: null })).toThrow(new InvalidArgumentError('Expected a string for instruction but received null'));
  });
});

describe('maxLength of a Qwen3 reranker', () => {
  it('is capped by config.json max_position_embeddings and tokenizer_config.json model_max_length', () => {
    expect(build({}, qwen3ModelConfig('Qwen3ForCausalLM', 4096)).maxLength).toBe(4096);
    expect(build({}, qwen3ModelConfig(), tokenizerJson, { ...tokenizerConfig, model_max_length: 2048 }).maxLength).toBe(2048);
    expect(build({ modelPositions: { limit: 1000, why: 'test' } }).maxLength).toBe(1000);
  });

  it('may be set above the card\'s 8192 up to the model\'s limit, and no further', () => {
    expect(build({ maxLength: 10_000 }, qwen3ModelConfig('Qwen3ForSequenceClassification')).maxLength).toBe(10_000);
    expect(() => build({ maxLength: 50_000 })).toThrow(
      new InvalidArgumentError("maxLength 50000 is above this model's limit of 40960 tokens (config.json max_position_embeddings 40960)"),
    );
  });
});

describe('a cross-encoder refuses an instruction', () => {
  const bert = wordPieceTokenizer();
  const config = { architectures: ['BertForSequenceClassification'], max_position_embeddings: 512 };
  const message = (name: string) =>
    `${name} is for LLM rerankers (Qwen3-Reranker), whose prompt holds an instruction: BertForSequenceClassification is a cross-encoder, ` +
    `which takes none; leave ${name} out (received the string "x")`;

  it('at load and per call, naming the option', () => {
    expect(() => PairTokenizer.fromObjects(bert.tokenizerJson, bert.tokenizerConfig, config, { instruction: 'x' })).toThrow(new InvalidArgumentError(message('instruction')));
    const tok = PairTokenizer.fromObjects(bert.tokenizerJson, bert.tokenizerConfig, config);
    expect(tok.instruction).toBeUndefined();
    expect(() => tok.encodePairs('q', ['d'], { instruction: 'x' })).toThrow(new InvalidArgumentError(message('options.instruction')));
  });
});

describe('where the split is unproven, every middle is tokenized whole', () => {
  // The Qwen3 tokenizer with a Split regex outside rust-split.ts's list (here the same pieces, spelled otherwise).
  const preTokenizer = tokenizerJson.pre_tokenizer as { pretokenizers: Json[] };
  const split = preTokenizer.pretokenizers[0]!;
  const regex = ((split.pattern as Json).Regex as string).replace('|\\p{N}|', '|[\\p{N}]|');
  const changed: Json = { ...tokenizerJson, pre_tokenizer: { ...preTokenizer, pretokenizers: [{ ...split, pattern: { Regex: regex } }, preTokenizer.pretokenizers[1]] } };

  it('gives the card\'s pairs', () => {
    expect(splitUnproven(changed)).toBe('its pre-tokenizer is not one known to split before the space');
    const tok = build({ maxLength: P + S + ROOM }, qwen3ModelConfig(), changed);
    const reference = wholeEncoder(changed);
    const docs = DOCS.slice(0, 25);
    for (const query of QUERIES.slice(0, 4)) {
      expect(pairsOf(tok.encodePairs(query, docs))).toEqual(docs.map((d) => cardPair(reference, P + S + ROOM, CARD.defaultInstruction, query, d)));
    }
    // The documents' runs hold nothing: assemble needs their texts.
    const { tokens } = tok.tokenizeDocuments(docs);
    expect(tokens.length).toBe(0);
    expect(() => tok.assemble(tok.prepareQuery('q'), [new Int32Array(0)])).toThrow(/the texts are needed/);
  });
});

describe('label tokens', () => {
  it('are "no" and "yes" for Qwen3ForCausalLM, none for Qwen3ForSequenceClassification', () => {
    const causal = llmRerankerOf(qwen3ModelConfig('Qwen3ForCausalLM'))!;
    expect(causal.labelTokens).toEqual(['no', 'yes']);
    const vocab = (tokenizerJson.model as { vocab: Record<string, number> }).vocab;
    expect(labelTokenIds(tokenizerJson, causal, 'tokenizer.json')).toEqual([vocab.no, vocab.yes]);
    expect(labelTokenIds(tokenizerJson, causal, 'tokenizer.json')).toEqual([2152, 9693]);
    expect(llmRerankerOf(qwen3ModelConfig('Qwen3ForSequenceClassification'))!.labelTokens).toBeNull();
    expect(llmRerankerOf({ architectures: ['BertForSequenceClassification'] })).toBeUndefined();
    expect(llmRerankerOf(null)).toBeUndefined();
  });

  it('are found among the added tokens too', () => {
    const causal = llmRerankerOf(qwen3ModelConfig())!;
    const withAdded = { ...tokenizerJson, model: { ...(tokenizerJson.model as Json), vocab: { no: 0 } }, added_tokens: [{ id: 1, content: 'yes', special: false }] };
    expect(labelTokenIds(withAdded, causal, 'tokenizer.json')).toEqual([0, 1]);
  });

  it('missing, a ModelLoadError names them and the file', () => {
    const causal = llmRerankerOf(qwen3ModelConfig())!;
    const lacking = { ...tokenizerJson, model: { ...(tokenizerJson.model as Json), vocab: { no: 0, maybe: 1 } }, added_tokens: [] };
    const error = (() => {
      try {
        labelTokenIds(lacking, causal, '/m/tokenizer.json');
      } catch (e) {
        return e as ModelLoadError;
      }
      throw new Error('no error');
    })();
    expect(error).toBeInstanceOf(ModelLoadError);
    expect(error.code).toBe('ERR_MODEL_INVALID');
    expect(error.message).toBe(
      'Qwen3ForCausalLM is scored by its LM head\'s rows for the tokens "no" and "yes" (the Qwen3-Reranker model card), ' +
        'but tokenizer.json has no token "yes" in its vocabulary or added tokens (/m/tokenizer.json)',
    );
  });
});
