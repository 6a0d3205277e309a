#include <mutex>

#include "common/errors.h"
#include "pipeline/engine.h"

namespace trt_rerank {
namespace {

class HostEngine;

class HostRequest : public EngineRequest {
 public:
  HostRequest(HostEngine& engine, int32_t count, ScoreActivation activation)
      : engine_(engine), scores_(count, 0.0f), activation_(activation) {}
  void submit(const TokenBatch& batch, const int32_t* docIndices, int32_t firstIndex, const CancelFlag& cancel) override;
  void finish(int32_t topK, std::vector<int32_t>& indices, std::vector<float>& scores, const CancelFlag& cancel) override;

 private:
  HostEngine& engine_;
  std::vector<float> scores_;  // document order
  std::vector<float> batchScores_;
  ScoreActivation activation_;
};

class HostEngine : public Engine {
 public:
  HostEngine(std::unique_ptr<Backend> backend, int maxBatchSize) : backend_(std::move(backend)), maxBatchSize_(maxBatchSize) {}
  std::string backendName() const override { return backend_->name(); }
  int numLabels() const override { return backend_->numLabels(); }
  uint64_t memoryBytes() const override { return backend_->memoryBytes(); }
  int maxBatchSize() const override { return maxBatchSize_; }
  std::unique_ptr<EngineRequest> begin(int32_t count, ScoreActivation activation) override {
    return std::make_unique<HostRequest>(*this, count, activation);
  }

  // One forward at a time; the backend's own threads parallelise inside it. Returns false if cancelled.
  bool forward(const TokenBatch& batch, ScoreActivation activation, std::vector<float>& out, const CancelFlag& cancel) {
    std::lock_guard<std::mutex> lock(mutex_);
    const int labels = backend_->numLabels();
    logits_.resize(static_cast<size_t>(batch.count) * labels);
    if (!backend_->forward(batch, logits_.data(), cancel)) return false;
    out.resize(batch.count);
    logitsToScores(logits_.data(), batch.count, labels, activation, out.data());
    return true;
  }

 private:
  std::unique_ptr<Backend> backend_;
  int maxBatchSize_;
  std::mutex mutex_;
  std::vector<float> logits_;  // reused, guarded by mutex_
};

void HostRequest::submit(const TokenBatch& batch, const int32_t* docIndices, int32_t firstIndex, const CancelFlag& cancel) {
  if (!engine_.forward(batch, activation_, batchScores_, cancel)) throw NativeError(kErrCancelled, "the request was cancelled");
  for (int32_t i = 0; i < batch.count; ++i) scores_[docIndices ? docIndices[i] : firstIndex + i] = batchScores_[i];
}

void HostRequest::finish(int32_t topK, std::vector<int32_t>& indices, std::vector<float>& scores, const CancelFlag&) {
  if (topK == 0) {
    scores = scores_;
    return;
  }
  topKHost(scores_.data(), static_cast<int32_t>(scores_.size()), topK, indices);
  scores.resize(indices.size());
  for (size_t i = 0; i < indices.size(); ++i) scores[i] = scores_[indices[i]];
}

}  // namespace

std::unique_ptr<Engine> makeHostEngine(std::unique_ptr<Backend> backend, int maxBatchSize) {
  return std::make_unique<HostEngine>(std::move(backend), maxBatchSize);
}

}  // namespace trt_rerank
