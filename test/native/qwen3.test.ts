/**
 * Qwen3 rerankers on the CPU backend (native/models/qwen3.cc): against PyTorch/transformers float64 scoring the
 * generated models as the Qwen3-Reranker model card does (test/fixtures/reference/tiny-qwen3*.json, made by
 * tools/make_qwen3_reference.py on the GPU machine from the same generated files), logits within 1e-4 for both
 * architectures and config.json dialects, with instructions and truncation; and the shared prompt computed once per
 * batch (scheduler contexts) giving bit-identical scores to each pair run alone.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import type { NativeSession } from '../../lib/binding/native.js';
import { Reranker } from '../../lib/index.js';
import { readModelConfig } from '../../lib/model/config.js';
import { planModel } from '../../lib/model/plan.js';
import type { TinyModelName } from '../../lib/tiny-models/generate.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { REPO_ROOT, useTinyModels } from '../helpers/models.js';
import { scoreSequences as scoreCall } from '../helpers/sessions.js';

interface Pair { ids: number[]; logits: number[] }
export interface Qwen3Fixture {
  model: string; architecture: string; weightsSha256: string; weightFiles: string[]; labelTokenIds: [number, number] | null;
  prefixTokens: number[]; suffixTokens: number[]; instructions: Array<string | null>; defaultInstruction: string;
  queries: string[]; docs: string[];
  cases: Array<{ maxLength: number; instruction: number; query: number; pairs: Pair[] }>;
}

const MODELS: TinyModelName[] = ['tiny-qwen3', 'tiny-qwen3-bf16', 'tiny-qwen3-seq-cls'];
const fixturePath = (m: string) => join(REPO_ROOT, 'test', 'fixtures', 'reference', `${m}.json`);
const TOLERANCE = 1e-4;
/** The pipeline's raw score: the logit, or logit 1 - logit 0 (here logit(yes) - logit(no)). */
const rawScore = (logits: number[]) => (logits.length === 2 ? logits[1]! - logits[0]! : logits[0]!);

requireAddonBuilt();
const { dirs } = useTinyModels(MODELS);

async function openSession(name: TinyModelName, options: Record<string, unknown> = {}): Promise<NativeSession> {
  const json = JSON.parse(await readFile(join(dirs[name], 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
  const modelOptions = { labelTokenIds: [json.model.vocab.no!, json.model.vocab.yes!] };
  const config = await readModelConfig(dirs[name], modelOptions);
  return loadAddon().loadSession(await planModel(dirs[name], config, modelOptions), { backend: 'cpu', threads: 2, maxLength: 8192, ...options });
}

describe('the Qwen3 model layer', () => {
  it('describes both architectures: grouped K/V heads, head_dim, last-token pooling, causal', async () => {
    const addon = loadAddon();
    const lm = JSON.parse(await readFile(join(dirs['tiny-qwen3'], 'config.json'), 'utf8')) as Record<string, unknown>;
    const d = addon.describeModel(lm, { labelTokenIds: [2152, 9693] });
    expect(d).toMatchObject({ architecture: 'Qwen3ForCausalLM', family: 'qwen3', pooling: 'last', causal: true, numLabels: 2, numHeads: 4, numKvHeads: 2, headDim: 32, hiddenSize: 64 });
    const names = d.tensors.map((t) => t.name);
    expect(names).toContain('layers.0.self_attn.q_norm.weight');
    expect(names.filter((n) => n === 'embed_tokens.weight')).toHaveLength(1);  // tied: the LM head's rows come from it
    expect(names).not.toContain('lm_head.weight');
    const q = d.tensors.find((t) => t.name === 'layers.0.self_attn.q_proj.weight')!;
    expect(q.shape).toEqual([4 * 32, 64]);
    const untied = JSON.parse(await readFile(join(dirs['tiny-qwen3-bf16'], 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(addon.describeModel(untied, { labelTokenIds: [2152, 9693] }).tensors.map((t) => t.name)).toContain('lm_head.weight');
    const cls = JSON.parse(await readFile(join(dirs['tiny-qwen3-seq-cls'], 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(addon.describeModel(cls)).toMatchObject({ architecture: 'Qwen3ForSequenceClassification', numLabels: 1 });
  });

  it('refuses what it does not run, naming the field', () => {
    const addon = loadAddon();
    const base = { architectures: ['Qwen3ForCausalLM'], hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 32, num_hidden_layers: 1,
      intermediate_size: 96, vocab_size: 100 };
    expect(() => addon.describeModel(base)).toThrow(/"no" and "yes" rows/);
    expect(() => addon.describeModel(base, { labelTokenIds: [1, 100] })).toThrow(/label token id 100 is outside vocab_size 100/);
    expect(() => addon.describeModel({ ...base, num_key_value_heads: 3 }, { labelTokenIds: [1, 2] })).toThrow(/num_key_value_heads.*3 does not divide/);
    expect(() => addon.describeModel({ ...base, use_sliding_window: true }, { labelTokenIds: [1, 2] })).toThrow(/use_sliding_window/);
    expect(() => addon.describeModel({ ...base, rope_scaling: { rope_type: 'yarn', factor: 4 } }, { labelTokenIds: [1, 2] })).toThrow(/rope_type "yarn"/);
    expect(() => addon.describeModel({ ...base, rope_parameters: { rope_type: 'linear', rope_theta: 1e6 } }, { labelTokenIds: [1, 2] }))
      .toThrow(/rope_type "linear"/);
  });
});

describe.each(MODELS)('%s on the CPU', (name) => {
  let session: NativeSession;
  beforeAll(async () => {
    session = await openSession(name);
  });
  afterAll(() => session?.close());

  it('a shared prompt computed once per batch scores bit-identically to each pair alone', async () => {
    // A long prefix every pair shares, then documents of 1..40 tokens (one pair only the prefix and one token).
    const prefix = Array.from({ length: 37 }, (_, i) => (i * 7919 + 13) % 151000);
    const docs = Array.from({ length: 12 }, (_, d) => Array.from({ length: 1 + ((d * 13) % 40) }, (_, i) => (d * 1009 + i * 31 + 5) % 151000));
    const seqs = docs.map((d) => [...prefix, ...d]);
    // And a pair of another prompt in the same call (shares only 3 tokens: no context for it).
    seqs.push([...prefix.slice(0, 3), 42, 43, 44, 45, 46]);
    const before = session.stats()!;
    const together = await scoreCall(session, seqs);
    const after = session.stats()!;
    const alone: number[] = [];
    for (const s of seqs) alone.push((await scoreCall(session, [s]))[0]!);
    expect([...together]).toEqual(alone);
    // One batch: one context of the 37 shared tokens, saving them for 11 of the 12 pairs that share them.
    expect(after.contexts - before.contexts).toBe(1);
    expect(after.sharedTokens - before.sharedTokens).toBe(11 * 37);
    expect(session.stats()!.contexts).toBe(after.contexts);  // pairs alone share nothing
  });

  const fixture = existsSync(fixturePath(name)) ? (JSON.parse(readFileSync(fixturePath(name), 'utf8')) as Qwen3Fixture) : undefined;

  it('the generator writes the weights the reference was computed from', async () => {
    if (!fixture) throw new Error(`no ${fixturePath(name)}: run tools/make_qwen3_reference.py on the GPU machine (its header says how)`);
    const files = (await readdir(dirs[name])).filter((f) => f.endsWith('.safetensors')).sort();
    const hash = createHash('sha256');
    for (const f of files) hash.update(await readFile(join(dirs[name], f)));
    expect(hash.digest('hex')).toBe(fixture.weightsSha256);
  });

  it(`logits match transformers float64 within ${TOLERANCE}, every case scored as one call`, async () => {
    if (!fixture) throw new Error(`no ${fixturePath(name)}`);
    let worst = 0;
    let compared = 0;
    for (const c of fixture.cases) {
      const scores = await scoreCall(session, c.pairs.map((p) => p.ids));
      c.pairs.forEach((p, i) => {
        worst = Math.max(worst, Math.abs(scores[i]! - rawScore(p.logits)));
        compared++;
      });
    }
    expect(compared).toBeGreaterThan(200);
    expect(worst).toBeLessThan(TOLERANCE);
  });

  it('Reranker.score from text, as the model card scores it: its ids, instruction default and per call, truncation', async () => {
    if (!fixture) throw new Error(`no ${fixturePath(name)}`);
    let worst = 0;
    for (const maxLength of [...new Set(fixture.cases.map((c) => c.maxLength))]) {
      const reranker = await Reranker.load(dirs[name], { backend: 'cpu', maxLength, threads: 2 });
      try {
        for (const c of fixture.cases.filter((x) => x.maxLength === maxLength)) {
          const instruction = fixture.instructions[c.instruction];
          const scores = await reranker.score(fixture.queries[c.query]!, fixture.docs, { activation: 'none', ...(instruction ? { instruction } : {}) });
          c.pairs.forEach((p, i) => (worst = Math.max(worst, Math.abs(scores[i]! - rawScore(p.logits)))));
        }
      } finally {
        await reranker.close();
      }
    }
    expect(worst).toBeLessThan(TOLERANCE);
  });
});
