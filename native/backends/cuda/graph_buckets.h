// The CUDA graphs of the CUDA backend (cuda_backend.cc): which padded shape a small batch replays, and the whole,
// enumerable set of them, so that warmup() captures every one at load. Pure C++, the arithmetic only.
//
// A bucket is (pairs, tokens, longest pair) after padding (kernels::padGraphBatch):
//   pairs    always `count`, the graphs' pair cap: padding pairs are empty sequences, so the pair count is no
//            dimension. What an empty sequence costs: one early-exiting block per (query block, head) in the
//            all-token attention (it reads two offsets and returns), one row in the per-sequence ops (first-token
//            gather or mean pool, the last layer's and the head's GEMMs, the classifier); the row-wise kernels
//            never see it. It reads the row at its offset (the real tokens' end), hence the padding token below.
//   tokens   max(real tokens, count) + 1, rounded up on the token ladder: at least one padding token past the real
//            ones, and more tokens than sequences (padGraphBatch fills cuSeqLens in the same pass). The ladder:
//            powers of two from 64 below `step`, then the multiples of `step` up to `limit`, with
//            step = ceil(limit / parts) rounded up to 64; so no graph computes more than `step` padding tokens
//            (1/parts of the largest graph's GEMM work), however small the batch.
//   longest  the longest pair rounded up to a power of two from 64, up to `longestCap`: it sizes the attention grid
//            (query blocks past a sequence's end exit at once).
// limit = min(the FLOP limit's tokens, the slots' tokens, count x the longest pair the slots take).
//
// The buckets a batch can reach, per longest bucket L (pairs of (L/2, L] tokens, 1 .. 64 for L = 64, and none longer
// than the longest pair the slots take): its real tokens t lie in [shortest, count x longest], so max(t, count) + 1
// spans one contiguous range, and so do its token buckets. The set is exact in L and T, an over-estimate only where a
// range holds no batch of the slots' actual pairs (e.g. a longest-pair bucket past the Reranker's maxLength, which
// the backend does not know). Of (longestCap from pow2ceil(the longest pair) down by halves) x (parts 16, 8, 4), the
// first whose bucket count fits the slot's graph capacity is the plan; batches past it run directly. Counts for
// common models are in cuda_backend.cc's top comment.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <tuple>
#include <vector>

namespace trt_rerank::cuda {

// (pairs, tokens, longest pair) after padding.
using GraphShape = std::tuple<int32_t, int32_t, int32_t>;

struct GraphBucketLimits {
  int32_t maxPairs = 0;     // pairs of every graph (0: no graphs)
  int64_t maxTokens = 0;    // most tokens a graph may hold (the FLOP limit, the slots' buffers)
  int32_t longestPair = 0;  // the longest pair a batch can hold
  size_t capacity = 0;      // graphs a slot holds
};

class GraphBuckets {
 public:
  GraphBuckets() = default;  // no graphs
  explicit GraphBuckets(const GraphBucketLimits& limits) {
    if (limits.maxPairs < 1 || limits.longestPair < 1 || limits.maxTokens < 1 || limits.capacity == 0) return;
    count_ = limits.maxPairs;
    int32_t full = 64;
    while (full < limits.longestPair) full *= 2;
    for (int32_t cap = full; cap >= 64 && (cap == full || !buckets_.empty()); cap /= 2) {
      for (int parts : {16, 8, 4}) {
        plan(limits, cap, parts);
        if (buckets_.empty()) break;  // no batch fits a graph: a smaller cap or fewer parts hold none either
        if (buckets_.size() <= limits.capacity) return;
      }
    }
    clear();
  }

  bool enabled() const { return !buckets_.empty(); }
  int32_t count() const { return count_; }
  int32_t maxTokens() const { return tokens_.empty() ? 0 : tokens_.back(); }  // the largest graph's tokens
  int32_t longestCap() const { return longestCap_; }
  int32_t step() const { return step_; }
  int parts() const { return parts_; }
  const std::vector<int32_t>& tokenLadder() const { return tokens_; }
  // Every bucket a batch can reach, by longest pair then tokens.
  const std::vector<GraphShape>& all() const { return buckets_; }

  // The bucket of a batch of `pairs` pairs, `tokens` tokens and a longest pair of `longest`; false when it runs
  // without a graph (too many pairs or tokens, too long a pair, graphs off).
  bool shapeOf(int32_t pairs, int64_t tokens, int32_t longest, GraphShape& shape) const {
    if (!enabled() || pairs < 1 || pairs > count_) return false;
    const int64_t needed = std::max<int64_t>(tokens, count_) + 1;
    if (needed > tokens_.back()) return false;
    int32_t bucket = 64;
    while (bucket < longest && bucket <= longestCap_) bucket *= 2;
    if (bucket > longestCap_) return false;
    shape = {count_, *std::lower_bound(tokens_.begin(), tokens_.end(), static_cast<int32_t>(needed)), bucket};
    return true;
  }

 private:
  void clear() {
    count_ = longestCap_ = step_ = parts_ = 0;
    tokens_.clear();
    buckets_.clear();
  }

  void plan(const GraphBucketLimits& limits, int32_t cap, int parts) {
    longestCap_ = cap;
    parts_ = parts;
    tokens_.clear();
    buckets_.clear();
    const int64_t longest = std::min<int64_t>(cap, limits.longestPair);
    const int64_t limit = std::min<int64_t>({limits.maxTokens, count_ * longest, int64_t{1} << 30});
    step_ = static_cast<int32_t>(((limit + parts - 1) / parts + 63) / 64 * 64);
    for (int64_t p = 64; p < step_ && p <= limit; p *= 2) tokens_.push_back(static_cast<int32_t>(p));
    for (int64_t t = step_; t <= limit; t += step_) tokens_.push_back(static_cast<int32_t>(t));
    if (tokens_.empty()) return;
    for (int64_t bucket = 64; bucket <= cap; bucket *= 2) {
      const int64_t shortest = bucket == 64 ? 1 : bucket / 2 + 1;
      const int64_t reach = std::min<int64_t>(bucket, limits.longestPair);
      if (shortest > reach) break;  // no pair is this long
      // max(t, count) + 1 over t in [shortest, count x reach], within the ladder.
      const int64_t lo = std::max<int64_t>(shortest, count_) + 1;
      const int64_t hi = std::min<int64_t>(std::max<int64_t>(count_ * reach, count_) + 1, tokens_.back());
      if (lo > hi) continue;
      auto first = std::lower_bound(tokens_.begin(), tokens_.end(), static_cast<int32_t>(lo));
      auto last = std::lower_bound(tokens_.begin(), tokens_.end(), static_cast<int32_t>(hi));
      for (auto it = first; it <= last; ++it) buckets_.emplace_back(count_, *it, static_cast<int32_t>(bucket));
    }
  }

  int32_t count_ = 0, longestCap_ = 0, step_ = 0;
  int parts_ = 0;
  std::vector<int32_t> tokens_;
  std::vector<GraphShape> buckets_;
};

}  // namespace trt_rerank::cuda
