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

  it('refuses a missing --model and a bad integer, naming them', () => {
    expect(() => parseServeArgs([])).toThrow(new ServeUsageError('serve needs --model DIR'));
    expect(() => parseServeArgs(['--model', '/m', '--max-length', 'x'])).toThrow(/--max-length must be an integer >= 1, got "x"/);
  });
});
