/**
 * `trt-rerank/ai-sdk`: a loaded Reranker as a Vercel AI SDK reranking model (RerankingModelV4 of
 * @ai-sdk/provider, the interface `rerank()` of the `ai` package takes). @ai-sdk/provider is an optional peer
 * dependency, imported for its types only: this file needs nothing of it at run time.
 *
 * @example
 * ```ts
 * import { rerank } from 'ai';
 * import { Reranker } from 'trt-rerank';
 * import { rerankingModel } from 'trt-rerank/ai-sdk';
 *
 * const reranker = await Reranker.load('./bge-reranker-base');
 * const { ranking } = await rerank({ model: rerankingModel(reranker), query: 'rivers', documents: docs, topN: 3 });
 * ```
 */
import type { JSONObject, RerankingModelV4, RerankingModelV4CallOptions, RerankingModelV4Result } from '@ai-sdk/provider';
import * as check from './check.js';
import { InvalidArgumentError } from './errors.js';
import type { Activation } from './options.js';
import type { Reranker } from './reranker.js';

/** The provider id of the model, and the key of its `providerOptions`. */
export const PROVIDER = 'trt-rerank';

export interface RerankingModelOptions {
  /** The model id the AI SDK reports. Default: the Reranker's model type, e.g. 'bert'. */
  modelId?: string;
  /** The text of an object document (AI SDK `documents: object[]`). Default: its `text` field when that is a
   * string, else the object as JSON (what hosted rerank APIs do with objects). */
  documentText?: (document: JSONObject) => string;
}

/** What `providerOptions['trt-rerank']` may set for one call. */
export interface TrtRerankCallOptions {
  activation?: Activation;
  timeoutMs?: number;
  maxTokensPerDoc?: number;
  /** LLM rerankers (Qwen3-Reranker) only: the call's instruction (ScoreOptions.instruction). */
  instruction?: string;
}

const defaultText = (document: JSONObject): string =>
  typeof document.text === 'string' ? document.text : JSON.stringify(document);

function callOptions(providerOptions: RerankingModelV4CallOptions['providerOptions']): TrtRerankCallOptions {
  const raw = providerOptions?.[PROVIDER];
  if (raw === undefined) return {};
  const o = check.object(raw, `providerOptions['${PROVIDER}']`);
  const known = new Set(['activation', 'timeoutMs', 'maxTokensPerDoc', 'instruction']);
  for (const key of Object.keys(o)) {
    if (!known.has(key)) {
      throw new InvalidArgumentError(`providerOptions['${PROVIDER}'] has an unknown key '${key}': it takes ${[...known].join(', ')}`);
    }
  }
  // Values are checked by rerank() itself, naming the option.
  return o as TrtRerankCallOptions;
}

/** A Reranker as an AI SDK reranking model. The Reranker stays yours: close it when done. */
export function rerankingModel(reranker: Reranker, options: RerankingModelOptions = {}): RerankingModelV4 {
  const documentText = options.documentText ?? defaultText;
  const modelId = options.modelId ?? reranker.info.modelType;
  return {
    specificationVersion: 'v4',
    provider: PROVIDER,
    modelId,
    async doRerank(call: RerankingModelV4CallOptions): Promise<RerankingModelV4Result> {
      const texts = call.documents.type === 'text' ? call.documents.values : call.documents.values.map(documentText);
      const own = callOptions(call.providerOptions);
      const timestamp = new Date();
      const results = await reranker.rerank(call.query, texts, {
        ...own,
        ...(call.topN !== undefined ? { topK: call.topN } : {}),
        ...(call.abortSignal !== undefined ? { signal: call.abortSignal } : {}),
      });
      return {
        ranking: results.map((r) => ({ index: r.index, relevanceScore: r.score })),
        response: { modelId, timestamp },
      };
    },
  };
}
