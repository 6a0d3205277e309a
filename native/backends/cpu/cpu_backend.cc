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
#include "backends/cpu/cpu_weights.h"
#include "backends/cpu/gemm.h"
#include "common/errors.h"
#include "common/thread_pool.h"

namespace trt_rerank {
namespace {

using cpu::PackedLinear;
using cpu::Param;

constexpr int64_t kChunkTokens = 4096;

class CpuBackend final : public Backend {
 public:
  CpuBackend(std::shared_ptr<const models::Model> model, std::vector<Param> params, int numThreads)
      : model_(std::move(model)), params_(std::move(params)), pool_(numThreads), ops_(*model_, params_, pool_) {
    for (const Param& p : params_) weightBytes_ += p.bytes();
  }

  const char* name() const override { return "cpu"; }
  int numLabels() const override { return model_->info().numLabels; }
  uint64_t memoryBytes() const override { return weightBytes_ + scratchBytes_.load(std::memory_order_relaxed); }

  bool sharesPrefixes() const override { return model_->info().causal; }

  bool forward(const TokenBatch& batch, float* logits, const CancelFlag& cancel) override {
    checkBatch(batch, logits);
    if (batch.count == 0) return true;
    std::lock_guard<std::mutex> lock(forwardMutex_);  // ops_ and its scratch belong to one call at a time
    struct Recount {                                  // also when an allocation throws halfway
      CpuBackend& self;
      ~Recount() { self.scratchBytes_.store(self.ops_.scratchBytes(), std::memory_order_relaxed); }
    } recount{*this};
    if (batch.contextOf) return forwardWithContexts(batch, logits, cancel);
    const int labels = numLabels();
    for (int32_t first = 0; first < batch.count;) {
      // Whole sequences up to kChunkTokens tokens, at least one.
      int32_t last = first + 1;
      while (last < batch.count && batch.offsets[last + 1] - batch.offsets[first] <= kChunkTokens) ++last;
      cuSeqLens_.resize(static_cast<size_t>(last - first) + 1);
      for (int32_t s = first; s <= last; ++s) cuSeqLens_[static_cast<size_t>(s - first)] = batch.offsets[s] - batch.offsets[first];
      if (!runChunk(batch.ids + batch.offsets[first], batch.typeIds + batch.offsets[first], nullptr, last - first, logits + static_cast<size_t>(first) * labels,
                    cancel)) {
        return false;
      }
      first = last;
    }
    return true;
  }

 private:
  // One chunk: cuSeqLens_ holds its sequences' offsets into ids / typeIds.
  bool runChunk(const int32_t* ids, const uint8_t* typeIds, const int32_t* contextOf, int32_t sequences, float* logits, const CancelFlag& cancel) {
    int32_t longest = 0;
    for (int32_t s = 0; s < sequences; ++s) longest = std::max(longest, cuSeqLens_[s + 1] - cuSeqLens_[s]);
    cpu::HostBatch chunk;
    chunk.ids = ids;
    chunk.typeIds = typeIds;
    chunk.cuSeqLens = cuSeqLens_.data();
    chunk.contextOf = contextOf;
    chunk.shape.tokens = cuSeqLens_[sequences];
    chunk.shape.sequences = sequences;
    chunk.shape.maxLength = longest;
    chunk.logits = logits;
    ops_.bind(chunk, &cancel);
    return !cancel.isSet() && model_->forward(ops_, chunk.shape);
  }

  // A batch with contexts, in chunks that each hold a context with as many of its sequences as fit in
  // kChunkTokens (at least one; a context whose sequences span chunks is computed in each), copied together.
  // Rows do not depend on their chunk, so the logits are those of one pass.
  bool forwardWithContexts(const TokenBatch& batch, float* logits, const CancelFlag& cancel) {
    const int labels = numLabels();
    const auto length = [&](int32_t s) { return batch.offsets[s + 1] - batch.offsets[s]; };
    // Sequences in chunk order: each context's dependents after it; sequences without a context on their own.
    order_.clear();
    for (int32_t s = 0; s < batch.count; ++s) {
      if (batch.contextOf[s] < 0 && !isContext(batch, s)) order_.push_back({s, -1});
    }
    for (int32_t c = 0; c < batch.count; ++c) {
      if (!isContext(batch, c)) continue;
      for (int32_t s = 0; s < batch.count; ++s) {
        if (batch.contextOf[s] == c) order_.push_back({s, c});
      }
    }
    for (size_t first = 0; first < order_.size();) {
      const int32_t context = order_[first].second;
      chunkIds_.clear();
      chunkTypes_.clear();
      chunkContextOf_.clear();
      chunkSequences_.clear();
      cuSeqLens_.assign(1, 0);
      const auto append = [&](int32_t s, int32_t contextIndex) {
        chunkIds_.insert(chunkIds_.end(), batch.ids + batch.offsets[s], batch.ids + batch.offsets[s + 1]);
        chunkTypes_.insert(chunkTypes_.end(), batch.typeIds + batch.offsets[s], batch.typeIds + batch.offsets[s + 1]);
        cuSeqLens_.push_back(cuSeqLens_.back() + length(s));
        chunkContextOf_.push_back(contextIndex);
        chunkSequences_.push_back(s);
      };
      if (context >= 0) append(context, -1);
      size_t last = first;
      while (last < order_.size() && order_[last].second == context &&
             (last == first || cuSeqLens_.back() + length(order_[last].first) <= kChunkTokens)) {
        append(order_[last].first, context >= 0 ? 0 : -1);
        ++last;
      }
      const int32_t n = static_cast<int32_t>(chunkSequences_.size());
      chunkLogits_.resize(static_cast<size_t>(n) * labels);
      if (!runChunk(chunkIds_.data(), chunkTypes_.data(), context >= 0 ? chunkContextOf_.data() : nullptr, n, chunkLogits_.data(), cancel)) return false;
      for (int32_t i = 0; i < n; ++i) {
        std::memcpy(logits + static_cast<size_t>(chunkSequences_[i]) * labels, chunkLogits_.data() + static_cast<size_t>(i) * labels, sizeof(float) * labels);
      }
      first = last;
    }
    return true;
  }

  static bool isContext(const TokenBatch& batch, int32_t c) {
    for (int32_t s = 0; s < batch.count; ++s) {
      if (batch.contextOf[s] == c) return true;
    }
    return false;
  }

  // Every check happens before any work, so a bad batch throws without touching the logits.
  void checkBatch(const TokenBatch& batch, const float* logits) const {
    const models::ModelInfo& info = model_->info();
    if (batch.count < 0) throw std::runtime_error("batch count must be >= 0, got " + std::to_string(batch.count));
    if (batch.count == 0) return;
    if (!batch.ids || !batch.typeIds || !batch.offsets || !logits) {
      throw std::runtime_error("batch of " + std::to_string(batch.count) + " sequences has a null ids, typeIds, offsets or logits pointer");
    }
    if (batch.offsets[0] != 0) throw std::runtime_error("batch offsets must start at 0, got " + std::to_string(batch.offsets[0]));
    if (batch.contextOf) checkContexts(batch);
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
      const int32_t context = batch.contextOf ? batch.contextOf[s] : -1;
      const int64_t length = static_cast<int64_t>(end) - begin + (context >= 0 ? batch.offsets[context + 1] - batch.offsets[context] : 0);
      const int64_t used = info.positions == models::PositionRule::XlmRoberta ? nonPad : length;
      if (used > info.maxSequenceLength) {
        throw std::runtime_error("sequence " + std::to_string(s) + " of " + std::to_string(length) + " tokens exceeds the model's " +
                                 std::to_string(info.maxSequenceLength) + " positions");
      }
    }
  }

  // contextOf: only for a causal model; each entry -1 or another sequence that has no context itself.
  void checkContexts(const TokenBatch& batch) const {
    if (!model_->info().causal) throw std::runtime_error("a batch with contexts needs a causal model; " + model_->info().architecture + " is not");
    for (int32_t s = 0; s < batch.count; ++s) {
      const int32_t c = batch.contextOf[s];
      if (c == -1) continue;
      if (c < 0 || c >= batch.count || c == s || batch.contextOf[c] != -1) {
        throw std::runtime_error("sequence " + std::to_string(s) + " has context " + std::to_string(c) +
                                 ": a context must be another sequence of the batch, with no context of its own");
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
  // forwardWithContexts' chunk: (sequence, its context) in chunk order, and the chunk's copied inputs.
  std::vector<std::pair<int32_t, int32_t>> order_;
  std::vector<int32_t> chunkIds_, chunkContextOf_, chunkSequences_;
  std::vector<uint8_t> chunkTypes_;
  std::vector<float> chunkLogits_;
  std::atomic<uint64_t> scratchBytes_{0};
};

}  // namespace

std::unique_ptr<Backend> createCpuBackend(const ModelSpec& spec, int numThreads) {
  if (!spec.model) throw NativeError(kErrInvalidArgument, "CPU backend: the model spec has no model");
  std::vector<Param> params = cpu::loadParams(spec);
  return std::make_unique<CpuBackend>(spec.model, std::move(params), numThreads);
}

}  // namespace trt_rerank
