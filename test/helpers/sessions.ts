/** Scoring token sequences on a native session directly, without the tokenizer (reference and model tests). */
import type { NativeSession } from '../../lib/binding/native.js';

/** Sequences packed as a session takes them: ids, type ids (zeros where none are given) and offsets. */
export function packSequences(seqs: readonly (readonly number[])[], typeIds?: readonly (readonly number[])[]) {
  const total = seqs.reduce((n, s) => n + s.length, 0);
  const ids = new Int32Array(total);
  const types = new Uint8Array(total);
  const offsets = new Int32Array(seqs.length + 1);
  seqs.forEach((s, i) => {
    ids.set(s, offsets[i]);
    if (typeIds) types.set(typeIds[i]!, offsets[i]);
    offsets[i + 1] = offsets[i]! + s.length;
  });
  return { ids, typeIds: types, offsets };
}

/** The raw scores of `seqs` scored as one call. */
export async function scoreSequences(session: NativeSession, seqs: readonly (readonly number[])[]): Promise<Float32Array> {
  const { ids, typeIds, offsets } = packSequences(seqs);
  const request = session.createRequest(seqs.length, 'none');
  await request.submit(ids, typeIds, offsets, 0);
  return (await request.finish(0)).scores;
}
