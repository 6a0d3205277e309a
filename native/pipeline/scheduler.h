// One scheduler per loaded model: every call's pairs go into one queue, and batches are filled across calls up
// to a token budget (TEI's queue.rs and its --max-batch-tokens, Triton's dynamic batcher, done here once for
// every backend).
//
//   admit(count)     the call gets a range of the executor's score arena, or is refused at once (ERR_OVERLOADED)
//                    when admitted, unfinished calls would hold more than maxQueuedPairs pairs
//   enqueue(pairs)   copies a chunk of the call's pairs into the queue; false asks the caller to wait for
//                    drained(call) before the next chunk (each call keeps at most 2 x maxBatchPairs queued)
//   batch thread     for a free execution slot (on an idle device first, where the executor spans several): fills a batch round-robin over the calls with queued pairs,
//                    oldest call first, one pair per call per turn, while the batch stays within maxBatchPairs
//                    and maxBatchTokens (padding backends: pairs x longest pair); launches it. While another
//                    slot's batch runs, a second one starts only with half a batch's worth queued: fewer, fuller
//                    batches under concurrency, and the GPU never idle while pairs wait
//   completion       waits for each slot's batch in launch order, counts the calls' scored pairs; a call whose
//   thread           pairs are all scored and whose finish() came gets its activation and top-k on the executor
//                    (only k results leave the device), then retires
//
// Round-robin by pair is max-min fair: 64 calls of 4 pairs share one batch, and a 100 000-pair call takes what
// the small calls arriving after it leave, never the whole queue. Every call retires exactly once, through
// events.retired (from a scheduler thread, or the caller's thread for a cancel), with its scores or its error;
// the binding settles its promises there.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/backend.h"
#include "pipeline/executor.h"
#include "pipeline/scheduler_stats.h"
#include "pipeline/score_arena.h"

namespace trt_rerank {

struct CallTimings {
  int64_t pairs = 0, tokens = 0, batches = 0;
  double queueMs = 0;  // admission -> first pair in a batch
  double runMs = 0;    // admission -> scores ready
};

// What a call ends with: its results, or an error code (common/error_codes.json) and message.
struct CallOutcome {
  uint64_t call = 0;
  const char* code = nullptr;  // null: success
  std::string message;
  std::vector<int32_t> indices;
  std::vector<float> scores;
  CallTimings timings;
};

struct SchedulerEvents {
  std::function<void(CallOutcome&&)> retired;
  std::function<void(uint64_t call)> drained;
};

class Scheduler {
 public:
  Scheduler(std::unique_ptr<BatchExecutor> executor, int64_t maxQueuedPairs, SchedulerEvents events);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  const BatchExecutor& executor() const { return *executor_; }
  int64_t maxQueuedPairs() const { return maxQueuedPairs_; }

  // The call's id. Throws NativeError: ERR_OVERLOADED, ERR_CLOSED, ERR_BACKEND (the executor is broken).
  uint64_t admit(int32_t count, ScoreActivation activation);
  // What enqueue() did: queued with room for more, queued but the caller should wait for drained(call) before
  // the next chunk, or nothing because the call has retired (its outcome is on its way through events.retired).
  enum class Enqueued { Room,
                        Full,
                        Retired };
  // Pair i of `batch` is document docIndices[i] (or firstIndex + i). The pairs are checked (length, ids) and
  // copied; throws ERR_INVALID_ARGUMENT (nothing queued).
  Enqueued enqueue(uint64_t call, const TokenBatch& batch, const int32_t* docIndices, int32_t firstIndex);
  // Asks for the call's results once every pair is scored (topK 0: all scores in document order). False when
  // the call has retired already (its outcome is on its way).
  bool finish(uint64_t call, int32_t topK);
  // The call retires with this error as soon as no batch in flight holds its pairs. No-op for a retired call.
  void cancel(uint64_t call, const char* code, const std::string& message);
  // Every call retires with ERR_CLOSED; batches in flight drain; the threads stop. Blocks. Idempotent.
  void close();
  SchedulerStats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Chunk {
    std::vector<int32_t> ids;
    std::vector<uint8_t> typeIds;
    std::vector<int32_t> offsets;  // count + 1
    std::vector<int32_t> docs;     // document index of each pair
    size_t next = 0;               // first pair not yet taken
  };
  struct Call {
    uint64_t id = 0;
    int32_t count = 0;
    ScoreActivation activation = ScoreActivation::Sigmoid;
    int64_t arenaOffset = 0;
    std::deque<Chunk> chunks;
    int64_t waiting = 0;  // pairs queued, not yet in a batch
    int64_t waitingTokens = 0;
    int64_t submitted = 0;   // pairs enqueued
    std::vector<bool> seen;  // documents enqueued (each exactly once, or its arena slot would keep stale scores)
    int64_t inFlight = 0;    // pairs in batches not yet completed
    int64_t scored = 0;
    int64_t tokens = 0;
    int64_t batches = 0;
    uint64_t lastBatch = 0;
    int32_t topK = -1;  // >= 0 once finish() came
    bool finishing = false;
    bool wantsDrain = false;
    const char* errorCode = nullptr;
    std::string errorMessage;
    Clock::time_point admitted, started;
    bool hasStarted = false;
  };
  // The fewest tokens pairs of a call must share for a context (models/ops.h) to be worth one more sequence.
  static constexpr int32_t kMinSharedPrefix = 8;
  struct InFlight {
    std::vector<std::pair<std::shared_ptr<Call>, int32_t>> calls;  // and how many of its pairs
    int32_t count = 0;
    int32_t contexts = 0;  // shared-prefix sequences past the pairs (limits.sharesPrefixes)
    int64_t tokens = 0;    // the pairs' tokens
    int64_t rows = 0;      // rows the batch computes: tokens less what contexts share
    int64_t cost = 0;      // rows, or pairs x longest for padding backends
  };

  void batchLoop();
  // Under the lock: the slot the next batch goes to, or -1; whether a batch runs on the device already.
  int pickSlot() const;
  bool deviceBusy(int device) const;
  void completionLoop();
  // Under the lock: fills slot's input; false when nothing could be taken.
  bool fillBatch(int slot, InFlight& batch, int32_t& longest, std::vector<uint64_t>& drained);
  // Under the lock: marks the call failed; true when it can retire now.
  bool failLocked(Call& call, const char* code, const std::string& message);
  // Under the lock: frees the call's arena range, counts it, forgets it; returns its outcome (without results).
  CallOutcome retireLocked(Call& call);
  void emit(std::vector<CallOutcome>& outcomes, const std::vector<uint64_t>& drained);
  int64_t perCallQueueLimit() const { return 2 * static_cast<int64_t>(limits_.maxBatchPairs); }

  std::unique_ptr<BatchExecutor> executor_;
  const ExecutorLimits limits_;
  const int64_t maxQueuedPairs_;
  SchedulerEvents events_;

  mutable std::mutex mutex_;
  std::condition_variable batchWake_, completionWake_;
  std::map<uint64_t, std::shared_ptr<Call>> calls_;  // by id = arrival order
  ScoreArena arena_;
  int64_t admittedPairs_ = 0;
  int64_t waitingPairs_ = 0;
  int64_t waitingTokens_ = 0;
  uint64_t nextCall_ = 1;
  uint64_t nextBatch_ = 1;
  std::vector<bool> slotBusy_;
  std::vector<InFlight> inFlight_;  // per slot
  std::deque<int> launched_;        // slots in launch order, awaiting completion
  std::deque<std::shared_ptr<Call>> toFinish_;
  bool closing_ = false;
  SchedulerStats stats_;

  std::thread batchThread_, completionThread_;
  std::once_flag closeOnce_;
};

}  // namespace trt_rerank
