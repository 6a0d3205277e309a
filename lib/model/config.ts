import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelLoadError } from '../errors.js';

/** The architectures every backend supports, by config.json `architectures[0]`. */
export const SUPPORTED_ARCHITECTURES = [
  'BertForSequenceClassification',
  'XLMRobertaForSequenceClassification',
  'RobertaForSequenceClassification',
] as const;

export type ModelFamily = 'bert' | 'xlm-roberta';
export type HiddenAct = 'gelu' | 'gelu_tanh' | 'relu' | 'silu';

/** The sizes and constants of the network, as the backends take them. */
export interface ModelDimensions {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  intermediateSize: number;
  maxPositions: number;
  typeVocabSize: number;
  numLabels: 1 | 2;
  padTokenId: number;
  layerNormEps: number;
}

/** The parts of config.json the model needs, checked. */
export interface ModelConfig extends ModelDimensions {
  architecture: (typeof SUPPORTED_ARCHITECTURES)[number];
  family: ModelFamily;
  modelType: string;
  hiddenAct: HiddenAct;
  /** Longest sequence the position table allows: maxPositions minus padTokenId + 1 for XLM-R/RoBERTa. */
  maxSequenceLength: number;
}

// transformers' ACT2FN names -> the four functions the backends implement.
const HIDDEN_ACTS: Record<string, HiddenAct> = {
  gelu: 'gelu',
  gelu_new: 'gelu_tanh',
  gelu_pytorch_tanh: 'gelu_tanh',
  gelu_fast: 'gelu_tanh',
  relu: 'relu',
  silu: 'silu',
  swish: 'silu',
};

export async function readModelConfig(dir: string): Promise<ModelConfig> {
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
  return parseModelConfig(json, path);
}

export function parseModelConfig(json: unknown, path: string): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ModelLoadError('ERR_MODEL_INVALID', path, 'config.json must hold a JSON object');
  }
  const c = json as Record<string, unknown>;
  const architectures = Array.isArray(c.architectures) ? c.architectures : [];
  const architecture = architectures[0];
  if (!SUPPORTED_ARCHITECTURES.includes(architecture as never)) {
    throw new ModelLoadError(
      'ERR_MODEL_UNSUPPORTED',
      path,
      `unsupported architecture ${JSON.stringify(architecture ?? null)}: trt-rerank runs ${SUPPORTED_ARCHITECTURES.join(', ')}`,
    );
  }
  const int = (key: string, fallback?: number, min = 1): number => {
    const v = c[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min) {
      throw new ModelLoadError('ERR_MODEL_INVALID', path, `config.json: "${key}" must be an integer >= ${min}, got ${JSON.stringify(v)}`);
    }
    return v;
  };
  const family: ModelFamily = architecture === 'BertForSequenceClassification' ? 'bert' : 'xlm-roberta';
  const positionType = c.position_embedding_type ?? 'absolute';
  if (positionType !== 'absolute') {
    throw new ModelLoadError('ERR_MODEL_UNSUPPORTED', path, `position_embedding_type "${String(positionType)}" is not supported: only "absolute"`);
  }
  const rawAct = c.hidden_act ?? 'gelu';
  const hiddenAct = typeof rawAct === 'string' ? HIDDEN_ACTS[rawAct] : undefined;
  if (!hiddenAct) {
    throw new ModelLoadError('ERR_MODEL_UNSUPPORTED', path, `hidden_act ${JSON.stringify(rawAct)} is not supported: use one of ${Object.keys(HIDDEN_ACTS).join(', ')}`);
  }
  const labelCount = c.id2label && typeof c.id2label === 'object' ? Object.keys(c.id2label).length : undefined;
  const numLabels = int('num_labels', labelCount ?? 2);
  if (numLabels !== 1 && numLabels !== 2) {
    throw new ModelLoadError('ERR_MODEL_UNSUPPORTED', path, `a cross-encoder has 1 or 2 labels; this model has ${numLabels}`);
  }
  const hiddenSize = int('hidden_size');
  const numHeads = int('num_attention_heads');
  if (hiddenSize % numHeads !== 0) {
    throw new ModelLoadError('ERR_MODEL_INVALID', path, `hidden_size ${hiddenSize} is not a multiple of num_attention_heads ${numHeads}`);
  }
  const padTokenId = int('pad_token_id', family === 'bert' ? 0 : 1, 0);
  const maxPositions = int('max_position_embeddings');
  const eps = c.layer_norm_eps ?? 1e-12;
  if (typeof eps !== 'number' || !(eps > 0)) {
    throw new ModelLoadError('ERR_MODEL_INVALID', path, `config.json: "layer_norm_eps" must be a positive number, got ${JSON.stringify(eps)}`);
  }
  const maxSequenceLength = family === 'bert' ? maxPositions : maxPositions - (padTokenId + 1);
  if (maxSequenceLength < 4) {
    throw new ModelLoadError('ERR_MODEL_INVALID', path, `max_position_embeddings ${maxPositions} leaves no room for a sequence`);
  }
  return {
    architecture: architecture as ModelConfig['architecture'],
    family,
    modelType: typeof c.model_type === 'string' ? c.model_type : family,
    vocabSize: int('vocab_size'),
    hiddenSize,
    numLayers: int('num_hidden_layers'),
    numHeads,
    intermediateSize: int('intermediate_size'),
    maxPositions,
    typeVocabSize: int('type_vocab_size', 2),
    numLabels,
    padTokenId,
    layerNormEps: eps,
    hiddenAct,
    maxSequenceLength,
  };
}
