#include "pipeline/gpu_engine.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "common/cuda_check.h"
#include "common/cuda_resources.h"
#include "common/errors.h"
#include "kernels/scores.cuh"
#include "kernels/topk.cuh"

namespace trt_rerank {
namespace {

constexpr int kAutoBatchCap = 512;

// Errors after which the CUDA context is unusable (every later call fails the same way).
bool isStickyError(cudaError_t e) {
  switch (e) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorECCUncorrectable:
    case cudaErrorUnknown:
      return true;
    default:
      return false;
  }
}

// One batch's inputs, twice: on the host (pinned, filled by the worker thread) and on the device.
struct Staging {
  Staging(int maxSequences, int64_t maxTokens)
      : host(bytes(maxSequences, maxTokens)), device(bytes(maxSequences, maxTokens)), copied(cudaEventDisableTiming),
        computed(cudaEventDisableTiming), maxTokens(maxTokens), maxSequences(maxSequences) {}
  // Layout of both buffers: ids [maxTokens] int32 | cuSeqLens [maxSequences + 1] int32 |
  // docIndices [maxSequences] int32 | typeIds [maxTokens] uint8.
  static size_t bytes(int maxSequences, int64_t maxTokens) {
    return sizeof(int32_t) * (maxTokens + 2 * static_cast<int64_t>(maxSequences) + 1) + maxTokens;
  }
  int32_t* ids(void* base) const { return static_cast<int32_t*>(base); }
  int32_t* cuSeqLens(void* base) const { return ids(base) + maxTokens; }
  int32_t* docIndices(void* base) const { return cuSeqLens(base) + maxSequences + 1; }
  uint8_t* typeIds(void* base) const { return reinterpret_cast<uint8_t*>(docIndices(base) + maxSequences); }

  PinnedBuffer host;
  DeviceBuffer device;
  CudaEvent copied;    // the upload from `host` is done: host may be refilled, device inputs are ready
  CudaEvent computed;  // the compute that read `device` is done: device may be overwritten
  bool used = false;
  int64_t maxTokens;
  int maxSequences;
};

struct Slot {
  Slot(int index, int maxSequences, int64_t maxTokens, int numLabels, bool padded)
      : index(index), logits(sizeof(float) * maxSequences * numLabels),
        paddedIds(padded ? sizeof(int32_t) * maxTokens : 0),
        paddedTypeIds(padded ? maxTokens : 0),
        paddedMask(padded ? maxTokens : 0) {
    staging.emplace_back(maxSequences, maxTokens);
    staging.emplace_back(maxSequences, maxTokens);
  }
  uint64_t bytes() const {
    uint64_t b = logits.bytes() + paddedIds.bytes() + paddedTypeIds.bytes() + paddedMask.bytes() + scores.bytes() +
                 topK.bytes() + topIndices.bytes() + topScores.bytes();
    for (const auto& s : staging) b += s.device.bytes();
    return b;
  }
  int index;
  CudaStream compute;
  CudaStream copy;
  std::vector<Staging> staging;
  DeviceBuffer logits;
  DeviceBuffer paddedIds, paddedTypeIds, paddedMask;
  DeviceBuffer scores;  // the request's scores, document order
  DeviceBuffer topK, topIndices, topScores;
  int next = 0;
  bool busy = false;
};

class GpuEngine;

class GpuRequest : public EngineRequest {
 public:
  GpuRequest(GpuEngine& engine, int32_t count, ScoreActivation activation)
      : engine_(engine), count_(count), activation_(activation) {}
  ~GpuRequest() override;
  void submit(const TokenBatch& batch, const int32_t* docIndices, int32_t firstIndex, const CancelFlag& cancel) override;
  void finish(int32_t topK, std::vector<int32_t>& indices, std::vector<float>& scores, const CancelFlag& cancel) override;
  void release() override;

 private:
  Slot& slot(const CancelFlag& cancel);
  void releaseLocked() noexcept;

  GpuEngine& engine_;
  int32_t count_;
  ScoreActivation activation_;
  std::mutex mutex_;  // submit, finish and release of one request run one at a time
  Slot* slot_ = nullptr;
};

class GpuEngine : public Engine {
 public:
  GpuEngine(std::unique_ptr<DeviceBackend> backend, const GpuEngineOptions& options)
      : backend_(std::move(backend)), device_(options.device), maxLength_(options.maxLength) {
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(device_));
    const int concurrency = std::max(1, options.concurrency);
    const int backendBatch = backend_->maxBatchSize();
    const int backendLength = backend_->maxSequenceLength();
    if (backendLength > 0 && maxLength_ > backendLength && options.clampMaxLength) maxLength_ = backendLength;
    if (backendLength > 0 && maxLength_ > backendLength) {
      throw NativeError(kErrInvalidArgument, "maxLength " + std::to_string(maxLength_) + " is longer than the " + backend_->name() +
                                                 " backend takes (" + std::to_string(backendLength) + "): load with maxLength <= " +
                                                 std::to_string(backendLength));
    }
    if (options.maxBatchSize > 0 && backendBatch > 0 && options.maxBatchSize > backendBatch) {
      throw NativeError(kErrInvalidArgument, "maxBatchSize " + std::to_string(options.maxBatchSize) + " is larger than the " +
                                                 backend_->name() + " backend takes (" + std::to_string(backendBatch) + ")");
    }
    maxBatchSize_ = options.maxBatchSize > 0 ? options.maxBatchSize : autoBatchSize(concurrency);
    if (backendBatch > 0) maxBatchSize_ = std::min(maxBatchSize_, backendBatch);
    const int64_t maxTokens = static_cast<int64_t>(maxBatchSize_) * maxLength_;
    for (int i = 0; i < concurrency; ++i) {
      slots_.push_back(std::make_unique<Slot>(i, maxBatchSize_, maxTokens, backend_->numLabels(),
                                              backend_->layout() == InputLayout::Padded));
    }
    backend_->prepareSlots(concurrency, maxBatchSize_, maxTokens);
  }

  std::string backendName() const override { return backend_->name(); }
  int numLabels() const override { return backend_->numLabels(); }
  int maxBatchSize() const override { return maxBatchSize_; }
  bool padsBatches() const override { return backend_->padsBatches(); }
  int maxLength() const override { return maxLength_; }
  int32_t vocabSize() const { return backend_->vocabSize(); }
  int slots() const override { return static_cast<int>(slots_.size()); }
  // Grows one of a slot's buffers (never shrinks). memoryBytes() reads the buffers from the JS thread under the
  // engine's lock, so only the swap happens under it: cudaMalloc, and the cudaFree of the old buffer (which
  // waits for the whole device), run outside, never stalling the JS thread.
  void reserve(DeviceBuffer& buffer, size_t needed) {
    if (buffer.bytes() >= needed) return;
    DeviceBuffer grown(std::max(needed, buffer.bytes() * 2));
    {
      std::lock_guard<std::mutex> lock(mutex_);
      std::swap(buffer, grown);
    }
  }  // `grown` now holds the old buffer and frees it here, unlocked
  std::vector<std::pair<std::string, double>> counters() const override { return backend_->counters(); }
  uint64_t memoryBytes() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    uint64_t bytes = backend_->memoryBytes();
    for (const auto& s : slots_) bytes += s->bytes();
    return bytes;
  }
  std::unique_ptr<EngineRequest> begin(int32_t count, ScoreActivation activation) override {
    throwIfBroken();
    return std::make_unique<GpuRequest>(*this, count, activation);
  }

  // A free slot, waiting for one (and checking `cancel`) while every slot runs a request.
  Slot& acquire(const CancelFlag& cancel) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      for (auto& s : slots_) {
        if (!s->busy) {
          s->busy = true;
          return *s;
        }
      }
      if (cancel.isSet()) throw NativeError(kErrCancelled, "the request was cancelled");
      slotFreed_.wait_for(lock, std::chrono::milliseconds(5));
    }
  }
  void giveBack(Slot& slot) noexcept {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      slot.busy = false;
    }
    slotFreed_.notify_one();
  }

  // Runs fn with the device set; a CUDA error marks the engine broken when it leaves the context unusable.
  template <typename Fn>
  void run(Fn&& fn) {
    throwIfBroken();
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(device_));
    try {
      fn();
    } catch (const CudaError& e) {
      if (isStickyError(e.status())) {
        std::lock_guard<std::mutex> lock(mutex_);
        broken_ = e.what();
      }
      throw;
    }
  }
  void throwIfBroken() const {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!broken_.empty()) {
      throw NativeError(kErrBackend, "the CUDA context is lost (" + broken_ + "): close this Reranker and load a new one");
    }
  }

  DeviceBackend& backend() { return *backend_; }

 private:
  int autoBatchSize(int concurrency) const {
    size_t freeBytes = 0, totalBytes = 0;
    TRT_RERANK_CUDA_CHECK(cudaMemGetInfo(&freeBytes, &totalBytes));
    const uint64_t perSequence = std::max<uint64_t>(1, backend_->activationBytesPerToken() * maxLength_);
    const uint64_t budget = freeBytes / 2 / static_cast<uint64_t>(concurrency);
    return static_cast<int>(std::clamp<uint64_t>(budget / perSequence, 1, kAutoBatchCap));
  }

  std::unique_ptr<DeviceBackend> backend_;
  int device_;
  int maxLength_;
  int maxBatchSize_ = 0;
  std::vector<std::unique_ptr<Slot>> slots_;
  mutable std::mutex mutex_;
  std::condition_variable slotFreed_;
  std::string broken_;
};

GpuRequest::~GpuRequest() {
  std::lock_guard<std::mutex> lock(mutex_);
  releaseLocked();
}

Slot& GpuRequest::slot(const CancelFlag& cancel) {
  if (!slot_) {
    slot_ = &engine_.acquire(cancel);
    engine_.reserve(slot_->scores, sizeof(float) * std::max(count_, 1));
  }
  return *slot_;
}

void GpuRequest::releaseLocked() noexcept {
  if (!slot_) return;
  // Work still queued reads this slot's buffers: let it drain before another request takes the slot.
  cudaStreamSynchronize(slot_->copy.get());
  cudaStreamSynchronize(slot_->compute.get());
  cudaGetLastError();
  engine_.giveBack(*slot_);
  slot_ = nullptr;
}

void GpuRequest::release() {
  std::lock_guard<std::mutex> lock(mutex_);
  releaseLocked();
}

void GpuRequest::submit(const TokenBatch& batch, const int32_t* docIndices, int32_t firstIndex, const CancelFlag& cancel) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancel.isSet()) throw NativeError(kErrCancelled, "the request was cancelled");
  const int64_t tokens = batch.offsets[batch.count];
  engine_.run([&] {
    Slot& s = slot(cancel);
    Staging& st = s.staging[s.next];
    s.next ^= 1;
    int32_t maxLength = 0;
    for (int32_t i = 0; i < batch.count; ++i) maxLength = std::max(maxLength, batch.offsets[i + 1] - batch.offsets[i]);
    if (maxLength > engine_.maxLength()) {
      throw NativeError(kErrInvalidArgument, "a pair of " + std::to_string(maxLength) + " tokens is longer than the engine's maxLength " +
                                                 std::to_string(engine_.maxLength()));
    }
    // Ids index the backend's tables on the device: one past them would read outside the table, not fail.
    if (const int32_t vocab = engine_.vocabSize(); vocab > 0) {
      for (int64_t t = 0; t < tokens; ++t) {
        if (batch.ids[t] < 0 || batch.ids[t] >= vocab) {
          throw NativeError(kErrInvalidArgument, "token id " + std::to_string(batch.ids[t]) + " is outside the model's vocabulary of " +
                                                     std::to_string(vocab));
        }
      }
    }
    if (batch.count > st.maxSequences || tokens > st.maxTokens) {
      throw NativeError(kErrInvalidArgument, "batch of " + std::to_string(batch.count) + " pairs / " + std::to_string(tokens) +
                                                 " tokens exceeds the engine's " + std::to_string(st.maxSequences) + " / " +
                                                 std::to_string(st.maxTokens));
    }
    // The upload that last read this host buffer, and the compute that last read its device twin, are done.
    if (st.used) TRT_RERANK_CUDA_CHECK(cudaEventSynchronize(st.computed.get()));
    st.used = true;
    void* host = st.host.get();
    std::memcpy(st.ids(host), batch.ids, sizeof(int32_t) * tokens);
    std::memcpy(st.cuSeqLens(host), batch.offsets, sizeof(int32_t) * (batch.count + 1));
    std::memcpy(st.typeIds(host), batch.typeIds, tokens);
    if (docIndices) std::memcpy(st.docIndices(host), docIndices, sizeof(int32_t) * batch.count);

    void* dev = st.device.get();
    cudaStream_t copy = s.copy.get();
    cudaStream_t compute = s.compute.get();
    auto upload = [&](void* to, const void* from, size_t n) {
      TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(to, from, n, cudaMemcpyHostToDevice, copy));
    };
    upload(st.ids(dev), st.ids(host), sizeof(int32_t) * tokens);
    upload(st.cuSeqLens(dev), st.cuSeqLens(host), sizeof(int32_t) * (batch.count + 1));
    upload(st.typeIds(dev), st.typeIds(host), tokens);
    if (docIndices) upload(st.docIndices(dev), st.docIndices(host), sizeof(int32_t) * batch.count);
    TRT_RERANK_CUDA_CHECK(cudaEventRecord(st.copied.get(), copy));

    TRT_RERANK_CUDA_CHECK(cudaStreamWaitEvent(compute, st.copied.get(), 0));
    DeviceBatch in;
    in.count = batch.count;
    in.totalTokens = static_cast<int32_t>(tokens);
    in.maxLength = maxLength;
    in.ids = st.ids(dev);
    in.typeIds = st.typeIds(dev);
    in.cuSeqLens = st.cuSeqLens(dev);
    if (engine_.backend().layout() == InputLayout::Padded) {
      in.paddedIds = s.paddedIds.get<int32_t>();
      in.paddedTypeIds = s.paddedTypeIds.get<uint8_t>();
      in.paddedMask = s.paddedMask.get<uint8_t>();
      kernels::packedToPadded(in.ids, in.typeIds, in.cuSeqLens, batch.count, maxLength, s.paddedIds.get<int32_t>(),
                              s.paddedTypeIds.get<uint8_t>(), s.paddedMask.get<uint8_t>(), compute);
    }
    engine_.backend().enqueue(in, s.logits.get<float>(), compute, s.index);
    kernels::finalizeScores(s.logits.get<float>(), batch.count, engine_.backend().numLabels(), activation_,
                            docIndices ? st.docIndices(dev) : nullptr, firstIndex, s.scores.get<float>(), compute);
    TRT_RERANK_CUDA_CHECK(cudaEventRecord(st.computed.get(), compute));
  });
}

void GpuRequest::finish(int32_t topK, std::vector<int32_t>& indices, std::vector<float>& scores, const CancelFlag& cancel) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (cancel.isSet()) throw NativeError(kErrCancelled, "the request was cancelled");
  if (count_ == 0) {
    indices.clear();
    scores.clear();
    releaseLocked();
    return;
  }
  engine_.run([&] {
    Slot& s = slot(cancel);
    cudaStream_t compute = s.compute.get();
    if (topK == 0) {
      scores.resize(count_);
      TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(scores.data(), s.scores.get(), sizeof(float) * count_, cudaMemcpyDeviceToHost, compute));
    } else {
      const int32_t k = std::min(topK, count_);
      const size_t workspace = kernels::topKWorkspaceBytes(count_, k);
      engine_.reserve(s.topK, workspace);
      engine_.reserve(s.topIndices, sizeof(int32_t) * k);
      engine_.reserve(s.topScores, sizeof(float) * k);
      kernels::topK(s.scores.get<float>(), count_, k, s.topIndices.get<int32_t>(), s.topScores.get<float>(), s.topK.get(),
                    s.topK.bytes(), compute);
      indices.resize(k);
      scores.resize(k);
      TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(indices.data(), s.topIndices.get(), sizeof(int32_t) * k, cudaMemcpyDeviceToHost, compute));
      TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(scores.data(), s.topScores.get(), sizeof(float) * k, cudaMemcpyDeviceToHost, compute));
    }
    TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(compute));
  });
  releaseLocked();
}

}  // namespace

std::unique_ptr<Engine> makeGpuEngine(std::unique_ptr<DeviceBackend> backend, const GpuEngineOptions& options) {
  return std::make_unique<GpuEngine>(std::move(backend), options);
}

}  // namespace trt_rerank
