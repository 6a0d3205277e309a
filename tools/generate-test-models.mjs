#!/usr/bin/env node
// Writes the tiny random-weight test models (lib/tiny-models/generate.ts) under a folder, default test/.models.
// Needs the compiled library: `npm run build:ts` first (npm install does it).
//   node tools/generate-test-models.mjs [outDir]
import { writeTinyModels } from '../dist/tiny-models/generate.js';

const root = process.argv[2] ?? new URL('../test/.models', import.meta.url).pathname;
const models = await writeTinyModels(root);
for (const [name, dir] of Object.entries(models)) console.log(`${name}\t${dir}`);
