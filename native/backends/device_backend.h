// What a GPU backend implements. The pipeline (pipeline/gpu_engine.cc) hands it one batch already on the
// device, in the layout it declares, and a device buffer for its logits; the backend enqueues its work on
// the given stream and returns. Nothing else crosses this interface.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace trt_rerank {

enum class InputLayout {
  Packed,  // ids/typeIds [totalTokens], cuSeqLens [count + 1] (padding-free backends)
  Padded,  // ids/typeIds/mask [count, paddedLength], row-major, zeros past each sequence (length-sorted batches)
};

struct DeviceBatch {
  int32_t count = 0;
  int32_t totalTokens = 0;
  int32_t maxLength = 0;  // longest sequence of the batch
  // Packed:
  const int32_t* ids = nullptr;
  const uint8_t* typeIds = nullptr;
  const int32_t* cuSeqLens = nullptr;  // device, count + 1, cuSeqLens[0] = 0
  // device, count entries, or nullptr: each sequence's context sequence or -1 (backend.h TokenBatch::contextOf);
  // only for backends whose sharesPrefixes() is true.
  const int32_t* contextOf = nullptr;
  // Padded (paddedLength = maxLength):
  const int32_t* paddedIds = nullptr;
  const uint8_t* paddedTypeIds = nullptr;
  const uint8_t* paddedMask = nullptr;
};

class DeviceBackend {
 public:
  virtual ~DeviceBackend() = default;
  virtual const char* name() const = 0;
  virtual InputLayout layout() const = 0;
  virtual int numLabels() const = 0;
  // Whether batches may carry contexts (DeviceBatch::contextOf): the model is causal. Packed layout only.
  virtual bool sharesPrefixes() const { return false; }
  // Device memory the backend holds (weights, its own scratch).
  virtual uint64_t memoryBytes() const = 0;
  // Device memory one more token of a batch costs the backend (for maxBatchSize 'auto').
  virtual uint64_t activationBytesPerToken() const = 0;
  // Whether the backend's cost follows each batch's longest pair (padded layout, fixed-shape engines): the
  // caller then groups pairs of similar length into a batch.
  virtual bool padsBatches() const { return layout() == InputLayout::Padded; }
  // Limits of the backend itself (an engine's optimization profile); 0: none.
  virtual int maxBatchSize() const { return 0; }
  virtual int maxSequenceLength() const { return 0; }
  // Token ids a batch may hold: [0, vocabSize()) (0: the backend checks its own inputs, or reads none).
  virtual int32_t vocabSize() const { return 0; }
  // Called once at load with the pipeline's execution slots and the largest batch (pairs, tokens), before any
  // enqueue: per-slot state (execution contexts, scratch) is made here, so no request allocates.
  virtual void prepareSlots(int slots, int maxBatchSize, int64_t maxTokens) {
    (void)slots;
    (void)maxBatchSize;
    (void)maxTokens;
  }
  // Called once per slot at load, after prepareSlots, when the Reranker's `warmup` option is on (the default):
  // runs every shape the backend keeps state for (CUDA graph buckets, TensorRT shape contexts) on `stream`, so
  // no caller's batch pays for a first run, a capture or a lazy kernel load. Blocks until done.
  virtual void warmup(int slot, cudaStream_t stream) {
    (void)slot;
    (void)stream;
  }
  // Named counters for tests and tuning (e.g. CUDA graphs captured and replayed).
  virtual std::vector<std::pair<std::string, double>> counters() const { return {}; }
  // Enqueues the forward of `batch` on `stream`: logits [count, numLabels()] fp32 into `logits`. `slot` is the
  // execution slot running it (0 .. slots - 1); slots run concurrently, one batch at a time each.
  virtual void enqueue(const DeviceBatch& batch, float* logits, cudaStream_t stream, int slot) = 0;
};

}  // namespace trt_rerank
