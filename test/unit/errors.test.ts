/**
 * fromNativeCode (lib/errors.ts): each code of native/common/error_codes.json the addon rejects with becomes
 * its public class; an unknown or missing code is a BackendError that keeps the native error as its cause.
 */
import { describe, expect, it } from 'vitest';
import { BackendError, BackendUnavailableError, fromNativeCode, InvalidArgumentError, ModelLoadError } from '../../lib/errors.js';

const native = (code: string | undefined, message = 'from the addon') => Object.assign(new Error(message), { code });

describe('fromNativeCode', () => {
  it('maps the addon codes to their classes, keeping the message', () => {
    expect(fromNativeCode(native('ERR_INVALID_ARGUMENT'))).toBeInstanceOf(InvalidArgumentError);
    expect(fromNativeCode(native('ERR_BACKEND_UNAVAILABLE'))).toBeInstanceOf(BackendUnavailableError);
    const model = fromNativeCode(native('ERR_MODEL_INVALID', 'config.json: "hidden_size" must be an integer'), '/models/bert');
    expect(model).toBeInstanceOf(ModelLoadError);
    expect(model).toMatchObject({ code: 'ERR_MODEL_INVALID', path: '/models/bert', message: 'config.json: "hidden_size" must be an integer (/models/bert)' });
  });

  it.each(['ERR_BACKEND', 'ERR_SOMETHING_NEW', 'toString', undefined])('code %s: a BackendError with the native error as cause', (code) => {
    const error = native(code);
    const mapped = fromNativeCode(error);
    expect(mapped).toBeInstanceOf(BackendError);
    expect(mapped).toMatchObject({ code: 'ERR_BACKEND', message: 'from the addon', cause: error });
  });
});
