/**
 * Readers of request-body fields, shared by the API dialects (cohere.ts, jina.ts, tei.ts). Each returns the
 * value, typed, or throws an HttpError naming the field: 400 for a missing field or a wrong type or value
 * (`Expected an integer >= 1 for top_n but received 0`), 413 for more documents or characters than the server's
 * limits. Optional fields may be absent or null; fields a dialect does not read are ignored.
 * @internal
 */
import { describe } from '../check.js';
import { HttpError } from './http.js';

/** The server's limits on what one request may hold. */
export interface RequestLimits {
  /** Documents per request (413 above). */
  maxDocuments: number;
  /** Characters (UTF-16 code units, JavaScript's string length) of the query and of each document (413 above). */
  maxDocumentChars: number;
}

export type Body = Record<string, unknown>;

const invalid = (field: string, expected: string, value: unknown) =>
  new HttpError(400, 'ERR_INVALID_ARGUMENT', value === undefined
    ? `${field} is required: expected ${expected}`
    : `Expected ${expected} for ${field} but received ${describe(value)}`, { field });

/** The request body must be a JSON object. */
export function bodyObject(value: unknown): Body {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'ERR_INVALID_ARGUMENT', `Expected a JSON object for the request body but received ${describe(value)}`);
  }
  return value as Body;
}

const absent = (value: unknown) => value === undefined || value === null;

function tooLong(field: string, text: string, limits: RequestLimits): HttpError | undefined {
  return text.length > limits.maxDocumentChars
    ? new HttpError(413, 'ERR_DOCUMENT_TOO_LONG', `${field} has ${text.length} characters, more than the server's limit of ${limits.maxDocumentChars} (--max-document-chars)`, { field })
    : undefined;
}

/** A required string within the character limit (the query). */
export function text(body: Body, field: string, limits: RequestLimits): string {
  const value = body[field];
  if (typeof value !== 'string') throw invalid(field, 'a string', absent(value) ? undefined : value);
  const error = tooLong(field, value, limits);
  if (error) throw error;
  return value;
}

export function optionalString(body: Body, field: string): string | undefined {
  const value = body[field];
  if (absent(value)) return undefined;
  if (typeof value !== 'string') throw invalid(field, 'a string', value);
  return value;
}

export function optionalBoolean(body: Body, field: string, fallback: boolean): boolean {
  const value = body[field];
  if (absent(value)) return fallback;
  if (typeof value !== 'boolean') throw invalid(field, 'a boolean', value);
  return value;
}

export function optionalInteger(body: Body, field: string, min: number): number | undefined {
  const value = body[field];
  if (absent(value)) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > Number.MAX_SAFE_INTEGER) {
    throw invalid(field, `an integer >= ${min}`, value);
  }
  return value;
}

/**
 * A required, non-empty array of documents, each a string or, where `objects` is true, an object with a string
 * `text` field; returned as strings. 413 for more than maxDocuments documents or a document over
 * maxDocumentChars.
 */
export function documents(body: Body, field: string, limits: RequestLimits, objects: boolean): string[] {
  const value = body[field];
  const expected = objects ? 'an array of strings or of objects with a string "text" field' : 'an array of strings';
  if (!Array.isArray(value)) throw invalid(field, expected, absent(value) ? undefined : value);
  if (value.length === 0) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', `${field} is empty: expected at least one document`, { field });
  if (value.length > limits.maxDocuments) {
    throw new HttpError(413, 'ERR_TOO_MANY_DOCUMENTS', `${field} has ${value.length} documents, more than the server's limit of ${limits.maxDocuments} (--max-documents)`, { field });
  }
  const docs = new Array<string>(value.length);
  for (let i = 0; i < value.length; i++) {
    const item: unknown = value[i];
    let doc: string;
    let name = `${field}[${i}]`;
    if (typeof item === 'string') {
      doc = item;
    } else if (objects && typeof item === 'object' && item !== null && !Array.isArray(item)) {
      name = `${field}[${i}].text`;
      const t = (item as Body).text;
      if (typeof t !== 'string') throw invalid(name, 'a string', absent(t) ? undefined : t);
      doc = t;
    } else {
      throw invalid(name, objects ? 'a string or an object with a string "text" field' : 'a string', item);
    }
    const error = tooLong(name, doc, limits);
    if (error) throw error;
    docs[i] = doc;
  }
  return docs;
}
