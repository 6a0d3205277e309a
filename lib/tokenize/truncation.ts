/**
 * HF tokenizers' pair truncation (tokenizer/utils/truncation.rs `truncate_encodings`), applied to the query and
 * document runs before the special tokens are added. `budget` is maxLength minus the template's special tokens,
 * as Tokenizer::post_process passes it.
 *
 * @internal
 */

export type Truncation = 'longest_first' | 'only_second';

export interface PairLengths {
  /** Query tokens kept (a prefix of the query run). */
  readonly k1: number;
  /** Document tokens kept (a prefix of the document run). */
  readonly k2: number;
}

/**
 * How many tokens of a query of `n1` and a document of `n2` tokens survive, or `undefined` where Rust raises
 * (only_second with a query that leaves the document no token: "Sequence to truncate too short to respect the
 * provided max_length").
 *
 * longest_first, Rust's rules verbatim (n1 is made the shorter run):
 * ```
 *   swap = n1 > n2; if swap: n1 <-> n2
 *   n2 = n1 > L ? n1 : max(n1, L - n1)
 *   if n1 + n2 > L: n1 = floor(L / 2); n2 = n1 + L % 2
 *   if swap: n1 <-> n2
 * ```
 * only_second: the document loses n1 + n2 - L tokens, which must leave it at least one.
 */
export function truncatePair(n1: number, n2: number, budget: number, strategy: Truncation): PairLengths | undefined {
  if (n1 + n2 <= budget) return { k1: n1, k2: n2 };
  if (strategy === 'only_second') {
    const toRemove = n1 + n2 - budget;
    return n2 > toRemove ? { k1: n1, k2: n2 - toRemove } : undefined;
  }
  let a = n1;
  let b = n2;
  const swap = a > b;
  if (swap) [a, b] = [b, a];
  b = a > budget ? a : Math.max(a, budget - a);
  if (a + b > budget) {
    a = Math.floor(budget / 2);
    b = a + (budget % 2);
  }
  if (swap) [a, b] = [b, a];
  return { k1: a, k2: b };
}

/*
 * Why a document's tokens may be cut short before truncation (see long-text.ts):
 *
 * Let q = n1 (query tokens), d = n2 (document tokens), L = budget, and suppose we only know that d > max(q, L),
 * from a prefix of the document that already gives more than max(q, L) tokens. Then the result does not depend
 * on d, and keeps fewer than d tokens of the document:
 *   - q + d > L, so truncation happens.
 *   - only_second: to_remove = q + d - L and d - to_remove = L - q. Rust errors iff d <= to_remove, i.e. iff
 *     L <= q, whatever d is; otherwise it keeps L - q < L < d tokens.
 *   - longest_first: d > q, so no swap (a = q, b = d). If q > L: b = q, a + b = 2q > L, so the result is
 *     (floor(L/2), ceil(L/2)). Else b = max(q, L - q): if 2q > L it is (floor(L/2), ceil(L/2)), otherwise
 *     (q, L - q). No branch reads d, and every k2 is at most L < d.
 * So the first k2 tokens of the prefix are the first k2 tokens of the whole document, whenever the prefix's
 * tokens are a prefix of the document's tokens.
 */
