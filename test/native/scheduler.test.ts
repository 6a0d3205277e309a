/**
 * The scheduler on the CPU backend (the shared suite: test/helpers/scheduler-suite.ts). One thread, so the calls
 * that must still run while another arrives do.
 */
import { describe, expect, it } from 'vitest';
import { requireAddonBuilt } from '../helpers/addon.js';
import { schedulerSuite } from '../helpers/scheduler-suite.js';

requireAddonBuilt();
schedulerSuite({ backend: 'cpu', threads: 1 }, 3000, (got, expected) => {
  for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 5);
});

describe('scheduler: a call must submit each document once', () => {
  it('a document submitted twice is refused with its index, and nothing of that chunk is queued', async () => {
    const { tempDir, writeModels } = await import('../helpers/models.js');
    const { loadAddon } = await import('../../lib/binding/loader.js');
    const { readModelConfig } = await import('../../lib/model/config.js');
    const { planModel } = await import('../../lib/model/plan.js');
    const { dir: root, cleanup } = await tempDir();
    try {
      const { 'tiny-bert': dir } = await writeModels(root, ['tiny-bert']);
      const plan = await planModel(dir, await readModelConfig(dir));
      const session = await loadAddon().loadSession(plan, { backend: 'cpu', maxLength: 64 });
      try {
        const pair = (n: number) => ({ ids: Int32Array.from({ length: 3 * n }, (_, i) => [101, 7 + i, 102][i % 3]!), typeIds: new Uint8Array(3 * n),
          offsets: Int32Array.from({ length: n + 1 }, (_, i) => 3 * i) });
        const request = session.createRequest(3, 'none');
        const two = pair(2);
        expect(() => request.submit(two.ids, two.typeIds, two.offsets, 0, Int32Array.of(1, 1))).toThrow(/document 1 was submitted twice/);
        void request.submit(two.ids, two.typeIds, two.offsets, 0);  // documents 0 and 1: the refused chunk left no mark
        const one = pair(1);
        expect(() => request.submit(one.ids, one.typeIds, one.offsets, 1)).toThrow(/document 1 was submitted twice/);
        void request.submit(one.ids, one.typeIds, one.offsets, 2);
        expect((await request.finish(0)).scores.length).toBe(3);
      } finally {
        await session.close();
      }
    } finally {
      await cleanup();
    }
  });
});
