// The CPU backend's implementation of models::Ops: fp32 throughout, each operation split over the thread pool
// (products by output columns, attention by (sequence, head, query block), norms and embeddings by rows).
// Every value is computed as transformers computes it in fp32; a row's result does not depend on the batch
// it is in (see gemm.h).
#pragma once

#include <cstdint>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/gemm.h"
#include "common/model_spec.h"
#include "common/thread_pool.h"
#include "models/ops.h"

namespace trt_rerank::cpu {

// A model's params in fp32, by ParamId: a Linear as one packed product per part, a Table or Vector as values.
struct Param {
  models::ParamDecl::Kind kind = models::ParamDecl::Kind::Vector;
  std::vector<PackedLinear> parts;
  std::vector<float> values;  // Table [rows, cols] / Vector [rows]
  int64_t cols = 0;
  uint64_t bytes() const;
};

// One packed chunk of a batch, on the host: sequence s is ids[cuSeqLens[s] .. cuSeqLens[s + 1]), with context
// sequence contextOf[s] of the same chunk or -1 (contextOf nullptr: none; models/ops.h).
struct HostBatch {
  const int32_t* ids = nullptr;
  const uint8_t* typeIds = nullptr;
  const int32_t* cuSeqLens = nullptr;
  const int32_t* contextOf = nullptr;
  models::BatchShape shape;
  float* logits = nullptr;  // [sequences, labels]
};

class CpuOps final : public models::Ops {
 public:
  CpuOps(const models::Model& model, const std::vector<Param>& params, ThreadPool& pool);

  // Sizes the buffers for a chunk (grown, never shrunk: steady state allocates nothing) and binds it.
  void bind(const HostBatch& batch, const CancelFlag* cancel);
  uint64_t scratchBytes() const;

  models::View buffer(int id, int64_t rows, int64_t cols, int64_t offset) override;
  bool cancelled() const override { return cancel_ && cancel_->isSet(); }
  void embed(const models::EmbedArgs& args) override;
  void linear(const models::View& x, models::ParamId w, const models::View& y, models::Activation act, int firstPart,
              int parts) override;
  void norm(const models::NormArgs& args) override;
  void gated(const models::View& x, models::Activation act, const models::View& out) override;
  void attention(const models::AttentionArgs& args) override;
  void firstTokens(const models::View& x, const models::View& out) override;
  void lastTokens(const models::View& x, const models::View& out) override;
  void meanPool(const models::View& x, const models::View& out) override;
  void logits(const models::View& x, models::ParamId w) override;

 private:
  // One participant's attention working set: a block of queries against a range of keys.
  struct AttentionScratch {
    std::vector<float> keysT;   // [headDim, keys]
    std::vector<float> values;  // [keys, headDim]: a sequence with a context reads its values from two places
    std::vector<float> scores;  // [queryBlock, keys]
  };
  static constexpr int kQueryBlock = 128;

  const Param& param(models::ParamId id) const;
  void normaliseAndRotate(const models::AttentionArgs& args);
  int32_t contextOf(int32_t s) const { return batch_.contextOf ? batch_.contextOf[s] : -1; }
  void attendBlock(const models::AttentionArgs& args, int32_t s, int head, int64_t q0, int64_t q1, AttentionScratch& sc);

  const models::Model& model_;
  const std::vector<Param>& params_;
  ThreadPool& pool_;
  HostBatch batch_;
  const CancelFlag* cancel_ = nullptr;
  std::vector<std::vector<float>> buffers_;  // by BufferDecl id
  std::vector<int32_t> positions_;           // [tokens]
  std::vector<float> inverseFrequencies_;    // [headDim / 2], RoPE's, for the current attention call
  std::vector<AttentionScratch> attention_;  // one per pool participant
};

}  // namespace trt_rerank::cpu
