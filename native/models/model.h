// What a model declares, once for every backend (TEI's backends/candle/src/models/ habit): the config.json
// fields it reads (its constructor, through ConfigReader), its tensors (params: names, shapes, which are fused
// at load), its position rule, the activation buffers its forward needs, and the forward itself, written against
// models/ops.h. One file per architecture family: bert.cc (BERT, XLM-R/RoBERTa), modernbert.cc.
//
// The JS side asks for the tensor list (binding: describeModel) to match a checkpoint's names and check shapes,
// dtypes and bounds, then hands the tensors' places in the file back for the backend to load.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "models/config.h"
#include "models/ops.h"

namespace trt_rerank::models {

// A weight the model reads. Linear: an nn.Linear, W [sum of partRows, cols] and optional bias, fused from one
// or more checkpoint tensors stacked by output rows (query | key | value); ops.linear can run a subset of the
// parts. Table: an embedding [rows, cols], gathered by row. Vector: [rows] (norm weights).
//
// Picked rows (a Linear of one part, no bias): the checkpoint tensor is [sourceRows, cols] and the param is its
// rows pickedRows[0], pickedRows[1], .. in that order (partRows[0] = pickedRows.size()): a decoder reranker's
// "no" and "yes" rows of a 151k-row LM head. Backends read only those rows from the file. Two params may name
// the same tensor (tied embeddings: the LM head's rows are rows of embed_tokens).
struct ParamDecl {
  enum class Kind { Linear,
                    Table,
                    Vector };
  Kind kind = Kind::Vector;
  std::vector<std::string> parts;      // tensor names (canonical: the model's prefix removed)
  std::vector<int64_t> partRows;       // rows of each part
  int64_t cols = 0;                    // Linear: in features; Table: width; Vector: 1
  std::vector<std::string> biasParts;  // Linear: one [partRows[i]] bias per part, or none
  std::vector<int64_t> pickedRows;     // Linear of one part: the rows of the stored tensor it takes (see above)
  int64_t sourceRows = 0;              // with pickedRows: the stored tensor's rows

  int64_t rows() const {
    int64_t n = 0;
    for (int64_t r : partRows) n += r;
    return n;
  }
};

// An activation buffer, allocated by the backend for the largest batch: perToken x tokens + perSequence x
// sequences elements of its storage type, or of fp32 with `fp32` (a pre-LN residual stream, which low-precision
// storage would round at every add; only ops.norm reads and writes such a buffer).
struct BufferDecl {
  int64_t perToken = 0;
  int64_t perSequence = 0;
  bool fp32 = false;
};

struct ModelInfo {
  std::string architecture;  // config.json architectures[0]
  std::string family;        // "bert", "xlm-roberta", "modernbert"
  std::string modelType;     // config.json model_type
  std::string tensorPrefix;  // the base model's prefix in checkpoints ("bert.", "roberta.", "model.")
  int numLabels = 1;
  int hiddenSize = 0;
  int numLayers = 0;
  int numHeads = 0;
  int numKvHeads = 0;  // K/V heads (grouped-query attention); numHeads for encoders
  int headDim = 0;
  int intermediateSize = 0;
  int vocabSize = 0;
  int typeVocabSize = 0;      // 0: the model reads no token type ids
  int maxSequenceLength = 0;  // the longest sequence its positions allow
  int padTokenId = 0;
  PositionRule positions = PositionRule::Sequential;
  double gemmFlopsPerToken = 0;  // dense-layer FLOPs per token of the full encoder (graph limits, the bench floor)
  std::string pooling;           // "cls", "mean" or "last"
  // Causal attention: a token sees only those before it, so a prefix shared by several sequences of a batch can
  // be computed once (contexts, models/ops.h). Decoders.
  bool causal = false;
};

// What a model reads besides config.json (the Reranker passes it from the tokenizer).
struct ModelOptions {
  // A causal-LM reranker's label tokens, [no, yes]: its logits are the LM head's rows for them, so the raw score
  // is logit(yes) - logit(no). Empty for a sequence classifier.
  std::vector<int32_t> labelTokens;
};

class Model {
 public:
  virtual ~Model() = default;
  const ModelInfo& info() const { return info_; }
  const std::vector<ParamDecl>& params() const { return params_; }
  const std::vector<BufferDecl>& buffers() const { return buffers_; }

  // The forward over one packed batch, logits through ops.logits. Returns false if ops.cancelled() stopped it.
  virtual bool forward(Ops& ops, const BatchShape& batch) const = 0;

 protected:
  ParamId linear(std::vector<std::string> weights, std::vector<int64_t> rows, int64_t cols, std::vector<std::string> biases);
  // Rows `rows` of the stored [sourceRows, cols] tensor `weight`, as a Linear without bias.
  ParamId pickedRows(const std::string& weight, int64_t sourceRows, int64_t cols, std::vector<int64_t> rows);
  ParamId table(const std::string& name, int64_t rows, int64_t cols);
  ParamId vector(const std::string& name, int64_t n);
  int buffer(int64_t perToken, int64_t perSequence = 0, bool fp32 = false);

  ModelInfo info_;

 private:
  std::vector<ParamDecl> params_;
  std::vector<BufferDecl> buffers_;
};

// The model config.json describes, by its architectures[0]. Throws NativeError: ERR_MODEL_UNSUPPORTED for an
// architecture none of the files here implements, ERR_MODEL_INVALID naming a field that cannot describe a model
// (or a causal-LM reranker without its label tokens).
std::unique_ptr<Model> createModel(const ConfigReader& config, const ModelOptions& options = {});

// The architectures createModel accepts.
const std::vector<std::string>& supportedArchitectures();

// Limits every model applies to the sizes it reads, before anything is allocated.
namespace limits {
constexpr int64_t kMaxHidden = 1 << 16;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 1024;
constexpr int64_t kMaxIntermediate = 1 << 20;
constexpr int64_t kMaxVocab = 1 << 24;
constexpr int64_t kMaxPositions = 1 << 20;
constexpr int64_t kMaxTypeVocab = 256;  // token type ids travel as uint8
}  // namespace limits

// Shared config readers: num_labels (1 or 2, or the size of id2label), an ACT2FN activation name.
int readNumLabels(const ConfigReader& config);
Activation readActivation(const ConfigReader& config, const std::string& key, const std::string& fallback);

}  // namespace trt_rerank::models
