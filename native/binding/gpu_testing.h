#pragma once

#include <napi.h>

namespace trt_rerank {

// addon.testing: the GPU kernels alone, for the GPU test lane and benchmarks. In the testing addon of CUDA builds
// only (trt_rerank_testing.node, CMake option TRT_RERANK_TESTING), never in trt_rerank.node. Each call allocates
// its own device memory; the request path never does.
//   topK(scores: Float32Array, k) -> Promise<{ indices: Int32Array, scores: Float32Array }>
//   benchTopK(scores: Float32Array, k, iterations) -> Promise<Float64Array>   microseconds per call (CUDA events)
//   benchTestBackend(ids, typeIds, offsets, {layout, numLabels, spinPerToken}, iterations) -> Promise<number>
//       microseconds per batch of the test backend alone, inputs already on the device
Napi::Object gpuTestingExports(Napi::Env env);

}  // namespace trt_rerank
