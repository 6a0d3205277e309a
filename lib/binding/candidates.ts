/**
 * Which binaries the loader may load, in its order (sharp's habit: a fixed order, every reason kept):
 *   1. TRT_RERANK_ADDON, alone where set;
 *   2. a local build: build/Release, then build/Debug (the testing addon alone where TRT_RERANK_TESTING=1);
 *   3. the prebuilt package for the driver's CUDA major: @trt-rerank/<platform>-<arch>-cuda13 where the driver
 *      supports CUDA >= 13.0, else -cuda12 where it supports >= 12.0; each is first tried in a child process
 *      (test-load.ts), which also tells the driver's CUDA version;
 *   4. the CPU package, @trt-rerank/<platform>-<arch>.
 * A prebuilt package's package.json carries `trtRerank: {variant, cuda, architectures}`.
 * @internal
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cudaVersionText, type Verdict } from './test-load.js';

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const addonFile = 'trt_rerank.node';
export const testingAddonFile = 'trt_rerank_testing.node';
const buildDirs = ['Release', 'Debug'];
/** The platforms that have prebuilt packages (a CPU one, and GPU ones for Linux x64). */
export const PREBUILT_PLATFORMS = ['linux-x64'];

export type BinarySource = 'env' | 'local-build' | 'prebuilt';

/** What systemInfo().binary reports: the binary this process loaded, why, and what came before it. */
export interface BinaryInfo {
  /** The .node file loaded. */
  path: string;
  source: BinarySource;
  /** 'cpu', or 'cuda12' / 'cuda13' (the CUDA major it was built with); a prebuilt's own trtRerank.variant. */
  variant: string;
  /** The prebuilt package it came from. */
  package?: string;
  /** Why this one. */
  reason: string;
  /** The candidates tried before it, in order, each with why it was passed over. */
  passedOver: Array<{ path?: string; package?: string; reason: string }>;
}

export interface Candidate {
  source: BinarySource;
  /** The .node file ('' for a package that is not installed). */
  path: string;
  /** A prebuilt's package name. */
  package?: string;
  /** A prebuilt's trtRerank.variant; null for a local build or TRT_RERANK_ADDON (told once loaded). */
  variant: string | null;
  /** A prebuilt GPU binary's CUDA major: the driver must support at least <major>.0. null: not one. */
  cudaMajor: number | null;
  /** Why it cannot be tried at all ('not found', 'not installed'); absent: try it. */
  missing?: string;
  /** Why it is loaded where it loads (TRT_RERANK_ADDON and local builds; prebuilt ones are told by select()). */
  why?: string;
}

/** The testing addon's paths, in the order tried (whether or not it is built). */
export function testingAddonPaths(root = packageRoot): string[] {
  return buildDirs.map((config) => join(root, 'build', config, testingAddonFile));
}

/**
 * The files loaded directly, without a child-process check, in the order tried: TRT_RERANK_ADDON alone where
 * set, else the testing addon where TRT_RERANK_TESTING=1, else the local build's production addon.
 */
export function addonCandidates(env: NodeJS.ProcessEnv = process.env, root = packageRoot): string[] {
  if (env.TRT_RERANK_ADDON) return [env.TRT_RERANK_ADDON];
  if (env.TRT_RERANK_TESTING === '1') return testingAddonPaths(root);
  return buildDirs.map((config) => join(root, 'build', config, addonFile));
}

/** The prebuilt packages for a platform, in the order tried: the GPU ones (newest CUDA major first), then the CPU one. */
export function prebuiltPackages(platform: string = process.platform, arch: string = process.arch): Array<{ name: string; cudaMajor: number | null }> {
  const base = `@trt-rerank/${platform}-${arch}`;
  const gpu = platform === 'linux' && arch === 'x64' ? [{ name: `${base}-cuda13`, cudaMajor: 13 }, { name: `${base}-cuda12`, cudaMajor: 12 }] : [];
  return [...gpu, { name: base, cudaMajor: null }];
}

/** A package's folder as this package's require resolves it, or undefined where it is not installed. */
export type ResolvePackage = (name: string) => string | undefined;

const ownRequire = createRequire(import.meta.url);
export const resolvePackage: ResolvePackage = (name) => {
  // package.json first (no exports map hides it in these packages), else the main file (index.js at the root).
  for (const request of [`${name}/package.json`, name]) {
    try {
      return dirname(ownRequire.resolve(request));
    } catch {
      // next
    }
  }
  return undefined;
};

function prebuiltCandidate(name: string, cudaMajor: number | null, resolve: ResolvePackage): Candidate {
  const folder = resolve(name);
  if (!folder) return { source: 'prebuilt', path: '', package: name, variant: null, cudaMajor, missing: 'not installed' };
  let meta: { variant?: unknown; cuda?: unknown } | undefined;
  try {
    meta = (JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')) as { trtRerank?: typeof meta }).trtRerank;
  } catch {
    // the name and the file are enough
  }
  // trtRerank.cuda ('13.0', '12.4'; null for the CPU) where it says; else the name's. A package in a GPU slot
  // is always tried in a child process first.
  const stated = typeof meta?.cuda === 'string' ? Number.parseInt(meta.cuda, 10) : Number.NaN;
  const major = Number.isFinite(stated) ? stated : cudaMajor;
  const path = join(folder, addonFile);
  return {
    source: 'prebuilt',
    path,
    package: name,
    variant: typeof meta?.variant === 'string' ? meta.variant : major ? `cuda${major}` : 'cpu',
    cudaMajor: major,
    ...(existsSync(path) ? {} : { missing: `installed in ${folder}, but it has no ${addonFile}` }),
  };
}

/** Every candidate in the order tried (see the file's comment). */
export function binaryCandidates(
  env: NodeJS.ProcessEnv = process.env,
  { root = packageRoot, resolve = resolvePackage, platform = process.platform, arch = process.arch }:
    { root?: string; resolve?: ResolvePackage; platform?: string; arch?: string } = {},
): Candidate[] {
  const source: BinarySource = env.TRT_RERANK_ADDON ? 'env' : 'local-build';
  const why = env.TRT_RERANK_ADDON ? 'TRT_RERANK_ADDON names it'
    : env.TRT_RERANK_TESTING === '1' ? 'TRT_RERANK_TESTING=1 asks for the local build\'s testing addon'
    : 'a local build (npm run build, or --build-from-source at install) comes before the prebuilt packages';
  const direct: Candidate[] = addonCandidates(env, root).map((path) => ({
    source, path, variant: null, cudaMajor: null, why, ...(existsSync(path) ? {} : { missing: 'not found' }),
  }));
  // TRT_RERANK_ADDON and the testing addon are asked for by name: no prebuilt stands in for them.
  if (env.TRT_RERANK_ADDON || env.TRT_RERANK_TESTING === '1') return direct;
  return [...direct, ...prebuiltPackages(platform, arch).map((p) => prebuiltCandidate(p.name, p.cudaMajor, resolve))];
}

/** How select() tries a candidate: `testLoad` for prebuilt GPU binaries, then `load` (this process's require). */
export interface SelectHooks<T> {
  testLoad: (path: string) => Verdict;
  load: (path: string) => T;
}

export type Selection<T> =
  | { ok: true; loaded: T; binary: Omit<BinaryInfo, 'variant'> & { variant: string | null } }
  | { ok: false; passedOver: BinaryInfo['passedOver'] };

function noDriver(driverVersion: number): string {
  return `no NVIDIA driver (the CUDA runtime reports driverVersion ${driverVersion})`;
}

/** Tries the candidates in order; the first that fits and loads wins. */
export function select<T>(candidates: Candidate[], hooks: SelectHooks<T>): Selection<T> {
  const passedOver: BinaryInfo['passedOver'] = [];
  const where = (c: Candidate) => (c.package ? { package: c.package, ...(c.path ? { path: c.path } : {}) } : { path: c.path });
  let driverVersion: number | undefined; // known once a GPU binary loaded in a child
  for (const c of candidates) {
    if (c.missing) {
      passedOver.push({ ...where(c), reason: c.missing });
      continue;
    }
    let reason = c.why ? c.why
      : driverVersion === 0 ? `the CPU build, since there is ${noDriver(0)}`
      : candidates.some((o) => o.cudaMajor !== null && !o.missing) ? 'the CPU build, since no GPU package fits (see passedOver)'
      : 'the CPU build, since no GPU package is installed';
    if (c.cudaMajor !== null) {
      const major = c.cudaMajor;
      const driverUnfit = (version: number) => version === 0 ? noDriver(0)
        : version < major * 1000 ? `needs a driver for CUDA >= ${major}.0; this one supports CUDA ${cudaVersionText(version)}`
        : '';
      // Once one GPU binary told the driver's version, a binary it cannot run is not tried.
      let unfit = driverVersion === undefined ? '' : driverUnfit(driverVersion);
      if (!unfit) {
        const verdict = hooks.testLoad(c.path);
        const cached = verdict.cached ? ' [cached verdict]' : '';
        if (verdict.loads) driverVersion = verdict.driverVersion;
        unfit = !verdict.loads ? `does not load: ${verdict.reason}` : driverUnfit(verdict.driverVersion);
        if (unfit) unfit += cached;
        else reason = `the driver supports CUDA ${cudaVersionText(verdict.driverVersion)} (>= ${major}.0) and it loads in a child process${cached}`;
      }
      if (unfit) {
        passedOver.push({ ...where(c), reason: unfit });
        continue;
      }
    }
    try {
      const loaded = hooks.load(c.path);
      return { ok: true, loaded, binary: { path: c.path, source: c.source, variant: c.variant, ...(c.package ? { package: c.package } : {}), reason, passedOver } };
    } catch (error) {
      passedOver.push({ ...where(c), reason: (error as Error).message.split('\n')[0]! });
    }
  }
  return { ok: false, passedOver };
}
