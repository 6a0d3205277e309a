// Which addon file the loader tries (lib/binding/loader.ts), and why the test hooks are missing: no addon is
// loaded here, the addon's systemInfo is a stand-in.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { addonCandidates, loadAddon, preferTestingAddon, testingAddonPaths, testingUnavailable } from '../../lib/binding/loader.js';
import type { NativeAddon } from '../../lib/binding/native.js';
import { NativeAddonError } from '../../lib/errors.js';

const fakeAddon = (cudaBuilt: boolean, testing: boolean) =>
  ({ testing: testing ? {} : undefined, systemInfo: () => ({ cuda: { built: cudaBuilt } }) }) as unknown as NativeAddon;

describe('addonCandidates', () => {
  it('tries the production addon, Release then Debug, by default', () => {
    const paths = addonCandidates({});
    expect(paths.map((p) => basename(p))).toEqual(['trt_rerank.node', 'trt_rerank.node']);
    expect(paths[0]).toMatch(/build[/\\]Release[/\\]trt_rerank\.node$/);
    expect(paths[1]).toMatch(/build[/\\]Debug[/\\]trt_rerank\.node$/);
  });

  it('tries only the testing addon where TRT_RERANK_TESTING=1, and TRT_RERANK_ADDON alone where set', () => {
    expect(addonCandidates({ TRT_RERANK_TESTING: '1' })).toEqual(testingAddonPaths());
    expect(testingAddonPaths().map((p) => basename(p))).toEqual(['trt_rerank_testing.node', 'trt_rerank_testing.node']);
    expect(addonCandidates({ TRT_RERANK_TESTING: '0' }).map((p) => basename(p))).toEqual(['trt_rerank.node', 'trt_rerank.node']);
    expect(addonCandidates({ TRT_RERANK_ADDON: '/x/a.node', TRT_RERANK_TESTING: '1' })).toEqual(['/x/a.node']);
  });
});

describe('preferTestingAddon', () => {
  it('chooses the testing addon only where it is built and nothing is chosen yet', () => {
    const env: NodeJS.ProcessEnv = {};
    preferTestingAddon(env);
    expect(env.TRT_RERANK_TESTING).toBe(testingAddonPaths().some((p) => existsSync(p)) ? '1' : undefined);
    const chosen: NodeJS.ProcessEnv = { TRT_RERANK_TESTING: '0' };
    preferTestingAddon(chosen);
    expect(chosen.TRT_RERANK_TESTING).toBe('0');
    const named: NodeJS.ProcessEnv = { TRT_RERANK_ADDON: '/x/a.node' };
    preferTestingAddon(named);
    expect(named.TRT_RERANK_TESTING).toBeUndefined();
  });
});

describe('testingUnavailable', () => {
  it('is empty with the hooks, and otherwise says what the build lacks and how to build it', () => {
    expect(testingUnavailable(fakeAddon(true, true), {})).toBe('');
    expect(testingUnavailable(fakeAddon(false, false), {})).toBe('this build has no CUDA kernels');
    expect(testingUnavailable(fakeAddon(true, false), { TRT_RERANK_ADDON: '/x/a.node' })).toBe(
      'TRT_RERANK_ADDON=/x/a.node is not a testing addon (TRT_RERANK_TESTING=1 npm run build makes build/Release/trt_rerank_testing.node)',
    );
    expect(testingUnavailable(fakeAddon(true, false), {})).toBe(
      testingAddonPaths().some((p) => existsSync(p))
        ? 'the testing addon is built but not loaded: set TRT_RERANK_TESTING=1'
        : 'the testing addon is not built: TRT_RERANK_TESTING=1 npm run build',
    );
  });
});

describe('loadAddon', () => {
  it('lists what it tried and the fix when the chosen file is absent', () => {
    const saved = { ...process.env };
    try {
      process.env.TRT_RERANK_ADDON = '/nonexistent/trt_rerank_testing.node';
      expect(() => loadAddon()).toThrow(NativeAddonError);
      expect(() => loadAddon()).toThrow(
        'the trt-rerank native addon named by TRT_RERANK_ADDON could not be loaded. Tried:\n' +
          '  /nonexistent/trt_rerank_testing.node: not found\n' +
          "TRT_RERANK_ADDON names the addon file to load; unset it to load the package's own build.",
      );
    } finally {
      process.env = saved;
    }
  });
});
