// A captured, instantiated CUDA graph (move-only owner). Backends record one forward per fixed shape and replay
// it, so a small batch costs one launch instead of one per kernel (and no host-side library setup per GEMM).
#pragma once

#include <cuda_runtime_api.h>

#include <utility>

#include "common/cuda_check.h"

namespace trt_rerank {

class CudaGraph {
 public:
  CudaGraph() = default;
  ~CudaGraph() {
    if (exec_) cudaGraphExecDestroy(exec_);
    if (graph_) cudaGraphDestroy(graph_);
  }
  CudaGraph(CudaGraph&& o) noexcept : graph_(std::exchange(o.graph_, nullptr)), exec_(std::exchange(o.exec_, nullptr)) {}
  CudaGraph& operator=(CudaGraph&&) = delete;
  CudaGraph(const CudaGraph&) = delete;

  // Records what `enqueue` puts on `stream` (nothing runs). Capture is thread-local, so other threads' CUDA
  // calls (other execution slots) are unaffected. False, with the stream usable again and no error left
  // pending, when `enqueue` returns false or throws, or capture or instantiation fails: the caller then runs
  // the work without a graph.
  template <typename Enqueue>
  bool capture(cudaStream_t stream, Enqueue&& enqueue) {
    if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
      cudaGetLastError();
      return false;
    }
    bool enqueued = false;
    try {
      enqueued = enqueue();
    } catch (...) {
      enqueued = false;  // the capture is still open: end it below
    }
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
    if (!enqueued || ended != cudaSuccess || !graph) {
      if (graph) cudaGraphDestroy(graph);
      cudaGetLastError();
      return false;
    }
    graph_ = graph;
    if (cudaGraphInstantiate(&exec_, graph_, 0) != cudaSuccess) {
      exec_ = nullptr;
      cudaGetLastError();
      return false;
    }
    return true;
  }
  void launch(cudaStream_t stream) const { TRT_RERANK_CUDA_CHECK(cudaGraphLaunch(exec_, stream)); }
  // Moves the instantiated graph's work to the device ahead of its first launch (which would otherwise do it).
  void upload(cudaStream_t stream) const { TRT_RERANK_CUDA_CHECK(cudaGraphUpload(exec_, stream)); }

 private:
  cudaGraph_t graph_ = nullptr;
  cudaGraphExec_t exec_ = nullptr;
};

}  // namespace trt_rerank
