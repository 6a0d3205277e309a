import { afterAll, beforeAll } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TINY_MODELS, writeTinyModel, type TinyModelName, type TinyModelSpec } from '../../lib/tiny-models/generate.js';

/** A temp folder for one test file, removed by cleanup(). */
export async function tempDir(prefix = 'trt-rerank-test-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Writes the named tiny models (deterministic, see lib/tiny-models) under root; returns their folders. */
export async function writeModels<N extends TinyModelName>(root: string, names: readonly N[]): Promise<Record<N, string>> {
  const out = {} as Record<N, string>;
  for (const name of names) out[name] = await writeTinyModel(join(root, name), TINY_MODELS[name]);
  return out;
}

export async function writeCustomModel(root: string, name: string, spec: TinyModelSpec): Promise<string> {
  return writeTinyModel(join(root, name), spec);
}

/** The real BERT uncased tokenizer from ../shared/models, or a reason to skip. */
export const SHARED_BERT_TOKENIZER = fileURLToPath(new URL('../../../shared/models/bert-base-uncased-tokenizer', import.meta.url));
export const hasSharedBertTokenizer = existsSync(join(SHARED_BERT_TOKENIZER, 'tokenizer.json'));

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Writes the named tiny model into a temp folder before the enclosing describe's tests and removes it after.
 * `model.dir` is its folder and `model.root` the temp folder (for other files), once beforeAll has run.
 */
export function useTinyModel(name: TinyModelName): { dir: string; root: string } {
  const models = useTinyModels([name]);
  return {
    get dir() {
      return models.dirs[name];
    },
    get root() {
      return models.root;
    },
  };
}

/**
 * useTinyModel for several models in one temp folder: `models.dirs[name]` and `models.root` once beforeAll has run.
 */
export function useTinyModels<N extends TinyModelName>(names: readonly N[], prefix?: string): { dirs: Record<N, string>; root: string } {
  const models = { dirs: {} as Record<N, string>, root: '' };
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ dir: models.root, cleanup } = await tempDir(prefix));
    Object.assign(models.dirs, await writeModels(models.root, names));
  });
  afterAll(async () => cleanup?.());
  return models;
}
