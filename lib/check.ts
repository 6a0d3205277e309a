/**
 * Small typed checkers for arguments and options (sharp's lib/is.mjs habit), used as `check.integer(...)`
 * by options.ts (Reranker) and tokenize/pair-tokenizer.ts (PairTokenizer). Each returns the value, typed, or
 * throws an InvalidArgumentError naming the option, what was expected and what came:
 * `Expected an integer >= 1 for maxLength but received 1.5`.
 */
import { InvalidArgumentError } from './errors.js';
import type { Truncation } from './tokenize/truncation.js';

/** What came, for a message: `null`, `an array`, `the string "..."` (40 characters at most), `42`, or its type. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  if (typeof value === 'number') return String(value);
  return typeof value;
}

/** The error for `name`, which should have been `expected` (a phrase: "an integer >= 0") but was `value`. */
export function invalid(name: string, expected: string, value: unknown): InvalidArgumentError {
  return new InvalidArgumentError(`Expected ${expected} for ${name} but received ${describe(value)}`);
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function object(value: unknown, name: string): Record<string, unknown> {
  if (!isPlainObject(value)) throw invalid(name, 'an object', value);
  return value;
}

/** An options object that may be left out: undefined gives `{}`. */
export function optionalObject(value: unknown, name: string): Record<string, unknown> {
  return value === undefined ? {} : object(value, name);
}

/** An integer in [min, max]; without max, any integer >= min. */
export function integer(value: unknown, name: string, min: number, max?: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || (max !== undefined && value > max)) {
    throw invalid(name, max === undefined ? `an integer >= ${min}` : `an integer between ${min} and ${max}`, value);
  }
  return value;
}

export function oneOf<T extends string>(value: unknown, name: string, allowed: readonly T[]): T {
  if (!allowed.includes(value as T)) throw invalid(name, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
  return value as T;
}

export function string(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalid(name, 'a string', value);
  return value;
}

/** A non-empty string; `expected` says what it holds, e.g. "a non-empty string (a file path)". */
export function nonEmptyString(value: unknown, name: string, expected: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(name, expected, value);
  return value;
}

/** An array of strings: each element is checked, and named `name[i]` when it is not one. */
export function stringArray(value: unknown, name: string): readonly string[] {
  if (!Array.isArray(value)) throw invalid(name, 'an array of strings', value);
  for (let i = 0; i < value.length; i++) string(value[i], `${name}[${i}]`);
  return value as readonly string[];
}

export function boolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalid(name, 'a boolean', value);
  return value;
}

export function abortSignal(value: unknown, name: string): AbortSignal {
  if (!(value instanceof AbortSignal)) throw invalid(name, 'an AbortSignal', value);
  return value;
}

// ---- options that Reranker.load and PairTokenizer both take ----

const TRUNCATIONS: readonly Truncation[] = ['longest_first', 'only_second'];

/** `truncation`; left out: 'longest_first'. */
export function truncation(value: unknown, name: string): Truncation {
  return value === undefined ? 'longest_first' : oneOf(value, name, TRUNCATIONS);
}

export const DEFAULT_TOKEN_CACHE_BYTES = 64 * 1024 * 1024;

/** `tokenCache`: `false` or `{ maxBytes }`; left out: 64 MiB. */
export function tokenCache(value: unknown, name: string): { maxBytes: number } | false {
  if (value === undefined) return { maxBytes: DEFAULT_TOKEN_CACHE_BYTES };
  if (value === false) return false;
  const bytes = isPlainObject(value) ? value.maxBytes : undefined;
  if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes < 0) {
    throw invalid(name, 'false or { maxBytes: an integer >= 0 }', isPlainObject(value) ? bytes : value);
  }
  return { maxBytes: bytes };
}

export function callback<T>(value: unknown, name: string): T {
  if (typeof value !== 'function') throw invalid(name, 'a function', value);
  return value as T;
}
