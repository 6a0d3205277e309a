/**
 * Every error trt-rerank throws or rejects with is a {@link RerankError} with a stable `code`.
 * Match on `code` (or `instanceof` the subclass), never on the message text.
 */

import type { NativeErrorCode, RerankErrorCode } from './generated/error-codes.js';

// The codes are listed once, in native/common/error_codes.json (tools/generate-error-codes.mjs).
export type { RerankErrorCode } from './generated/error-codes.js';

export class RerankError extends Error {
  readonly code: RerankErrorCode;
  constructor(code: RerankErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** An argument or option has the wrong type or value: the message names it, what was expected and what came. */
export class InvalidArgumentError extends RerankError {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}

/** The model folder is missing a file, a file is corrupt, or the model is of a kind no backend supports. */
export class ModelLoadError extends RerankError {
  readonly path: string;
  constructor(
    code: 'ERR_MODEL_NOT_FOUND' | 'ERR_MODEL_INVALID' | 'ERR_MODEL_UNSUPPORTED',
    path: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${message} (${path})`, options);
    this.path = path;
  }
}

/** `truncation: 'only_second'` cannot fit the query (and the special tokens) into maxLength. */
export class TruncationError extends RerankError {
  constructor(message: string) {
    super('ERR_TRUNCATION', message);
  }
}

/** The requested backend is not in this build or cannot run on this machine; the message says why. */
export class BackendUnavailableError extends RerankError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND_UNAVAILABLE', message, options);
  }
}

/** The native addon could not be loaded; the message says what was tried and how to fix it. */
export class NativeAddonError extends RerankError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_NATIVE_ADDON', message, options);
  }
}

/** A backend failed while running a request (for example a CUDA error); the message carries its text. */
export class BackendError extends RerankError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_BACKEND', message, options);
  }
}

/** The Reranker was closed before or while the call ran. */
export class ClosedError extends RerankError {
  constructor(message = 'this Reranker is closed: load a new one with Reranker.load()') {
    super('ERR_CLOSED', message);
  }
}

/** The call's AbortSignal fired. `cause` is the signal's reason. */
export class AbortError extends RerankError {
  constructor(reason?: unknown) {
    super('ERR_ABORTED', 'the operation was aborted', { cause: reason });
  }
}

/**
 * The Reranker's queue is full: admitted calls not yet finished hold `maxQueuedPairs` pairs. The call was refused
 * at once and nothing of it was queued; retry later (an HTTP server answers 429), or load with a larger
 * `maxQueuedPairs`.
 */
export class OverloadedError extends RerankError {
  constructor(message: string) {
    super('ERR_OVERLOADED', message);
  }
}

/** The call ran longer than its `timeoutMs`; its pairs left the queue. */
export class TimeoutError extends RerankError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super('ERR_TIMEOUT', `the call did not finish within its timeoutMs of ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

type FromNative = (message: string, cause: unknown, modelDir: string | undefined) => RerankError;
const modelError = (code: 'ERR_MODEL_INVALID' | 'ERR_MODEL_UNSUPPORTED'): FromNative => (message, cause, modelDir) =>
  new ModelLoadError(code, modelDir ?? 'the model folder', message, { cause });

/** The class each code of the addon's becomes; typecheck fails until a code added to the list has its entry. */
const FROM_NATIVE: Record<NativeErrorCode, FromNative> = {
  ERR_INVALID_ARGUMENT: (message) => new InvalidArgumentError(message),
  // The addon's checks of config.json and the weights: the message names the field or tensor.
  ERR_MODEL_INVALID: modelError('ERR_MODEL_INVALID'),
  ERR_MODEL_UNSUPPORTED: modelError('ERR_MODEL_UNSUPPORTED'),
  ERR_BACKEND_UNAVAILABLE: (message) => new BackendUnavailableError(message),
  ERR_BACKEND: (message, cause) => new BackendError(message, { cause }),
  ERR_OVERLOADED: (message) => new OverloadedError(message),
  // Cancelled or closed: only the call knows its signal and whether close() ran (lib/reranker.ts fromNative).
  ERR_CANCELLED: (message, cause) => new BackendError(message, { cause }),
  ERR_CLOSED: (message, cause) => new BackendError(message, { cause }),
};

/**
 * An error from the addon's operations that are not tied to a call (loading, building engines, and the part of
 * a call's failures that is not about cancellation) as a public error class, by its native code; an error
 * without a known code is a BackendError. `modelDir` is the path a ModelLoadError names.
 * @internal
 */
export function fromNativeCode(error: unknown, modelDir?: string): RerankError {
  if (error instanceof RerankError) return error;
  const e = error as { code?: unknown; message?: string };
  const message = e?.message ?? String(error);
  const code = e?.code;
  const make = typeof code === 'string' && Object.hasOwn(FROM_NATIVE, code) ? FROM_NATIVE[code as NativeErrorCode] : FROM_NATIVE.ERR_BACKEND;
  return make(message, error, modelDir);
}
