/**
 * The pair template of a tokenizer.json post_processor: where the special tokens go around the query (A) and
 * the document (B), and the type id of every position, as HF tokenizers' processors/ (Rust) build them.
 *
 * @internal
 */
import { ModelLoadError } from '../errors.js';

export type TemplatePiece =
  | { readonly kind: 'special'; readonly ids: readonly number[]; readonly typeId: number }
  | { readonly kind: 'sequence'; readonly sequence: 'A' | 'B'; readonly typeId: number };

export interface PairTemplate {
  /** Which post_processor it came from, for messages: 'TemplateProcessing', 'BertProcessing', ... or 'none'. */
  readonly source: string;
  readonly pieces: readonly TemplatePiece[];
  /** Special tokens the template adds to a pair; truncation keeps maxLength minus this many text tokens. */
  readonly specialCount: number;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(path: string, message: string): ModelLoadError {
  return new ModelLoadError('ERR_MODEL_INVALID', path, `tokenizer.json post_processor: ${message}`);
}

function tokenId(value: unknown, field: string, path: string): number {
  // BertProcessing / RobertaProcessing store [token, id].
  const id = Array.isArray(value) ? value[1] : undefined;
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
    throw invalid(path, `"${field}" must be [token, id], got ${JSON.stringify(value)}`);
  }
  return id;
}

function special(ids: number[], typeId: number): TemplatePiece {
  return { kind: 'special', ids, typeId };
}

function sequence(which: 'A' | 'B', typeId: number): TemplatePiece {
  return { kind: 'sequence', sequence: which, typeId };
}

function fromTemplateProcessing(pp: Json, path: string): TemplatePiece[] {
  const pair = pp.pair;
  const specials = isObject(pp.special_tokens) ? pp.special_tokens : {};
  if (!Array.isArray(pair)) throw invalid(path, 'TemplateProcessing has no "pair" template');
  return Array.from(pair, (piece: unknown): TemplatePiece => {  // Array.from: a hole (an object, not JSON) is a bad piece
    if (isObject(piece) && isObject(piece.Sequence)) {
      const { id, type_id: typeId = 0 } = piece.Sequence;
      if ((id !== 'A' && id !== 'B') || typeof typeId !== 'number') throw invalid(path, `bad Sequence piece ${JSON.stringify(piece)}`);
      return sequence(id, typeId);
    }
    if (isObject(piece) && isObject(piece.SpecialToken)) {
      const { id, type_id: typeId = 0 } = piece.SpecialToken;
      const entry = typeof id === 'string' ? specials[id] : undefined;
      const ids = isObject(entry) ? entry.ids : undefined;
      if (!Array.isArray(ids) || !ids.every((x) => Number.isInteger(x) && (x as number) >= 0) || typeof typeId !== 'number') {
        throw invalid(path, `special token ${JSON.stringify(id)} of the pair template has no ids in "special_tokens"`);
      }
      return special(ids as number[], typeId);
    }
    throw invalid(path, `unknown template piece ${JSON.stringify(piece)}`);
  });
}

/** The post-processors that only adjust offsets (ids and type ids as with no post_processor). */
const OFFSETS_ONLY = new Set(['ByteLevel']);

function piecesOf(pp: Json, path: string): TemplatePiece[] | null {
  switch (pp.type) {
    case 'TemplateProcessing':
      return fromTemplateProcessing(pp, path);
    case 'BertProcessing': {
      // processors/bert.rs: [CLS] A [SEP] B [SEP], type ids 0 then 1 from B on.
      const cls = tokenId(pp.cls, 'cls', path);
      const sep = tokenId(pp.sep, 'sep', path);
      return [special([cls], 0), sequence('A', 0), special([sep], 0), sequence('B', 1), special([sep], 1)];
    }
    case 'RobertaProcessing': {
      // processors/roberta.rs: <s> A </s> </s> B </s>, and every type id is 0.
      const cls = tokenId(pp.cls, 'cls', path);
      const sep = tokenId(pp.sep, 'sep', path);
      return [special([cls], 0), sequence('A', 0), special([sep], 0), special([sep], 0), sequence('B', 0), special([sep], 0)];
    }
    default:
      if (typeof pp.type === 'string' && OFFSETS_ONLY.has(pp.type)) return null;
      throw new ModelLoadError(
        'ERR_MODEL_UNSUPPORTED',
        path,
        `tokenizer.json post_processor type ${JSON.stringify(pp.type ?? null)} is not supported: ` +
          'use TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel or a Sequence of them',
      );
  }
}

/**
 * Reads the pair template of a tokenizer.json `post_processor`. No post_processor (or one that only moves
 * offsets, like ByteLevel) concatenates the two runs, with type id 0 for the query and 1 for the document,
 * as Rust's default_process does. A `Sequence` may hold one processor that adds special tokens.
 */
export function parsePairTemplate(postProcessor: unknown, path: string): PairTemplate {
  let source = 'none';
  let pieces: TemplatePiece[] | null = null;
  if (postProcessor !== null && postProcessor !== undefined) {
    if (!isObject(postProcessor)) throw invalid(path, 'must be an object or null');
    const members = postProcessor.type === 'Sequence'
      ? (Array.isArray(postProcessor.processors) ? postProcessor.processors : [])
      : [postProcessor];
    for (const member of members) {
      if (!isObject(member)) throw invalid(path, `bad Sequence member ${JSON.stringify(member)}`);
      const p = piecesOf(member, path);
      if (p === null) continue;
      if (pieces !== null) {
        throw new ModelLoadError('ERR_MODEL_UNSUPPORTED', path, 'tokenizer.json post_processor: a Sequence with two processors that add special tokens is not supported');
      }
      pieces = p;
      source = String(member.type);
    }
  }
  pieces ??= [sequence('A', 0), sequence('B', 1)];
  const specialCount = pieces.reduce((n, p) => n + (p.kind === 'special' ? p.ids.length : 0), 0);
  return { source, pieces, specialCount };
}

/**
 * Writes one pair at `at`: the template with the first `k1` query tokens and first `k2` document tokens.
 * Returns the position after it.
 */
export function writePair(
  template: PairTemplate,
  query: Int32Array,
  k1: number,
  doc: Int32Array,
  k2: number,
  ids: Int32Array,
  typeIds: Uint8Array,
  at: number,
): number {
  for (const piece of template.pieces) {
    if (piece.kind === 'special') {
      for (const id of piece.ids) {
        ids[at] = id;
        typeIds[at++] = piece.typeId;
      }
    } else {
      const [run, k] = piece.sequence === 'A' ? [query, k1] : [doc, k2];
      ids.set(run.subarray(0, k), at);
      typeIds.fill(piece.typeId, at, at + k);
      at += k;
    }
  }
  return at;
}
