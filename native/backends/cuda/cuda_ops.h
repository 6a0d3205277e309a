// The CUDA backend's implementation of models::Ops: our kernels (kernels/) and, where it is faster, cuBLASLt, fp16 or bf16 storage
// with fp32 arithmetic, everything enqueued on one execution slot's stream. One CudaOps per slot: it owns the
// slot's activation buffers, sized at load for the largest batch, so a forward allocates nothing.
#pragma once

#include <cuda_runtime_api.h>
#include <library_types.h>

#include <memory>
#include <vector>

#include "backends/cuda/linear_gemm.h"
#include "common/cuda_resources.h"
#include "kernels/encoder.cuh"
#include "models/model.h"

namespace trt_rerank::cuda {

// Bytes of a stored value: fp16 / bf16 for weights and activations, fp32 for buffers a model declares so.
constexpr int kStorageBytes = 2;
constexpr int bufferElementBytes(const models::BufferDecl& d) { return d.fp32 ? 4 : kStorageBytes; }

// A param on the device: a Linear's parts stacked by rows (weight [rows, cols], bias [rows] or none).
struct Param {
  models::ParamDecl::Kind kind = models::ParamDecl::Kind::Vector;
  const void* data = nullptr;
  const void* bias = nullptr;
  std::vector<int64_t> partRows;
  int64_t cols = 0;
};

// One batch on the device, packed: sequence s is rows cuSeqLens[s] .. cuSeqLens[s + 1] - 1.
struct DeviceTokens {
  const int32_t* ids = nullptr;
  const uint8_t* typeIds = nullptr;
  const int32_t* cuSeqLens = nullptr;
  const int32_t* contextOf = nullptr;  // [sequences]: each sequence's context or -1 (models/ops.h); nullptr: none
  float* logits = nullptr;             // [sequences, labels]
};

class CudaOps final : public models::Ops {
 public:
  // Buffers for batches of up to maxTokens tokens and maxSequences sequences.
  CudaOps(const models::Model& model, const std::vector<Param>& params, const LinearGemm& gemm, kernels::StorageType type,
          int64_t maxTokens, int64_t maxSequences);

  void bind(const DeviceTokens& tokens, const models::BatchShape& shape, cudaStream_t stream);
  uint64_t bytes() const;
  int32_t* positions() { return positions_.get<int32_t>(); }

  models::View buffer(int id, int64_t rows, int64_t cols, int64_t offset) override;
  void embed(const models::EmbedArgs& args) override;
  void linear(const models::View& x, models::ParamId w, const models::View& y, models::Activation act, int firstPart,
              int parts) override;
  void norm(const models::NormArgs& args) override;
  void gated(const models::View& x, models::Activation act, const models::View& out) override;
  void gatedLinear(const models::View& x, models::ParamId w, const models::View& product, models::Activation act,
                   const models::View& out) override;
  void attention(const models::AttentionArgs& args) override;
  void firstTokens(const models::View& x, const models::View& out) override;
  void lastTokens(const models::View& x, const models::View& out) override;
  void meanPool(const models::View& x, const models::View& out) override;
  void logits(const models::View& x, models::ParamId w) override;

 private:
  const Param& param(models::ParamId id) const;
  LinearCall linearCall(const models::View& x, models::ParamId w, int firstPart, int parts, int64_t outCols, bool gated) const;
  cudaDataType_t dataType() const;

  const models::Model& model_;
  const std::vector<Param>& params_;
  const LinearGemm& gemm_;
  kernels::StorageType type_;
  std::vector<DeviceBuffer> buffers_;
  DeviceBuffer positions_, workspace_;
  DeviceTokens tokens_;
  models::BatchShape shape_;
  cudaStream_t stream_ = nullptr;
};

}  // namespace trt_rerank::cuda
