// The CPU path of the scheduler: a CPU Backend's logits to scores in a host arena, host top-k.
#pragma once

#include <memory>

#include "backends/backend.h"
#include "pipeline/executor.h"

namespace trt_rerank {

// Defaults ('auto'): 256 pairs, 16 384 tokens a batch.
std::unique_ptr<BatchExecutor> makeHostExecutor(std::unique_ptr<Backend> backend, const ExecutorOptions& options);

}  // namespace trt_rerank
