/** Bad input gets a typed error with a code and a clear message; nothing crashes or hangs. */
import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import { BackendUnavailableError, InvalidArgumentError, ModelLoadError, Reranker } from '../../lib/index.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { tempDir, writeModels } from '../helpers/models.js';

let root: string;
let cleanup: () => Promise<void>;
let good: string;
let reranker: Reranker;
beforeAll(async () => {
  requireAddonBuilt();
  ({ dir: root, cleanup } = await tempDir());
  good = (await writeModels(root, ['tiny-bert']))['tiny-bert'];
});
afterAll(async () => {
  await reranker?.close();
  await cleanup();
});

async function brokenCopy(name: string, edit: (dir: string) => Promise<void>): Promise<string> {
  const dir = (await writeModels(join(root, name), ['tiny-bert']))['tiny-bert'];
  await edit(dir);
  return dir;
}

describe('model folder errors', () => {
  it('a missing folder: ERR_MODEL_NOT_FOUND naming config.json', async () => {
    await expect(Reranker.load(join(root, 'does-not-exist'))).rejects.toMatchObject({
      code: 'ERR_MODEL_NOT_FOUND', message: expect.stringMatching(/config.json not found/),
    });
  });
  it('no weights file: ERR_MODEL_NOT_FOUND naming model.safetensors', async () => {
    const dir = await brokenCopy('noweights', (d) => rm(join(d, 'model.safetensors')));
    await expect(Reranker.load(dir)).rejects.toMatchObject({ code: 'ERR_MODEL_NOT_FOUND', message: expect.stringMatching(/model.safetensors not found/) });
  });
  it('a truncated safetensors file: ERR_MODEL_INVALID', async () => {
    const dir = await brokenCopy('truncated', async (d) => truncate(join(d, 'model.safetensors'), 100_000));
    await expect(Reranker.load(dir)).rejects.toMatchObject({ code: 'ERR_MODEL_INVALID', message: expect.stringMatching(/truncated file\?/) });
  });
  it('header offsets past the end of the file: ERR_MODEL_INVALID', async () => {
    const dir = await brokenCopy('offsets', async (d) => {
      const path = join(d, 'model.safetensors');
      const buf = await readFile(path);
      const n = Number(buf.readBigUInt64LE(0));
      const header = JSON.parse(buf.subarray(8, 8 + n).toString());
      const t = header['classifier.bias'];
      t.data_offsets = [buf.length, buf.length + 4];
      const json = JSON.stringify(header).padEnd(n, ' ');
      if (json.length !== n) throw new Error('header grew');
      buf.write(json, 8);
      await writeFile(path, buf);
    });
    await expect(Reranker.load(dir)).rejects.toMatchObject({ code: 'ERR_MODEL_INVALID', message: expect.stringMatching(/"classifier.bias" spans bytes/) });
  });
  it('a config.json that disagrees with the weights: ERR_MODEL_INVALID naming the tensor', async () => {
    const dir = await brokenCopy('shape', async (d) => {
      const config = JSON.parse(await readFile(join(d, 'config.json'), 'utf8'));
      config.intermediate_size = 100;
      await writeFile(join(d, 'config.json'), JSON.stringify(config));
    });
    await expect(Reranker.load(dir)).rejects.toMatchObject({
      code: 'ERR_MODEL_INVALID', message: expect.stringMatching(/intermediate.dense.weight" has shape \[128, 64\] but config.json implies \[100, 64\]/),
    });
  });
  it('an unknown architecture: ERR_MODEL_UNSUPPORTED', async () => {
    const dir = await brokenCopy('arch', async (d) => {
      const config = JSON.parse(await readFile(join(d, 'config.json'), 'utf8'));
      config.architectures = ['GPT2LMHeadModel'];
      await writeFile(join(d, 'config.json'), JSON.stringify(config));
    });
    const error = await Reranker.load(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModelLoadError);
    expect(error).toMatchObject({ code: 'ERR_MODEL_UNSUPPORTED' });
  });
  it('a missing tokenizer.json: ERR_MODEL_NOT_FOUND', async () => {
    const dir = await brokenCopy('notok', (d) => rm(join(d, 'tokenizer.json')));
    await expect(Reranker.load(dir)).rejects.toMatchObject({ code: 'ERR_MODEL_NOT_FOUND' });
  });
});

describe('option and argument errors', () => {
  beforeAll(async () => {
    reranker = await Reranker.load(good, { backend: 'cpu' });
  });
  it('maxLength beyond max_position_embeddings is refused with both numbers', async () => {
    await expect(Reranker.load(good, { maxLength: 1024 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT', message: expect.stringMatching(/1024.*512|512.*1024/),
    });
  });
  it('a GPU backend that cannot run here is refused saying why', async () => {
    const system = loadAddon().systemInfo();
    if (system.cuda.devices.length > 0) {
      console.log('the CUDA backend can run here: its refusal is not tested on this machine');
      return;
    }
    const error = await Reranker.load(good, { backend: 'cuda' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect((error as Error).message).toMatch(/^the CUDA backend cannot run here: (no CUDA device|this build of trt-rerank has no CUDA parts)/);
    // TensorRT's own reasons are tested in tensorrt.test.ts.
  });
  it('bad options name the option, the expectation and the value', async () => {
    await expect(Reranker.load(good, { backend: 'gpu' as never })).rejects.toThrow(
      "Expected one of 'auto', 'tensorrt', 'cuda', 'cpu' for options.backend but received the string \"gpu\"",
    );
    await expect(Reranker.load(good, { maxBatchSize: -1 })).rejects.toThrow(/options.maxBatchSize/);
    await expect(Reranker.load(good, { truncation: 'left' as never })).rejects.toThrow(/options.truncation/);
    await expect(Reranker.load(42 as never)).rejects.toBeInstanceOf(InvalidArgumentError);
  });
  it('non-string queries and documents are refused, naming the bad index', async () => {
    await expect(reranker.rerank(42 as never, ['a'])).rejects.toThrow('Expected a string for query but received 42');
    await expect(reranker.rerank('q', 'a' as never)).rejects.toThrow(/Expected an array of strings for docs/);
    await expect(reranker.score('q', ['a', null as never])).rejects.toThrow('Expected a string for docs[1] but received null');
    await expect(reranker.rerank('q', ['a'], { activation: 'softmax' as never })).rejects.toThrow(/options.activation/);
    await expect(reranker.rerank('q', ['a'], { signal: {} as never })).rejects.toThrow(/an AbortSignal for options.signal/);
  });
  it('an error leaves the Reranker usable', async () => {
    await expect(reranker.rerank('q', [1 as never])).rejects.toThrow();
    expect(await reranker.rerank('berlin', ['berlin', 'paris'], { topK: 1 })).toHaveLength(1);
  });
});
