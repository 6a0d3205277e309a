/**
 * A tokenizer worker thread: builds the PairTokenizer described by workerData (no cache: the main thread
 * keeps the one cache), then answers { id, docs } with each document's run, packed, its buffers transferred.
 * @internal
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PairTokenizer, type TokenizerSource } from './pair-tokenizer.js';

const source = workerData as TokenizerSource;
const tokenizer = PairTokenizer.fromObjects(source.tokenizerJson, source.tokenizerConfig, source.modelConfig, {
  maxLength: source.maxLength,
  truncation: source.truncation,
  tokenCache: false,
  ...(source.modelPositions ? { modelPositions: source.modelPositions } : {}),
});

parentPort!.on('message', ({ id, docs }: { id: number; docs: string[] }) => {
  try {
    const { tokens, offsets } = tokenizer.tokenizeDocuments(docs);
    parentPort!.postMessage({ id, tokens, offsets }, [tokens.buffer as ArrayBuffer, offsets.buffer as ArrayBuffer]);
  } catch (error) {
    parentPort!.postMessage({ id, error: (error as Error).message ?? String(error) });
  }
});
