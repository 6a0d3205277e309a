/**
 * The three rerank APIs the server speaks, each as a parser of its request body into one Reranker call and the
 * reply that call's results become:
 *   POST /v2/rerank  Cohere v2   { model?, query, documents, top_n?, return_documents?, max_tokens_per_doc? }
 *   POST /v1/rerank  Jina        { model?, query, documents, top_n?, return_documents? (default true) }
 *   POST /rerank     TEI         { query, texts, raw_scores?, return_text?, truncate? (default true), truncation_direction? }
 * `documents` are strings or objects with a `text` field (TEI's `texts`: strings). `model` is accepted and echoed
 * (Jina), never used to choose a model: a server serves one model. Unknown fields are ignored.
 * @internal
 */
import { randomUUID } from 'node:crypto';
import type { Activation } from '../options.js';
import type { RerankResult } from '../reranker.js';
import { bodyObject, documents, optionalBoolean, optionalInteger, optionalString, text, type RequestLimits } from './fields.js';
import { HttpError } from './http.js';

/** One Reranker call, as a request asked for it. */
export interface RerankCall {
  query: string;
  docs: string[];
  topK: number | undefined;
  activation: Activation;
  maxTokensPerDoc: number | undefined;
  /** TEI `truncate: false`: a pair longer than maxLength is refused (422), not cut. */
  refuseOverLength: boolean;
  /** The request's field holding the documents, for error messages. */
  docsField: string;
}

/** What the call cost, for the replies that report it. */
export interface CallUsage {
  /** Tokens of the scored pairs (Jina's usage.total_tokens). */
  tokens: number;
}

export interface ParsedRequest {
  call: RerankCall;
  /** The JSON reply for the call's results (best first, as rerank returns them). */
  reply(results: readonly RerankResult[], usage: CallUsage): unknown;
}

export interface DialectContext {
  limits: RequestLimits;
  /** The served model's name, echoed where a request names none. */
  modelName: string;
}

export type Dialect = (body: unknown, context: DialectContext) => ParsedRequest;

/** Cohere's billing unit: one search unit per 100 documents, at least one. */
export const searchUnits = (documentCount: number) => Math.max(1, Math.ceil(documentCount / 100));

function call(docsField: string, docs: string[], query: string, rest: Partial<RerankCall>): RerankCall {
  return {
    query,
    docs,
    topK: undefined,
    activation: 'sigmoid',
    maxTokensPerDoc: undefined,
    refuseOverLength: false,
    docsField,
    ...rest,
  };
}

/** Cohere v2: `{ id, results: [{ index, relevance_score, document?: { text } }], meta: { billed_units: { search_units } } }`. */
export const cohere: Dialect = (body, { limits }) => {
  const o = bodyObject(body);
  optionalString(o, 'model');
  const query = text(o, 'query', limits);
  const docs = documents(o, 'documents', limits, true);
  const c = call('documents', docs, query, { topK: optionalInteger(o, 'top_n', 1), maxTokensPerDoc: optionalInteger(o, 'max_tokens_per_doc', 1) });
  const returnDocuments = optionalBoolean(o, 'return_documents', false);
  return {
    call: c,
    reply: (results) => ({
      id: randomUUID(),
      results: results.map((r) => ({
        index: r.index,
        relevance_score: r.score,
        ...(returnDocuments ? { document: { text: docs[r.index]! } } : {}),
      })),
      meta: { billed_units: { search_units: searchUnits(docs.length) } },
    }),
  };
};

/** Jina: `{ model, usage: { total_tokens }, results: [{ index, relevance_score, document?: { text } }] }`. */
export const jina: Dialect = (body, { limits, modelName }) => {
  const o = bodyObject(body);
  const model = optionalString(o, 'model') ?? modelName;
  const query = text(o, 'query', limits);
  const docs = documents(o, 'documents', limits, true);
  const c = call('documents', docs, query, { topK: optionalInteger(o, 'top_n', 1) });
  const returnDocuments = optionalBoolean(o, 'return_documents', true);
  return {
    call: c,
    reply: (results, usage) => ({
      model,
      usage: { total_tokens: usage.tokens },
      results: results.map((r) => ({
        index: r.index,
        relevance_score: r.score,
        ...(returnDocuments ? { document: { text: docs[r.index]! } } : {}),
      })),
    }),
  };
};

/** TEI: `[{ index, score, text? }]`, best first; `raw_scores` gives the logits. */
export const tei: Dialect = (body, { limits }) => {
  const o = bodyObject(body);
  const query = text(o, 'query', limits);
  const docs = documents(o, 'texts', limits, false);
  const direction = optionalString(o, 'truncation_direction');
  if (direction !== undefined && direction.toLowerCase() !== 'right') {
    throw new HttpError(400, 'ERR_INVALID_ARGUMENT', `truncation_direction ${JSON.stringify(direction)} is not supported: documents are cut at their end ("right")`, { field: 'truncation_direction' });
  }
  const c = call('texts', docs, query, {
    activation: optionalBoolean(o, 'raw_scores', false) ? 'none' : 'sigmoid',
    refuseOverLength: !optionalBoolean(o, 'truncate', true),
  });
  const returnText = optionalBoolean(o, 'return_text', false);
  return {
    call: c,
    reply: (results) => results.map((r) => ({ index: r.index, ...(returnText ? { text: docs[r.index]! } : {}), score: r.score })),
  };
};
