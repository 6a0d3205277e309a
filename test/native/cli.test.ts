import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireAddonBuilt } from '../helpers/addon.js';
import { REPO_ROOT, tempDir, writeModels } from '../helpers/models.js';

const run = promisify(execFile);
const CLI = join(REPO_ROOT, 'dist', 'cli.js');

let root: string;
let cleanup: () => Promise<void>;
let model: string;
beforeAll(async () => {
  requireAddonBuilt();
  ({ dir: root, cleanup } = await tempDir());
  model = (await writeModels(root, ['tiny-bert']))['tiny-bert'];
});
afterAll(() => cleanup());

const cli = (args: string[], input?: string) => {
  const child = run(process.execPath, [CLI, ...args], { cwd: REPO_ROOT });
  if (input !== undefined) {
    child.child.stdin!.end(input);
  }
  return child;
};

describe('trt-rerank CLI', () => {
  it('demo reranks the built-in example and says the model is untrained', async () => {
    const { stdout } = await cli(['demo']);
    expect(stdout).toMatch(/UNTRAINED model with random weights/);
    expect(stdout.match(/^ {2}#\d+ {2}0\.\d{4} {2}/gm)).toHaveLength(5);
  });

  it('info reports the binary loaded, CUDA, TensorRT and the backends of this build as JSON', async () => {
    const info = JSON.parse((await cli(['info'])).stdout);
    expect(info.backends).toContain('cpu');
    // In a clone the local build loads (the testing addon where vitest.config.ts chose it), nothing before it;
    // or the file TRT_RERANK_ADDON names.
    if (process.env.TRT_RERANK_ADDON) {
      expect(info.binary).toMatchObject({ source: 'env', path: process.env.TRT_RERANK_ADDON, reason: 'TRT_RERANK_ADDON names it', passedOver: [] });
    } else {
      expect(info.binary).toMatchObject({ source: 'local-build', passedOver: [] });
      expect(info.binary.path).toMatch(/build[/\\]Release[/\\]trt_rerank(_testing)?\.node$/);
    }
    expect(info.binary.variant).toMatch(/^(cpu|cuda\d+)$/);
    expect(Array.isArray(info.cuda.devices)).toBe(true);
    expect(typeof info.tensorrt.found).toBe('boolean');
    if (!info.tensorrt.found) expect(info.tensorrt.error).toMatch(/libnvinfer/);
  });

  it('rerank reads JSONL documents from a file or stdin and prints JSON best first', async () => {
    const docs = join(root, 'docs.jsonl');
    await writeFile(docs, ['"berlin has many people"', '{"text": "paris is in france"}', '', '"tokyo"'].join('\n'));
    const fromFile = JSON.parse((await cli(['rerank', '--model', model, '--query', 'berlin', '--docs', docs, '--top-k', '2', '--backend', 'cpu'])).stdout);
    expect(fromFile).toHaveLength(2);
    expect(fromFile[0].score).toBeGreaterThanOrEqual(fromFile[1].score);
    const fromStdin = JSON.parse((await cli(['rerank', '--model', model, '--query', 'berlin', '--return-documents'], '"a"\n"b"\n')).stdout);
    expect(fromStdin.map((r: { document: string }) => r.document).sort()).toEqual(['a', 'b']);
  });

  it('usage errors exit 2 with the usage; model errors exit 1 with the error code', async () => {
    const usage = await cli(['rerank', '--query', 'x']).catch((e: { code: number; stderr: string }) => e);
    expect(usage).toMatchObject({ code: 2, stderr: expect.stringMatching(/needs --model DIR/) });
    const missing = await cli(['rerank', '--model', join(root, 'nope'), '--query', 'x'], '"a"\n').catch((e: { code: number; stderr: string }) => e);
    expect(missing).toMatchObject({ code: 1, stderr: expect.stringMatching(/ERR_MODEL_NOT_FOUND/) });
  });
});
