// What a Session runs: one loaded model on the CPU or one GPU. The N-API layer (binding/session.cc) sees only
// this; HostEngine wraps a CPU Backend, GpuEngine (pipeline/gpu_engine.h) a DeviceBackend.
//
// A request scores `count` documents streamed in batches: submit() returns once its batch is accepted (for
// the GPU: staged and enqueued, so the next batch can be tokenized while this one runs); finish() returns
// the top k (or every score, k = 0). Both run on a worker thread and may block; both throw NativeError.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "backends/backend.h"
#include "pipeline/host_scores.h"

namespace trt_rerank {

class EngineRequest {
 public:
  virtual ~EngineRequest() = default;
  // Pairs of `batch` are documents docIndices[i] (or firstIndex + i when docIndices is null).
  virtual void submit(const TokenBatch& batch, const int32_t* docIndices, int32_t firstIndex, const CancelFlag& cancel) = 0;
  // topK 0: every score, in document order, into `scores`; else the k best (score descending, ties by lower
  // index, NaN last) into indices and scores. The caller has submitted all `count` documents (the session
  // layer checks it).
  virtual void finish(int32_t topK, std::vector<int32_t>& indices, std::vector<float>& scores, const CancelFlag& cancel) = 0;
  // Gives back what the request holds (a GPU execution slot) once its queued work is done; finish() does it
  // too. Safe to call more than once.
  virtual void release() {}
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string backendName() const = 0;
  virtual int numLabels() const = 0;
  virtual uint64_t memoryBytes() const = 0;
  virtual int maxBatchSize() const = 0;
  // True when the backend pads every batch to its longest pair: the caller then sorts pairs by length.
  virtual bool padsBatches() const { return false; }
  // Requests that can hold engine resources at once (GPU execution slots); 0: no limit. Callers keep at most
  // this many requests between their first submit and their finish/release, so no worker thread ever waits
  // for a slot (the thread pool is shared: a waiting thread could starve the request that would free one).
  virtual int slots() const { return 0; }
  // Named counters of the backend (tests, tuning).
  virtual std::vector<std::pair<std::string, double>> counters() const { return {}; }
  // Longest pair the engine takes, in tokens (0: no limit of its own).
  virtual int maxLength() const { return 0; }
  virtual std::unique_ptr<EngineRequest> begin(int32_t count, ScoreActivation activation) = 0;
};

// The CPU path: the backend's logits to host scores, host top-k.
std::unique_ptr<Engine> makeHostEngine(std::unique_ptr<Backend> backend, int maxBatchSize);

}  // namespace trt_rerank
