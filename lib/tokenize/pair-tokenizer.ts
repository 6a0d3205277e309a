/**
 * (query, document) pair encoding for cross-encoders, with the ids, type ids and truncation of HF tokenizers
 * (Rust) `tokenizer(query, doc, truncation=..., max_length=...)`, built on tokenizers.js; and for LLM rerankers
 * (Qwen3-Reranker), the prompt of their model card (prompt-template.ts).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as check from '../check.js';
import { InvalidArgumentError, ModelLoadError, TruncationError } from '../errors.js';
import { checkInstruction, instructionNotTaken } from '../options.js';
import { DocumentCache, type CacheStats } from './document-cache.js';
import { findCut, prefixCutAllowed } from './long-text.js';
import { parsePairTemplate, writePair, type PairTemplate } from './post-processor.js';
import { llmRerankerOf, PromptEncoder } from './prompt-template.js';
import { applyRustCompat, type SplitLog } from './rust-compat.js';
import { TokenizerJsonError } from './rust-models.js';
import { Tokenizer, type JsTokenizer } from './tokenizers-js.js';
import { earlyExit, truncatePair, type Truncation } from './truncation.js';

export type { Truncation } from './truncation.js';
export type { CacheStats } from './document-cache.js';

/** A batch of encoded pairs, packed: pair i is `ids.subarray(offsets[i], offsets[i + 1])`, likewise `typeIds`. */
export interface EncodedPairs {
  ids: Int32Array;
  typeIds: Uint8Array;
  /** docs.length + 1 entries; offsets[0] = 0, offsets[docs.length] = ids.length. */
  offsets: Int32Array;
}

export interface PairTokenizerOptions {
  /** Longest pair in tokens, special tokens included. Default: the model's limit, 8192 at most for Qwen3-Reranker
   * (see {@link PairTokenizer.fromObjects}). */
  maxLength?: number;
  /** How a pair longer than maxLength is cut, with HF tokenizers' rules. Default 'longest_first'. */
  truncation?: Truncation;
  /** Cache of document tokens, keyed by text and bounded in bytes; `false` turns it off. Default 64 MiB. */
  tokenCache?: { maxBytes: number } | false;
  /**
   * LLM rerankers (Qwen3-Reranker) only: the instruction of the prompt, for calls that give none. Default the
   * model card's, "Given a web search query, retrieve relevant passages that answer the query". A cross-encoder
   * refuses it (InvalidArgumentError).
   *
   * @example
   * ```ts
   * const tok = await PairTokenizer.fromDir('./Qwen3-Reranker-0.6B', { instruction: 'Given a question, retrieve code that answers it' });
   * ```
   */
  instruction?: string;
  /**
   * The longest sequence the model's positions allow, as the addon's model layer read it from config.json
   * (Reranker passes it): it then replaces this file's own reading of max_position_embeddings.
   * @internal
   */
  modelPositions?: { limit: number; why: string };
}

type Json = Record<string, unknown>;

/** A query encoded for pairing: its ids, and how many of them truncation starts from. @internal */
export interface PreparedQuery {
  ids: Int32Array;
  length: number;
  /** LLM rerankers: the text of the query part (the whole middle is tokenized from it where the split is unproven). */
  text?: string;
}

/** Per-call options of {@link PairTokenizer.encodePairs}. */
export interface EncodePairsOptions {
  /** LLM rerankers only: this call's instruction (default: the tokenizer's `instruction`). */
  instruction?: string;
}

/** The inputs a PairTokenizer was built from, to build the same one in a worker thread. @internal */
export interface TokenizerSource {
  tokenizerJson: Json;
  tokenizerConfig: Json;
  modelConfig: Json | null;
  maxLength: number;
  truncation: Truncation;
  /** The model layer's position limit, when the main thread's tokenizer had one (workers check maxLength the same way). */
  modelPositions?: { limit: number; why: string };
}

/** model_max_length at or above this is transformers' "no limit" placeholder (int(1e30)), not a limit. */
const SANE_MODEL_MAX_LENGTH = 1_000_000;
/** Model types whose position ids start at padding_idx + 1 (transformers' create_position_ids_from_input_ids). */
const OFFSET_POSITION_MODELS = new Set(['xlm-roberta', 'roberta', 'camembert']);
/** First try of a long document: a prefix of this many characters per token of maxLength. */
const CHARS_PER_TOKEN_GUESS = 8;
/** tokenizer.json model types with a tokenizer here (tokenizers.js's, or rust-models.ts's ports of Rust's). */
const SUPPORTED_MODEL_TYPES = ['BPE', 'Unigram', 'WordLevel', 'WordPiece'];

/**
 * The model's longest sequence, from tokenizer_config.json and the model's positions, and where it came from. The
 * positions' limit is the model layer's (`positions`, native/models/) when Reranker gives it; a PairTokenizer on
 * its own reads config.json's max_position_embeddings.
 */
function modelLimit(tokenizerConfig: Json, modelConfig: Json | null, positions?: { limit: number; why: string }): { limit: number; why: string } | undefined {
  const found: Array<{ limit: number; why: string }> = [];
  const mml = tokenizerConfig.model_max_length;
  if (typeof mml === 'number' && Number.isInteger(mml) && mml >= 1 && mml < SANE_MODEL_MAX_LENGTH) {
    found.push({ limit: mml, why: `tokenizer_config.json model_max_length ${mml}` });
  }
  const mpe = modelConfig?.max_position_embeddings;
  if (positions) {
    found.push(positions);
  } else if (typeof mpe === 'number' && Number.isInteger(mpe) && mpe >= 1) {
    const type = modelConfig?.model_type;
    if (typeof type === 'string' && OFFSET_POSITION_MODELS.has(type)) {
      const pad = typeof modelConfig?.pad_token_id === 'number' ? modelConfig.pad_token_id : 1;
      found.push({ limit: mpe - (pad + 1), why: `config.json max_position_embeddings ${mpe} minus ${pad + 1} (${type} positions start at pad_token_id + 1)` });
    } else {
      found.push({ limit: mpe, why: `config.json max_position_embeddings ${mpe}` });
    }
  }
  return found.sort((a, b) => a.limit - b.limit)[0];
}

/** config.json's architectures[0], for messages. */
function architectureOf(modelConfig: Json | null): string | undefined {
  const a = modelConfig?.architectures;
  return Array.isArray(a) && typeof a[0] === 'string' ? a[0] : undefined;
}

async function readJson(path: string, required: boolean): Promise<Json | null> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if (!required && (cause as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ModelLoadError('ERR_MODEL_NOT_FOUND', path, `cannot read ${path.split(/[\\/]/).pop()}: ${(cause as Error).message}`, { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModelLoadError('ERR_MODEL_INVALID', path, `not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (!check.isPlainObject(json)) throw new ModelLoadError('ERR_MODEL_INVALID', path, 'must hold a JSON object');
  return json;
}

/** A model folder's tokenizer.json and tokenizer_config.json ({} when absent), parsed. @internal */
export interface TokenizerFiles {
  tokenizerJson: Json;
  tokenizerConfig: Json;
  /** tokenizer.json's path, for errors. */
  path: string;
}

/** Reads `dir`'s tokenizer files. @throws {ModelLoadError} tokenizer.json missing, either file not a JSON object. @internal */
export async function readTokenizerFiles(dir: string): Promise<TokenizerFiles> {
  const path = join(dir, 'tokenizer.json');
  const tokenizerJson = (await readJson(path, true))!;
  const tokenizerConfig = (await readJson(join(dir, 'tokenizer_config.json'), false)) ?? {};
  return { tokenizerJson, tokenizerConfig, path };
}

/**
 * Encodes (query, document) pairs for a cross-encoder exactly as HF tokenizers (Rust) does with
 * `tokenizer(query, doc, truncation=..., max_length=...)`: same ids, same type ids, same truncation. The query
 * is tokenized once per call and each distinct document once (then cached); long documents are tokenized by
 * prefix where that provably gives the same tokens.
 */
export class PairTokenizer {
  /** Longest pair in tokens, special tokens included. */
  readonly maxLength: number;
  readonly truncation: Truncation;
  readonly #tokenizer: JsTokenizer;
  readonly #splits: SplitLog;
  readonly #template: PairTemplate;
  /** Text tokens a pair may hold: maxLength minus the template's special tokens. */
  readonly #budget: number;
  readonly #prefixCut: boolean;
  readonly #cache: DocumentCache | null;
  readonly #source: TokenizerSource;
  /** LLM rerankers: the prompt's side of the encoding (set once, by #create). */
  #prompt: PromptEncoder | null = null;
  #hits = 0;
  #misses = 0;

  private constructor(
    tokenizer: JsTokenizer,
    splits: SplitLog,
    template: PairTemplate,
    maxLength: number,
    truncation: Truncation,
    prefixCut: boolean,
    cacheBytes: number,
    source: TokenizerSource,
  ) {
    this.#source = source;
    this.#tokenizer = tokenizer;
    this.#splits = splits;
    this.#template = template;
    this.maxLength = maxLength;
    this.truncation = truncation;
    this.#budget = maxLength - template.specialCount;
    this.#prefixCut = prefixCut;
    this.#cache = cacheBytes > 0 ? new DocumentCache(cacheBytes) : null;
  }

  /**
   * Loads tokenizer.json, tokenizer_config.json (if present) and config.json (if present) from a model folder.
   *
   * @example
   * ```ts
   * const tok = await PairTokenizer.fromDir('./ms-marco-MiniLM-L-6-v2', { maxLength: 256 });
   * const { ids, typeIds, offsets } = tok.encodePairs('how tall is everest', ['8,849 m', 'K2 is second']);
   * ```
   */
  static async fromDir(dir: string, opts?: PairTokenizerOptions): Promise<PairTokenizer> {
    check.nonEmptyString(dir, 'dir', 'a folder path (non-empty string)');
    const files = await readTokenizerFiles(dir);
    const modelConfig = await readJson(join(dir, 'config.json'), false);
    return PairTokenizer.#create(files.tokenizerJson, files.tokenizerConfig, modelConfig, opts, files.path);
  }

  /**
   * Builds a tokenizer from parsed tokenizer.json, tokenizer_config.json and config.json (or null) objects.
   *
   * maxLength defaults to the smaller of tokenizer_config.json `model_max_length` (when below 1e6) and
   * config.json `max_position_embeddings` (minus pad_token_id + 1 for XLM-R, RoBERTa and CamemBERT); a
   * larger maxLength is refused. The truncation and padding stored in tokenizer.json are ignored.
   *
   * An LLM reranker (config.json architectures[0] Qwen3ForCausalLM or Qwen3ForSequenceClassification) gets the
   * prompt of the Qwen3-Reranker model card, and maxLength defaults to the card's 8192, or less where the limits
   * above are lower.
   */
  static fromObjects(tokenizerJson: object, tokenizerConfig: object, modelConfig: object | null, opts?: PairTokenizerOptions): PairTokenizer {
    const json = check.object(tokenizerJson, 'tokenizerJson');
    const config = check.object(tokenizerConfig, 'tokenizerConfig');
    if (modelConfig !== null && !check.isPlainObject(modelConfig)) throw check.invalid('modelConfig', 'an object or null', modelConfig);
    return PairTokenizer.#create(json, config, modelConfig, opts, 'tokenizer.json');
  }

  /**
   * fromObjects() for files already read (readTokenizerFiles), errors naming `files.path`.
   * @internal
   */
  static fromFiles(files: TokenizerFiles, modelConfig: Json | null, opts?: PairTokenizerOptions): PairTokenizer {
    return PairTokenizer.#create(files.tokenizerJson, files.tokenizerConfig, modelConfig, opts, files.path);
  }

  static #create(tokenizerJson: Json, tokenizerConfig: Json, modelConfig: Json | null, opts: PairTokenizerOptions | undefined, path: string): PairTokenizer {
    const o = check.optionalObject(opts, 'options');
    const truncation = check.truncation(o.truncation, 'truncation');
    const tokenCache = check.tokenCache(o.tokenCache, 'tokenCache');
    const cacheBytes = tokenCache === false ? 0 : tokenCache.maxBytes;
    const template = parsePairTemplate(tokenizerJson.post_processor, path);
    const llm = llmRerankerOf(modelConfig);
    const instruction = checkInstruction(o.instruction, 'instruction');
    if (instruction !== undefined && llm === undefined) throw instructionNotTaken('instruction', architectureOf(modelConfig), instruction);

    const limit = modelLimit(tokenizerConfig, modelConfig, o.modelPositions as { limit: number; why: string } | undefined);
    let maxLength: number;
    if (o.maxLength !== undefined) {
      const m = check.integer(o.maxLength, 'maxLength', 1);
      if (limit !== undefined && m > limit.limit) {
        throw new InvalidArgumentError(`maxLength ${m} is above this model's limit of ${limit.limit} tokens (${limit.why})`);
      }
      maxLength = m;
    } else if (llm !== undefined) {
      maxLength = Math.min(llm.template.defaultMaxLength, limit?.limit ?? Infinity);
    } else if (limit !== undefined) {
      maxLength = limit.limit;
    } else {
      throw new InvalidArgumentError(
        'this model declares no maximum length (no model_max_length in tokenizer_config.json, no max_position_embeddings in config.json): pass maxLength',
      );
    }
    if (llm === undefined && maxLength <= template.specialCount) {
      throw new InvalidArgumentError(
        `maxLength ${maxLength} leaves no room for text: the pair template (${template.source}) adds ${template.specialCount} special tokens`,
      );
    }

    if (!check.isPlainObject(tokenizerJson.model)) throw new ModelLoadError('ERR_MODEL_INVALID', path, 'tokenizer.json has no "model"');
    const model: Json = { ...tokenizerJson.model };
    // Older files name no type; Rust then takes the first model whose fields parse (models/mod.rs ModelUntagged:
    // BPE, WordPiece, WordLevel, Unigram), which their fields tell apart.
    if (model.type === undefined) {
      model.type = Array.isArray(model.merges) ? 'BPE'
        : Array.isArray(model.vocab) ? 'Unigram'
        : 'continuing_subword_prefix' in model || 'max_input_chars_per_word' in model ? 'WordPiece'
        : 'WordLevel';
    }
    // tokenizers.js guesses a model for any other type (a vocab and no type becomes its Legacy model): refused.
    if (typeof model.type !== 'string' || !SUPPORTED_MODEL_TYPES.includes(model.type)) {
      throw new ModelLoadError(
        'ERR_MODEL_UNSUPPORTED',
        path,
        `tokenizer.json model.type ${JSON.stringify(model.type ?? null)} is not supported: the supported types are ${SUPPORTED_MODEL_TYPES.join(', ')}`,
      );
    }
    if (model.type === 'WordPiece' && typeof model.continuing_subword_prefix !== 'string') model.continuing_subword_prefix = '##';
    // Only the model, normalizer, pre-tokenizer and added tokens are run by tokenizers.js: the template, the
    // truncation and the padding are applied here (the stored truncation and padding are ignored, as
    // transformers' tokenizer(..., truncation=..., max_length=...) overrides them).
    const forJs: Json = {
      ...tokenizerJson,
      model,
      normalizer: tokenizerJson.normalizer ?? null,
      pre_tokenizer: tokenizerJson.pre_tokenizer ?? null,
      added_tokens: Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [],
      post_processor: null,
      decoder: null,
      truncation: null,
      padding: null,
    };
    // transformers-side options of slow tokenizers that tokenizers.js applies but a tokenizer.json does not.
    const configForJs: Json = { ...tokenizerConfig, remove_space: null, do_lowercase_and_remove_accent: false };
    let tokenizer: JsTokenizer;
    try {
      tokenizer = new Tokenizer(forJs, configForJs);
    } catch (cause) {
      const message = (cause as Error).message;
      const code = /^Unknown /.test(message) ? 'ERR_MODEL_UNSUPPORTED' : 'ERR_MODEL_INVALID';
      throw new ModelLoadError(code, path, `tokenizer.json cannot be loaded by tokenizers.js: ${message}`, { cause });
    }
    let splits: SplitLog;
    try {
      splits = applyRustCompat(tokenizer, forJs);
    } catch (cause) {
      if (cause instanceof TokenizerJsonError) throw new ModelLoadError('ERR_MODEL_INVALID', path, `tokenizer.json model: ${cause.message}`, { cause });
      throw new ModelLoadError('ERR_MODEL_UNSUPPORTED', path, `this version of tokenizers.js cannot be adapted: ${(cause as Error).message}`, { cause });
    }
    const modelPositions = o.modelPositions as TokenizerSource['modelPositions'];
    const source: TokenizerSource = { tokenizerJson, tokenizerConfig, modelConfig, maxLength, truncation, ...(modelPositions ? { modelPositions } : {}) };
    const pt = new PairTokenizer(tokenizer, splits, template, maxLength, truncation, prefixCutAllowed(forJs), cacheBytes, source);
    // Fails at load, not at the first request, if tokenizers.js no longer reports its splits as expected.
    const firstAdded = (forJs.added_tokens as Array<{ content?: unknown }>)[0]?.content;
    pt.#encode(`Ab, c1 ${typeof firstAdded === 'string' ? firstAdded : ''} d`, path);
    if (llm !== undefined) {
      const prompt = new PromptEncoder(llm, forJs, (text) => pt.#encode(text, path).ids, maxLength, truncation, instruction);
      if (prompt.budget < 1) {
        throw new InvalidArgumentError(
          `maxLength ${maxLength} leaves no room for text: the ${llm.template.name} prompt's prefix and suffix take ${prompt.specialCount} tokens`,
        );
      }
      pt.#prompt = prompt;
    }
    return pt;
  }

  /** Document cache counters (a fresh object each read). */
  get cacheStats(): CacheStats {
    return {
      hits: this.#hits,
      misses: this.#misses,
      entries: this.#cache?.size ?? 0,
      bytes: this.#cache?.bytes ?? 0,
      maxBytes: this.#cache?.maxBytes ?? 0,
    };
  }

  /**
   * The instruction of calls that give none, for an LLM reranker (Qwen3-Reranker); undefined for a cross-encoder,
   * which takes none.
   */
  get instruction(): string | undefined {
    return this.#prompt?.instruction;
  }

  /**
   * Encodes `query` with each of `docs`: pair i is `[CLS] query [SEP] docs[i] [SEP]` (or the model's template),
   * truncated to maxLength. For an LLM reranker, pair i is the model card's prompt around
   * `<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {docs[i]}`, the middle cut at its end to fit maxLength.
   *
   * @throws {InvalidArgumentError} query is not a string, docs not an array of strings, an instruction that is
   *   not a string or is given to a cross-encoder.
   * @throws {TruncationError} truncation 'only_second' and the query alone fills maxLength.
   * @example
   * ```ts
   * const { ids, offsets } = tok.encodePairs('capital of france', ['Paris is the capital.', 'Berlin']);
   * const firstPair = ids.subarray(offsets[0], offsets[1]);
   * ```
   * @example
   * ```ts
   * // Qwen3-Reranker: this call's instruction instead of the tokenizer's
   * const pairs = qwen.encodePairs('sort a list', docs, { instruction: 'Given a question, retrieve Python code that answers it' });
   * ```
   */
  encodePairs(query: string, docs: readonly string[], options?: EncodePairsOptions): EncodedPairs {
    check.string(query, 'query');
    check.stringArray(docs, 'docs');
    const instruction = checkInstruction(check.optionalObject(options, 'options').instruction, 'options.instruction');
    return this.encodePairsPrepared(this.prepareQuery(query, instruction, 'options.instruction'), docs);
  }

  /**
   * encodePairs() for a query already prepared (documents checked by the caller): one query encoding serves
   * every batch of a call.
   * @internal
   */
  encodePairsPrepared(q: PreparedQuery, docs: readonly string[], maxDocTokens?: number): EncodedPairs {
    const runs: Int32Array[] = new Array<Int32Array>(docs.length);
    const seen = new Map<string, Int32Array>();
    for (let i = 0; i < docs.length; i++) {
      const text = docs[i]!;
      let run = seen.get(text);
      if (run === undefined) {
        run = this.cachedRun(text);
        if (run === undefined) {
          run = this.#tokenizeDocument(text);
          this.storeRun(text, run);
        }
        seen.set(text, run);
      } else {
        this.#hits++;
      }
      runs[i] = run;
    }
    return this.assemble(q, runs, maxDocTokens, docs);
  }

  /**
   * The query's tokens, encoded once per call and shared by every batch of the call. For an LLM reranker, those
   * of the query part of the prompt, with `instruction` (the caller checked it is a string) or the tokenizer's; a
   * cross-encoder refuses an instruction, naming it `optionName`.
   * @internal
   */
  prepareQuery(query: string, instruction?: string, optionName = 'instruction'): PreparedQuery {
    if (this.#prompt !== null) {
      const text = this.#prompt.queryText(query, instruction);
      const ids = this.#encode(text).ids;
      return { ids, length: ids.length, text };
    }
    if (instruction !== undefined) throw instructionNotTaken(optionName, architectureOf(this.#source.modelConfig), instruction);
    const q = this.#encode(query);
    // Rust stops tokenizing the query at maxLength tokens under longest_first only (truncation.ts, step 1).
    const length = this.truncation === 'longest_first' ? earlyExit(q.splits, this.maxLength).length : q.ids.length;
    return { ids: q.ids, length };
  }

  /**
   * The cached run of a document (a hit), or undefined (a miss, to tokenize and store).
   * @internal
   */
  cachedRun(text: string): Int32Array | undefined {
    const cached = this.#cache?.get(text);
    if (cached !== undefined) this.#hits++;
    else this.#misses++;
    return cached;
  }

  /** @internal */
  storeRun(text: string, run: Int32Array): void {
    this.#cache?.set(text, run);
  }

  /**
   * Each document's run (no cache): what a tokenizer worker computes for the documents it is sent, packed as
   * tokens with docs.length + 1 offsets.
   * @internal
   */
  tokenizeDocuments(docs: readonly string[]): { tokens: Int32Array; offsets: Int32Array } {
    const runs = docs.map((text) => this.#tokenizeDocument(text));
    const offsets = new Int32Array(docs.length + 1);
    for (let i = 0; i < runs.length; i++) offsets[i + 1] = offsets[i]! + runs[i]!.length;
    const tokens = new Int32Array(offsets[docs.length]!);
    runs.forEach((run, i) => tokens.set(run, offsets[i]));
    return { tokens, offsets };
  }

  /**
   * Pairs of the prepared query with each document run, truncated and laid out by the pair template (LLM
   * rerankers: the prompt, prompt-template.ts; `texts`, the documents, are needed where its split is unproven).
   * With `maxDocTokens`, each run is first cut to that many tokens (a call's maxTokensPerDoc).
   * @throws {TruncationError} truncation 'only_second' and the query leaves no room for a document.
   * @internal
   */
  assemble(q: PreparedQuery, fullRuns: readonly Int32Array[], maxDocTokens?: number, texts?: readonly string[]): EncodedPairs {
    if (this.#prompt !== null) {
      const budget = this.#prompt.budget;
      return this.#prompt.assemble(q, fullRuns, maxDocTokens, texts, (middle) => this.#tokenizeLong(middle, budget));
    }
    const runs = maxDocTokens === undefined ? fullRuns : fullRuns.map((r) => (r.length > maxDocTokens ? r.subarray(0, maxDocTokens) : r));
    const budget = this.#budget;
    const special = this.#template.specialCount;
    const k1s = new Int32Array(runs.length);
    const k2s = new Int32Array(runs.length);
    let total = 0;
    for (let i = 0; i < runs.length; i++) {
      const lengths = truncatePair(q.length, runs[i]!.length, budget, this.truncation);
      if (lengths === undefined) {
        throw new TruncationError(
          `truncation 'only_second': the query of ${q.length} tokens leaves no room for the document at maxLength ${this.maxLength} ` +
            `(${special} special tokens): use truncation 'longest_first' or a larger maxLength`,
        );
      }
      k1s[i] = lengths.k1;
      k2s[i] = lengths.k2;
      total += lengths.k1 + lengths.k2 + special;
    }
    const ids = new Int32Array(total);
    const typeIds = new Uint8Array(total);
    const offsets = new Int32Array(runs.length + 1);
    let at = 0;
    for (let i = 0; i < runs.length; i++) {
      at = writePair(this.#template, q.ids, k1s[i]!, runs[i]!, k2s[i]!, ids, typeIds, at);
      offsets[i + 1] = at;
    }
    return { ids, typeIds, offsets };
  }

  /**
   * What a worker thread needs to build the same tokenizer (without a cache).
   * @internal
   */
  get workerSource(): TokenizerSource {
    return this.#source;
  }

  /** Ids of `text` (no special tokens) and the token counts of its splits. */
  #encode(text: string, source = 'tokenizer.json'): { ids: Int32Array; splits: number[] } {
    this.#splits.take();
    const ids = Int32Array.from(this.#tokenizer.encode(text, { add_special_tokens: false }).ids);
    const splits = this.#splits.take();
    let sum = 0;
    for (const c of splits) sum += c < 0 ? 1 : c;
    if (sum !== ids.length) {
      throw new ModelLoadError(
        'ERR_MODEL_UNSUPPORTED',
        source,
        `tokenizers.js gave ${ids.length} tokens but reported splits of ${sum}: this @huggingface/tokenizers version is not supported`,
      );
    }
    return { ids, splits };
  }

  /** A document's run: its tokens as the early exit leaves them (LLM rerankers: those of " " + the document). */
  #tokenizeDocument(text: string): Int32Array {
    const prompt = this.#prompt;
    if (prompt === null) return this.#tokenizeLong(text, this.maxLength);
    return prompt.unsplittable === null ? this.#tokenizeLong(prompt.documentText(text), prompt.budget) : prompt.placeholderRun;
  }

  /** The tokens of `text` up to the end of the split where their count reaches `m` (all of them if fewer). */
  #tokenizeLong(text: string, m: number): Int32Array {
    if (this.#prefixCut) {
      // long-text.ts: a prefix whose splits are the text's first splits, in which the early exit stops,
      // gives exactly the text's run.
      let chars = CHARS_PER_TOKEN_GUESS * m;
      while (chars < text.length) {
        const cut = findCut(text, chars);
        if (cut < 0) break;
        const prefix = this.#encode(text.slice(0, cut));
        const exit = earlyExit(prefix.splits, m);
        if (exit.stopped) return prefix.ids.slice(0, exit.length);
        chars = 2 * cut;
      }
    }
    const whole = this.#encode(text);
    return whole.ids.slice(0, earlyExit(whole.splits, m).length);
  }
}
