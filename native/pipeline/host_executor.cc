// The CPU executor: one slot, run on the scheduler's batch thread (the backend's own threads parallelise inside a
// batch); scores in a host arena; activation and top-k on the host.
#include <algorithm>
#include <vector>

#include "common/errors.h"
#include "pipeline/host_executor.h"

namespace trt_rerank {
namespace {

constexpr int kDefaultBatchPairs = 256;
constexpr int64_t kDefaultBatchTokens = 16384;

class HostExecutor : public BatchExecutor {
 public:
  HostExecutor(std::unique_ptr<Backend> backend, const ExecutorOptions& o) : backend_(std::move(backend)) {
    checkTokenBudget(o);
    limits_.slots = 1;
    limits_.maxLength = o.maxLength;
    limits_.maxBatchPairs = o.maxBatchPairs > 0 ? o.maxBatchPairs : kDefaultBatchPairs;
    limits_.maxBatchTokens = o.maxBatchTokens > 0 ? o.maxBatchTokens : std::max<int64_t>(kDefaultBatchTokens, o.maxLength);
    limits_.arenaPairs = std::max<int64_t>(1, o.arenaPairs);
    ids_.resize(limits_.maxBatchTokens);
    typeIds_.resize(limits_.maxBatchTokens);
    limits_.sharesPrefixes = o.sharePrefixes && backend_->sharesPrefixes();
    offsets_.resize(limits_.maxBatchPairs + 1);
    dest_.resize(limits_.maxBatchPairs);
    contextOf_.resize(limits_.maxBatchPairs);
    logits_.resize(static_cast<size_t>(limits_.maxBatchPairs) * backend_->numLabels());
    raw_.resize(limits_.maxBatchPairs);
    arena_.resize(limits_.arenaPairs);
  }

  std::string backendName() const override { return backend_->name(); }
  int numLabels() const override { return backend_->numLabels(); }
  uint64_t memoryBytes() const override { return backend_->memoryBytes() + sizeof(float) * arena_.size(); }
  const ExecutorLimits& limits() const override { return limits_; }

  BatchInput input(int) override { return {ids_.data(), typeIds_.data(), offsets_.data(), dest_.data(), contextOf_.data()}; }

  void launch(int, int32_t count, int32_t contexts, int64_t, int32_t) override {
    TokenBatch batch;
    batch.ids = ids_.data();
    batch.typeIds = typeIds_.data();
    batch.offsets = offsets_.data();
    batch.count = count + contexts;  // the contexts' logits land past the pairs' and are not read
    batch.contextOf = contexts > 0 ? contextOf_.data() : nullptr;
    if (!backend_->forward(batch, logits_.data(), stop_)) throw NativeError(kErrClosed, "the session was closed while the call ran");
    logitsToScores(logits_.data(), count, backend_->numLabels(), ScoreActivation::None, raw_.data());
    for (int32_t i = 0; i < count; ++i) arena_[dest_[i]] = raw_[i];
  }
  void wait(int) override {}

  void readRawScores(int64_t offset, int32_t count, float* out) override { std::copy_n(arena_.data() + offset, count, out); }
  void writeRawScores(int64_t offset, int32_t count, const float* in) override { std::copy_n(in, count, arena_.data() + offset); }

  void finishCall(int64_t offset, int32_t count, ScoreActivation activation, int32_t topK, std::vector<int32_t>& indices,
                  std::vector<float>& scores) override {
    float* range = arena_.data() + offset;
    if (activation == ScoreActivation::Sigmoid) logitsToScores(range, count, 1, activation, range);
    if (topK == 0) {
      scores.assign(range, range + count);
      indices.clear();
      return;
    }
    topKHost(range, count, topK, indices);
    scores.resize(indices.size());
    for (size_t i = 0; i < indices.size(); ++i) scores[i] = range[indices[i]];
  }

  void stop() override { stop_.cancelled = true; }

 private:
  std::unique_ptr<Backend> backend_;
  ExecutorLimits limits_;
  std::vector<int32_t> ids_, offsets_, dest_, contextOf_;
  std::vector<uint8_t> typeIds_;
  std::vector<float> logits_, raw_, arena_;
  CancelFlag stop_;
};

}  // namespace

std::unique_ptr<BatchExecutor> makeHostExecutor(std::unique_ptr<Backend> backend, const ExecutorOptions& options) {
  return std::make_unique<HostExecutor>(std::move(backend), options);
}

}  // namespace trt_rerank
