// CUDA graphs by shape, per execution slot: what both GPU backends replay for small batches (common/cuda_graph.h
// holds one graph). A backend pads a batch to a bucket (its Shape) and hands the cache what to run; the cache
// decides whether this batch runs directly, is captured, or replays, and counts it.
//
// At load (DeviceBackend::warmup) a backend hands the cache every bucket it expects, through prepare(): each is
// made, run directly once (first runs do deferred work: lazy module loading, cuBLASLt's heuristics, TensorRT's
// per-shape setup, which must stay out of a graph), captured and uploaded there and then, so no caller's batch
// pays for any of it. A bucket first met at run time (warm-up off, or a shape the backend did not warm) follows
// the backend's capture policy instead; both policies run its first batch directly, and differ in when it is
// captured, because what a bucket costs before its capture differs:
// - GraphCapture::OnSecondBatch (CUDA): a bucket holds nothing but its graph, so waiting for its second batch
//   costs nothing, and shapes seen once spend no capture, no graph memory and, since captured buckets are never
//   forgotten, no place in the slot for good.
// - GraphCapture::AfterFirstBatch (TensorRT): a bucket holds an execution context fixed to its shape, made for
//   its first batch, so a one-off shape has paid most of its cost by then; the capture (it records, runs
//   nothing) adds little, and the bucket's second batch is already a replay.
// One policy for both would either fill the CUDA slots with graphs of one-off shapes or delay every TensorRT
// graph by a batch for no saving.
//
// At most `capacity` buckets a slot. A batch of a new shape in a full slot first forgets the slot's stateless
// buckets that hold no graph (not yet captured, or whose capture failed), so they cannot lock out later shapes
// (buckets with state are kept: their state may be in use on the stream); if the slot is still full, the batch
// runs without a bucket (`fallback`). A bucket whose capture failed runs directly.
//
// Counters, over all slots: graphsCaptured (warm-up's included), graphLaunches (replays), graphCaptureFailures,
// warmupGraphs (captured by prepare) and warmupMs (the time the backend's warmup calls took, summed).
//
// Threads: a Slot is used by one thread at a time (the backend's execution slot); the counters are shared by all
// slots, atomic.
#pragma once

#include <cuda_runtime_api.h>

#include <atomic>
#include <chrono>
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
    typename Slot::Bucket* found = bucket(slot, shape, makeState);
    if (!found) return fallback();
    typename Slot::Bucket& b = *found;
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

  // Warms bucket `shape` of `slot` now, whatever the policy (at load, from the backend's warmup): makes its state,
  // runs direct(State&) once on the inputs the backend wrote into the bucket's buffers, records and instantiates
  // its graph, and uploads it to the device (so its first launch does not either); the work is enqueued on
  // `stream`, which the caller synchronizes. True when the bucket holds a graph after (already before too), false
  // when the slot is full or the capture failed (the bucket then runs directly, as in run()).
  template <typename MakeState, typename Direct, typename Record>
  bool prepare(Slot& slot, const Shape& shape, cudaStream_t stream, MakeState&& makeState, Direct&& direct, Record&& record) {
    typename Slot::Bucket* found = bucket(slot, shape, makeState);
    if (!found) return false;
    typename Slot::Bucket& b = *found;
    if (b.graph) return true;
    if (b.failed) return false;
    direct(b.state);
    b.warm = true;
    capture(b, stream, record);
    if (!b.graph) return false;
    b.graph->upload(stream);
    ++warmed_;
    return true;
  }

  // Adds one warmup call's duration to warmupMs.
  void addWarmupTime(std::chrono::steady_clock::duration d) {
    warmupMicros_ += static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
  }

  // graphsCaptured, graphLaunches, graphCaptureFailures, warmupGraphs, warmupMs: over all slots.
  std::vector<std::pair<std::string, double>> counters() const {
    return {{"graphsCaptured", static_cast<double>(captured_.load())},
            {"graphLaunches", static_cast<double>(launches_.load())},
            {"graphCaptureFailures", static_cast<double>(failures_.load())},
            {"warmupGraphs", static_cast<double>(warmed_.load())},
            {"warmupMs", static_cast<double>(warmupMicros_.load()) / 1000.0}};
  }

 private:
  // The bucket of `shape`, made (makeState()) if new and the slot has room; nullptr when it is full. Only stateless
  // buckets are forgotten to make room: a backend's state (a TensorRT execution context) may still be running the
  // slot's previous batch on the stream.
  template <typename MakeState>
  typename Slot::Bucket* bucket(Slot& slot, const Shape& shape, MakeState& makeState) {
    auto& buckets = slot.buckets_;
    auto found = buckets.find(shape);
    if (found != buckets.end()) return &found->second;
    if constexpr (std::is_same_v<State, NoBucketState>) {
      if (buckets.size() >= capacity_) {
        for (auto it = buckets.begin(); it != buckets.end();) it = it->second.graph ? std::next(it) : buckets.erase(it);
      }
    }
    if (buckets.size() >= capacity_) return nullptr;
    return &buckets.emplace(shape, typename Slot::Bucket(makeState())).first->second;
  }

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
  std::atomic<uint64_t> captured_{0}, launches_{0}, failures_{0}, warmed_{0}, warmupMicros_{0};
};

}  // namespace trt_rerank
