import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadAddon } from '../binding/loader.js';
import type { NativeModelDescription, NativeModelOptions } from '../binding/native.js';
import { ModelLoadError } from '../errors.js';

/**
 * A model folder's config.json as the native model layer reads it (native/models/: each architecture declares
 * the fields it reads, its tensors and its limits): the parsed JSON, and what the addon made of it.
 */
export interface ModelConfig extends NativeModelDescription {
  /** config.json, parsed. */
  json: Record<string, unknown>;
  path: string;
}

/**
 * `dir`'s config.json as the model layer describes it. `modelOptions`: what the model needs from the other files
 * (a causal-LM reranker's label token ids, from tokenizer.json).
 */
export async function readModelConfig(dir: string, modelOptions?: NativeModelOptions): Promise<ModelConfig> {
  const { json, path } = await readConfigJson(dir);
  return parseModelConfig(json, path, modelOptions);
}

/** `dir`'s config.json, parsed (not yet described: see parseModelConfig). */
export async function readConfigJson(dir: string): Promise<{ json: unknown; path: string }> {
  const path = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new ModelLoadError('ERR_MODEL_NOT_FOUND', path, 'config.json not found: modelDir must be a Hugging Face model folder', { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new ModelLoadError('ERR_MODEL_INVALID', path, `config.json is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  return { json, path };
}

/** What the addon's model layer makes of a parsed config.json; its errors become ModelLoadErrors naming the field. */
export function parseModelConfig(json: unknown, path: string, modelOptions?: NativeModelOptions): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelLoadError('ERR_MODEL_INVALID', path, 'config.json must hold a JSON object');
  }
  let description: NativeModelDescription;
  try {
    description = loadAddon().describeModel(json as Record<string, unknown>, modelOptions);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ERR_MODEL_INVALID' || code === 'ERR_MODEL_UNSUPPORTED') {
      throw new ModelLoadError(code, path, (error as Error).message, { cause: error });
    }
    throw error;
  }
  return { ...description, json: json as Record<string, unknown>, path };
}
