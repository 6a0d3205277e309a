import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelLoadError } from '../errors.js';
import type { ModelConfig } from './config.js';
import { readSafetensorsHeader, type SafetensorsTensor } from './safetensors.js';

export type WeightDType = 'F32' | 'F16' | 'BF16';

export interface TensorPlan {
  dtype: WeightDType;
  shape: number[];
  /** Index in ModelPlan.weightFiles of the file that holds it. */
  file: number;
  /** Absolute byte offset in that file. */
  offset: number;
  nbytes: number;
}

/** What the model reads besides config.json (native/models/model.h ModelOptions). */
export interface PlanModelOptions {
  /** A causal-LM reranker's label tokens, [no, yes] (the tokenizer's ids). */
  labelTokenIds?: number[];
}

/** What the native backends load: config.json (the model layer reads it again) and every tensor's place in its file. */
export interface ModelPlan {
  config: Record<string, unknown>;
  /** The weights files: [model.safetensors], or the shards model.safetensors.index.json lists (sorted, as transformers). */
  weightFiles: string[];
  /** The dtype most weights are stored in. */
  storedDType: WeightDType;
  /** By the model's canonical tensor names (its base-model prefix removed). */
  tensors: Record<string, TensorPlan>;
  /** Handed to the native model layer as given to planModel. */
  modelOptions?: PlanModelOptions;
}

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';

/** A folder's safetensors weights, one file or sharded: every tensor of every file, by checkpoint name. */
export interface Checkpoint {
  /** The file that errors about the whole checkpoint name: model.safetensors or the index. */
  path: string;
  /** The files, in TensorPlan.file order. */
  files: string[];
  /** Read through model.safetensors.index.json. */
  sharded: boolean;
  tensors: Map<string, SafetensorsTensor & { file: number }>;
}

/**
 * Checkpoint name -> canonical name: drops the base model's prefix ("bert.", "roberta.", "model.") and renames
 * the LayerNorm gamma/beta of old checkpoints, as transformers does when it loads them.
 */
export function canonicalTensorName(name: string, prefix: string): string {
  const n = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  return n.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
}

const isFile = (path: string) => stat(path).then((s) => s.isFile(), () => false);

/**
 * The weights of a model folder. model.safetensors when there is one, else model.safetensors.index.json and the
 * shards its weight_map names: transformers' order (PreTrainedModel.from_pretrained tries SAFE_WEIGHTS_NAME, then
 * SAFE_WEIGHTS_INDEX_NAME), so a folder holding both loads the single file and the index is not read.
 * Every header is read once. Throws ModelLoadError naming the file at fault.
 */
export async function readCheckpoint(dir: string): Promise<Checkpoint> {
  const single = join(dir, SINGLE_FILE);
  const index = join(dir, INDEX_FILE);
  if (!(await isFile(single))) {
    if (await isFile(index)) return readShardedCheckpoint(dir, index);
    throw new ModelLoadError('ERR_MODEL_NOT_FOUND', single, `${SINGLE_FILE} not found, nor ${INDEX_FILE} (sharded weights): trt-rerank reads ` +
      'safetensors weights; convert pytorch_model.bin with transformers\' save_pretrained(safe_serialization=True)');
  }
  const header = await readSafetensorsHeader(single);
  const tensors = new Map<string, SafetensorsTensor & { file: number }>();
  for (const [name, t] of header.tensors) tensors.set(name, { ...t, file: 0 });
  return { path: single, files: [single], sharded: false, tensors };
}

/** A shard name that stays in the model folder: a plain file name (no separator, not "." or "..", no drive). */
function isPlainFileName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name) && !/^[A-Za-z]:/.test(name);
}

async function readShardedCheckpoint(dir: string, indexPath: string): Promise<Checkpoint> {
  const invalid = (message: string, path = indexPath): never => {
    throw new ModelLoadError('ERR_MODEL_INVALID', path, message);
  };
  let json: unknown;
  try {
    json = JSON.parse(await readFile(indexPath, 'utf8'));
  } catch (cause) {
    throw new ModelLoadError('ERR_MODEL_INVALID', indexPath, `${INDEX_FILE} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  const weightMap = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) {
    invalid(`${INDEX_FILE} has no "weight_map" object (tensor name -> shard file)`);
  }
  const entries = Object.entries(weightMap as Record<string, unknown>);
  if (entries.length === 0) invalid(`${INDEX_FILE} maps no tensors: its "weight_map" is empty`);
  for (const [name, shard] of entries) {
    if (typeof shard !== 'string') invalid(`${INDEX_FILE} maps tensor "${name}" to ${JSON.stringify(shard)}, not a file name`);
    if (!isPlainFileName(shard as string)) {
      invalid(`${INDEX_FILE} maps tensor "${name}" to shard ${JSON.stringify(shard)}, outside the model folder: a shard must be a ` +
        'file name in the folder (no path separators, no "..")');
    }
  }
  const shards = [...new Set(entries.map(([, shard]) => shard as string))].sort();
  const fileOf = new Map(shards.map((s, i) => [s, i]));
  const files = shards.map((s) => join(dir, s));
  const headers = await Promise.all(files.map(async (path, i) => readSafetensorsHeader(path).catch((error: unknown) => {
    if (error instanceof ModelLoadError && error.code === 'ERR_MODEL_NOT_FOUND') {
      const count = entries.filter(([, s]) => s === shards[i]).length;
      throw new ModelLoadError('ERR_MODEL_NOT_FOUND', path, `shard ${shards[i]} not found: ${INDEX_FILE} maps ${count} tensor(s) to it`, { cause: error });
    }
    throw error;
  })));
  const tensors = new Map<string, SafetensorsTensor & { file: number }>();
  headers.forEach((header, file) => {
    for (const [name, t] of header.tensors) {
      const earlier = tensors.get(name);
      if (earlier) invalid(`tensor "${name}" is in two shards, ${shards[earlier.file]} and ${shards[file]}`);
      tensors.set(name, { ...t, file });
    }
  });
  for (const [name, shard] of entries) {
    const t = tensors.get(name);
    const file = fileOf.get(shard as string)!;
    if (t?.file !== file) {
      invalid(`${INDEX_FILE} maps tensor "${name}" to ${shard as string}, which does not hold it` +
        (t ? ` (it is in ${shards[t.file]})` : ''), files[file]);
    }
  }
  return { path: indexPath, files, sharded: true, tensors };
}

/** Matches the checkpoint's tensors to the model's list (the addon's describeModel) and checks dtypes and shapes. */
export function buildModelPlan(config: ModelConfig, checkpoint: Checkpoint, modelOptions?: PlanModelOptions): ModelPlan {
  const found = new Map<string, { name: string } & SafetensorsTensor & { file: number }>();
  for (const [name, t] of checkpoint.tensors) found.set(canonicalTensorName(name, config.tensorPrefix), { name, ...t });
  const missing = config.tensors.filter((t) => !found.has(t.name)).map((t) => t.name);
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, and ${missing.length - 5} more` : '');
    const what = checkpoint.sharded ? `the ${checkpoint.files.length} shard(s) of ${INDEX_FILE} lack` : `${SINGLE_FILE} lacks`;
    throw new ModelLoadError('ERR_MODEL_INVALID', checkpoint.path, `${what} ${missing.length} tensor(s) that ${config.architecture} needs: ${shown}`);
  }
  const tensors: Record<string, TensorPlan> = {};
  const dtypeCounts = new Map<WeightDType, number>();
  for (const { name: canonical, shape } of config.tensors) {
    const t = found.get(canonical)!;
    const path = checkpoint.files[t.file]!;
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
      throw new ModelLoadError('ERR_MODEL_INVALID', path, `tensor "${t.name}" is ${t.dtype}; weights must be F32, F16 or BF16`);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelLoadError('ERR_MODEL_INVALID', path, `tensor "${t.name}" has shape [${t.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`);
    }
    tensors[canonical] = { dtype: t.dtype, shape: t.shape, file: t.file, offset: t.offset, nbytes: t.nbytes };
    dtypeCounts.set(t.dtype, (dtypeCounts.get(t.dtype) ?? 0) + 1);
  }
  const storedDType = [...dtypeCounts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return { config: config.json, weightFiles: checkpoint.files, storedDType, tensors, ...(modelOptions !== undefined ? { modelOptions } : {}) };
}

/**
 * The plan of the model folder `dir` (its config.json read by readModelConfig): its checkpoint (readCheckpoint) matched
 * to the model's tensors. `modelOptions` travel in the plan to the native model layer as they are.
 */
export async function planModel(dir: string, config: ModelConfig, modelOptions?: PlanModelOptions): Promise<ModelPlan> {
  return buildModelPlan(config, await readCheckpoint(dir), modelOptions);
}
