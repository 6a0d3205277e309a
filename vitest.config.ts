import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests are split by what they need (node-llama-cpp's habit):
//   unit   - TypeScript only, no addon
//   native - the addon with the CPU backend (every CI run)
//   gpu    - an NVIDIA GPU; each file skips with a printed reason where none is found
// Every lane loads the testing addon (build/Release/trt_rerank_testing.node: the addon plus `testing` and the
// gpu-test backend) where `TRT_RERANK_TESTING=1 npm run build` made it, else the production addon; a
// TRT_RERANK_ADDON or TRT_RERANK_TESTING already set (TRT_RERANK_TESTING=0: the production addon) is kept.
const testingAddon = join(dirname(fileURLToPath(import.meta.url)), 'build', 'Release', 'trt_rerank_testing.node');
const env: Record<string, string> =
  !process.env.TRT_RERANK_ADDON && process.env.TRT_RERANK_TESTING === undefined && existsSync(testingAddon)
    ? { TRT_RERANK_TESTING: '1' }
    : {};

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    env,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'native', include: ['test/native/**/*.test.ts'], fileParallelism: false } },
      { extends: true, test: { name: 'gpu', include: ['test/gpu/**/*.test.ts'], fileParallelism: false } },
    ],
  },
});
