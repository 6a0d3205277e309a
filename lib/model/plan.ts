import { join } from 'node:path';
import { ModelLoadError } from '../errors.js';
import type { HiddenAct, ModelConfig, ModelDimensions, ModelFamily } from './config.js';
import { readSafetensorsHeader, type SafetensorsHeader } from './safetensors.js';

export type WeightDType = 'F32' | 'F16' | 'BF16';

export interface TensorPlan {
  dtype: WeightDType;
  shape: number[];
  offset: number;
  nbytes: number;
}

/** What the native backends load: config values plus every weight's place in the file, by canonical name. */
export interface ModelPlan extends ModelDimensions {
  architecture: ModelFamily;
  hiddenAct: HiddenAct;
  weightsPath: string;
  /** The dtype most weights are stored in. */
  storedDType: WeightDType;
  tensors: Record<string, TensorPlan>;
}

/** Canonical tensor name -> expected shape, for the given config (see native/common/model_spec.h). */
export function expectedTensors(c: ModelConfig): Map<string, number[]> {
  const h = c.hiddenSize;
  const m = new Map<string, number[]>([
    ['embeddings.word_embeddings.weight', [c.vocabSize, h]],
    ['embeddings.position_embeddings.weight', [c.maxPositions, h]],
    ['embeddings.token_type_embeddings.weight', [c.typeVocabSize, h]],
    ['embeddings.LayerNorm.weight', [h]],
    ['embeddings.LayerNorm.bias', [h]],
  ]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `encoder.layer.${i}.`;
    for (const x of ['query', 'key', 'value']) {
      m.set(`${p}attention.self.${x}.weight`, [h, h]);
      m.set(`${p}attention.self.${x}.bias`, [h]);
    }
    m.set(`${p}attention.output.dense.weight`, [h, h]);
    m.set(`${p}attention.output.dense.bias`, [h]);
    m.set(`${p}attention.output.LayerNorm.weight`, [h]);
    m.set(`${p}attention.output.LayerNorm.bias`, [h]);
    m.set(`${p}intermediate.dense.weight`, [c.intermediateSize, h]);
    m.set(`${p}intermediate.dense.bias`, [c.intermediateSize]);
    m.set(`${p}output.dense.weight`, [h, c.intermediateSize]);
    m.set(`${p}output.dense.bias`, [h]);
    m.set(`${p}output.LayerNorm.weight`, [h]);
    m.set(`${p}output.LayerNorm.bias`, [h]);
  }
  if (c.family === 'bert') {
    m.set('pooler.dense.weight', [h, h]);
    m.set('pooler.dense.bias', [h]);
    m.set('classifier.weight', [c.numLabels, h]);
    m.set('classifier.bias', [c.numLabels]);
  } else {
    m.set('classifier.dense.weight', [h, h]);
    m.set('classifier.dense.bias', [h]);
    m.set('classifier.out_proj.weight', [c.numLabels, h]);
    m.set('classifier.out_proj.bias', [c.numLabels]);
  }
  return m;
}

/**
 * Checkpoint name -> canonical name: drops the base-model prefix ("bert.", "roberta.") and renames the
 * LayerNorm gamma/beta of old checkpoints, as transformers does when it loads them.
 */
export function canonicalTensorName(name: string, family: ModelConfig['family']): string {
  const prefix = family === 'bert' ? 'bert.' : 'roberta.';
  let n = name.startsWith(prefix) ? name.slice(prefix.length) : name;
  n = n.replace(/LayerNorm\.gamma$/, 'LayerNorm.weight').replace(/LayerNorm\.beta$/, 'LayerNorm.bias');
  return n;
}

export function buildModelPlan(config: ModelConfig, header: SafetensorsHeader): ModelPlan {
  const expected = expectedTensors(config);
  const found = new Map<string, { name: string; dtype: string; shape: number[]; offset: number; nbytes: number }>();
  for (const [name, t] of header.tensors) {
    const canonical = canonicalTensorName(name, config.family);
    if (expected.has(canonical)) found.set(canonical, { name, ...t });
  }
  const missing = [...expected.keys()].filter((k) => !found.has(k));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? `, and ${missing.length - 5} more` : '');
    throw new ModelLoadError('ERR_MODEL_INVALID', header.path, `model.safetensors lacks ${missing.length} tensor(s) that ${config.architecture} needs: ${shown}`);
  }
  const tensors: Record<string, TensorPlan> = {};
  const dtypeCounts = new Map<WeightDType, number>();
  for (const [canonical, shape] of expected) {
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
  return {
    architecture: config.family,
    vocabSize: config.vocabSize,
    hiddenSize: config.hiddenSize,
    numLayers: config.numLayers,
    numHeads: config.numHeads,
    intermediateSize: config.intermediateSize,
    maxPositions: config.maxPositions,
    typeVocabSize: config.typeVocabSize,
    numLabels: config.numLabels,
    padTokenId: config.padTokenId,
    layerNormEps: config.layerNormEps,
    hiddenAct: config.hiddenAct,
    weightsPath: header.path,
    storedDType,
    tensors,
  };
}

export async function planModel(dir: string, config: ModelConfig): Promise<ModelPlan> {
  const header = await readSafetensorsHeader(join(dir, 'model.safetensors'));
  return buildModelPlan(config, header);
}
