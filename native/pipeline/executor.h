// What the scheduler (pipeline/scheduler.h) runs batches on: one loaded model on the CPU or one GPU.
// HostExecutor wraps a CPU Backend (pipeline/host_executor.cc), GpuExecutor a DeviceBackend
// (pipeline/gpu_executor.h). The scheduler sees only this.
//
// Scores live in the executor's score arena (host memory for the CPU, device memory for GPUs): one float per
// pair of every admitted call, each call owning a contiguous range of it (pipeline/score_arena.h). A batch's
// pair i writes its raw score (logit, or logit1 - logit0) to arena[dest[i]]; a call's activation and top-k run
// over its range once all its pairs are in (finishCall), so only k results leave the device.
//
// Threads: the scheduler's batch thread calls input() and launch(), its completion thread wait() and
// finishCall(); a slot is never in both at once (it is launched, waited for, then free again).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/errors.h"
#include "pipeline/host_scores.h"

namespace trt_rerank {

// The host memory a slot's next batch is written into (pinned for GPUs), for `count` pairs and `contexts` shared
// prefixes (limits().sharesPrefixes only; see backend.h): ids and typeIds [tokens], offsets [count + contexts + 1]
// (offsets[0] = 0; the pairs' sequences first, then the contexts'), dest [count] (arena index of each pair's
// score), contextOf [count + contexts] (written only when contexts > 0: each sequence's context index or -1).
// All of them hold maxBatchPairs sequences.
struct BatchInput {
  int32_t* ids = nullptr;
  uint8_t* typeIds = nullptr;
  int32_t* offsets = nullptr;
  int32_t* dest = nullptr;
  int32_t* contextOf = nullptr;
};

// The limits the executor was built with, resolved ('auto' made concrete).
struct ExecutorLimits {
  int slots = 1;                // batches in flight at once
  int maxBatchPairs = 1;        // pairs of one batch
  int64_t maxBatchTokens = 1;   // tokens of one batch (padding backends: pairs x longest pair)
  int64_t arenaPairs = 1;       // scores the arena holds
  int maxLength = 0;            // longest pair, tokens
  int32_t vocabSize = 0;        // ids must be in [0, vocabSize) (0: the backend checks its own)
  bool padsBatches = false;     // a batch costs pairs x its longest pair
  bool sharesPrefixes = false;  // batches may carry contexts (a causal model on a packed backend)
};

// What the caller asks for; 0 means 'auto'.
struct ExecutorOptions {
  int maxBatchPairs = 0;
  int64_t maxBatchTokens = 0;
  int64_t arenaPairs = 1 << 19;
  int64_t maxCallPairs = 1 << 18;  // most pairs of one call (maxQueuedPairs): sizes top-k workspace and results
  int maxLength = 512;
  bool clampMaxLength = false;  // maxLength is the model's default: lower it to what the backend takes
  int slots = 2;                // GPU executors
  bool warmup = true;           // GPU executors: backend warmup at load
  bool sharePrefixes = true;    // let the scheduler give batches contexts where the backend takes them
  int device = 0;
};

// Throws ERR_INVALID_ARGUMENT when an explicit maxBatchTokens cannot hold one pair of maxLength tokens.
inline void checkTokenBudget(const ExecutorOptions& o) {
  if (o.maxBatchTokens > 0 && o.maxBatchTokens < o.maxLength) {
    throw NativeError(kErrInvalidArgument, "maxBatchTokens " + std::to_string(o.maxBatchTokens) + " cannot hold one pair of maxLength " +
                                               std::to_string(o.maxLength) + " tokens: load with maxBatchTokens >= maxLength, or a smaller maxLength");
  }
}

class BatchExecutor {
 public:
  virtual ~BatchExecutor() = default;
  virtual std::string backendName() const = 0;
  virtual int numLabels() const = 0;
  virtual uint64_t memoryBytes() const = 0;
  virtual const ExecutorLimits& limits() const = 0;
  // Named counters of the backend (graphs captured, warmup time).
  virtual std::vector<std::pair<std::string, double>> counters() const { return {}; }

  virtual BatchInput input(int slot) = 0;
  // Runs (CPU) or enqueues (GPU) the batch written into input(slot): `count` pairs then `contexts` context
  // sequences, `tokens` rows in all, the longest sequence `longest` rows. Throws on failure.
  virtual void launch(int slot, int32_t count, int32_t contexts, int64_t tokens, int32_t longest) = 0;
  // Blocks until the slot's batch has written its scores. Throws on failure (a CUDA error).
  virtual void wait(int slot) = 0;
  // The call owning arena [offset, offset + count): applies `activation` in place, then topK 0: every score in
  // order into `scores`; else the k best (score descending, ties by lower index, NaN last) into indices, scores.
  virtual void finishCall(int64_t offset, int32_t count, ScoreActivation activation, int32_t topK,
                          std::vector<int32_t>& indices, std::vector<float>& scores) = 0;
  // The raw scores (before activation) of arena [offset, offset + count), to and from the host; blocking. How a
  // call whose batches ran on several executors gets its scores into one arena (pipeline/multi_device_executor.h).
  virtual void readRawScores(int64_t offset, int32_t count, float* out) = 0;
  virtual void writeRawScores(int64_t offset, int32_t count, const float* in) = 0;
  // Whether the scheduler may launch on this slot (false once a multi-device executor lost the slot's device), and
  // which device it runs on (the scheduler starts a batch on an idle device before a busy one).
  virtual bool slotUsable(int /*slot*/) const { return true; }
  virtual int slotDevice(int /*slot*/) const { return 0; }
  // Set by close(): a CPU batch in progress stops early (its calls are failing anyway).
  virtual void stop() {}
  // Empty when usable; else why not (a lost CUDA context), for every later call's error.
  virtual std::string broken() const { return ""; }
};

}  // namespace trt_rerank
