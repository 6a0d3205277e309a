// A CI-sized run of bench/load.mjs's concurrent phase: autocannon sends a fixed number of 20-document requests
// over 8 connections to a `trt-rerank serve` child process (dist/cli.js, tiny model, CPU); every response must be
// a 200 with its 20 results, and the server must count exactly those requests. No timing is asserted.
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { requireAddonBuilt } from '../helpers/addon.js';
import { REPO_ROOT, tempDir, writeModels } from '../helpers/models.js';
import { parsePrometheus, sampleValue } from '../helpers/prometheus.js';
import { rng } from '../helpers/random.js';

const REQUESTS = 160;
const DOCS = 20;

let child: ChildProcess | undefined;
let url: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  requireAddonBuilt();
  let root: string;
  ({ dir: root, cleanup } = await tempDir());
  const model = (await writeModels(root, ['tiny-bert']))['tiny-bert'];
  child = spawn(process.execPath, [join(REPO_ROOT, 'dist', 'cli.js'), 'serve', '--model', model, '--backend', 'cpu', '--port', '0'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child!.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child!.once('exit', (code) => reject(new Error(`trt-rerank serve exited with ${code} before listening (has \`npm run build:ts\` run?)`)));
  });
}, 120_000);
afterAll(async () => {
  child?.kill('SIGKILL');
  await cleanup?.();
});

const requestsOk = async () =>
  sampleValue(parsePrometheus(await (await fetch(`${url}/metrics`)).text()), 'trt_rerank_requests_total', 'trt_rerank_requests_total', { route: '/v2/rerank', status: '200' }) ?? 0;

it(`${REQUESTS} concurrent ${DOCS}-document requests all answer 200 with their results, and the server counts them`, async () => {
  const r = rng(7);
  const words = 'berlin paris river museum train people city park market station bridge island'.split(' ');
  const bodies = Array.from({ length: 16 }, () => JSON.stringify({
    query: 'how many people live in berlin',
    documents: Array.from({ length: DOCS }, () => Array.from({ length: 20 }, () => words[Math.floor(r() * words.length)]).join(' ')),
    top_n: DOCS,
  }));
  const before = await requestsOk();
  let next = 0;
  let badBodies = 0;
  const result = await autocannon({
    url: `${url}/v2/rerank`,
    connections: 8,
    amount: REQUESTS,
    timeout: 60,
    requests: [{
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: bodies[next++ % bodies.length]! }),
      onResponse: (_status: number, body: string) => {
        if ((JSON.parse(body) as { results?: unknown[] }).results?.length !== DOCS) badBodies++;
      },
    }],
  });
  expect({ ok: result['2xx'], non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, badBodies }).toEqual({ ok: REQUESTS, non2xx: 0, errors: 0, timeouts: 0, badBodies: 0 });
  expect(await requestsOk()).toBe(before + REQUESTS);
});
