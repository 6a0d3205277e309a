// The GPU path of the scheduler, the same for every DeviceBackend:
//
//   launch(slot):  the batch in the slot's pinned input -> (the slot's stream) device input -> [packed -> padded]
//                  -> backend -> logits -> raw scores scattered into the device score arena (dest[i])
//   wait(slot):    the slot's event
//   finishCall:    activation in place over the call's arena range, top-k on the device; only k (index, score)
//                  pairs, or every score for k = 0, cross back (on the executor's finish stream)
//
// Every buffer is allocated at load: `slots` execution slots (stream, pinned and device inputs, logits, padded
// inputs for padding backends), each sized by the token budget maxBatchTokens, not by maxBatchPairs x maxLength;
// the arena, the top-k workspace and the pinned results sized by maxQueuedPairs.
#pragma once

#include <memory>

#include "backends/device_backend.h"
#include "pipeline/executor.h"

namespace trt_rerank {

// Defaults ('auto'): 512 pairs (or the backend's cap); tokens from the backend's activation bytes per token and a
// quarter of free device memory over the slots, within [maxLength, 65 536].
std::unique_ptr<BatchExecutor> makeGpuExecutor(std::unique_ptr<DeviceBackend> backend, const ExecutorOptions& options);

}  // namespace trt_rerank
