/**
 * HF tokenizers' pair truncation, as tokenizers 0.23 (Rust) applies it to `encode(query, doc)` with
 * `enable_truncation(max_length, strategy=...)`. Two steps:
 *
 * 1. Early exit (tokenizer/mod.rs `do_tokenize`, pre_tokenizer.rs `tokenize_with_limit`, since 0.23.0): each
 *    sequence is tokenized one split (pre-token or added token) at a time, and tokenizing stops after the first
 *    model-tokenized split that brings the count to max_length (the whole max_length, special tokens
 *    included) or more. Added-token splits count but never stop it. It applies to both sequences under
 *    longest_first and to the document only under only_second. So a sequence "has" n' <= n tokens: all of
 *    them when it is shorter than max_length, else the tokens up to the end of the split where the count
 *    reached max_length.
 * 2. truncate_encodings (utils/truncation.rs) on (n1', n2') with L = max_length minus the template's special
 *    tokens ({@link truncatePair}); then the special tokens are added.
 *
 * Step 1 matters: under longest_first, which run counts as the longer one (and so which gets the extra token of
 * an odd L) is decided on n1', n2', not on the full lengths. tokenizers 0.22 and older have no step 1.
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

/** Where a sequence's tokenizing stopped (step 1): `length` tokens, `stopped` false when it ran to the end. */
export interface EarlyExit {
  readonly length: number;
  readonly stopped: boolean;
}

/**
 * Step 1 for one sequence. `splits` are its splits' token counts in order (see rust-compat.ts SplitLog):
 * n >= 0 for a pre-token tokenized into n tokens, -1 for an added token.
 */
export function earlyExit(splits: readonly number[], maxLength: number): EarlyExit {
  let total = 0;
  for (const count of splits) {
    if (count < 0) {
      total += 1;
      continue;
    }
    total += count;
    if (total >= maxLength) return { length: total, stopped: true };
  }
  return { length: total, stopped: false };
}

/**
 * Step 2: how many tokens of a query of `n1` and a document of `n2` tokens survive with `budget` = L text
 * tokens, or `undefined` where Rust raises (only_second with a query that leaves the document no token:
 * "Sequence to truncate too short to respect the provided max_length").
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
  // As tokenizers' truncation.rs: the shorter side (a) keeps what it has or half, the longer (b) the rest.
  const swap = n1 > n2;
  let a = swap ? n2 : n1;
  let b = a > budget ? a : Math.max(a, budget - a);
  if (a + b > budget) {
    a = Math.floor(budget / 2);
    b = a + (budget % 2);
  }
  if (swap) [a, b] = [b, a];
  return { k1: a, k2: b };
}

/*
 * Why a long document may be tokenized by prefix (long-text.ts), and why the cache can hold one run per
 * document whatever the query:
 *
 * With step 1, Rust never looks at a document past the split where its count reached max_length (M). The
 * tokens it keeps, n2' of them, are the tokens of the splits up to there. A prefix P of the document whose
 * splits are the first splits of the whole text (long-text.ts) and in which the early exit stops gives the
 * same n2' tokens; nothing after the stop point can change n2', the truncation of step 2, or the ids. The
 * document's n2'-token run depends on M only, not on the query or the strategy (the document is limited under
 * both), so it is what the cache keeps.
 *
 * For the rule alone (tokenizers 0.22, no step 1) a weaker condition would do: if all we know is that the
 * document has d > max(q, L) tokens (q = query tokens), the result does not depend on d and keeps fewer than
 * d document tokens.
 *   - q + d > L, so truncation happens.
 *   - only_second: to_remove = q + d - L, d - to_remove = L - q. Rust errors iff d <= to_remove, i.e. iff
 *     L <= q, whatever d is; otherwise it keeps L - q < L < d tokens.
 *   - longest_first: d > q, so no swap (a = q, b = d). If q > L: b = q, a + b = 2q > L, so the result is
 *     (floor(L/2), ceil(L/2)). Else b = max(q, L - q): if 2q > L it is (floor(L/2), ceil(L/2)), otherwise
 *     (q, L - q). No branch reads d, and every k2 is at most L < d.
 * A stopped early exit has n2' >= M > L tokens, so the prefix condition above also meets this one whenever
 * n2' > q.
 */
