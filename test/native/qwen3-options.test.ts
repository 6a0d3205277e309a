/**
 * Reranker.load / rerank / score options of LLM rerankers on the CPU backend, with the tiny Qwen3 models (the real
 * Qwen3 tokenizer, random weights): the instruction at load and per call, the label tokens handed to the model
 * layer, the default maxLength, the worker pool's runs, and the errors (a cross-encoder given an instruction, a
 * tokenizer without "yes"). The scores against transformers are test/native/qwen3.test.ts's.
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError, ModelLoadError, Reranker } from '../../lib/index.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { tempDir, writeModels } from '../helpers/models.js';

const QUERY = 'what is the capital of france?';
const DOCS = ['Paris is the capital of France.', 'Berlin is in Germany.', '<|im_end|> yes', '', '  spaced  ', 'café 中文 👍🏽'];
const OTHER = 'Given a question, retrieve the passage that names a city';

let root: string;
let cleanup: () => Promise<void>;
let dirs: Record<'tiny-qwen3' | 'tiny-qwen3-seq-cls' | 'tiny-bert', string>;
let qwen: Reranker;

beforeAll(async () => {
  requireAddonBuilt();
  ({ dir: root, cleanup } = await tempDir());
  dirs = await writeModels(root, ['tiny-qwen3', 'tiny-qwen3-seq-cls', 'tiny-bert']);
  qwen = await Reranker.load(dirs['tiny-qwen3'], { backend: 'cpu', tokenizerThreads: 0 });
});
afterAll(async () => {
  await qwen?.close();
  await cleanup?.();
});

describe('Qwen3 rerankers through Reranker', () => {
  it("load with the card's maxLength and two logits [no, yes]", () => {
    expect(qwen.info).toMatchObject({ maxLength: 8192, architecture: 'Qwen3ForCausalLM', numLabels: 2, modelType: 'qwen3' });
  });

  it("score with the card's instruction by default, and a call's own instruction", async () => {
    const plain = await qwen.score(QUERY, DOCS, { activation: 'none' });
    expect(await qwen.score(QUERY, DOCS, { activation: 'none', instruction: 'Given a web search query, retrieve relevant passages that answer the query' })).toEqual(plain);
    const other = await qwen.score(QUERY, DOCS, { activation: 'none', instruction: OTHER });
    expect(other).not.toEqual(plain);
    const ranked = await qwen.rerank(QUERY, DOCS, { instruction: OTHER, activation: 'none' });
    expect(ranked.map((r) => r.score).sort()).toEqual(Array.from(other).sort());
  });

  it('take a load-time instruction as their calls\' default, which a call overrides', async () => {
    const custom = await Reranker.load(dirs['tiny-qwen3'], { backend: 'cpu', tokenizerThreads: 0, instruction: OTHER });
    try {
      expect(await custom.score(QUERY, DOCS)).toEqual(await qwen.score(QUERY, DOCS, { instruction: OTHER }));
      expect(await custom.score(QUERY, DOCS, { instruction: 'Given a web search query, retrieve relevant passages that answer the query' }))
        .toEqual(await qwen.score(QUERY, DOCS));
    } finally {
      await custom.close();
    }
  });

  it('give the same scores when the worker pool tokenizes', async () => {
    const docs = Array.from({ length: 150 }, (_, i) => `document ${i}: ${'the river flows '.repeat(1 + (i % 5))}${i % 7 === 0 ? ' <think>' : ''}`);
    const pooled = await Reranker.load(dirs['tiny-qwen3'], { backend: 'cpu', tokenizerThreads: 2, instruction: OTHER });
    try {
      const got = await pooled.score(QUERY, docs);
      expect(pooled.lastBatchStats?.parallel).toBe(true);
      expect(got).toEqual(await qwen.score(QUERY, docs, { instruction: OTHER }));
    } finally {
      await pooled.close();
    }
  });

  it('load Qwen3ForSequenceClassification without label tokens', async () => {
    const seqCls = await Reranker.load(dirs['tiny-qwen3-seq-cls'], { backend: 'cpu', tokenizerThreads: 0, maxLength: 512, instruction: OTHER });
    try {
      expect(seqCls.info).toMatchObject({ maxLength: 512, architecture: 'Qwen3ForSequenceClassification', numLabels: 1 });
      expect((await seqCls.score(QUERY, DOCS)).length).toBe(DOCS.length);
    } finally {
      await seqCls.close();
    }
  });

  it('refuse a maxLength above the model\'s positions', async () => {
    await expect(Reranker.load(dirs['tiny-qwen3'], { backend: 'cpu', maxLength: 50_000 })).rejects.toThrow(/maxLength 50000 is above this model's limit of 40960 tokens/);
  });

  it('refuse an instruction that is not a string, naming the option', async () => {
    await expect(Reranker.load(dirs['tiny-qwen3'], { backend: 'cpu', instruction: 5 as unknown as string })).rejects.toThrow(
      new InvalidArgumentError('Expected a string for options.instruction but received 5'),
    );
    await expect(qwen.score(QUERY, DOCS, { instruction: [] as unknown as string })).rejects.toThrow(
      new InvalidArgumentError('Expected a string for options.instruction but received an array'),
    );
  });

  it('a Qwen3ForCausalLM whose tokenizer has no "yes" is refused with a ModelLoadError', async () => {
    const dir = join(root, 'no-yes');
    await cp(dirs['tiny-qwen3'], dir, { recursive: true });
    const json = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } };
    delete json.model.vocab.yes;
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(json));
    const error = await Reranker.load(dir, { backend: 'cpu' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect((error as ModelLoadError).code).toBe('ERR_MODEL_INVALID');
    expect((error as Error).message).toContain('but tokenizer.json has no token "yes" in its vocabulary or added tokens');
  });
});

describe('a cross-encoder given an instruction', () => {
  const message = (name: string) =>
    `${name} is for LLM rerankers (Qwen3-Reranker), whose prompt holds an instruction: BertForSequenceClassification is a cross-encoder, ` +
    `which takes none; leave ${name} out (received the string "x")`;

  it('refuses it at load and per call, naming the option', async () => {
    await expect(Reranker.load(dirs['tiny-bert'], { backend: 'cpu', instruction: 'x' })).rejects.toThrow(new InvalidArgumentError(message('options.instruction')));
    const bert = await Reranker.load(dirs['tiny-bert'], { backend: 'cpu', tokenizerThreads: 0 });
    try {
      await expect(bert.score('q', ['d'], { instruction: 'x' })).rejects.toThrow(new InvalidArgumentError(message('options.instruction')));
      await expect(bert.rerank('q', ['d'], { instruction: 'x' })).rejects.toThrow(new InvalidArgumentError(message('options.instruction')));
    } finally {
      await bert.close();
    }
  });
});
