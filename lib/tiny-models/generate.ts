/**
 * Deterministic tiny random-weight cross-encoders for tests, fixtures and `trt-rerank demo`: a folder with
 * config.json, model.safetensors, tokenizer.json and tokenizer_config.json, the layout of a Hugging Face
 * model. The weights are random: scores carry no meaning.
 */
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SeededRandom, uniformTensors } from './random.js';
import { encodeSafetensors, type StoredDType, type TensorToWrite } from './safetensors-writer.js';
import { qwen3Config, qwen3TokenizerFiles, qwen3Weights, type Qwen3Spec } from './qwen3.js';
import { byteLevelBpeTokenizer, unigramTokenizer, wordPieceTokenizer, type TokenizerFiles } from './tokenizers.js';

/** ModernBERT's own settings (transformers' ModernBertConfig). */
export interface ModernBertSpec {
  /** Every n-th layer attends globally, the others within a window of localAttention tokens in total. */
  globalEvery: number;
  localAttention: number;
  pooling: 'cls' | 'mean';
  /** attention_bias, mlp_bias, norm_bias and classifier_bias together. */
  biases: boolean;
  /** config.json in transformers 5's dialect (layer_types, rope_parameters) rather than 4.48's. */
  transformers5Config: boolean;
}

export interface TinyModelSpec {
  family: 'bert' | 'xlm-roberta' | 'modernbert' | 'qwen3';
  seed: number;
  hiddenSize: number;
  numHeads: number;
  numLayers: number;
  intermediateSize: number;
  numLabels: 1 | 2;
  hiddenAct: string;
  dtype: StoredDType;
  modernbert?: ModernBertSpec;
  qwen3?: Qwen3Spec;
}

/** The models the test suites use. Head dims 32 (bert) and 64 (xlm-roberta), as MiniLM and XLM-R have. */
export const TINY_MODELS = {
  'tiny-bert': { family: 'bert', seed: 1, hiddenSize: 64, numHeads: 2, numLayers: 2, intermediateSize: 128, numLabels: 1, hiddenAct: 'gelu', dtype: 'F32' },
  'tiny-bert-f16': { family: 'bert', seed: 1, hiddenSize: 64, numHeads: 2, numLayers: 2, intermediateSize: 128, numLabels: 1, hiddenAct: 'gelu', dtype: 'F16' },
  'tiny-bert-2label': { family: 'bert', seed: 2, hiddenSize: 64, numHeads: 2, numLayers: 3, intermediateSize: 96, numLabels: 2, hiddenAct: 'gelu_new', dtype: 'F32' },
  'tiny-xlmr': { family: 'xlm-roberta', seed: 3, hiddenSize: 128, numHeads: 2, numLayers: 2, intermediateSize: 256, numLabels: 1, hiddenAct: 'gelu', dtype: 'F32' },
  'tiny-xlmr-bf16': { family: 'xlm-roberta', seed: 3, hiddenSize: 128, numHeads: 2, numLayers: 2, intermediateSize: 256, numLabels: 1, hiddenAct: 'gelu', dtype: 'BF16' },
  // ModernBERT: windows far shorter than the test pairs, so the sliding layers differ from global ones.
  'tiny-modernbert': {
    family: 'modernbert', seed: 4, hiddenSize: 64, numHeads: 2, numLayers: 3, intermediateSize: 96, numLabels: 1, hiddenAct: 'gelu', dtype: 'F32',
    modernbert: { globalEvery: 3, localAttention: 16, pooling: 'mean', biases: false, transformers5Config: false },
  },
  'tiny-modernbert-cls': {
    family: 'modernbert', seed: 5, hiddenSize: 128, numHeads: 2, numLayers: 4, intermediateSize: 160, numLabels: 2, hiddenAct: 'gelu_new', dtype: 'F16',
    modernbert: { globalEvery: 2, localAttention: 8, pooling: 'cls', biases: true, transformers5Config: true },
  },
  // Qwen3 rerankers (the real Qwen3 tokenizer, lib/tiny-models/qwen3.ts): grouped K/V heads, head_dim apart from
  // hidden_size / heads, tied and untied LM heads, both architectures and both config.json dialects.
  'tiny-qwen3': {
    family: 'qwen3', seed: 6, hiddenSize: 64, numHeads: 4, numLayers: 3, intermediateSize: 96, numLabels: 2, hiddenAct: 'silu', dtype: 'F32',
    qwen3: { architecture: 'Qwen3ForCausalLM', kvHeads: 2, headDim: 32, tied: true, attentionBias: false, transformers5Config: false, vocabSize: 151936, ropeTheta: 1000000 },
  },
  'tiny-qwen3-bf16': {
    family: 'qwen3', seed: 7, hiddenSize: 128, numHeads: 4, numLayers: 2, intermediateSize: 192, numLabels: 2, hiddenAct: 'silu', dtype: 'BF16',
    qwen3: { architecture: 'Qwen3ForCausalLM', kvHeads: 1, headDim: 64, tied: false, attentionBias: false, transformers5Config: true, vocabSize: 151669, ropeTheta: 1000000 },
  },
  'tiny-qwen3-seq-cls': {
    family: 'qwen3', seed: 8, hiddenSize: 64, numHeads: 2, numLayers: 2, intermediateSize: 128, numLabels: 1, hiddenAct: 'silu', dtype: 'F16',
    qwen3: { architecture: 'Qwen3ForSequenceClassification', kvHeads: 2, headDim: 64, tied: false, attentionBias: true, transformers5Config: true, vocabSize: 151936, ropeTheta: 10000 },
  },
} as const satisfies Record<string, TinyModelSpec>;

export type TinyModelName = keyof typeof TINY_MODELS;

/** config.json of a ModernBertForSequenceClassification, as transformers 4.48+ or 5 writes it. */
function modernBertConfig(spec: TinyModelSpec, vocabSize: number, labels: Record<string, string>, ids: SpecialTokenIds): object {
  const m = spec.modernbert!;
  const attention = m.transformers5Config
    ? {
        layer_types: Array.from({ length: spec.numLayers }, (_, i) => (i % m.globalEvery === 0 ? 'full_attention' : 'sliding_attention')),
        rope_parameters: { full_attention: { rope_type: 'default', rope_theta: 160000 }, sliding_attention: { rope_type: 'default', rope_theta: 10000 } },
      }
    : { global_attn_every_n_layers: m.globalEvery, global_rope_theta: 160000, local_rope_theta: 10000 };
  return {
    architectures: ['ModernBertForSequenceClassification'], model_type: 'modernbert',
    vocab_size: vocabSize, hidden_size: spec.hiddenSize, num_hidden_layers: spec.numLayers, num_attention_heads: spec.numHeads,
    intermediate_size: spec.intermediateSize, hidden_activation: spec.hiddenAct, max_position_embeddings: 8192,
    norm_eps: 1e-5, norm_bias: m.biases, attention_bias: m.biases, mlp_bias: m.biases, classifier_bias: m.biases,
    classifier_activation: 'gelu', classifier_pooling: m.pooling, local_attention: m.localAttention, ...attention,
    pad_token_id: ids.pad, bos_token_id: ids.cls, eos_token_id: ids.sep, cls_token_id: ids.cls, sep_token_id: ids.sep,
    id2label: labels, label2id: Object.fromEntries(Object.entries(labels).map(([k, v]) => [v, Number(k)])),
    [m.transformers5Config ? 'dtype' : 'torch_dtype']: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[spec.dtype],
    trt_rerank_note: 'random weights generated by trt-rerank for tests: scores carry no meaning',
  };
}

interface SpecialTokenIds {
  pad: number;
  cls: number;
  sep: number;
}

function configJson(spec: TinyModelSpec, vocabSize: number, tokenIds: SpecialTokenIds): object {
  const labels = Object.fromEntries(Array.from({ length: spec.numLabels }, (_, i) => [String(i), `LABEL_${i}`]));
  const common = {
    vocab_size: vocabSize,
    hidden_size: spec.hiddenSize,
    num_hidden_layers: spec.numLayers,
    num_attention_heads: spec.numHeads,
    intermediate_size: spec.intermediateSize,
    hidden_act: spec.hiddenAct,
    hidden_dropout_prob: 0.1,
    attention_probs_dropout_prob: 0.1,
    initializer_range: 0.02,
    position_embedding_type: 'absolute',
    id2label: labels,
    label2id: Object.fromEntries(Object.entries(labels).map(([k, v]) => [v, Number(k)])),
    torch_dtype: { F32: 'float32', F16: 'float16', BF16: 'bfloat16' }[spec.dtype],
    trt_rerank_note: 'random weights generated by trt-rerank for tests: scores carry no meaning',
  };
  if (spec.family === 'modernbert') return modernBertConfig(spec, vocabSize, labels, tokenIds);
  if (spec.family === 'qwen3') return qwen3Config(spec, spec.qwen3!);
  if (spec.family === 'bert') {
    return { architectures: ['BertForSequenceClassification'], model_type: 'bert', ...common, max_position_embeddings: 512, type_vocab_size: 2, layer_norm_eps: 1e-12, pad_token_id: 0 };
  }
  return {
    architectures: ['XLMRobertaForSequenceClassification'], model_type: 'xlm-roberta', ...common,
    max_position_embeddings: 514, type_vocab_size: 1, layer_norm_eps: 1e-5, pad_token_id: 1, bos_token_id: 0, eos_token_id: 2,
  };
}

function weights(spec: TinyModelSpec, vocabSize: number): TensorToWrite[] {
  const rng = new SeededRandom(spec.seed);
  if (spec.family === 'qwen3') return qwen3Weights(spec, spec.qwen3!, rng);
  const h = spec.hiddenSize;
  const out: TensorToWrite[] = [];
  const add = uniformTensors(rng, out);
  // Uniform(-a, a) with a = 1.7 / sqrt(fan_in): unit-variance activations stay near unit variance, so the
  // logits spread over a few units and differ between documents.
  const linear = (name: string, outF: number, inF: number) => {
    add(`${name}.weight`, [outF, inF], 1.7 / Math.sqrt(inF));
    add(`${name}.bias`, [outF], 0.1);
  };
  const layerNorm = (name: string) => {
    add(`${name}.weight`, [h], 0.2, 1);
    add(`${name}.bias`, [h], 0.1);
  };
  if (spec.family === 'modernbert') {
    // transformers' ModernBertForSequenceClassification names; biases only where config.json has them.
    const m = spec.modernbert!;
    const dense = (name: string, outF: number, inF: number, bias = m.biases) => {
      add(`${name}.weight`, [outF, inF], 1.7 / Math.sqrt(inF));
      if (bias) add(`${name}.bias`, [outF], 0.1);
    };
    const norm = (name: string) => {
      add(`${name}.weight`, [h], 0.2, 1);
      if (m.biases) add(`${name}.bias`, [h], 0.1);
    };
    add('model.embeddings.tok_embeddings.weight', [vocabSize, h], 1);
    norm('model.embeddings.norm');
    for (let i = 0; i < spec.numLayers; i++) {
      const p = `model.layers.${i}`;
      if (i > 0) norm(`${p}.attn_norm`);
      dense(`${p}.attn.Wqkv`, 3 * h, h);
      dense(`${p}.attn.Wo`, h, h);
      norm(`${p}.mlp_norm`);
      dense(`${p}.mlp.Wi`, 2 * spec.intermediateSize, h);
      dense(`${p}.mlp.Wo`, h, spec.intermediateSize);
    }
    norm('model.final_norm');
    dense('head.dense', h, h);
    norm('head.norm');
    dense('classifier', spec.numLabels, h, true);
    return out;
  }
  const base = spec.family === 'bert' ? 'bert' : 'roberta';
  const maxPositions = spec.family === 'bert' ? 512 : 514;
  const typeVocab = spec.family === 'bert' ? 2 : 1;
  add(`${base}.embeddings.word_embeddings.weight`, [vocabSize, h], 1);
  add(`${base}.embeddings.position_embeddings.weight`, [maxPositions, h], 0.5);
  add(`${base}.embeddings.token_type_embeddings.weight`, [typeVocab, h], 0.5);
  layerNorm(`${base}.embeddings.LayerNorm`);
  for (let i = 0; i < spec.numLayers; i++) {
    const p = `${base}.encoder.layer.${i}`;
    linear(`${p}.attention.self.query`, h, h);
    linear(`${p}.attention.self.key`, h, h);
    linear(`${p}.attention.self.value`, h, h);
    linear(`${p}.attention.output.dense`, h, h);
    layerNorm(`${p}.attention.output.LayerNorm`);
    linear(`${p}.intermediate.dense`, spec.intermediateSize, h);
    linear(`${p}.output.dense`, h, spec.intermediateSize);
    layerNorm(`${p}.output.LayerNorm`);
  }
  if (spec.family === 'bert') {
    linear('bert.pooler.dense', h, h);
    linear('classifier', spec.numLabels, h);
  } else {
    linear('classifier.dense', h, h);
    linear('classifier.out_proj', spec.numLabels, h);
  }
  return out;
}

export function tinyTokenizer(family: Exclude<TinyModelSpec['family'], 'qwen3'>): TokenizerFiles {
  if (family === 'modernbert') return byteLevelBpeTokenizer();
  return family === 'bert' ? wordPieceTokenizer() : unigramTokenizer();
}

/** The ids of [PAD]/<pad>, [CLS]/<s> and [SEP]/</s> in a tokenizer.json (its added tokens or vocabulary). */
function specialTokenIds(tokenizerJson: object, family: TinyModelSpec['family']): SpecialTokenIds {
  const t = tokenizerJson as { added_tokens?: Array<{ id: number; content: string }>; model?: { vocab?: unknown } };
  const idOf = (names: string[], fallback: number) => {
    for (const name of names) {
      const added = t.added_tokens?.find((a) => a.content === name);
      if (added) return added.id;
      const vocab = t.model?.vocab;
      if (vocab && !Array.isArray(vocab) && typeof (vocab as Record<string, unknown>)[name] === 'number') return (vocab as Record<string, number>)[name]!;
    }
    return fallback;
  };
  const xlmr = family === 'xlm-roberta';
  return { pad: idOf(['[PAD]', '<pad>'], xlmr ? 1 : 0), cls: idOf(['[CLS]', '<s>'], xlmr ? 0 : 101), sep: idOf(['[SEP]', '</s>'], xlmr ? 2 : 102) };
}

export interface WriteModelOptions {
  /** Copy this folder's tokenizer files (tokenizer.json and friends) instead of writing the tiny tokenizer; the
   * vocabulary size follows its tokenizer.json. For benchmarks on a real tokenizer (e.g. BERT uncased). */
  tokenizerDir?: string;
  /** The embedding table's rows (benchmarks of real models' shapes, e.g. XLM-R's 250002); with tokenizerDir, at
   * least the ids that tokenizer can emit. */
  vocabSize?: number;
}

/** Writes the model folder `dir` for `spec` (creating it) and returns dir. */
export async function writeTinyModel(dir: string, spec: TinyModelSpec, options: WriteModelOptions = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const json = (value: object) => JSON.stringify(value, null, 2) + '\n';
  let vocabSize: number;
  let tokenizerJson: object;
  if (options.tokenizerDir) {
    const files = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.txt'];
    for (const f of files) {
      const from = join(options.tokenizerDir, f);
      if (existsSync(from)) await copyFile(from, join(dir, f));
    }
    // Every id the tokenizer can emit must have an embedding row: its vocabulary and any added tokens past it.
    const borrowed = JSON.parse(await readFile(join(options.tokenizerDir, 'tokenizer.json'), 'utf8')) as {
      model: { vocab: object };
      added_tokens?: Array<{ id: number }>;
    };
    tokenizerJson = borrowed;
    const vocab = borrowed.model.vocab;
    vocabSize = Math.max(Array.isArray(vocab) ? vocab.length : Object.keys(vocab).length, ...(borrowed.added_tokens ?? []).map((t) => t.id + 1));
  } else {
    const tokenizer = spec.family === 'qwen3' ? await qwen3TokenizerFiles() : tinyTokenizer(spec.family);
    tokenizerJson = tokenizer.tokenizerJson;
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer.tokenizerJson));
    await writeFile(join(dir, 'tokenizer_config.json'), json(tokenizer.tokenizerConfig));
    vocabSize = tokenizer.vocabSize;
  }
  if (options.vocabSize !== undefined && options.tokenizerDir && options.vocabSize < vocabSize) {
    throw new Error(`vocabSize ${options.vocabSize} is below the ${vocabSize} ids the tokenizer in ${options.tokenizerDir} can emit`);
  }
  vocabSize = options.vocabSize ?? (spec.family === 'qwen3' ? Math.max(vocabSize, spec.qwen3!.vocabSize) : vocabSize);
  if (spec.family === 'qwen3' && vocabSize !== spec.qwen3!.vocabSize) throw new Error(`a Qwen3 tiny model's vocabSize is its spec's (${spec.qwen3!.vocabSize})`);
  await writeFile(join(dir, 'config.json'), json(configJson(spec, vocabSize, specialTokenIds(tokenizerJson, spec.family))));
  await writeFile(join(dir, 'model.safetensors'), encodeSafetensors(weights(spec, vocabSize), spec.dtype));
  return dir;
}

/** Writes every model of TINY_MODELS under `root`/<name>. */
export async function writeTinyModels(root: string): Promise<Record<TinyModelName, string>> {
  const entries = await Promise.all(
    Object.entries(TINY_MODELS).map(async ([name, spec]) => [name, await writeTinyModel(join(root, name), spec)] as const),
  );
  return Object.fromEntries(entries) as Record<TinyModelName, string>;
}
