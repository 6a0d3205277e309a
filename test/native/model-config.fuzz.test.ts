// Fuzzing (fast-check, test/helpers/fuzz.ts) of config.json through the addon's model layer (describeModel, via
// lib/model/config.ts) and the model plan over the real checkpoint (lib/model/plan.ts): structural and byte-level
// mutations of the tiny models' config.json. Every input gives a ModelConfig (and a plan, or a ModelLoadError) or
// a RerankError: never a crash of the addon, an uncoded error or a TypeError. test/fuzz/fuzz_config.cc fuzzes the
// same C++ (models::createModel) coverage-guided.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseModelConfig, readModelConfig } from '../../lib/model/config.js';
import { planModel } from '../../lib/model/plan.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { applyJsonEdits, fuzzParameters, fuzzTimeout, jsonEdits, jsonPaths, loadsOrTypedError, mutatedBytes } from '../helpers/fuzz.js';
import { useTinyModels, writeModels } from '../helpers/models.js';

requireAddonBuilt();
const names = ['tiny-bert-2label', 'tiny-xlmr', 'tiny-modernbert-cls', 'tiny-qwen3', 'tiny-qwen3-seq-cls'] as const;
const labelTokenIds = [2152, 9693];  // a Qwen3ForCausalLM reranker's "no" and "yes" (lib/ reads them from tokenizer.json)
const models = useTinyModels(names, 'trt-rerank-fuzz-');
const { dirs } = models;

describe('config.json through describeModel and planModel', () => {
  it.each(names)('%s: structural edits of config.json', async (name) => {
    const json = JSON.parse(await readFile(join(dirs[name], 'config.json'), 'utf8')) as Record<string, unknown>;
    const path = join(dirs[name], 'config.json');
    const options = { labelTokenIds };
    await expect(planModel(dirs[name], parseModelConfig(json, path, options))).resolves.toBeDefined();
    await fc.assert(
      fc.asyncProperty(jsonEdits(jsonPaths(json)), async (edits) => {
        const restore = applyJsonEdits(json, edits);
        try {
          await loadsOrTypedError(async () => {
            const config = parseModelConfig(structuredClone(json), path, options);
            await planModel(dirs[name], config);
          });
        } finally {
          restore();
        }
      }),
      fuzzParameters(),
    );
  }, fuzzTimeout);

  it.each(names)('%s: byte edits of config.json, read from the folder', async (name) => {
    const original = await readFile(join(dirs[name], 'config.json'));
    const dir = join(models.root, `${name}-bytes`);
    await writeModels(dir, [name]);
    const path = join(dir, name, 'config.json');
    await fc.assert(
      fc.asyncProperty(mutatedBytes(original, original.length), async (bytes) => {
        await writeFile(path, bytes);
        await loadsOrTypedError(() => readModelConfig(join(dir, name), { labelTokenIds }));
      }),
      fuzzParameters(),
    );
  }, fuzzTimeout);
});
