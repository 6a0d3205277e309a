// What every backend implements. The scheduler hands a backend one batch of packed pairs and gets back
// one raw logit row per pair; activation and top-k happen after (pipeline/).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace trt_rerank {

// A batch of tokenized pairs, packed without padding: pair i is ids[offsets[i] .. offsets[i+1]).
// contextOf (sharesPrefixes() backends only; nullptr: none): [count], the sequence of this batch whose tokens
// precede sequence i's (a prefix it shares with others, computed once), or -1. A context has no context itself;
// it gets logits like any sequence (callers ignore them). See models/ops.h.
struct TokenBatch {
  const int32_t* ids = nullptr;
  const uint8_t* typeIds = nullptr;
  const int32_t* offsets = nullptr;  // count + 1 entries, offsets[0] == 0
  int32_t count = 0;
  const int32_t* contextOf = nullptr;
};

// Set from the JS thread (AbortSignal, close()); backends poll it between units of work.
struct CancelFlag {
  std::atomic<bool> cancelled{false};
  bool isSet() const { return cancelled.load(std::memory_order_relaxed); }
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual int numLabels() const = 0;
  // Whether batches may carry contexts (TokenBatch::contextOf): the model is causal.
  virtual bool sharesPrefixes() const { return false; }
  // Writes count x numLabels() logits, row-major. Returns false if cancelled before finishing.
  // Throws std::runtime_error (with a message for the user) on failure.
  virtual bool forward(const TokenBatch& batch, float* logits, const CancelFlag& cancel) = 0;
  // Bytes of memory the backend holds (weights + scratch), for Reranker.info.
  virtual uint64_t memoryBytes() const = 0;
};

}  // namespace trt_rerank
