/**
 * config.json and model specs with hostile values never crash the addon or leave it with an uncoded error: every
 * rejection is a ModelLoadError (ERR_MODEL_INVALID / ERR_MODEL_UNSUPPORTED) or ERR_INVALID_ARGUMENT. Seeded random
 * mutations of the generated models' files (the fuzzers of issue 15 go further).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadAddon } from '../../lib/binding/loader.js';
import { parseModelConfig, readModelConfig } from '../../lib/model/config.js';
import { planModel } from '../../lib/model/plan.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { tempDir, writeModels } from '../helpers/models.js';
import { rng } from '../helpers/random.js';

requireAddonBuilt();
const MODELS = ['tiny-bert', 'tiny-xlmr', 'tiny-modernbert', 'tiny-modernbert-cls'] as const;
const VALUES: unknown[] = [
  null, true, false, 0, -1, 1, 2, 3, 7, 1e9, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN, 0.5, 2 ** 53, -(2 ** 31),
  '', 'gelu', 'x', [], ['a'], [1, 2], {}, { a: 1 }, { full_attention: { rope_type: 'default', rope_theta: -1 } }, { full_attention: null },
  ['full_attention'], 'mean', 'cls',
];

let cleanup: () => Promise<void>;
let dirs: Record<(typeof MODELS)[number], string>;
beforeAll(async () => {
  let root: string;
  ({ dir: root, cleanup } = await tempDir());
  dirs = await writeModels(root, MODELS);
});
afterAll(() => cleanup());

describe('hostile model files', () => {
  it('2000 mutated config.json files: each describes a model or is a coded ModelLoadError', async () => {
    const random = rng(7);
    const bases = await Promise.all(MODELS.map(async (m) => JSON.parse(await readFile(join(dirs[m], 'config.json'), 'utf8')) as Record<string, unknown>));
    const outcomes = { described: 0, refused: 0 };
    for (let i = 0; i < 2000; i++) {
      const c = structuredClone(bases[i % bases.length]!);
      const keys = Object.keys(c);
      for (let j = 0; j < 1 + Math.floor(random() * 3); j++) {
        const key = random() < 0.9 ? keys[Math.floor(random() * keys.length)]! : `extra${j}`;
        if (random() < 0.1) delete c[key];
        else c[key] = VALUES[Math.floor(random() * VALUES.length)];
      }
      try {
        parseModelConfig(c, 'config.json');
        outcomes.described++;
      } catch (error) {
        expect(['ERR_MODEL_INVALID', 'ERR_MODEL_UNSUPPORTED'], `${(error as Error).message} for ${JSON.stringify(c)}`).toContain((error as { code?: string }).code);
        outcomes.refused++;
      }
    }
    expect(outcomes.described).toBeGreaterThan(100);
    expect(outcomes.refused).toBeGreaterThan(100);
  });

  it('model specs with a tensor moved, resized, retyped or missing are refused with a code before any weight is read', async () => {
    const random = rng(11);
    for (const m of ['tiny-bert', 'tiny-modernbert-cls'] as const) {
      const base = await planModel(dirs[m], await readModelConfig(dirs[m]));
      const names = Object.keys(base.tensors);
      for (let i = 0; i < 60; i++) {
        const plan = structuredClone(base);
        const name = names[Math.floor(random() * names.length)]!;
        const t = plan.tensors[name]!;
        const mutation = i % 6;
        if (mutation === 0) t.offset = 2 ** 40;
        else if (mutation === 1) t.nbytes += 4;
        else if (mutation === 2) t.shape = [t.shape[0]! + 1, ...t.shape.slice(1)];
        else if (mutation === 3) (t as { dtype: string }).dtype = 'I8';
        else if (mutation === 4) delete plan.tensors[name];
        else t.offset = -5;
        let code: string | undefined;
        try {
          await (await loadAddon().loadSession(plan, { backend: 'cpu', threads: 1 })).close();
        } catch (error) {
          code = (error as { code?: string }).code;
        }
        expect(['ERR_MODEL_INVALID', 'ERR_INVALID_ARGUMENT'], `${m}: ${name} mutation ${mutation}`).toContain(code);
      }
    }
  });
});
