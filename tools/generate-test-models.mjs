#!/usr/bin/env node
// Writes the tiny random-weight test models (lib/tiny-models/generate.ts) under a folder, default test/.models,
// and beside them tokenizer-only folders named for a tokenizer of lib/tiny-models/tokenizers.ts rather than for a
// model (tiny-bpe: the ModernBERT-style byte-level BPE), for tools/make_tokenizer_golden.py.
// Needs the compiled library: `npm run build:ts` first (npm install does it).
//   node tools/generate-test-models.mjs [outDir]
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeTinyModels } from '../dist/tiny-models/generate.js';
import { byteLevelBpeTokenizer } from '../dist/tiny-models/tokenizers.js';

const root = process.argv[2] ?? new URL('../test/.models', import.meta.url).pathname;
const models = await writeTinyModels(root);
for (const [name, dir] of Object.entries(models)) console.log(`${name}\t${dir}`);

// Written as generate.ts writes a model's tokenizer files: tokenizer.json compact (the golden test hashes
// JSON.stringify of the generator's object), tokenizer_config.json indented.
const tokenizers = { 'tiny-bpe': byteLevelBpeTokenizer() };
for (const [name, files] of Object.entries(tokenizers)) {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(files.tokenizerJson));
  await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(files.tokenizerConfig, null, 2) + '\n');
  console.log(`${name}\t${dir}`);
}
