// CUDA graphs by shape, per execution slot: what both GPU backends replay for small batches (common/cuda_graph.h
// holds one graph). A backend pads a batch to a bucket (its Shape) and hands the cache what to run; the cache
// decides whether this batch runs directly, is captured, or replays, and counts it.
//
// Both policies run a bucket's first batch directly: first runs do deferred work (lazy module loading, cuBLASLt's
// heuristics, TensorRT's per-shape setup) that must stay out of a graph. When the bucket is captured then is one
// parameter, set per backend, because what a bucket costs before its capture differs:
// - GraphCapture::OnSecondBatch (CUDA): a bucket holds nothing but its graph, so waiting for its second batch
//   costs nothing, and the many shapes seen once (pairs x tokens x longest pair) spend no capture, no graph
//   memory and, since captured buckets are never forgotten, no place in the slot for good.
// - GraphCapture::AfterFirstBatch (TensorRT): a bucket holds an execution context fixed to its shape, made for
//   its first batch, so a one-off shape has paid most of its cost by then; the capture (it records, runs
//   nothing) adds little, and the bucket's second batch is already a replay. Its shapes are few (row buckets x
//   sequence buckets).
// One policy for both would either fill the CUDA slots with graphs of one-off shapes or delay every TensorRT
// graph by a batch for no saving.
//
// At most `capacity` buckets a slot. A batch of a new shape in a full slot first forgets the slot's stateless
// buckets that hold no graph (not yet captured, or whose capture failed), so they cannot lock out later shapes
// (buckets with state are kept: their state may be in use on the stream); if the slot is still full, the batch
// runs without a bucket (`fallback`). A bucket whose capture failed runs directly.
//
// Threads: a Slot is used by one thread at a time (the backend's execution slot); the counters are shared by all
// slots, atomic.
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "common/cuda_graph.h"

namespace trt_rerank {

// When a bucket is captured (see above).
enum class GraphCapture {
  OnSecondBatch,    // first batch direct; second captured, then replayed; later ones replay
  AfterFirstBatch,  // first batch direct, then captured at once (nothing runs); later ones replay
};

constexpr size_t kMaxGraphsPerSlot = 64;  // buckets a slot, by default

// The per-bucket state of a backend that needs none.
struct NoBucketState {};

template <typename Shape, typename State = NoBucketState>
class GraphCache {
 public:
  // One slot's buckets by shape (move-only): each bucket's State, its graph once captured.
  class Slot {
   public:
    Slot() = default;
    Slot(Slot&&) = default;
    Slot& operator=(Slot&&) = default;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    friend class GraphCache;
    struct Bucket {
      explicit Bucket(State s) : state(std::move(s)) {}
      State state;
      std::unique_ptr<CudaGraph> graph;
      bool warm = false;    // its first batch ran directly
      bool failed = false;  // its capture failed: it runs directly
    };
    std::map<Shape, Bucket> buckets_;
  };

  explicit GraphCache(GraphCapture policy, size_t capacity = kMaxGraphsPerSlot) : policy_(policy), capacity_(capacity) {}
  // Not copied or moved: the slots' threads update its counters.
  GraphCache(const GraphCache&) = delete;
  GraphCache& operator=(const GraphCache&) = delete;

  // Runs one batch of bucket `shape` in `slot` on `stream`:
  //   makeState() -> State   a new bucket's state; if it throws, no bucket is added
  //   direct(State&)         runs the batch without a graph
  //   record(State&) -> bool enqueues the same work while `stream` is captured (nothing runs); false if it cannot
  //   fallback()             runs the batch when the slot is full
  // The graph replays the bucket's fixed buffers: the backend writes each batch's inputs there before, and reads
  // the results from there after, whichever way it ran.
  template <typename MakeState, typename Direct, typename Record, typename Fallback>
  void run(Slot& slot, const Shape& shape, cudaStream_t stream, MakeState&& makeState, Direct&& direct, Record&& record,
           Fallback&& fallback) {
    auto& buckets = slot.buckets_;
    auto found = buckets.find(shape);
    if (found == buckets.end()) {
      // Only stateless buckets are forgotten: a backend's state (a TensorRT execution context) may still be running
      // the slot's previous batch on the stream.
      if constexpr (std::is_same_v<State, NoBucketState>) {
        if (buckets.size() >= capacity_) {
          for (auto it = buckets.begin(); it != buckets.end();) it = it->second.graph ? std::next(it) : buckets.erase(it);
        }
      }
      if (buckets.size() >= capacity_) return fallback();
      found = buckets.emplace(shape, typename Slot::Bucket(makeState())).first;
    }
    typename Slot::Bucket& b = found->second;
    if (policy_ == GraphCapture::OnSecondBatch && b.warm && !b.graph && !b.failed) capture(b, stream, record);
    if (b.graph) {
      b.graph->launch(stream);
      ++launches_;
      return;
    }
    direct(b.state);
    if (b.warm) return;
    b.warm = true;
    if (policy_ == GraphCapture::AfterFirstBatch) capture(b, stream, record);
  }

  // graphsCaptured, graphLaunches, graphCaptureFailures: over all slots.
  std::vector<std::pair<std::string, double>> counters() const {
    return {{"graphsCaptured", static_cast<double>(captured_.load())},
            {"graphLaunches", static_cast<double>(launches_.load())},
            {"graphCaptureFailures", static_cast<double>(failures_.load())}};
  }

 private:
  template <typename Record>
  void capture(typename Slot::Bucket& b, cudaStream_t stream, Record& record) {
    auto graph = std::make_unique<CudaGraph>();
    if (graph->capture(stream, [&] { return static_cast<bool>(record(b.state)); })) {
      b.graph = std::move(graph);
      ++captured_;
    } else {
      b.failed = true;
      ++failures_;
    }
  }

  const GraphCapture policy_;
  const size_t capacity_;
  std::atomic<uint64_t> captured_{0}, launches_{0}, failures_{0};
};

}  // namespace trt_rerank
