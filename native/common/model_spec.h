// The model as native code sees it: a plain struct built from config.json and the safetensors header
// on the JS side (lib/model/), which has already checked every tensor's presence, dtype, shape and bounds.
// Backends read weights from `weightsPath` at the absolute byte offsets given here.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace trt_rerank {

enum class Architecture { Bert, XlmRoberta };

// hidden_act of config.json. GeluErf is transformers' "gelu" (0.5 x (1 + erf(x / sqrt 2)));
// GeluTanh is "gelu_new" / "gelu_pytorch_tanh" / "gelu_fast".
enum class HiddenActivation { GeluErf, GeluTanh, Relu, Silu };

enum class WeightDType { F32, F16, BF16 };

struct TensorRef {
  WeightDType dtype = WeightDType::F32;
  std::vector<int64_t> shape;  // row-major, as stored (nn.Linear weights are [out, in])
  uint64_t offset = 0;         // absolute byte offset in the weights file
  uint64_t nbytes = 0;
};

struct ModelSpec {
  Architecture architecture = Architecture::Bert;
  int vocabSize = 0;
  int hiddenSize = 0;
  int numLayers = 0;
  int numHeads = 0;
  int intermediateSize = 0;
  int maxPositions = 0;      // max_position_embeddings (rows of the position table)
  int typeVocabSize = 0;
  int numLabels = 1;         // 1 or 2
  int padTokenId = 0;
  float layerNormEps = 1e-12f;
  HiddenActivation hiddenAct = HiddenActivation::GeluErf;
  std::string weightsPath;
  // Canonical tensor names, checkpoint prefixes ("bert.", "roberta.") removed and LayerNorm gamma/beta
  // renamed weight/bias:
  //   embeddings.{word,position,token_type}_embeddings.weight, embeddings.LayerNorm.{weight,bias}
  //   encoder.layer.N.attention.self.{query,key,value}.{weight,bias}
  //   encoder.layer.N.attention.output.dense.{weight,bias}, encoder.layer.N.attention.output.LayerNorm.{weight,bias}
  //   encoder.layer.N.intermediate.dense.{weight,bias}
  //   encoder.layer.N.output.dense.{weight,bias}, encoder.layer.N.output.LayerNorm.{weight,bias}
  //   Bert:       pooler.dense.{weight,bias}, classifier.{weight,bias}
  //   XlmRoberta: classifier.dense.{weight,bias}, classifier.out_proj.{weight,bias}
  std::map<std::string, TensorRef> tensors;
};

// Position ids as transformers computes them. BERT: 0, 1, 2, ... XLM-R (create_position_ids_from_input_ids):
// padding_idx + cumulative count of non-pad tokens for non-pad tokens, padding_idx for pad tokens.
inline void computePositionIds(const ModelSpec& spec, const int32_t* ids, int length, int32_t* positions) {
  if (spec.architecture == Architecture::Bert) {
    for (int i = 0; i < length; ++i) positions[i] = i;
    return;
  }
  int count = 0;
  for (int i = 0; i < length; ++i) {
    if (ids[i] != spec.padTokenId) {
      ++count;
      positions[i] = spec.padTokenId + count;
    } else {
      positions[i] = spec.padTokenId;
    }
  }
}

}  // namespace trt_rerank
