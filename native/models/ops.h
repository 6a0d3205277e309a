// The operations a backend provides to the models (native/models/*.cc): every architecture's forward pass is
// written once against this interface, and the CPU (fp32) and CUDA (fp16/bf16 storage, fp32 arithmetic) backends
// implement it. Nothing here names a tensor: weights are the ParamIds a model declared (models/model.h), and
// activations are Views of the buffers it declared.
//
// A forward runs over one packed batch: `tokens` rows, sequence s is rows cuSeqLens[s] .. cuSeqLens[s + 1] - 1
// (the backend holds the token ids and offsets; the model sees only the shape).
//
// Shared prefixes (causal models only, ModelInfo::causal): a batch may give sequence s a context sequence c(s)
// of the same batch (backend-held contextOf, one level: a context has none itself). s then stands for c's tokens
// followed by its own: its tokens sit at positions len(c) .. len(c) + len(s) - 1, and its queries attend to c's
// keys (all of them) before their own. So a prefix every pair of a call shares is computed once per batch
// (pipeline/scheduler.cc). Every op but attention and the position rule is row-wise and sees nothing of it;
// contexts are sequences like any other for pooling and logits (their logits are computed and ignored).
#pragma once

#include <cstdint>

namespace trt_rerank::models {

using ParamId = int32_t;
constexpr ParamId kNoParam = -1;

enum class Activation { None,
                        GeluErf,
                        GeluTanh,
                        Relu,
                        Silu,
                        Tanh };

// How a model numbers the tokens of a sequence, for its position table or its rotary embedding.
enum class PositionRule {
  Sequential,  // 0, 1, 2, ... within each sequence (BERT, ModernBERT, decoders)
  XlmRoberta,  // padId + the count of non-pad tokens up to and including this one; padId for a pad token
};

struct BatchShape {
  int64_t tokens = 0;
  int32_t sequences = 0;
  int32_t maxLength = 0;  // longest sequence
};

// rows x cols values in the backend's storage type, rows `ld` elements apart.
struct View {
  void* data = nullptr;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t ld = 0;
  int elementBytes = 0;

  // Columns [first, first + count) of every row.
  View columns(int64_t first, int64_t count) const {
    return {static_cast<char*>(data) + first * elementBytes, rows, count, ld, elementBytes};
  }
  View firstRows(int64_t count) const { return {data, count, cols, ld, elementBytes}; }
};

// out [tokens, H] = LayerNorm(words[id] + types[type] + positions[position]): encoders normalise their
// embeddings, so the sum and the norm are one operation (one pass on the GPU). gamma kNoParam: no norm, out is
// the sum itself (decoders: words[id] alone).
struct EmbedArgs {
  ParamId words = kNoParam;      // [vocab, H], by token id
  ParamId types = kNoParam;      // [typeVocab, H], by token type id; kNoParam: none
  ParamId positions = kNoParam;  // [maxPositions, H], by the model's position rule; kNoParam: none
  ParamId gamma = kNoParam;      // kNoParam: no norm (beta must be kNoParam too)
  ParamId beta = kNoParam;       // kNoParam: LayerNorm(bias=False)
  float eps = 1e-5f;
  View out;
};

enum class NormKind {
  LayerNorm,  // (s - mean(s)) / sqrt(var(s) + eps) * gamma + beta
  RmsNorm,    // s / sqrt(mean(s^2) + eps) * gamma (no beta): LlamaRMSNorm / Qwen3RMSNorm
};

struct NormArgs {
  View x;                          // [rows, H]
  const View* residual = nullptr;  // s = x + residual when given, else s = x (may be an fp32 buffer)
  const View* sum = nullptr;       // s is written here when given (pre-LN models keep the residual stream; may be fp32)
  ParamId gamma = kNoParam;
  ParamId beta = kNoParam;  // kNoParam: LayerNorm(bias=False); always kNoParam for RmsNorm
  float eps = 1e-5f;
  NormKind kind = NormKind::LayerNorm;
  View out;  // norm(s) * gamma + beta; may alias x or residual (not sum)
};

enum class QueryRows {
  All,    // a query per token: q and out have `tokens` rows
  First,  // only each sequence's first token ([CLS]): q and out have one row per sequence
  Last,   // only each sequence's last token (decoder pooling): q has `tokens` rows (all of them normalised and
          // rotated as with All, only the last of each sequence read), out one row per sequence
};

// softmax(q k^T / sqrt(headDim)) v per head and sequence, over the keys of the query's own sequence (and of its
// context sequence first, if it has one: see the top of this file).
struct AttentionArgs {
  View q, k, v;  // k, v: every token's row; q heads at columns h * headDim .., k and v heads at kvh * headDim ..
  View out;
  int heads = 0;
  int kvHeads = 0;  // K/V heads (grouped-query attention): query head h reads K/V head h / (heads / kvHeads);
                    // 0: as many as query heads. heads must be a multiple of it.
  int headDim = 0;
  QueryRows queries = QueryRows::All;
  int window = -1;      // >= 0: only keys j with |i - j| <= window (positions within the sequence)
  bool causal = false;  // only keys at positions j <= i (a context's keys all precede its sequence's)
  // Qwen3's q_norm / k_norm: when given, each head of q (qNorm) and of k (kNorm) is RMS-normalised over its headDim
  // values with weight [headDim] and normEps, in place, before the rotary embedding.
  ParamId qNorm = kNoParam;
  ParamId kNorm = kNoParam;
  float normEps = 1e-6f;
  float ropeTheta = 0.0f;  // > 0: rotary embedding (rotate_half form) on q and k first, in place, at each token's
                           // position under the model's rule (q and k are changed); with QueryRows::First the
                           // CUDA backend takes the sequential rule (first queries at position 0) and refuses others
};

class Ops {
 public:
  virtual ~Ops() = default;
  // Declared buffer `id` seen as a contiguous [rows, cols] view starting `offset` elements in. Throws if that
  // is past what was allocated.
  virtual View buffer(int id, int64_t rows, int64_t cols, int64_t offset = 0) = 0;
  // The forward checks this between layers (the CPU backend's AbortSignal); GPU backends never stop midway.
  virtual bool cancelled() const { return false; }

  // Each token's position under the model's rule (ModelInfo::positions), which embed's position table and
  // attention's rotary embedding read, is ready by the time embed runs (every forward calls it first).
  virtual void embed(const EmbedArgs& args) = 0;
  // y = act(x w^T + b), for output parts [firstPart, firstPart + parts) of a Linear param (parts = -1: to the
  // last); y's columns are those parts' rows, in order.
  virtual void linear(const View& x, ParamId w, const View& y, Activation act = Activation::None, int firstPart = 0,
                      int parts = -1) = 0;
  virtual void norm(const NormArgs& args) = 0;
  // out [rows, n] = act(x[:, :n]) * x[:, n:2n] (GeGLU / SwiGLU)
  virtual void gated(const View& x, Activation act, const View& out) = 0;
  // out = gated(linear(x, w), act): a Linear param of 2n rows (the act half first) into out [rows, n], with
  // `product` [rows, 2n] for the ungated product where a backend computes it first (the default; the CUDA
  // backend's own GEMM fuses the gate into its epilogue and leaves product untouched).
  virtual void gatedLinear(const View& x, ParamId w, const View& product, Activation act, const View& out) {
    linear(x, w, product);
    gated(product, act, out);
  }
  virtual void attention(const AttentionArgs& args) = 0;
  // out [sequences, H] = x's first row of each sequence
  virtual void firstTokens(const View& x, const View& out) = 0;
  // out [sequences, H] = x's last row of each sequence; x and out may be fp32 buffers (both, or neither)
  virtual void lastTokens(const View& x, const View& out) = 0;
  // out [sequences, H] = mean of x's rows of each sequence
  virtual void meanPool(const View& x, const View& out) = 0;
  // The batch's logits [sequences, labels] in fp32 = x w^T + b (the classifier's last projection).
  virtual void logits(const View& x, ParamId w) = 0;
};

}  // namespace trt_rerank::models
