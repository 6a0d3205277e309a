/**
 * Tries a prebuilt GPU binary in a child process before this process loads it (node-llama-cpp's
 * testBindingBinary habit): a binary that crashes against this driver crashes the child, not the host. The
 * child prints the binary's systemInfo(), whose cuda.driverVersion is the CUDA version the driver supports
 * (0 without a driver). Verdicts are cached per binary (path, size, mtime) and driver (the first line of
 * /proc/driver/nvidia/version) in loader.json under the user's cache folder, so the child runs once.
 * @internal
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Verdict {
  /** Whether the child loaded the binary and printed its systemInfo(). */
  loads: boolean;
  /** The CUDA version the driver supports (13000 is 13.0), as the child saw it; 0 without a driver. */
  driverVersion: number;
  /** Why it does not load ('' when it does): the exit status or signal and the last lines of stderr. */
  reason: string;
  /** Whether this verdict came from the cache file. */
  cached: boolean;
}

export interface TestLoadOptions {
  /** The cache file; '' keeps no cache. Default: loaderCacheFile(). */
  cacheFile?: string;
  /** The driver's identity in the cache key. Default: driverIdentity(). */
  driverId?: string;
  /** How long the child may take. Default: TRT_RERANK_LOADER_TIMEOUT_MS or 30 s. */
  timeoutMs?: number;
}

const CACHE_VERSION = 1;
const MAX_ENTRIES = 32;
const STDERR_LINES = 5;
// The child prints a failed require's message itself (Node's own report ends with stack frames); a crash in
// native code leaves whatever the driver or runtime wrote to stderr.
const CHILD_SCRIPT = `let info;
try { info = require(process.argv[1]).systemInfo(); } catch (e) { process.stderr.write(String(e && e.message || e) + '\\n'); process.exit(1); }
process.stdout.write('\\n' + JSON.stringify(info) + '\\n');`;

/** $TRT_RERANK_CACHE_DIR/loader.json, else $XDG_CACHE_HOME/trt-rerank/loader.json, else ~/.cache/trt-rerank/loader.json. */
export function loaderCacheFile(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TRT_RERANK_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'trt-rerank');
  return join(dir, 'loader.json');
}

/** The NVIDIA kernel driver's first version line (its version and build), or 'no-driver'. */
export function driverIdentity(file = '/proc/driver/nvidia/version'): string {
  try {
    return readFileSync(file, 'utf8').split('\n')[0]!.trim() || 'no-driver';
  } catch {
    return 'no-driver';
  }
}

/** 13000 -> '13.0', 12080 -> '12.8' (cudaDriverGetVersion's encoding). */
export function cudaVersionText(version: number): string {
  return `${Math.floor(version / 1000)}.${Math.floor((version % 1000) / 10)}`;
}

interface CacheFile {
  version: number;
  verdicts: Record<string, { loads: boolean; driverVersion: number; reason: string; checkedAt: number }>;
}

function readCache(file: string): CacheFile {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
    if (parsed.version === CACHE_VERSION && parsed.verdicts && typeof parsed.verdicts === 'object') return parsed;
  } catch {
    // absent or unreadable: start afresh
  }
  return { version: CACHE_VERSION, verdicts: {} };
}

/** Writes the cache (newest MAX_ENTRIES verdicts) through a temporary file; an unwritable folder is ignored. */
function writeCache(file: string, cache: CacheFile): void {
  const kept = Object.entries(cache.verdicts).sort((a, b) => b[1].checkedAt - a[1].checkedAt).slice(0, MAX_ENTRIES);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(tmp, JSON.stringify({ version: CACHE_VERSION, verdicts: Object.fromEntries(kept) }, null, 1) + '\n');
    renameSync(tmp, file);
  } catch {
    // a read-only home or cache folder: the child runs again next time
  }
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}

/** Loads `path` in a child Node process and reports whether it loads and what driver it sees. */
export function testLoad(path: string, options: TestLoadOptions = {}): Verdict {
  const cacheFile = options.cacheFile ?? loaderCacheFile();
  const driverId = options.driverId ?? driverIdentity();
  const timeoutMs = options.timeoutMs ?? (Number(process.env.TRT_RERANK_LOADER_TIMEOUT_MS) || 30_000);
  let key: string;
  try {
    const stat = statSync(path);
    key = JSON.stringify([path, stat.size, Math.round(stat.mtimeMs), driverId]);
  } catch (error) {
    return { loads: false, driverVersion: 0, reason: (error as Error).message, cached: false };
  }
  const cache = cacheFile ? readCache(cacheFile) : undefined;
  const hit = cache?.verdicts[key];
  if (hit) return { loads: hit.loads, driverVersion: hit.driverVersion, reason: hit.reason, cached: true };

  const child = spawnSync(process.execPath, ['-e', CHILD_SCRIPT, path], {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 4 * 1024 * 1024,
  });
  const stderr = lastLines(child.stderr ?? '', STDERR_LINES);
  if (child.error && (child.error as NodeJS.ErrnoException).code === 'ETIMEDOUT') {
    // Not cached: a busy machine may be slow once.
    return { loads: false, driverVersion: 0, reason: `timed out after ${timeoutMs / 1000} s in a child process`, cached: false };
  }
  let verdict: Omit<Verdict, 'cached'>;
  if (child.error) {
    verdict = { loads: false, driverVersion: 0, reason: `the child process did not start: ${child.error.message}` };
  } else if (child.status !== 0) {
    const how = child.signal ? `crashed (${child.signal})` : `exited with code ${child.status}`;
    verdict = { loads: false, driverVersion: 0, reason: `${how} in a child process${stderr ? `: ${stderr}` : ''}` };
  } else {
    let driverVersion: number | undefined;
    try {
      const info = JSON.parse(lastLines(child.stdout ?? '', 1)) as { cuda?: { driverVersion?: unknown } };
      if (typeof info.cuda?.driverVersion === 'number') driverVersion = info.cuda.driverVersion;
    } catch {
      // reported below
    }
    verdict = driverVersion === undefined
      ? { loads: false, driverVersion: 0, reason: 'loaded in a child process but printed no systemInfo() with cuda.driverVersion' }
      : { loads: true, driverVersion, reason: '' };
  }
  if (cache) {
    cache.verdicts[key] = { ...verdict, checkedAt: Date.now() };
    writeCache(cacheFile, cache);
  }
  return { ...verdict, cached: false };
}
