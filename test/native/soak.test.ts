// The CI-sized run of `npm run soak` (tools/soak.mjs, issue 15): the CPU backend, 64 concurrent callers, calls of
// 1-2000 documents, aborts, timeouts and a close-and-reload every 50 calls through the library, then requests to a
// `trt-rerank serve` child with client aborts. The harness checks every result against its reference (exactly: CPU
// scores are bit-identical however pairs are batched), that every call settles, that memory stays flat after warm-up
// and that nothing is left open; this test asserts its exit code and its summary's counters.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { requireAddonBuilt } from '../helpers/addon.js';
import { REPO_ROOT } from '../helpers/models.js';

interface PhaseCounts { calls: number; ok: number; aborted: number; mismatches: number; errors: number }
interface SoakSummary {
  ok: boolean;
  backend: string;
  tolerance: number;
  library: PhaseCounts & { timedOut: number; closed: number; reloads: number };
  serve: PhaseCounts & { exitCode: number | string | null };
  memory: Record<string, { growth: number; checked: boolean }>;
  openResources: string[];
  failures: string[];
}

const SOAK_ENV = {
  SOAK_BACKEND: 'cpu',
  SOAK_CALLS: '700',
  SOAK_SECONDS: '60',
  SOAK_SERVE_SHARE: '0.2',
  SOAK_CORPUS: '1000',
  SOAK_QUERIES: '4',
  SOAK_DOC_WORDS: '40',
  SOAK_RELOAD_EVERY: '50',
  SOAK_PENDING_LIMIT_S: '60',
  // glibc gives threads (the backend's, the tokenizer workers', each Reranker's new ones) up to 8 arenas a core; on a
  // short run RSS then steps by megabytes whenever a thread lands in a fresh one. Two arenas keep it to what the
  // program holds, which is what the memory check is about.
  MALLOC_ARENA_MAX: '2',
  // RSS is still in its warm-up at the end of a run this short: it climbs for the first 500-1000 calls (the heap and
  // the arenas meeting the largest load the random calls make at once; how fast depends on timing), then moves a few
  // percent either way with no trend (1800 calls and 35 reloads: -2.8% from warm-up to the end). So here the
  // backend's memory keeps the 5% limit and RSS gets 30%, which still fails a leak of more than 3 MiB a reload (11 reloads).
  SOAK_RSS_LIMIT: '0.3',
};

it('npm run soak, CI-sized: every call settles and equals its reference, memory is flat, nothing is left open', async () => {
  requireAddonBuilt();
  const child = spawn(process.execPath, ['--expose-gc', join(REPO_ROOT, 'tools', 'soak.mjs')], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...SOAK_ENV },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { err += d; });
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  const line = out.split('\n').find((l) => l.startsWith('SOAK_SUMMARY '));
  const context = `exit ${code}\n${out.slice(-4000)}\n${err.slice(-2000)}`;
  expect(line, context).toBeDefined();
  const s = JSON.parse(line!.slice('SOAK_SUMMARY '.length)) as SoakSummary;
  expect({ code, failures: s.failures }, context).toEqual({ code: 0, failures: [] });
  expect(s.ok).toBe(true);
  expect(s.backend).toBe('cpu');
  expect(s.tolerance).toBe(0);
  const { library, serve } = s;
  expect(library.mismatches + library.errors + serve.mismatches + serve.errors).toBe(0);
  expect(library.calls).toBeGreaterThanOrEqual(200);
  expect(library.ok).toBeGreaterThan(library.calls / 2);
  expect(library.aborted).toBeGreaterThan(0);
  expect(library.reloads).toBeGreaterThanOrEqual(3);
  expect(library.closed).toBeGreaterThan(0);
  expect(serve.calls).toBeGreaterThan(20);
  expect(serve.ok).toBeGreaterThan(0);
  expect(serve.exitCode).toBe(0);
  expect(s.memory.libraryRss!.checked).toBe(true);
  expect(s.openResources).toEqual([]);
}, 150_000);
