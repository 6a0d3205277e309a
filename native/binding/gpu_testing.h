#pragma once

#include <napi.h>

namespace trt_rerank {

// addon.testing (CUDA builds only): the GPU kernels alone, for the GPU test lane and benchmarks. Each call
// allocates its own device memory; the request path never does.
//   topK(scores: Float32Array, k) -> Promise<{ indices: Int32Array, scores: Float32Array }>
//   benchTopK(scores: Float32Array, k, iterations) -> Promise<Float64Array>   microseconds per call (CUDA events)
//   benchTestBackend(ids, typeIds, offsets, {layout, numLabels, spinPerToken}, iterations) -> Promise<number>
//       microseconds per batch of the test backend alone, inputs already on the device
Napi::Object gpuTestingExports(Napi::Env env);

}  // namespace trt_rerank
