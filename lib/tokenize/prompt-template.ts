/**
 * LLM rerankers: the prompt a (query, document) pair becomes, tokenized as the Qwen3-Reranker model card does:
 *
 *   pair = tokens(prefix) + tokens(middle)[: maxLength - |prefix| - |suffix|] + tokens(suffix)
 *   middle = "<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}"
 *
 * each part tokenized without special tokens added, type ids all 0 (the card: prefix and suffix through
 * tokenizer.encode(text, add_special_tokens=False); the middle through tokenizer(middle, truncation='longest_first',
 * max_length=...), a single sequence cut at its end).
 *
 * The middle is split as query part A = "<Instruct>: I\n<Query>: Q\n<Document>:" and document run " " + D, so A is
 * tokenized once per call and each document's run once, then cached, whatever the query:
 *
 *   tokens(A + " " + D) = tokens(A) + tokens(" " + D)
 *
 * The cut always falls between the template's own ':' and ' ', whatever I, Q and D hold, and it holds for every
 * document with a tokenizer whose every stage keeps it ({@link splitUnproven} checks the tokenizer.json):
 *   - added tokens (split out first, leftmost-longest, on the raw text or, normalized: true, on the normalized
 *     text): a match across the cut would contain ": ", so none does if no added token does. The sections
 *     before the cut are A's, after it those of " " + D, except that A's last section and the first of " " + D
 *     are one section "…>: …" of the whole text (the cases below). An added token with rstrip that ends in ':'
 *     would eat the lead and D's leading whitespace: refused. lstrip never reaches past the ':' into A.
 *   - normalizer (per section): NFC, NFD, NFKC and NFKD split at U+0020, a starter that is never the second
 *     character of a composition and is its own normal form, so NF(X + " " + Y) = NF(X) + NF(" " + Y) (UAX #15,
 *     "stable code points"): combining marks at D's start attach to the space and stay on D's side, and
 *     reordering never moves a mark across a starter. Lowercase and StripAccents work one character at a time.
 *     Strip, Prepend, Replace and the others may act at a section's start or across the cut: refused.
 *   - pre-tokenizer: ByteLevel with its regex, or the Qwen2 / Llama 3 Split regexes (rust-split.ts), first: no
 *     match holds a non-space character followed by ' ', none looks behind, so the last piece of A is ">:" in
 *     both texts and the pieces from the space on are those of " " + D (ByteLevel's add_prefix_space only acts at
 *     a section's start, which is A's, and " " + D starts with a space). Later stages (ByteLevel without regex,
 *     Digits, Punctuation, a Split) work piece by piece.
 *   - model: one pre-token at a time.
 * Leading whitespace, combining marks or added tokens in D, or a ": " in Q, change nothing above: the proof holds
 * per tokenizer, and there is no per-document condition left. A tokenizer that fails it gets the whole middle of
 * every pair tokenized (PairTokenizer passes the texts; the document cache then holds nothing useful).
 *
 * Truncation: the card's tokenizer() tokenizes the middle (HF tokenizers 0.23 stops after the split that reaches
 * max_length, truncation.ts) and keeps its first max_length tokens: that is (tokens(A) + run)[: max_length], so a
 * document run needs only its first max_length tokens (the early exit, with long documents tokenized by prefix:
 * long-text.ts), the same for every query.
 *
 * @internal
 */
import { ModelLoadError, TruncationError } from '../errors.js';
import type { EncodedPairs, PreparedQuery } from './pair-tokenizer.js';
import { addedTokenIds, modelVocab } from './rust-compat.js';
import { isLocalSplit } from './rust-split.js';
import type { Truncation } from './truncation.js';

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface PromptTemplate {
  /** For messages. */
  readonly name: string;
  /** Tokenized on its own before every pair's middle. */
  readonly prefix: string;
  /** Tokenized on its own after every pair's middle. */
  readonly suffix: string;
  /** The middle before the document (it ends with ':'; see the proof above). */
  queryPart(instruction: string, query: string): string;
  /** Put between the query part and the document (' '). */
  readonly documentLead: string;
  readonly defaultInstruction: string;
  /** maxLength when none is given (capped by the model's limits). */
  readonly defaultMaxLength: number;
}

/** Qwen/Qwen3-Reranker-0.6B, -4B, -8B: the model card's format_instruction, prefix and suffix, and its max_length. */
export const QWEN3_RERANKER: PromptTemplate = {
  name: 'Qwen3-Reranker',
  prefix:
    '<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. ' +
    'Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n',
  suffix: '<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n',
  queryPart: (instruction, query) => `<Instruct>: ${instruction}\n<Query>: ${query}\n<Document>:`,
  documentLead: ' ',
  defaultInstruction: 'Given a web search query, retrieve relevant passages that answer the query',
  defaultMaxLength: 8192,
};

/** An LLM reranker architecture, as the tokenizer side sees it. */
export interface LlmReranker {
  readonly architecture: string;
  readonly template: PromptTemplate;
  /** The tokens whose LM-head rows are its two logits, [no, yes]; null where the checkpoint has its own head. */
  readonly labelTokens: readonly [string, string] | null;
}

const LLM_RERANKERS: Record<string, Omit<LlmReranker, 'architecture'>> = {
  Qwen3ForCausalLM: { template: QWEN3_RERANKER, labelTokens: ['no', 'yes'] },
  Qwen3ForSequenceClassification: { template: QWEN3_RERANKER, labelTokens: null },
};

/** The LLM reranker config.json describes (by architectures[0]), or undefined for a cross-encoder. */
export function llmRerankerOf(modelConfig: Json | null | undefined): LlmReranker | undefined {
  const architectures = modelConfig?.architectures;
  const architecture = Array.isArray(architectures) ? architectures[0] : undefined;
  if (typeof architecture !== 'string' || !Object.hasOwn(LLM_RERANKERS, architecture)) return undefined;
  return { architecture, ...LLM_RERANKERS[architecture]! };
}

/**
 * The ids of `llm`'s label tokens [no, yes], found as transformers' convert_tokens_to_ids finds them (Rust
 * token_to_id: the added tokens, then the model's vocabulary, by the token's string).
 * @throws {ModelLoadError} ERR_MODEL_INVALID: tokenizer.json lacks one of them.
 */
export function labelTokenIds(tokenizerJson: Json, llm: LlmReranker, path: string): [number, number] {
  const tokens = llm.labelTokens;
  if (tokens === null) throw new Error(`${llm.architecture} has no label tokens`);
  const vocab = modelVocab(isObject(tokenizerJson.model) ? tokenizerJson.model : {});
  const added = addedTokenIds(tokenizerJson, vocab);
  const ids = tokens.map((token) => added.get(token) ?? vocab.get(token));
  const missing = tokens.filter((_, i) => ids[i] === undefined);
  if (missing.length > 0) {
    throw new ModelLoadError(
      'ERR_MODEL_INVALID',
      path,
      `${llm.architecture} is scored by its LM head's rows for the tokens ${tokens.map((t) => JSON.stringify(t)).join(' and ')} ` +
        `(the ${llm.template.name} model card), but tokenizer.json has no token ${missing.map((t) => JSON.stringify(t)).join(' or ')} ` +
        'in its vocabulary or added tokens',
    );
  }
  return [ids[0]!, ids[1]!];
}

const SPLIT_NORMALIZERS = new Set(['NFC', 'NFD', 'NFKC', 'NFKD', 'Lowercase', 'StripAccents']);
const PIECEWISE_PRE_TOKENIZERS = new Set(['ByteLevel', 'Digits', 'Punctuation', 'Split']);

function normalizerKeepsCut(n: unknown): boolean {
  if (n === null || n === undefined) return true;
  if (!isObject(n)) return false;
  if (n.type === 'Sequence') return Array.isArray(n.normalizers) && n.normalizers.every(normalizerKeepsCut);
  return typeof n.type === 'string' && SPLIT_NORMALIZERS.has(n.type);
}

function firstStageKeepsCut(p: unknown): boolean {
  if (!isObject(p)) return false;
  return (p.type === 'ByteLevel' && p.use_regex !== false) || (p.type === 'Split' && isLocalSplit(p));
}

function preTokenizerKeepsCut(p: unknown): boolean {
  if (!isObject(p)) return false;
  if (p.type !== 'Sequence') return firstStageKeepsCut(p);
  const stages: unknown[] = Array.isArray(p.pretokenizers) ? p.pretokenizers : [];
  return firstStageKeepsCut(stages[0]) && stages.slice(1).every((s) => isObject(s) && typeof s.type === 'string' && PIECEWISE_PRE_TOKENIZERS.has(s.type));
}

/**
 * Why tokens(A + " " + D) may differ from tokens(A) + tokens(" " + D) with this tokenizer.json (see the file
 * comment), or null where that holds for every query part and document.
 */
export function splitUnproven(tokenizerJson: Json): string | null {
  const added: unknown[] = Array.isArray(tokenizerJson.added_tokens) ? tokenizerJson.added_tokens : [];
  for (const t of added) {
    const content = isObject(t) ? t.content : undefined;
    if (typeof content !== 'string') return 'an added token has no content';
    if (content.includes(': ')) return `the added token ${JSON.stringify(content)} holds ": ", so it may span the query part and the document`;
    if (isObject(t) && t.rstrip === true && content.endsWith(':')) return `the added token ${JSON.stringify(content)} strips the whitespace after it`;
  }
  if (!normalizerKeepsCut(tokenizerJson.normalizer)) return `its normalizer (${JSON.stringify(tokenizerJson.normalizer)}) may act across the cut`;
  if (!preTokenizerKeepsCut(tokenizerJson.pre_tokenizer)) return 'its pre-tokenizer is not one known to split before the space';
  return null;
}

const EMPTY = new Int32Array(0);

/**
 * The prompt side of a PairTokenizer for an LLM reranker: the prefix and suffix ids, the middle's budget, and
 * the pairs laid out from a prepared query part and document runs.
 */
export class PromptEncoder {
  readonly llm: LlmReranker;
  readonly prefixIds: Int32Array;
  readonly suffixIds: Int32Array;
  /** Middle tokens a pair keeps: maxLength minus the prefix and the suffix (the card's max_length of the middle). */
  readonly budget: number;
  /** Why the query part and the documents are not tokenized apart (null: they are; see the file comment). */
  readonly unsplittable: string | null;
  /** The instruction of calls that give none. */
  readonly instruction: string;
  readonly #truncation: Truncation;
  readonly #maxLength: number;

  constructor(
    llm: LlmReranker,
    tokenizerJson: Json,
    encode: (text: string) => Int32Array,
    maxLength: number,
    truncation: Truncation,
    instruction: string | undefined,
  ) {
    this.llm = llm;
    this.prefixIds = encode(llm.template.prefix);
    this.suffixIds = encode(llm.template.suffix);
    this.budget = maxLength - this.prefixIds.length - this.suffixIds.length;
    this.unsplittable = splitUnproven(tokenizerJson);
    this.instruction = instruction ?? llm.template.defaultInstruction;
    this.#truncation = truncation;
    this.#maxLength = maxLength;
  }

  /** The prompt's own tokens (prefix and suffix). */
  get specialCount(): number {
    return this.prefixIds.length + this.suffixIds.length;
  }

  /** The middle before the document: "<Instruct>: {instruction}\n<Query>: {query}\n<Document>:". */
  queryText(query: string, instruction: string = this.instruction): string {
    return this.llm.template.queryPart(instruction, query);
  }

  /** What a document's run is the tokens of: " " + the document. */
  documentText(doc: string): string {
    return this.llm.template.documentLead + doc;
  }

  /**
   * Pairs of the query part `q` with each document run (or, where the split is unproven, each whole middle:
   * `texts` are then required and `middleIds` tokenizes a middle up to the budget).
   * @throws {TruncationError} truncation 'only_second' and the query part leaves no room for the document.
   */
  assemble(
    q: PreparedQuery,
    fullRuns: readonly Int32Array[],
    maxDocTokens: number | undefined,
    texts: readonly string[] | undefined,
    middleIds: (text: string) => Int32Array,
  ): EncodedPairs {
    const count = fullRuns.length;
    const middles: Int32Array[] = new Array<Int32Array>(count);
    const nq = q.ids.length;
    const budget = this.budget;
    const kq = Math.min(nq, budget);
    let total = 0;
    for (let i = 0; i < count; i++) {
      let middle: Int32Array;
      if (this.unsplittable === null) {
        const run = maxDocTokens !== undefined && fullRuns[i]!.length > maxDocTokens ? fullRuns[i]!.subarray(0, maxDocTokens) : fullRuns[i]!;
        this.#checkRoom(nq, run.length);
        middle = run.subarray(0, Math.max(0, Math.min(run.length, budget - nq)));
      } else {
        if (texts === undefined || q.text === undefined) throw new Error('PromptEncoder.assemble: the texts are needed when the split is unproven');
        const whole = middleIds(q.text + this.documentText(texts[i]!));
        const keep = Math.min(whole.length, budget, maxDocTokens === undefined ? Infinity : nq + maxDocTokens);
        this.#checkRoom(nq, whole.length - nq);
        middle = whole.subarray(0, keep);
      }
      middles[i] = middle;
      total += this.prefixIds.length + (this.unsplittable === null ? kq : 0) + middle.length + this.suffixIds.length;
    }
    const ids = new Int32Array(total);
    const offsets = new Int32Array(count + 1);
    let at = 0;
    for (let i = 0; i < count; i++) {
      ids.set(this.prefixIds, at);
      at += this.prefixIds.length;
      if (this.unsplittable === null) {
        ids.set(q.ids.subarray(0, kq), at);
        at += kq;
      }
      ids.set(middles[i]!, at);
      at += middles[i]!.length;
      ids.set(this.suffixIds, at);
      at += this.suffixIds.length;
      offsets[i + 1] = at;
    }
    return { ids, typeIds: new Uint8Array(total), offsets };
  }

  /** A document run where the split is unproven: nothing (the whole middle is tokenized per pair). */
  get placeholderRun(): Int32Array {
    return EMPTY;
  }

  #checkRoom(nq: number, nd: number): void {
    if (this.#truncation === 'only_second' && nq + nd > this.budget && nq >= this.budget) {
      throw new TruncationError(
        `truncation 'only_second': the query part of ${nq} tokens (the instruction and the query) leaves no room for the document at ` +
          `maxLength ${this.#maxLength} (the ${this.llm.template.name} prompt takes ${this.specialCount} more): ` +
          "use truncation 'longest_first', a shorter instruction or query, or a larger maxLength",
      );
    }
  }
}
