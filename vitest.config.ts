import { defineConfig } from 'vitest/config';

// Tests are split by what they need (node-llama-cpp's habit):
//   unit   - TypeScript only, no addon
//   native - the addon with the CPU backend (every CI run)
//   gpu    - an NVIDIA GPU; each file skips with a printed reason where none is found
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 120_000,
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/unit/**/*.test.ts'] } },
      { extends: true, test: { name: 'native', include: ['test/native/**/*.test.ts'], fileParallelism: false } },
      { extends: true, test: { name: 'gpu', include: ['test/gpu/**/*.test.ts'], fileParallelism: false } },
    ],
  },
});
