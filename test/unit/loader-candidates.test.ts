// The loader's candidate order, the driver rules for prebuilt GPU packages, the child-process check and its
// cache (lib/binding/candidates.ts, test-load.ts). No addon is loaded here: the packages are temp folders, the
// verdicts are stand-ins, and the child-process check loads files that are not addons.
import { mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { binaryCandidates, prebuiltPackages, select, type Candidate } from '../../lib/binding/candidates.js';
import { loadFix, notLoadedMessage } from '../../lib/binding/loader.js';
import { cudaVersionText, driverIdentity, loaderCacheFile, testLoad, type Verdict } from '../../lib/binding/test-load.js';
import { tempDir } from '../helpers/models.js';

let root: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir: root, cleanup } = await tempDir('trt-rerank-loader-'));
});
afterAll(() => cleanup());

/** A fake prebuilt package folder: package.json with a trtRerank field, and a .node that is not an addon. */
function fakePackage(name: string, trtRerank: object | undefined, withBinary = true): string {
  const folder = join(root, 'node_modules', name);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'package.json'), JSON.stringify({ name, version: '0.1.0', trtRerank }));
  if (withBinary) writeFileSync(join(folder, 'trt_rerank.node'), 'module.exports = {};\n');
  return folder;
}

const CPU = '@trt-rerank/linux-x64';
const CUDA13 = '@trt-rerank/linux-x64-cuda13';
const CUDA12 = '@trt-rerank/linux-x64-cuda12';

describe('binaryCandidates', () => {
  let installed: Record<string, string>;
  beforeAll(() => {
    installed = {
      [CPU]: fakePackage(CPU, { variant: 'cpu', cuda: null, architectures: [] }),
      [CUDA13]: fakePackage(CUDA13, { variant: 'cuda13', cuda: '13.0', architectures: ['sm_80', 'sm_90'] }),
      [CUDA12]: fakePackage(CUDA12, { variant: 'cuda12', cuda: '12.4', architectures: ['sm_80'] }),
    };
  });
  const options = (resolve: (name: string) => string | undefined) => ({ root: join(root, 'pkg'), resolve, platform: 'linux', arch: 'x64' });

  it('tries the local build, then the GPU packages newest CUDA major first, then the CPU package', () => {
    const list = binaryCandidates({}, options((name) => installed[name]));
    expect(list.map((c) => [c.source, c.package ?? c.path.slice(root.length), c.variant, c.cudaMajor, c.missing])).toEqual([
      ['local-build', '/pkg/build/Release/trt_rerank.node', null, null, 'not found'],
      ['local-build', '/pkg/build/Debug/trt_rerank.node', null, null, 'not found'],
      ['prebuilt', CUDA13, 'cuda13', 13, undefined],
      ['prebuilt', CUDA12, 'cuda12', 12, undefined],
      ['prebuilt', CPU, 'cpu', null, undefined],
    ]);
    expect(list[2]!.path).toBe(join(installed[CUDA13]!, 'trt_rerank.node'));
  });

  it('marks packages that are not installed or have no binary, and reads the CUDA major from the name without trtRerank', () => {
    const bare = fakePackage('@trt-rerank/bare-cuda12', undefined);
    const empty = fakePackage('@trt-rerank/empty', { variant: 'cpu', cuda: null }, false);
    const list = binaryCandidates({}, options((name) => (name === CUDA12 ? bare : name === CPU ? empty : undefined)));
    expect(list.slice(2).map((c) => [c.package, c.variant, c.cudaMajor, c.missing])).toEqual([
      [CUDA13, null, 13, 'not installed'],
      [CUDA12, 'cuda12', 12, undefined],
      [CPU, 'cpu', null, `installed in ${empty}, but it has no trt_rerank.node`],
    ]);
  });

  it('takes TRT_RERANK_ADDON alone, and the testing addon alone, with no prebuilt after them', () => {
    const env = binaryCandidates({ TRT_RERANK_ADDON: '/x/a.node' }, options((name) => installed[name]));
    expect(env).toEqual([{ source: 'env', path: '/x/a.node', variant: null, cudaMajor: null, why: 'TRT_RERANK_ADDON names it', missing: 'not found' }]);
    const testing = binaryCandidates({ TRT_RERANK_TESTING: '1' }, options((name) => installed[name]));
    expect(testing.map((c) => c.path.slice(root.length))).toEqual(['/pkg/build/Release/trt_rerank_testing.node', '/pkg/build/Debug/trt_rerank_testing.node']);
  });

  it('has GPU packages for Linux x64 only', () => {
    expect(prebuiltPackages('linux', 'x64')).toEqual([{ name: CUDA13, cudaMajor: 13 }, { name: CUDA12, cudaMajor: 12 }, { name: CPU, cudaMajor: null }]);
    expect(prebuiltPackages('linux', 'arm64')).toEqual([{ name: '@trt-rerank/linux-arm64', cudaMajor: null }]);
    expect(prebuiltPackages('darwin', 'arm64')).toEqual([{ name: '@trt-rerank/darwin-arm64', cudaMajor: null }]);
  });
});

describe('select', () => {
  const prebuilt = (pkg: string, cudaMajor: number | null, missing?: string): Candidate =>
    ({ source: 'prebuilt', path: missing ? '' : `/m/${pkg}/trt_rerank.node`, package: pkg, variant: cudaMajor ? `cuda${cudaMajor}` : 'cpu', cudaMajor, ...(missing ? { missing } : {}) });
  const local: Candidate = { source: 'local-build', path: '/p/build/Release/trt_rerank.node', variant: null, cudaMajor: null, why: 'a local build', missing: 'not found' };
  const all = [local, prebuilt(CUDA13, 13), prebuilt(CUDA12, 12), prebuilt(CPU, null)];
  const loads = (driverVersion: number): Verdict => ({ loads: true, driverVersion, reason: '', cached: false });

  /** Runs select with one verdict per GPU package; records what was test-loaded and loaded. */
  function run(candidates: Candidate[], verdicts: Record<string, Verdict>, failLoad: string[] = []) {
    const tested: string[] = [];
    const selection = select(candidates, {
      testLoad: (path) => {
        tested.push(path);
        return verdicts[path] ?? loads(0);
      },
      load: (path) => {
        if (failLoad.includes(path)) throw new Error(`${path}: cannot open shared object file\nRequire stack: ...`);
        return path;
      },
    });
    return { selection, tested };
  }
  const path = (pkg: string) => `/m/${pkg}/trt_rerank.node`;

  it('loads the CUDA 13 package where the driver supports CUDA 13.0', () => {
    const { selection, tested } = run(all, { [path(CUDA13)]: loads(13000) });
    expect(tested).toEqual([path(CUDA13)]);
    expect(selection).toEqual({
      ok: true, loaded: path(CUDA13),
      binary: {
        path: path(CUDA13), source: 'prebuilt', variant: 'cuda13', package: CUDA13,
        reason: 'the driver supports CUDA 13.0 (>= 13.0) and it loads in a child process',
        passedOver: [{ path: local.path, reason: 'not found' }],
      },
    });
  });

  it('passes over the CUDA 13 package for a CUDA 12 driver and loads the CUDA 12 one', () => {
    const { selection, tested } = run(all, { [path(CUDA13)]: loads(12080), [path(CUDA12)]: loads(12080) });
    expect(tested).toEqual([path(CUDA13), path(CUDA12)]);
    expect(selection.ok && selection.binary).toMatchObject({
      package: CUDA12, reason: 'the driver supports CUDA 12.8 (>= 12.0) and it loads in a child process',
      passedOver: [
        { path: local.path, reason: 'not found' },
        { package: CUDA13, path: path(CUDA13), reason: 'needs a driver for CUDA >= 13.0; this one supports CUDA 12.8' },
      ],
    });
  });

  it('without a driver, test-loads one GPU package and loads the CPU one', () => {
    const { selection, tested } = run(all, { [path(CUDA13)]: { ...loads(0), cached: true } });
    expect(tested).toEqual([path(CUDA13)]);
    expect(selection.ok && selection.binary).toMatchObject({
      package: CPU, variant: 'cpu',
      reason: 'the CPU build, since there is no NVIDIA driver (the CUDA runtime reports driverVersion 0)',
      passedOver: [
        { path: local.path, reason: 'not found' },
        { package: CUDA13, reason: 'no NVIDIA driver (the CUDA runtime reports driverVersion 0) [cached verdict]' },
        { package: CUDA12, reason: 'no NVIDIA driver (the CUDA runtime reports driverVersion 0)' },
      ],
    });
  });

  it('falls back to the CUDA 12 package where the CUDA 13 one does not load, and to the CPU where neither is installed', () => {
    const crash: Verdict = { loads: false, driverVersion: 0, reason: 'crashed (SIGSEGV) in a child process: boom', cached: false };
    const { selection } = run(all, { [path(CUDA13)]: crash, [path(CUDA12)]: loads(13000) });
    expect(selection.ok && selection.binary).toMatchObject({
      package: CUDA12, reason: 'the driver supports CUDA 13.0 (>= 12.0) and it loads in a child process',
      passedOver: [{ reason: 'not found' }, { package: CUDA13, reason: 'does not load: crashed (SIGSEGV) in a child process: boom' }],
    });
    const none = run([local, prebuilt(CUDA13, 13, 'not installed'), prebuilt(CUDA12, 12, 'not installed'), prebuilt(CPU, null)], {});
    expect(none.tested).toEqual([]);
    expect(none.selection.ok && none.selection.binary.reason).toBe('the CPU build, since no GPU package is installed');
  });

  it('loads a local build directly, never test-loading it', () => {
    const built = { ...local, missing: undefined };
    const { selection, tested } = run([built, ...all.slice(1)], {});
    expect(tested).toEqual([]);
    expect(selection.ok && selection.binary).toEqual({ path: local.path, source: 'local-build', variant: null, reason: 'a local build', passedOver: [] });
  });

  it('lists every attempt with its reason when nothing loads', () => {
    const { selection } = run(all, { [path(CUDA13)]: loads(0) }, [path(CPU)]);
    expect(selection).toEqual({
      ok: false,
      passedOver: [
        { path: local.path, reason: 'not found' },
        { package: CUDA13, path: path(CUDA13), reason: 'no NVIDIA driver (the CUDA runtime reports driverVersion 0)' },
        { package: CUDA12, path: path(CUDA12), reason: 'no NVIDIA driver (the CUDA runtime reports driverVersion 0)' },
        { package: CPU, path: path(CPU), reason: `${path(CPU)}: cannot open shared object file` },
      ],
    });
  });
});

describe('the NativeAddonError message', () => {
  it('lists each attempt and names the fix from what failed', () => {
    const notInstalled = [
      { path: '/p/build/Release/trt_rerank.node', reason: 'not found' },
      { package: CUDA13, reason: 'not installed' },
      { package: CPU, reason: 'not installed' },
    ];
    expect(notLoadedMessage(notInstalled, {}, 'linux-x64')).toBe(
      'the trt-rerank native addon could not be loaded. Tried:\n' +
        '  /p/build/Release/trt_rerank.node: not found\n' +
        `  ${CUDA13}: not installed\n` +
        `  ${CPU}: not installed\n` +
        `Install a prebuilt binary: \`npm install ${CPU}\` for the CPU (npm installs the prebuilt packages as optional dependencies ` +
        'of trt-rerank, unless they were left out with --omit=optional or --no-optional), or build it from source: ' +
        '`npm install trt-rerank --build-from-source` (`npm run build` in a clone), which needs CMake >= 3.20 and a C++17 ' +
        'compiler, and builds the GPU parts only where the CUDA toolkit is found.',
    );
    const broken = [{ package: CPU, path: '/m/cpu/trt_rerank.node', reason: "GLIBC_2.38' not found" }];
    expect(notLoadedMessage(broken, {}, 'linux-x64')).toMatch(
      new RegExp(`Tried:\\n  ${CPU} \\(/m/cpu/trt_rerank.node\\): GLIBC_2.38' not found\\nThe prebuilt ${CPU} is installed but does not load here \\(above\\): build it from source: `),
    );
    expect(loadFix({}, 'darwin-arm64')).toMatch(/^No prebuilt binary is published for darwin-arm64: build it from source: `npm install trt-rerank --build-from-source`/);
  });
});

describe('testLoad', () => {
  const verdictOf = (v: Verdict) => ({ loads: v.loads, cached: v.cached });

  it('reports a file that is not an addon as not loading, with the child\'s error, and caches the verdict', () => {
    const bin = join(fakePackage('@trt-rerank/not-an-addon', undefined), 'trt_rerank.node');
    const cacheFile = join(root, 'cache-a', 'loader.json');
    const first = testLoad(bin, { cacheFile, driverId: 'driver A' });
    expect(first).toMatchObject({ loads: false, driverVersion: 0, cached: false });
    expect(first.reason).toMatch(/^exited with code 1 in a child process: .*trt_rerank\.node: (file too short|invalid ELF header)/);
    expect(testLoad(bin, { cacheFile, driverId: 'driver A' })).toEqual({ ...first, cached: true });
    const cache = JSON.parse(readFileSync(cacheFile, 'utf8'));
    expect(cache.version).toBe(1);
    const stat = statSync(bin);
    expect(Object.keys(cache.verdicts)).toEqual([JSON.stringify([bin, stat.size, Math.round(stat.mtimeMs), 'driver A'])]);
  });

  it('checks again for another driver, or a changed binary', () => {
    const bin = join(fakePackage('@trt-rerank/changing', undefined), 'trt_rerank.node');
    const cacheFile = join(root, 'cache-b', 'loader.json');
    expect(verdictOf(testLoad(bin, { cacheFile, driverId: 'driver A' }))).toEqual({ loads: false, cached: false });
    expect(verdictOf(testLoad(bin, { cacheFile, driverId: 'driver B' }))).toEqual({ loads: false, cached: false });
    expect(verdictOf(testLoad(bin, { cacheFile, driverId: 'driver A' }))).toEqual({ loads: false, cached: true });
    const later = new Date(Date.now() + 5000);
    utimesSync(bin, later, later);
    expect(verdictOf(testLoad(bin, { cacheFile, driverId: 'driver A' }))).toEqual({ loads: false, cached: false });
    writeFileSync(bin, 'module.exports = { bigger: true };\n');
    utimesSync(bin, later, later);
    expect(verdictOf(testLoad(bin, { cacheFile, driverId: 'driver A' }))).toEqual({ loads: false, cached: false });
  });

  it('tolerates an unwritable cache, does not cache a timeout, and reports a missing file', () => {
    const bin = join(fakePackage('@trt-rerank/uncached', undefined), 'trt_rerank.node');
    writeFileSync(join(root, 'a-file'), '');
    const unwritable = join(root, 'a-file', 'trt-rerank', 'loader.json'); // its parent is a file, even for root
    expect(verdictOf(testLoad(bin, { cacheFile: unwritable }))).toEqual({ loads: false, cached: false });
    expect(verdictOf(testLoad(bin, { cacheFile: unwritable }))).toEqual({ loads: false, cached: false });
    const cacheFile = join(root, 'cache-c', 'loader.json');
    expect(testLoad(bin, { cacheFile, timeoutMs: 1 })).toEqual({ loads: false, driverVersion: 0, reason: 'timed out after 0.001 s in a child process', cached: false });
    expect(verdictOf(testLoad(bin, { cacheFile }))).toEqual({ loads: false, cached: false });
    expect(testLoad(join(root, 'nope.node'), { cacheFile }).reason).toMatch(/ENOENT/);
  });

  it('keeps its cache under TRT_RERANK_CACHE_DIR, XDG_CACHE_HOME or ~/.cache, and names the driver by its version line', () => {
    expect(loaderCacheFile({ TRT_RERANK_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/c/loader.json');
    expect(loaderCacheFile({ XDG_CACHE_HOME: '/x' })).toBe('/x/trt-rerank/loader.json');
    expect(loaderCacheFile({})).toMatch(/[/\\]\.cache[/\\]trt-rerank[/\\]loader\.json$/);
    const version = join(root, 'nvidia-version');
    writeFileSync(version, 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05  Tue Sep 23 10:10:45 UTC 2025\nGCC version: gcc 12\n');
    expect(driverIdentity(version)).toBe('NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.95.05  Tue Sep 23 10:10:45 UTC 2025');
    expect(driverIdentity(join(root, 'absent'))).toBe('no-driver');
    expect([cudaVersionText(13000), cudaVersionText(12080), cudaVersionText(12040)]).toEqual(['13.0', '12.8', '12.4']);
  });
});
