// The child-process check on a real addon (a copy of the local build in a fake prebuilt package), and the
// loader's choice between fake packages that hold it: without an NVIDIA driver (CI) the CPU package wins and
// the GPU package is passed over with the driver's reason.
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addonCandidates, binaryCandidates, select } from '../../lib/binding/candidates.js';
import { testLoad } from '../../lib/binding/test-load.js';
import { requireAddonBuilt } from '../helpers/addon.js';
import { tempDir } from '../helpers/models.js';

let root: string;
let cleanup: () => Promise<void>;
const packages: Record<string, string> = {};
beforeAll(async () => {
  requireAddonBuilt();
  ({ dir: root, cleanup } = await tempDir('trt-rerank-prebuilt-'));
  const built = addonCandidates().find((p) => existsSync(p))!;
  for (const [name, cuda] of [['@trt-rerank/linux-x64-cuda13', '13.0'], ['@trt-rerank/linux-x64', null]] as const) {
    const folder = join(root, 'node_modules', name);
    mkdirSync(folder, { recursive: true });
    copyFileSync(built, join(folder, 'trt_rerank.node'));
    writeFileSync(join(folder, 'package.json'), JSON.stringify({ name, version: '0.1.0', trtRerank: { variant: cuda ? 'cuda13' : 'cpu', cuda, architectures: [] } }));
    packages[name] = folder;
  }
});
afterAll(() => cleanup());

describe('prebuilt packages', () => {
  it('a real addon loads in the child process, which reports the driver\'s CUDA version; the verdict is cached', () => {
    const cacheFile = join(root, 'cache', 'loader.json');
    const bin = join(packages['@trt-rerank/linux-x64-cuda13']!, 'trt_rerank.node');
    const verdict = testLoad(bin, { cacheFile });
    expect(verdict).toMatchObject({ loads: true, reason: '', cached: false });
    expect(Number.isInteger(verdict.driverVersion)).toBe(true);
    expect(testLoad(bin, { cacheFile })).toEqual({ ...verdict, cached: true });
  });

  it('chooses the CUDA 13 package for a CUDA 13 driver, else the CPU package, with the reason', () => {
    const cacheFile = join(root, 'cache-select', 'loader.json');
    const candidates = binaryCandidates({}, { root: join(root, 'no-build'), resolve: (name) => packages[name], platform: 'linux', arch: 'x64' });
    const selection = select(candidates, { testLoad: (path) => testLoad(path, { cacheFile }), load: (path) => path });
    expect(selection.ok).toBe(true);
    if (!selection.ok) return;
    const driverVersion = testLoad(candidates[2]!.path, { cacheFile }).driverVersion;
    if (driverVersion >= 13000) {
      expect(selection.binary).toMatchObject({ package: '@trt-rerank/linux-x64-cuda13', variant: 'cuda13', source: 'prebuilt' });
    } else {
      expect(selection.binary).toMatchObject({ package: '@trt-rerank/linux-x64', variant: 'cpu', source: 'prebuilt' });
      expect(selection.binary.passedOver.map((p) => [p.package ?? 'local', p.reason])).toEqual([
        ['local', 'not found'],
        ['local', 'not found'],
        ['@trt-rerank/linux-x64-cuda13', driverVersion === 0
          ? 'no NVIDIA driver (the CUDA runtime reports driverVersion 0)'
          : expect.stringMatching(/^needs a driver for CUDA >= 13\.0; this one supports CUDA 12\.\d+$/)],
        ['@trt-rerank/linux-x64-cuda12', 'not installed'],
      ]);
    }
  });
});
