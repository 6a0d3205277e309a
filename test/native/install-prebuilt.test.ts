// Installing trt-rerank from its packed tarball with the prebuilt CPU package, on a PATH that holds only node,
// npm, npx and sh (no cmake, no compiler, no nvcc): the install compiles nothing, and `trt-rerank info` and
// `trt-rerank demo` run on @trt-rerank/linux-x64's binary.
//
// The tarballs come from tools/prebuild.mjs (PREBUILD_VARIANTS=linux-x64: the main package and the CPU
// package, into prebuilds/). Where CI=true or PREBUILD_TEST=1 this file builds them first (a CPU-only native
// build: about 30 s on 2 cores from a clean folder; the whole file takes under a minute); elsewhere it uses
// the tarballs already in prebuilds/ (or in PREBUILD_TARBALLS), and skips, saying so, where there are none.
// PREBUILD_TEST=0 skips it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, tempDir } from '../helpers/models.js';

// PREBUILD_TARBALLS names another folder to take the tarballs from (without building them).
const PREBUILDS = process.env.PREBUILD_TARBALLS || join(REPO_ROOT, 'prebuilds');
const CPU_PACKAGE = '@trt-rerank/linux-x64';
const wanted = process.env.PREBUILD_TEST;
const build = !process.env.PREBUILD_TARBALLS && (wanted === '1' || (wanted !== '0' && (process.env.CI === 'true' || process.env.CI === '1')));

/** Every .tgz under prebuilds/, with the name and version in its package.json. */
function tarballs(): Array<{ file: string; name: string; version: string; optionalDependencies?: Record<string, string> }> {
  if (!existsSync(PREBUILDS)) return [];
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
      else if (entry.name.endsWith('.tgz')) found.push(join(dir, entry.name));
    }
  };
  walk(PREBUILDS);
  return found.map((file) => {
    const manifest = spawnSync('tar', ['-xzOf', file, 'package/package.json'], { encoding: 'utf8' });
    return { file, ...(JSON.parse(manifest.stdout || '{}') as { name: string; version: string }) };
  });
}

const skipReason = wanted === '0' ? 'PREBUILD_TEST=0'
  : !build && process.platform !== 'linux' ? 'the prebuilt packages are for Linux x64'
  : !build && !tarballs().some((t) => t.name === CPU_PACKAGE)
    ? 'prebuilds/ has no @trt-rerank/linux-x64 tarball: PREBUILD_TEST=1 builds them with tools/prebuild.mjs (a CPU-only ' +
      'native build, about 30 s on 2 cores; CI=true does it)'
    : '';
if (skipReason) console.log(`install-prebuilt.test.ts skipped: ${skipReason}`);

/** Runs a command to completion; resolves with its exit code and interleaved output. */
function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number }): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

const tail = (text: string, lines = 40) => text.trim().split('\n').slice(-lines).join('\n');

describe.skipIf(skipReason !== '')('installing the packed package with the prebuilt CPU binary', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let app: string;
  let env: NodeJS.ProcessEnv;
  let install: { code: number | null; output: string };
  let main: ReturnType<typeof tarballs>[number];
  let cpu: ReturnType<typeof tarballs>[number];

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('trt-rerank-install-'));
    if (build) {
      const started = Date.now();
      const prebuild = await run(process.execPath, [join(REPO_ROOT, 'tools', 'prebuild.mjs')], {
        cwd: REPO_ROOT, env: { ...process.env, PREBUILD_VARIANTS: 'linux-x64' }, timeoutMs: 60 * 60_000,
      });
      if (prebuild.code !== 0) throw new Error(`tools/prebuild.mjs failed (exit ${prebuild.code}):\n${tail(prebuild.output)}`);
      console.log(`tools/prebuild.mjs (PREBUILD_VARIANTS=linux-x64) took ${((Date.now() - started) / 1000).toFixed(0)} s`);
    }
    const packed = tarballs();
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const pick = (name: string) => {
      const hit = packed.filter((t) => t.name === name && t.version === version).sort((a, b) => statSync(b.file).mtimeMs - statSync(a.file).mtimeMs)[0];
      if (!hit) throw new Error(`prebuilds/ has no ${name}@${version} tarball (found: ${packed.map((t) => `${t.name}@${t.version}`).join(', ') || 'none'})`);
      return hit;
    };
    main = pick('trt-rerank');
    cpu = pick(CPU_PACKAGE);
    if (!build) console.log(`install-prebuilt.test.ts uses tarballs already built: ${main.file}, ${cpu.file} (PREBUILD_TEST=1 rebuilds them)`);

    // A PATH with node, npm, npx and the shell npm runs scripts with: nothing that could compile.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const which = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
    symlinkSync(process.execPath, join(bin, 'node'));
    for (const tool of ['npm', 'npx', 'sh']) symlinkSync(which(tool), join(bin, tool));
    app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', private: true }));
    env = {
      HOME: process.env.HOME, PATH: bin, TMPDIR: process.env.TMPDIR,
      ...(process.env.npm_config_cache ? { npm_config_cache: process.env.npm_config_cache } : {}),
      TRT_RERANK_CACHE_DIR: join(dir, 'cache'),
      npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false',
    };
    // --prefer-offline: the dependencies come from npm's cache where it has their metadata (`npm ci` caches the
    // tarballs but not always the metadata an install of a tarball resolves ranges with: a fresh machine's cache
    // has none), else from the registry; the GPU packages, optional dependencies never published, answer 404 there
    // and are skipped.
    install = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', main.file, cpu.file], {
      cwd: app, env, timeoutMs: 10 * 60_000,
    });
  }, 70 * 60_000);
  afterAll(() => cleanup?.());

  it('lists the prebuilt packages as optional dependencies of the packed package', () => {
    expect(main.optionalDependencies).toMatchObject({
      '@trt-rerank/linux-x64': main.version,
      '@trt-rerank/linux-x64-cuda12': main.version,
      '@trt-rerank/linux-x64-cuda13': main.version,
    });
  });

  it('installs without a toolchain and compiles nothing', () => {
    expect(install.code, tail(install.output)).toBe(0);
    expect(install.output).toMatch(/trt-rerank: using the prebuilt @trt-rerank\/linux-x64, nothing to compile/);
    expect(install.output).not.toMatch(/cmake|building from source/i);
    expect(existsSync(join(app, 'node_modules', 'trt-rerank', 'build'))).toBe(false);
    expect(existsSync(join(app, 'node_modules', '@trt-rerank', 'linux-x64', 'trt_rerank.node'))).toBe(true);
  });

  it('`npx trt-rerank info` reports the binary of @trt-rerank/linux-x64', async () => {
    const result = await run('npx', ['--offline', 'trt-rerank', 'info'], { cwd: app, env, timeoutMs: 60_000 });
    expect(result.code, tail(result.output)).toBe(0);
    const info = JSON.parse(result.output);
    expect(info.binary).toMatchObject({ source: 'prebuilt', package: CPU_PACKAGE });
    expect(info.binary.path).toBe(join(app, 'node_modules', '@trt-rerank', 'linux-x64', 'trt_rerank.node'));
    expect(info.binary.passedOver).toContainEqual({ package: '@trt-rerank/linux-x64-cuda13', reason: 'not installed' });
    expect(info.cuda.built).toBe(false);
    expect(info.backends).toEqual(['cpu']);
  });

  it('`npx trt-rerank demo` reranks on it', async () => {
    const result = await run('npx', ['--offline', 'trt-rerank', 'demo'], { cwd: app, env, timeoutMs: 60_000 });
    expect(result.code, tail(result.output)).toBe(0);
    expect(result.output).toMatch(/UNTRAINED model with random weights/);
    expect(result.output.match(/^ {2}#\d+ {2}0\.\d{4} {2}/gm)).toHaveLength(5);
  });
});
