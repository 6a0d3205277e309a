#!/usr/bin/env node
/**
 * trt-rerank command line:
 *   trt-rerank rerank --model DIR --query Q [--docs FILE.jsonl|-] [--top-k N] [--backend B] [--max-length N]
 *   trt-rerank build-engine --onnx FILE --out FILE [--max-batch N] [--max-seq N] [--opt-seq N] [--fp16|--bf16] [...]
 *   trt-rerank serve --model DIR [--host H] [--port N] [load options] [server limits]   (lib/serve/)
 *   trt-rerank demo
 *   trt-rerank info
 */
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadAddon } from './binding/loader.js';
import { fromNativeCode, RerankError } from './errors.js';
import { Reranker } from './reranker.js';
import { SERVE_USAGE, serveCommand, ServeUsageError } from './serve/command.js';
import { systemInfo } from './system-info.js';
import { TINY_MODELS, writeTinyModel } from './tiny-models/generate.js';

const USAGE = `Usage:
  trt-rerank rerank --model DIR --query TEXT [--docs FILE.jsonl|-] [--top-k N] [--backend auto|tensorrt|cuda|cpu]
                    [--max-length N] [--activation sigmoid|none] [--return-documents]
      Reranks documents against the query and prints the results as JSON, best first.
      --docs: one document per line, each a JSON string or an object with a "text" field; '-' or
      no --docs reads standard input.
  trt-rerank build-engine --onnx model.onnx --out model.plan [--max-batch 512] [--max-seq 512] [--opt-seq 128]
                    [--fp16|--bf16] [--workspace-mb N] [--version-compatible] [--hardware-compatible ampere+|same-cc]
      Builds a TensorRT engine from an ONNX cross-encoder (tools/export_onnx.py makes one) with one profile:
      batch 1..max-batch, sequence 1..max-seq, tuned for opt-seq. Needs a build with the TensorRT backend and
      TensorRT's libraries (libnvinfer, libnvonnxparser). TensorRT 11 takes no --fp16/--bf16: convert the ONNX
      first (docs/tensorrt.md). Takes minutes.
  trt-rerank serve --model DIR [--host 127.0.0.1] [--port 8080] [...]
      Serves the model over HTTP (Cohere, Jina and TEI rerank APIs, /health, /info, /metrics) until SIGTERM;
      \`trt-rerank serve --help\` lists its options.
  trt-rerank demo     Reranks a built-in example on a generated tiny model (random weights).
  trt-rerank info     Prints the binary loaded and why, GPUs, driver/CUDA and TensorRT availability, and the
                      backends in this build.`;

class UsageError extends Error {}

function parseDocs(text: string, source: string): string[] {
  const docs: string[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new UsageError(`${source}:${i + 1}: not valid JSON (each line must be a JSON string or an object with a "text" field)`);
    }
    if (typeof value === 'string') docs.push(value);
    else if (value && typeof value === 'object' && typeof (value as { text?: unknown }).text === 'string') docs.push((value as { text: string }).text);
    else throw new UsageError(`${source}:${i + 1}: expected a JSON string or an object with a "text" field`);
  });
  return docs;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function rerankCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      model: { type: 'string' },
      query: { type: 'string' },
      docs: { type: 'string' },
      'top-k': { type: 'string' },
      backend: { type: 'string' },
      'max-length': { type: 'string' },
      activation: { type: 'string' },
      'return-documents': { type: 'boolean' },
    },
    strict: true,
  });
  if (!values.model || values.query === undefined) throw new UsageError('rerank needs --model DIR and --query TEXT');
  const source = values.docs && values.docs !== '-' ? values.docs : 'stdin';
  const docs = parseDocs(source === 'stdin' ? await readStdin() : await readFile(source, 'utf8'), source);
  const integer = (name: string, value: string | undefined) => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isInteger(n)) throw new UsageError(`--${name} must be an integer, got ${JSON.stringify(value)}`);
    return n;
  };
  const maxLength = integer('max-length', values['max-length']);
  const topK = integer('top-k', values['top-k']);
  const reranker = await Reranker.load(values.model, {
    backend: (values.backend ?? 'auto') as never,
    ...(maxLength !== undefined ? { maxLength } : {}),
  });
  try {
    const results = await reranker.rerank(values.query, docs, {
      ...(topK !== undefined ? { topK } : {}),
      activation: (values.activation ?? 'sigmoid') as never,
      returnDocuments: values['return-documents'] === true,
    });
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  } finally {
    await reranker.close();
  }
}

async function buildEngineCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      onnx: { type: 'string' },
      out: { type: 'string' },
      'max-batch': { type: 'string' },
      'max-seq': { type: 'string' },
      'opt-seq': { type: 'string' },
      'workspace-mb': { type: 'string' },
      fp16: { type: 'boolean' },
      bf16: { type: 'boolean' },
      'version-compatible': { type: 'boolean' },
      'hardware-compatible': { type: 'string' },
    },
    strict: true,
  });
  if (!values.onnx || !values.out) throw new UsageError('build-engine needs --onnx FILE and --out FILE');
  if (values.fp16 && values.bf16) throw new UsageError('build-engine: --fp16 and --bf16 are exclusive');
  const integer = (name: string, fallback: number, min: number) => {
    const value = values[name as 'max-batch'];
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
    return n;
  };
  const maxSeq = integer('max-seq', 512, 2);
  const options = {
    onnx: values.onnx,
    out: values.out,
    maxBatch: integer('max-batch', 512, 1),
    maxSeq,
    optSeq: integer('opt-seq', Math.min(128, maxSeq), 1),
    precision: values.fp16 ? ('fp16' as const) : values.bf16 ? ('bf16' as const) : ('fp32' as const),
    workspaceBytes: integer('workspace-mb', 0, 0) * 1024 * 1024,
    versionCompatible: values['version-compatible'] === true,
    hardwareCompatibility: (values['hardware-compatible'] ?? 'none') as 'none' | 'ampere+' | 'same-cc',
  };
  if (!['none', 'ampere+', 'same-cc'].includes(options.hardwareCompatibility)) {
    throw new UsageError(`--hardware-compatible must be ampere+ or same-cc, got ${JSON.stringify(options.hardwareCompatibility)}`);
  }
  if (options.optSeq > maxSeq) throw new UsageError(`--opt-seq (${options.optSeq}) must not exceed --max-seq (${maxSeq})`);
  const started = performance.now();
  try {
    const { bytes } = await loadAddon().buildEngine(options);
    console.error(`trt-rerank: wrote ${options.out} (${(bytes / 1048576).toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } catch (error) {
    throw fromNativeCode(error);
  }
}

const DEMO_QUERY = 'How many people live in Berlin?';
const DEMO_DOCS = [
  'Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.',
  'New York City is famous for the Metropolitan Museum of Art.',
  'Paris is the capital and most populous city of France.',
  'The quick brown fox jumps over the lazy dog.',
  'Tokyo is the capital of Japan and one of the largest cities in the world.',
];

async function demoCommand(): Promise<void> {
  const dir = await writeTinyModel(join(tmpdir(), 'trt-rerank-demo-tiny-bert'), TINY_MODELS['tiny-bert']);
  const started = performance.now();
  const reranker = await Reranker.load(dir);
  try {
    const results = await reranker.rerank(DEMO_QUERY, DEMO_DOCS, { returnDocuments: true });
    const elapsed = performance.now() - started;
    const { info } = reranker;
    console.log('trt-rerank demo');
    console.log('NOTE: this model is a tiny UNTRAINED model with random weights, generated for this demo.');
    console.log('      Its scores carry no meaning; the demo shows the pipeline, not relevance.');
    console.log(`model: ${dir} (${info.architecture}, ${info.numLabels} label, maxLength ${info.maxLength})`);
    console.log(`backend: ${info.backend} (${info.backendReason}), dtype ${info.dtype}`);
    console.log(`query: ${DEMO_QUERY}`);
    for (const r of results) console.log(`  #${r.index}  ${r.score.toFixed(4)}  ${r.document}`);
    console.log(`load + rerank of ${DEMO_DOCS.length} documents: ${elapsed.toFixed(1)} ms`);
  } finally {
    await reranker.close();
  }
}

function infoCommand(): void {
  process.stdout.write(JSON.stringify(systemInfo(), null, 2) + '\n');
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'rerank':
        await rerankCommand(rest);
        return 0;
      case 'build-engine':
        await buildEngineCommand(rest);
        return 0;
      case 'serve':
        return await serveCommand(rest);
      case 'demo':
        await demoCommand();
        return 0;
      case 'info':
        infoCommand();
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return command === undefined ? 1 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof ServeUsageError) {
      if (error.help) console.log(SERVE_USAGE);
      else console.error(`trt-rerank: ${error.message}\n\n${SERVE_USAGE}`);
      return error.help ? 0 : 2;
    }
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`trt-rerank: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof RerankError) {
      console.error(`trt-rerank: ${error.code}: ${error.message}`);
      return 1;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
