import { join } from 'node:path';
import { ModelLoadError } from '../errors.js';
import type { ModelConfig } from './config.js';
import { readSafetensorsHeader, type SafetensorsHeader } from './safetensors.js';

export type WeightDType = 'F32' | 'F16' | 'BF16';

export interface TensorPlan {
  dtype: WeightDType;
  shape: number[];
  offset: number;
  nbytes: number;
}

/** What the native backends load: config.json (the model layer reads it again) and every tensor's place in the file. */
export interface ModelPlan {
  config: Record<string, unknown>;
  weightsPath: string;
  /** The dtype most weights are stored in. */
  storedDType: WeightDType;
  /** By the model's canonical tensor names (its base-model prefix removed). */
  tensors: Record<string, TensorPlan>;
}

/**
 * Checkpoint name -> canonical name: drops the base model's prefix ("bert.", "roberta.", "model.") and renames
 * the LayerNorm gamma/beta of old checkpoints, as transformers does when it loads them.
 */
export function canonicalTensorName(name: string, prefix: string): string {
  const n = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  return n.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
}

/** Matches the checkpoint's tensors to the model's list (the addon's describeModel) and checks dtypes and shapes. */
export function buildModelPlan(config: ModelConfig, header: SafetensorsHeader): ModelPlan {
  const found = new Map<string, { name: string; dtype: string; shape: number[]; offset: number; nbytes: number }>();
  for (const [name, t] of header.tensors) found.set(canonicalTensorName(name, config.tensorPrefix), { name, ...t });
  const missing = config.tensors.filter((t) => !found.has(t.name)).map((t) => t.name);
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, and ${missing.length - 5} more` : '');
    throw new ModelLoadError('ERR_MODEL_INVALID', header.path, `model.safetensors lacks ${missing.length} tensor(s) that ${config.architecture} needs: ${shown}`);
  }
  const tensors: Record<string, TensorPlan> = {};
  const dtypeCounts = new Map<WeightDType, number>();
  for (const { name: canonical, shape } of config.tensors) {
    const t = found.get(canonical)!;
    if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16') {
      throw new ModelLoadError('ERR_MODEL_INVALID', header.path, `tensor "${t.name}" is ${t.dtype}; weights must be F32, F16 or BF16`);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new ModelLoadError(
        'ERR_MODEL_INVALID',
        header.path,
        `tensor "${t.name}" has shape [${t.shape.join(', ')}] but config.json implies [${shape.join(', ')}]`,
      );
    }
    tensors[canonical] = { dtype: t.dtype, shape: t.shape, offset: t.offset, nbytes: t.nbytes };
    dtypeCounts.set(t.dtype, (dtypeCounts.get(t.dtype) ?? 0) + 1);
  }
  const storedDType = [...dtypeCounts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return { config: config.json, weightsPath: header.path, storedDType, tensors };
}

export async function planModel(dir: string, config: ModelConfig): Promise<ModelPlan> {
  const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
  return buildModelPlan(config, header);
}
