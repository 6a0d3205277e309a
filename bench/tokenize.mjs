#!/usr/bin/env node
// npm run bench:tokenize — pair tokenization throughput (tokens/s) of trt-rerank's PairTokenizer with 1, 2 and
// all threads, cold and warm cache, beside plain @huggingface/tokenizers in the same run, with the real BERT
// uncased tokenizer (../shared/models). Each variant runs in a fresh process, so no variant's JIT state
// slows another's. Needs `npm run build:ts`. Writes $OUT/bench-tokenize.json when OUT is set.
//   node bench/tokenize.mjs [--docs N] [--repeats R]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadCorpus } from './corpus.mjs';
import { sharedBertTokenizerDir } from './measure.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({ options: { docs: { type: 'string', default: '3000' }, repeats: { type: 'string', default: '5' }, variant: { type: 'string' }, threads: { type: 'string' } } });
const N = Number(values.docs);
const REPEATS = Number(values.repeats);
const QUERY = 'how do I configure the build of a native addon for several node versions';
const MAX_LENGTH = 512;
const tokenizerDir = sharedBertTokenizerDir(root);

/** Median seconds over REPEATS runs after one warm-up run, and the tokens one run produced. */
async function time(fn) {
  let tokens = await fn();
  const samples = [];
  for (let r = 0; r < REPEATS; r++) {
    const t0 = performance.now();
    tokens = await fn();
    samples.push((performance.now() - t0) / 1000);
  }
  samples.sort((a, b) => a - b);
  return { seconds: samples[Math.floor(samples.length / 2)], tokens };
}

/** One variant, in this (fresh) process. */
async function runVariant(variant, threads) {
  const docs = loadCorpus(root, N);
  const { PairTokenizer } = await import('../dist/tokenize/pair-tokenizer.js');
  if (variant === 'plain-docs' || variant === 'plain-pairs') {
    const { Tokenizer } = await import('@huggingface/tokenizers');
    const json = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer.json'), 'utf8'));
    const config = JSON.parse(readFileSync(join(tokenizerDir, 'tokenizer_config.json'), 'utf8'));
    const plain = new Tokenizer({ ...json, truncation: null, padding: null }, config);
    if (variant === 'plain-docs') return time(() => docs.reduce((n, d) => n + plain.encode(d, { add_special_tokens: false }).ids.length, 0));
    return time(() => docs.reduce((n, d) => n + plain.encode(QUERY, { text_pair: d }).ids.length, 0));
  }
  if (variant === 'ours-cold') {
    const tok = await PairTokenizer.fromDir(tokenizerDir, { maxLength: MAX_LENGTH, tokenCache: false });
    return time(() => tok.encodePairs(QUERY, docs).ids.length);
  }
  if (variant === 'ours-warm') {
    const tok = await PairTokenizer.fromDir(tokenizerDir, { maxLength: MAX_LENGTH });
    tok.encodePairs(QUERY, docs);
    return time(() => tok.encodePairs(QUERY, docs).ids.length);
  }
  if (variant === 'ours-pool') {
    const { TokenizerPool } = await import('../dist/tokenize/worker-pool.js');
    const { BatchStream } = await import('../dist/schedule/batches.js');
    const tok = await PairTokenizer.fromDir(tokenizerDir, { maxLength: MAX_LENGTH, tokenCache: false });
    const pool = new TokenizerPool(tok.workerSource, threads);
    await Promise.all(Array.from({ length: threads }, () => pool.tokenize(docs.slice(0, 8)))); // start workers outside the timing
    const result = await time(async () => {
      let tokens = 0;
      const stream = new BatchStream(tok, pool, QUERY, docs, { batchSize: 128, streamThreshold: Infinity, parallelMinDocs: 0, window: 2 * threads });
      for await (const { pairs } of stream) tokens += pairs.ids.length;
      return tokens;
    });
    await pool.close();
    return result;
  }
  throw new Error(`unknown variant ${variant}`);
}

if (values.variant) {
  const r = await runVariant(values.variant, Number(values.threads ?? 1));
  process.stdout.write(JSON.stringify(r));
  process.exit(0);
}

if (!tokenizerDir) {
  console.log('bench:tokenize skipped: the BERT tokenizer is not at ../shared/models/bert-base-uncased-tokenizer');
  process.exit(0);
}
const cores = availableParallelism();
const variants = [
  ['plain-docs', 1, 'tokenizers.js encode(doc): documents alone', '-'],
  ['plain-pairs', 1, 'tokenizers.js encode(query, {text_pair}): no truncation', '-'],
  ['ours-cold', 1, 'trt-rerank encodePairs: query once, exact truncation', 'cold'],
  ...[...new Set([1, 2, cores])].map((t) => ['ours-pool', t, 'trt-rerank worker pool', 'cold']),
  ['ours-warm', 1, 'trt-rerank encodePairs: query once, exact truncation', 'warm'],
];
const rows = variants.map(([variant, threads, name, cache]) => {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--variant', variant, '--threads', String(threads), '--docs', String(N), '--repeats', String(REPEATS)], { encoding: 'utf8', maxBuffer: 1 << 20 });
  const r = JSON.parse(out);
  return { name, variant, threads, cache, tokens: r.tokens, seconds: r.seconds, docsPerSecond: N / r.seconds, tokensPerSecond: r.tokens / r.seconds };
});
// Every variant tokenizes the same N documents, so docs/s compares the work; tokens/s counts what each emits
// (trt-rerank's pairs are truncated to maxLength, the plain encodings are not).
const get = (variant, threads = 1) => rows.find((r) => r.variant === variant && r.threads === threads).docsPerSecond;
const summary = {
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cores} threads, node ${process.version}`,
  corpus: `${loadCorpus(root, N).length} passages (node_modules Markdown, 120-320 words), BERT uncased, query of ${QUERY.split(' ').length} words, maxLength ${MAX_LENGTH}`,
  ratios: {
    'encodePairs 1 thread / plain document encoding, docs/s (target >= 0.9)': get('ours-cold') / get('plain-docs'),
    [`pool ${cores} threads / pool 1 thread, per thread (target >= 0.8)`]: get('ours-pool', cores) / get('ours-pool', 1) / cores,
    'warm cache / cold, 1 thread (target >= 20)': get('ours-warm') / get('ours-cold'),
  },
};
console.log(`\nbench:tokenize: ${summary.machine}\n${summary.corpus}\n`);
console.log('| variant | threads | cache | median s | docs/s | tokens out | tokens/s |\n|---|---|---|---|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.threads} | ${r.cache} | ${r.seconds.toFixed(4)} | ${Math.round(r.docsPerSecond)} | ${r.tokens} | ${(r.tokensPerSecond / 1e6).toFixed(3)} M |`);
console.log('');
for (const [k, v] of Object.entries(summary.ratios)) console.log(`${k}: ${v.toFixed(2)}`);
if (process.env.OUT) writeFileSync(join(process.env.OUT, 'bench-tokenize.json'), JSON.stringify({ ...summary, rows }, null, 2));
