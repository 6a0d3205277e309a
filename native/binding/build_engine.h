#pragma once

#include <napi.h>

namespace trt_rerank {

// buildEngine({onnx, out, maxBatch, maxSeq, optSeq, precision, workspaceBytes}) -> Promise<{bytes}>
// (builds with the TensorRT backend only; elsewhere it rejects, saying what the build lacks). Progress lines
// go to stderr.
Napi::Value buildEngine(const Napi::CallbackInfo& info);

}  // namespace trt_rerank
