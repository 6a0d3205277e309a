// The CPU backend: runs any model of native/models/ through CpuOps (fp32), in chunks of at most kChunkTokens
// tokens (or one sequence, if longer) so that its scratch stays bounded whatever the batch.
#include "backends/cpu/cpu_backend.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/gemm.h"
#include "common/errors.h"
#include "common/half.h"
#include "common/mapped_file.h"
#include "common/thread_pool.h"

namespace trt_rerank {
namespace {

using cpu::Param;
using cpu::PackedLinear;

constexpr int64_t kChunkTokens = 4096;

// fp32 values of a checked tensor.
std::vector<float> readFloats(const MappedFile& file, const TensorRef& t) {
  const size_t count = t.dtype == WeightDType::F32 ? t.nbytes / 4 : t.nbytes / 2;
  std::vector<float> out(count);
  const uint8_t* src = file.data() + t.offset;
  switch (t.dtype) {
    case WeightDType::F32:
#if (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) || defined(_WIN32)
      std::memcpy(out.data(), src, t.nbytes);  // the file's byte order is the host's
#else
      for (size_t i = 0; i < count; ++i) out[i] = bitsToFloat(loadLe32(src + 4 * i));
#endif
      break;
    case WeightDType::F16:
      for (size_t i = 0; i < count; ++i) out[i] = halfToFloat(loadLe16(src + 2 * i));
      break;
    case WeightDType::BF16:
      for (size_t i = 0; i < count; ++i) out[i] = bf16ToFloat(loadLe16(src + 2 * i));
      break;
  }
  return out;
}

// Every param the model declares, in fp32, checked before each is read.
std::vector<Param> loadParams(const ModelSpec& spec) {
  const MappedFile file(spec.weightsPath);  // unmapped when this returns: everything is copied
  const auto read = [&](const std::string& name, const std::vector<int64_t>& shape) {
    return readFloats(file, checkedTensor(spec, name, shape, file.size()));
  };
  std::vector<Param> params;
  for (const models::ParamDecl& d : spec.model->params()) {
    Param p;
    p.kind = d.kind;
    p.cols = d.cols;
    if (d.kind == models::ParamDecl::Kind::Linear) {
      for (size_t i = 0; i < d.parts.size(); ++i) {
        const std::vector<float> w = read(d.parts[i], partShape(d, i));
        const std::vector<float> b = d.biasParts.empty() ? std::vector<float>() : read(d.biasParts[i], biasShape(d, i));
        p.parts.emplace_back(w.data(), b.empty() ? nullptr : b.data(), static_cast<int>(d.partRows[i]), static_cast<int>(d.cols));
      }
    } else {
      p.values = read(d.parts[0], partShape(d, 0));
    }
    params.push_back(std::move(p));
  }
  return params;
}

class CpuBackend final : public Backend {
 public:
  CpuBackend(std::shared_ptr<const models::Model> model, std::vector<Param> params, int numThreads)
      : model_(std::move(model)), params_(std::move(params)), pool_(numThreads), ops_(*model_, params_, pool_) {
    for (const Param& p : params_) weightBytes_ += p.bytes();
  }

  const char* name() const override { return "cpu"; }
  int numLabels() const override { return model_->info().numLabels; }
  uint64_t memoryBytes() const override { return weightBytes_ + scratchBytes_.load(std::memory_order_relaxed); }

  bool forward(const TokenBatch& batch, float* logits, const CancelFlag& cancel) override {
    checkBatch(batch, logits);
    if (batch.count == 0) return true;
    std::lock_guard<std::mutex> lock(forwardMutex_);  // ops_ and its scratch belong to one call at a time
    struct Recount {  // also when an allocation throws halfway
      CpuBackend& self;
      ~Recount() { self.scratchBytes_.store(self.ops_.scratchBytes(), std::memory_order_relaxed); }
    } recount{*this};
    const int labels = numLabels();
    for (int32_t first = 0; first < batch.count;) {
      // Whole sequences up to kChunkTokens tokens, at least one.
      int32_t last = first + 1;
      int32_t longest = batch.offsets[first + 1] - batch.offsets[first];
      while (last < batch.count && batch.offsets[last + 1] - batch.offsets[first] <= kChunkTokens) {
        longest = std::max(longest, batch.offsets[last + 1] - batch.offsets[last]);
        ++last;
      }
      cuSeqLens_.resize(static_cast<size_t>(last - first) + 1);
      for (int32_t s = first; s <= last; ++s) cuSeqLens_[static_cast<size_t>(s - first)] = batch.offsets[s] - batch.offsets[first];
      cpu::HostBatch chunk;
      chunk.ids = batch.ids + batch.offsets[first];
      chunk.typeIds = batch.typeIds + batch.offsets[first];
      chunk.cuSeqLens = cuSeqLens_.data();
      chunk.shape.tokens = batch.offsets[last] - batch.offsets[first];
      chunk.shape.sequences = last - first;
      chunk.shape.maxLength = longest;
      chunk.logits = logits + static_cast<size_t>(first) * labels;
      ops_.bind(chunk, &cancel);
      if (cancel.isSet() || !model_->forward(ops_, chunk.shape)) return false;
      first = last;
    }
    return true;
  }

 private:
  // Every check happens before any work, so a bad batch throws without touching the logits.
  void checkBatch(const TokenBatch& batch, const float* logits) const {
    const models::ModelInfo& info = model_->info();
    if (batch.count < 0) throw std::runtime_error("batch count must be >= 0, got " + std::to_string(batch.count));
    if (batch.count == 0) return;
    if (!batch.ids || !batch.typeIds || !batch.offsets || !logits) {
      throw std::runtime_error("batch of " + std::to_string(batch.count) + " sequences has a null ids, typeIds, offsets or logits pointer");
    }
    if (batch.offsets[0] != 0) throw std::runtime_error("batch offsets must start at 0, got " + std::to_string(batch.offsets[0]));
    for (int32_t s = 0; s < batch.count; ++s) {
      const int32_t begin = batch.offsets[s];
      const int32_t end = batch.offsets[s + 1];
      if (end <= begin) {
        throw std::runtime_error("sequence " + std::to_string(s) + " is empty or out of order (offsets " + std::to_string(begin) + ", " +
                                 std::to_string(end) + "): every sequence needs at least 1 token");
      }
      int64_t nonPad = 0;
      for (int32_t t = begin; t < end; ++t) {
        const int32_t id = batch.ids[t];
        if (id < 0 || id >= info.vocabSize) {
          throw std::runtime_error("token id " + std::to_string(id) + " at position " + std::to_string(t - begin) + " of sequence " +
                                   std::to_string(s) + " is outside the vocabulary of " + std::to_string(info.vocabSize));
        }
        if (info.typeVocabSize > 0 && batch.typeIds[t] >= info.typeVocabSize) {
          throw std::runtime_error("token type id " + std::to_string(batch.typeIds[t]) + " at position " + std::to_string(t - begin) +
                                   " of sequence " + std::to_string(s) + " is not below the model's type_vocab_size " +
                                   std::to_string(info.typeVocabSize));
        }
        if (id != info.padTokenId) ++nonPad;
      }
      // Positions used: L (sequential), or the non-pad count (XLM-R numbers only those past its pad row).
      const int64_t length = static_cast<int64_t>(end) - begin;
      const int64_t used = info.positions == models::PositionRule::XlmRoberta ? nonPad : length;
      if (used > info.maxSequenceLength) {
        throw std::runtime_error("sequence " + std::to_string(s) + " of " + std::to_string(length) + " tokens exceeds the model's " +
                                 std::to_string(info.maxSequenceLength) + " positions");
      }
    }
  }

  std::shared_ptr<const models::Model> model_;
  std::vector<Param> params_;
  uint64_t weightBytes_ = 0;
  ThreadPool pool_;
  cpu::CpuOps ops_;
  std::mutex forwardMutex_;
  std::vector<int32_t> cuSeqLens_;
  std::atomic<uint64_t> scratchBytes_{0};
};

}  // namespace

std::unique_ptr<Backend> createCpuBackend(const ModelSpec& spec, int numThreads) {
  if (!spec.model) throw NativeError(kErrInvalidArgument, "CPU backend: the model spec has no model");
  std::vector<Param> params = loadParams(spec);
  return std::make_unique<CpuBackend>(spec.model, std::move(params), numThreads);
}

}  // namespace trt_rerank
