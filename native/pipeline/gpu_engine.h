// The GPU pipeline, the same for every DeviceBackend:
//
//   submit(batch i):  host arrays -> pinned staging[i % 2] -> (copy stream) device inputs[i % 2]
//                     -> (compute stream, after the copy's event) [packed -> padded] -> backend -> logits
//                     -> finalizeScores: activation, scattered into the request's device score buffer
//   finish(k):        top-k on the device; only k (index, score) pairs, or all scores for k = 0, cross back.
//
// submit() returns once its batch is enqueued, so the caller prepares batch i+1 (and the copy stream uploads
// it) while batch i computes; staging[i % 2] is reused only after batch i-2's compute has read it.
// Requests run in `concurrency` execution slots, each with its own streams and buffers, all allocated at
// load (the score buffer and top-k workspace grow to the largest request seen, and are then reused).
#pragma once

#include <memory>

#include "backends/device_backend.h"
#include "pipeline/engine.h"

namespace trt_rerank {

struct GpuEngineOptions {
  int device = 0;
  int concurrency = 2;
  int maxBatchSize = 0;  // 0: from free device memory, capped at 512
  int maxLength = 512;   // longest pair, tokens
  // maxLength is the model's default, not the caller's: lower it to what the backend takes instead of failing.
  bool clampMaxLength = false;
};

std::unique_ptr<Engine> makeGpuEngine(std::unique_ptr<DeviceBackend> backend, const GpuEngineOptions& options);

}  // namespace trt_rerank
