/**
 * The argument checkers (lib/check.ts) that Reranker options and PairTokenizer share: each names the option,
 * what was expected and what came; the two surfaces give the same text for the same check.
 */
import { describe, expect, it } from 'vitest';
import * as check from '../../lib/check.js';
import { InvalidArgumentError } from '../../lib/errors.js';
import { checkLoadOptions } from '../../lib/options.js';

describe('check', () => {
  it.each([
    [() => check.integer(1.5, 'maxLength', 1), 'Expected an integer >= 1 for maxLength but received 1.5'],
    [() => check.integer(0, 'options.threads', 1, 1024), 'Expected an integer between 1 and 1024 for options.threads but received 0'],
    [() => check.oneOf('gpu', 'options.dtype', ['fp16', 'bf16']), "Expected one of 'fp16', 'bf16' for options.dtype but received the string \"gpu\""],
    [() => check.stringArray(['a', 7], 'docs'), 'Expected a string for docs[1] but received 7'],
    [() => check.object([], 'options'), 'Expected an object for options but received an array'],
    [() => check.string(null, 'query'), 'Expected a string for query but received null'],
    [() => check.abortSignal({}, 'options.signal'), 'Expected an AbortSignal for options.signal but received object'],
  ])('%#: throws an InvalidArgumentError with the option, what was expected and what came', (call, message) => {
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(message);
  });

  it('returns what it checked, with the defaults of left-out shared options', () => {
    expect(check.integer(3, 'n', 1)).toBe(3);
    expect(check.optionalObject(undefined, 'options')).toEqual({});
    expect(check.truncation(undefined, 'truncation')).toBe('longest_first');
    expect(check.tokenCache(undefined, 'tokenCache')).toEqual({ maxBytes: check.DEFAULT_TOKEN_CACHE_BYTES });
    expect(check.tokenCache(false, 'tokenCache')).toBe(false);
    expect(check.tokenCache({ maxBytes: 0 }, 'tokenCache')).toEqual({ maxBytes: 0 });
    expect(check.describe('y'.repeat(41))).toBe(`the string "${'y'.repeat(40)}…"`);
  });

  it('Reranker.load options word a shared check as PairTokenizer does, under their own names', () => {
    expect(() => checkLoadOptions({ truncation: 'longest' })).toThrow(
      "Expected one of 'longest_first', 'only_second' for options.truncation but received the string \"longest\"",
    );
    expect(() => checkLoadOptions({ tokenCache: { maxBytes: -1 } })).toThrow(
      'Expected false or { maxBytes: an integer >= 0 } for options.tokenCache but received -1',
    );
  });
});
