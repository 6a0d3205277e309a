// A/B of builds on the same calls (CUDA backend, warm token cache), one build per process, for comparing a change
// with the commit before it (check the old commit out in a worktree, build its dist/ and addon):
//   TRT_RERANK_ADDON=ADDON node bench/ab.mjs DIST_DIR MODEL_DIR LABEL    (AB_TOKENS: a maxBatchTokens to load with)
// Prints one JSON line. docs/results/ab-scheduler-h200.md was made with it.
// single: one call of 1280 documents (median of 15); concurrent: 64 calls of 20 at once (median wall of 15
// rounds, p99 of the calls); sequential: 400 calls of 20 one after another (p50, p99).
import { resolve } from 'node:path';
import { loadCorpus } from './corpus.mjs';
import { median as med, percentile as pct } from './measure.mjs';
const [dist, modelDir, label] = process.argv.slice(2);
const { Reranker } = await import(resolve(dist, 'index.js'));
const corpus = loadCorpus(process.cwd(), 1280);
const query = 'how do I configure the test runner to run only the files that changed since the last commit?';
const r = await Reranker.load(modelDir, { backend: 'cuda', ...(process.env.AB_TOKENS ? { maxBatchTokens: Number(process.env.AB_TOKENS) } : {}) });
const slices = Array.from({ length: 64 }, (_, i) => corpus.slice(i * 20, i * 20 + 20));
const ms = async (fn) => { const t = performance.now(); await fn(); return performance.now() - t; };
await r.rerank(query, corpus, { topK: 10 });
for (let i = 0; i < 3; i++) await Promise.all(slices.map((d) => r.rerank(query, d, { topK: 10 })));
const single = [];
for (let i = 0; i < 15; i++) single.push(await ms(() => r.rerank(query, corpus, { topK: 10 })));
const rounds = [], calls = [];
for (let i = 0; i < 15; i++) rounds.push(await ms(() => Promise.all(slices.map(async (d) => calls.push(await ms(() => r.rerank(query, d, { topK: 10 })))))));
const seq = [];
for (let i = 0; i < 400; i++) seq.push(await ms(() => r.rerank(query, slices[i % 64], { topK: 10 })));
console.log(JSON.stringify({ label, maxLength: r.info.maxLength, maxBatchSize: r.info.maxBatchSize, maxBatchTokens: r.info.maxBatchTokens ?? null,
  singleMs: +med(single).toFixed(2), concurrentRoundMs: +med(rounds).toFixed(2), concurrentCallP99Ms: +pct(calls, 99).toFixed(2),
  throughputRatio: +(med(single) / med(rounds)).toFixed(3), sequentialP50Ms: +med(seq).toFixed(3), sequentialP99Ms: +pct(seq, 99).toFixed(3),
  sequentialTail: +(pct(seq, 99) / med(seq)).toFixed(2), memoryMiB: +(r.info.memoryBytes / 2 ** 20).toFixed(0) }));
await r.close();
