#pragma once

#include <napi.h>

namespace trt_rerank {

// addon.engineIo (every build; TensorRT itself is not needed): the TensorRT backend's I/O checks and shape
// plans (backends/tensorrt/engine_io.h), for tests.
//   plan(tensors: TensorDesc[]) -> EngineIoPlan           throws ERR_INVALID_ARGUMENT listing what is wrong
//   buckets(plan) -> number[]                             sequence buckets
//   batchShape(plan, count, longest) -> {rows, seqLen}
Napi::Object engineIoExports(Napi::Env env);

}  // namespace trt_rerank
