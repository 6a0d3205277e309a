/**
 * `trt-rerank/ai-sdk`: a Reranker as an AI SDK RerankingModelV4 (lib/ai-sdk.ts) gives the Reranker's own ranking,
 * for text and object documents, with topN, an abort signal and provider options.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rerankingModel } from '../../lib/ai-sdk.js';
import { Reranker } from '../../lib/index.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { useTinyModel } from '../helpers/models.js';

requireAddonBuilt();

describe('trt-rerank/ai-sdk', () => {
  const model = useTinyModel('tiny-bert');
  let reranker: Reranker;
  const docs = ['berlin is a city', 'the river runs to the sea', 'paris is in france', 'people of berlin', 'tides and moon'];
  beforeAll(async () => {
    reranker = await Reranker.load(model.dir, { backend: 'cpu', tokenizerThreads: 0 });
  });
  afterAll(async () => {
    await reranker?.close();
  });

  it('text documents: the Reranker ranking as {index, relevanceScore}, best first; topN cuts it', async () => {
    const m = rerankingModel(reranker);
    expect(m).toMatchObject({ specificationVersion: 'v4', provider: 'trt-rerank', modelId: 'bert' });
    const expected = await reranker.rerank('berlin', docs);
    const all = await m.doRerank({ query: 'berlin', documents: { type: 'text', values: docs } });
    expect(all.ranking).toEqual(expected.map((r) => ({ index: r.index, relevanceScore: r.score })));
    expect(all.response?.modelId).toBe('bert');
    const top = await m.doRerank({ query: 'berlin', documents: { type: 'text', values: docs }, topN: 2 });
    expect(top.ranking).toEqual(all.ranking.slice(0, 2));
  });

  it('object documents: their text field, else the object as JSON, or documentText', async () => {
    const objects = [{ text: docs[0]! }, { title: 'x', body: docs[1]! }];
    const got = await rerankingModel(reranker).doRerank({ query: 'river', documents: { type: 'object', values: objects } });
    const expected = await reranker.rerank('river', [docs[0]!, JSON.stringify(objects[1])]);
    expect(got.ranking.map((r) => r.index)).toEqual(expected.map((r) => r.index));
    const custom = rerankingModel(reranker, { modelId: 'mine', documentText: (d) => String(d.body ?? d.text) });
    const viaBody = await custom.doRerank({ query: 'river', documents: { type: 'object', values: objects } });
    expect(viaBody.ranking).toEqual((await reranker.rerank('river', [docs[0]!, docs[1]!])).map((r) => ({ index: r.index, relevanceScore: r.score })));
    expect(custom.modelId).toBe('mine');
  });

  it('providerOptions and abortSignal reach the call; unknown options are refused by name', async () => {
    const m = rerankingModel(reranker);
    const raw = await m.doRerank({ query: 'berlin', documents: { type: 'text', values: docs }, providerOptions: { 'trt-rerank': { activation: 'none' } } });
    const expected = await reranker.rerank('berlin', docs, { activation: 'none' });
    expect(raw.ranking.map((r) => r.relevanceScore)).toEqual(expected.map((r) => r.score));
    await expect(m.doRerank({ query: 'q', documents: { type: 'text', values: docs }, providerOptions: { 'trt-rerank': { topK: 1 } } }))
      .rejects.toThrow(/unknown key 'topK'/);
    await expect(m.doRerank({ query: 'q', documents: { type: 'text', values: docs }, abortSignal: AbortSignal.abort() }))
      .rejects.toMatchObject({ code: 'ERR_ABORTED' });
  });
});
