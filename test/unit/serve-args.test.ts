/** `trt-rerank serve`'s arguments (lib/serve/command.ts): what becomes load options and server options. */
import { describe, expect, it } from 'vitest';
import { parseServeArgs, ServeUsageError } from '../../lib/serve/command.js';

describe('serve arguments', () => {
  it('passes load options through, --instruction for LLM rerankers among them', () => {
    const { modelDir, load, server } = parseServeArgs(['--model', '/m', '--port', '0', '--max-length', '8192', '--instruction', 'Given a question, retrieve code', '--no-warmup']);
    expect(modelDir).toBe('/m');
    expect(load).toEqual({ maxLength: 8192, instruction: 'Given a question, retrieve code', warmup: false });
    expect(server).toMatchObject({ modelDir: '/m', port: 0 });
    expect(parseServeArgs(['--model', '/m']).load).toEqual({});
  });

  it('every server limit has its flag', () => {
    const limits = ['--max-body-bytes', '1', '--max-documents', '2', '--max-document-chars', '3', '--max-connections', '4', '--request-timeout-ms', '5',
      '--drain-timeout-ms', '6', '--headers-timeout-ms', '7', '--body-timeout-ms', '8'];
    expect(parseServeArgs(['--model', '/m', ...limits]).server).toEqual({
      modelDir: '/m', maxBodyBytes: 1, maxDocuments: 2, maxDocumentChars: 3, maxConnections: 4, requestTimeoutMs: 5, drainTimeoutMs: 6, headersTimeoutMs: 7, bodyTimeoutMs: 8,
    });
    expect(() => parseServeArgs(['--model', '/m', '--body-timeout-ms', '0'])).toThrow(/--body-timeout-ms must be an integer >= 1, got "0"/);
  });

  it('--device takes an index, a comma-separated list (a model copy per device) or all', () => {
    expect(parseServeArgs(['--model', '/m', '--device', '1']).load).toEqual({ device: 1 });
    expect(parseServeArgs(['--model', '/m', '--device', '0,1']).load).toEqual({ device: [0, 1] });
    expect(parseServeArgs(['--model', '/m', '--device', 'all']).load).toEqual({ device: 'all' });
    for (const bad of ['', 'x', '0,', '1,-2', '0,1.5']) {
      expect(() => parseServeArgs(['--model', '/m', '--device', bad])).toThrow(/--device must be an index, a comma-separated list of them or 'all'/);
    }
  });

  it('refuses a missing --model and a bad integer, naming them', () => {
    expect(() => parseServeArgs([])).toThrow(new ServeUsageError('serve needs --model DIR'));
    expect(() => parseServeArgs(['--model', '/m', '--max-length', 'x'])).toThrow(/--max-length must be an integer >= 1, got "x"/);
  });
});
