#include "pipeline/gpu_executor.h"

#include <algorithm>
#include <chrono>
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

constexpr int kAutoBatchPairs = 512;
constexpr int64_t kAutoBatchTokensCap = 65536;

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
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorUnknown:
      return true;
    default:
      return false;
  }
}

// One batch's inputs, laid out alike on the host (pinned) and the device:
// ids [maxTokens] int32 | offsets [maxPairs + 1] int32 | dest [maxPairs] int32 | contextOf [maxPairs] int32 |
// typeIds [maxTokens] uint8. maxPairs bounds the sequences of a batch, its contexts included.
struct StagingLayout {
  int64_t maxTokens;
  int maxPairs;
  size_t bytes() const { return sizeof(int32_t) * (maxTokens + 3 * static_cast<int64_t>(maxPairs) + 1) + maxTokens; }
  int32_t* ids(void* base) const { return static_cast<int32_t*>(base); }
  int32_t* offsets(void* base) const { return ids(base) + maxTokens; }
  int32_t* dest(void* base) const { return offsets(base) + maxPairs + 1; }
  int32_t* contextOf(void* base) const { return dest(base) + maxPairs; }
  uint8_t* typeIds(void* base) const { return reinterpret_cast<uint8_t*>(contextOf(base) + maxPairs); }
};

struct Slot {
  Slot(const StagingLayout& layout, int numLabels, bool padded)
      : host(layout.bytes()), device(layout.bytes()), logits(sizeof(float) * layout.maxPairs * numLabels), paddedIds(padded ? sizeof(int32_t) * layout.maxTokens : 0), paddedTypeIds(padded ? layout.maxTokens : 0), paddedMask(padded ? layout.maxTokens : 0), done(cudaEventDisableTiming) {}
  uint64_t bytes() const { return device.bytes() + logits.bytes() + paddedIds.bytes() + paddedTypeIds.bytes() + paddedMask.bytes(); }
  CudaStream stream;
  PinnedBuffer host;
  DeviceBuffer device;
  DeviceBuffer logits;
  DeviceBuffer paddedIds, paddedTypeIds, paddedMask;
  CudaEvent done;
};

class GpuExecutor : public BatchExecutor {
 public:
  GpuExecutor(std::unique_ptr<DeviceBackend> backend, const ExecutorOptions& o) : backend_(std::move(backend)), device_(o.device) {
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(device_));
    checkTokenBudget(o);
    int maxLength = o.maxLength;
    const int backendLength = backend_->maxSequenceLength();
    if (backendLength > 0 && maxLength > backendLength && o.clampMaxLength) maxLength = backendLength;
    if (backendLength > 0 && maxLength > backendLength) {
      throw NativeError(kErrInvalidArgument, "maxLength " + std::to_string(maxLength) + " is longer than the " + backend_->name() +
                                                 " backend takes (" + std::to_string(backendLength) + "): load with maxLength <= " +
                                                 std::to_string(backendLength));
    }
    const int backendPairs = backend_->maxBatchSize();
    if (o.maxBatchPairs > 0 && backendPairs > 0 && o.maxBatchPairs > backendPairs) {
      throw NativeError(kErrInvalidArgument, "maxBatchSize " + std::to_string(o.maxBatchPairs) + " is larger than the " +
                                                 backend_->name() + " backend takes (" + std::to_string(backendPairs) + ")");
    }
    limits_.slots = std::max(1, o.slots);
    limits_.maxLength = maxLength;
    limits_.maxBatchPairs = o.maxBatchPairs > 0 ? o.maxBatchPairs : kAutoBatchPairs;
    if (backendPairs > 0) limits_.maxBatchPairs = std::min(limits_.maxBatchPairs, backendPairs);
    limits_.maxBatchTokens = o.maxBatchTokens > 0 ? o.maxBatchTokens : autoBatchTokens(maxLength);
    limits_.arenaPairs = std::max<int64_t>(1, o.arenaPairs);
    limits_.vocabSize = backend_->vocabSize();
    limits_.padsBatches = backend_->padsBatches();
    limits_.sharesPrefixes = o.sharePrefixes && backend_->sharesPrefixes() && backend_->layout() == InputLayout::Packed;
    maxCallPairs_ = std::max<int64_t>(1, std::min(o.maxCallPairs, limits_.arenaPairs));

    const StagingLayout layout{limits_.maxBatchTokens, limits_.maxBatchPairs};
    layout_ = layout;
    const bool padded = backend_->layout() == InputLayout::Padded;
    for (int i = 0; i < limits_.slots; ++i) slots_.push_back(std::make_unique<Slot>(layout, backend_->numLabels(), padded));
    arena_ = DeviceBuffer(sizeof(float) * limits_.arenaPairs);
    const auto n = static_cast<int32_t>(maxCallPairs_);
    topKWorkspace_ = DeviceBuffer(std::max(kernels::topKWorkspaceBytes(n, std::min(n, kernels::kTopKBlockSortMax)),
                                           kernels::topKWorkspaceBytes(n, n)));
    topIndices_ = DeviceBuffer(sizeof(int32_t) * maxCallPairs_);
    topScores_ = DeviceBuffer(sizeof(float) * maxCallPairs_);
    hostIndices_ = PinnedBuffer(sizeof(int32_t) * maxCallPairs_);
    hostScores_ = PinnedBuffer(sizeof(float) * maxCallPairs_);
    backend_->prepareSlots(limits_.slots, limits_.maxBatchPairs, limits_.maxBatchTokens);
    if (o.warmup) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < limits_.slots; ++i) {
        backend_->warmup(i, slots_[i]->stream.get());
        TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(slots_[i]->stream.get()));
      }
      warmupMs_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
  }

  std::string backendName() const override { return backend_->name(); }
  int numLabels() const override { return backend_->numLabels(); }
  const ExecutorLimits& limits() const override { return limits_; }
  uint64_t memoryBytes() const override {
    uint64_t bytes = backend_->memoryBytes() + arena_.bytes() + topKWorkspace_.bytes() + topIndices_.bytes() + topScores_.bytes();
    for (const auto& s : slots_) bytes += s->bytes();
    return bytes;
  }
  std::vector<std::pair<std::string, double>> counters() const override {
    auto out = backend_->counters();
    out.emplace_back("loadWarmupMs", warmupMs_);
    return out;
  }
  std::string broken() const override {
    std::lock_guard<std::mutex> lock(mutex_);
    return broken_;
  }

  BatchInput input(int slot) override {
    void* host = slots_.at(slot)->host.get();
    return {layout_.ids(host), layout_.typeIds(host), layout_.offsets(host), layout_.dest(host), layout_.contextOf(host)};
  }

  // On a failure after part of the batch was enqueued, the stream is drained before the error goes up: the
  // scheduler then frees the slot and may hand its calls' arena ranges to others.
  void launch(int slot, int32_t count, int32_t contexts, int64_t tokens, int32_t longest) override {
    drainOnFailure(slots_.at(slot)->stream.get(), [&] { launchOn(slot, count, contexts, tokens, longest); });
  }

  void launchOn(int slot, int32_t count, int32_t contexts, int64_t tokens, int32_t longest) {
    run([&] {
      Slot& s = *slots_.at(slot);
      void* host = s.host.get();
      void* dev = s.device.get();
      cudaStream_t stream = s.stream.get();
      const auto upload = [&](void* to, const void* from, size_t n) {
        TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(to, from, n, cudaMemcpyHostToDevice, stream));
      };
      upload(layout_.ids(dev), layout_.ids(host), sizeof(int32_t) * tokens);
      const int32_t sequences = count + contexts;
      upload(layout_.offsets(dev), layout_.offsets(host), sizeof(int32_t) * (sequences + 1));
      upload(layout_.dest(dev), layout_.dest(host), sizeof(int32_t) * count);
      if (contexts > 0) upload(layout_.contextOf(dev), layout_.contextOf(host), sizeof(int32_t) * sequences);
      upload(layout_.typeIds(dev), layout_.typeIds(host), tokens);
      DeviceBatch in;
      in.count = sequences;  // the contexts' logits land past the pairs' and are not read
      in.contextOf = contexts > 0 ? layout_.contextOf(dev) : nullptr;
      in.totalTokens = static_cast<int32_t>(tokens);
      in.maxLength = longest;
      in.ids = layout_.ids(dev);
      in.typeIds = layout_.typeIds(dev);
      in.cuSeqLens = layout_.offsets(dev);
      if (backend_->layout() == InputLayout::Padded) {
        in.paddedIds = s.paddedIds.get<int32_t>();
        in.paddedTypeIds = s.paddedTypeIds.get<uint8_t>();
        in.paddedMask = s.paddedMask.get<uint8_t>();
        kernels::packedToPadded(in.ids, in.typeIds, in.cuSeqLens, count, longest, s.paddedIds.get<int32_t>(), s.paddedTypeIds.get<uint8_t>(),
                                s.paddedMask.get<uint8_t>(), stream);
      }
      backend_->enqueue(in, s.logits.get<float>(), stream, slot);
      kernels::finalizeScores(s.logits.get<float>(), count, backend_->numLabels(), ScoreActivation::None, layout_.dest(dev), 0,
                              arena_.get<float>(), stream);
      TRT_RERANK_CUDA_CHECK(cudaEventRecord(s.done.get(), stream));
    });
  }

  void wait(int slot) override {
    run([&] { TRT_RERANK_CUDA_CHECK(cudaEventSynchronize(slots_.at(slot)->done.get())); });
  }

  void readRawScores(int64_t offset, int32_t count, float* out) override { copyRaw(offset, count, out, cudaMemcpyDeviceToHost); }
  void writeRawScores(int64_t offset, int32_t count, const float* in) override { copyRaw(offset, count, const_cast<float*>(in), cudaMemcpyHostToDevice); }

  // Through the pinned results buffer (maxCallPairs floats: any call's count), on the finish stream.
  void copyRaw(int64_t offset, int32_t count, float* host, cudaMemcpyKind kind) {
    if (count <= 0) return;
    if (count > maxCallPairs_) throw NativeError(kErrBackend, "raw scores: " + std::to_string(count) + " is more than a call holds");
    drainOnFailure(finishStream_.get(), [&] {
      run([&] {
        cudaStream_t stream = finishStream_.get();
        float* range = arena_.get<float>() + offset;
        float* pinned = hostScores_.get<float>();
        if (kind == cudaMemcpyHostToDevice) {
          std::copy_n(host, count, pinned);
          TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(range, pinned, sizeof(float) * count, kind, stream));
          TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
        } else {
          TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(pinned, range, sizeof(float) * count, kind, stream));
          TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
          std::copy_n(pinned, count, host);
        }
      });
    });
  }

  void finishCall(int64_t offset, int32_t count, ScoreActivation activation, int32_t topK, std::vector<int32_t>& indices,
                  std::vector<float>& scores) override {
    indices.clear();
    scores.clear();
    if (count == 0) return;
    drainOnFailure(finishStream_.get(), [&] { finishOn(offset, count, activation, topK, indices, scores); });
  }

  void finishOn(int64_t offset, int32_t count, ScoreActivation activation, int32_t topK, std::vector<int32_t>& indices,
                std::vector<float>& scores) {
    run([&] {
      cudaStream_t stream = finishStream_.get();
      float* range = arena_.get<float>() + offset;
      if (activation == ScoreActivation::Sigmoid) kernels::sigmoidInPlace(range, count, stream);
      if (topK == 0) {
        TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(hostScores_.get(), range, sizeof(float) * count, cudaMemcpyDeviceToHost, stream));
        TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
        scores.assign(hostScores_.get<float>(), hostScores_.get<float>() + count);
        return;
      }
      const int32_t k = std::min(topK, count);
      kernels::topK(range, count, k, topIndices_.get<int32_t>(), topScores_.get<float>(), topKWorkspace_.get(), topKWorkspace_.bytes(), stream);
      TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(hostIndices_.get(), topIndices_.get(), sizeof(int32_t) * k, cudaMemcpyDeviceToHost, stream));
      TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(hostScores_.get(), topScores_.get(), sizeof(float) * k, cudaMemcpyDeviceToHost, stream));
      TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
      indices.assign(hostIndices_.get<int32_t>(), hostIndices_.get<int32_t>() + k);
      scores.assign(hostScores_.get<float>(), hostScores_.get<float>() + k);
    });
  }

 private:
  template <typename Fn>
  static void drainOnFailure(cudaStream_t stream, Fn&& fn) {
    try {
      fn();
    } catch (...) {
      cudaStreamSynchronize(stream);
      cudaGetLastError();
      throw;
    }
  }

  // Runs fn with the device set; a CUDA error marks the executor broken when it leaves the context unusable.
  template <typename Fn>
  void run(Fn&& fn) {
    if (const std::string why = broken(); !why.empty()) {
      throw NativeError(kErrBackend, "the CUDA context is lost (" + why + "): close this Reranker and load a new one");
    }
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(device_));
    try {
      fn();
    } catch (const CudaError& e) {
      if (isStickyError(e.status())) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (broken_.empty()) broken_ = e.what();
      }
      throw;
    }
  }

  int64_t autoBatchTokens(int maxLength) const {
    size_t freeBytes = 0, totalBytes = 0;
    TRT_RERANK_CUDA_CHECK(cudaMemGetInfo(&freeBytes, &totalBytes));
    const uint64_t perToken = std::max<uint64_t>(1, backend_->activationBytesPerToken());
    const uint64_t budget = freeBytes / 4 / static_cast<uint64_t>(limits_.slots) / perToken;
    return std::clamp<int64_t>(static_cast<int64_t>(budget), maxLength, std::max<int64_t>(kAutoBatchTokensCap, maxLength));
  }

  std::unique_ptr<DeviceBackend> backend_;
  int device_;
  ExecutorLimits limits_;
  StagingLayout layout_{1, 1};
  int64_t maxCallPairs_ = 1;
  std::vector<std::unique_ptr<Slot>> slots_;
  DeviceBuffer arena_;
  CudaStream finishStream_;
  DeviceBuffer topKWorkspace_, topIndices_, topScores_;
  PinnedBuffer hostIndices_, hostScores_;
  double warmupMs_ = 0;
  mutable std::mutex mutex_;
  std::string broken_;
};

}  // namespace

std::unique_ptr<BatchExecutor> makeGpuExecutor(std::unique_ptr<DeviceBackend> backend, const ExecutorOptions& options) {
  return std::make_unique<GpuExecutor>(std::move(backend), options);
}

}  // namespace trt_rerank
