// The CPU backend: the numeric reference for every other backend, and the fallback where no GPU is found.
// fp32 throughout, every model of native/models/ exactly as transformers defines it.
#pragma once

#include <memory>

#include "backends/backend.h"
#include "common/model_spec.h"

namespace trt_rerank {

// Reads and checks every tensor the model needs from spec.weightFiles (cpu_weights.h), converts them to fp32 (the
// files are unmapped before this returns) and starts a pool of numThreads threads, the caller of forward()
// included (numThreads <= 0: std::thread::hardware_concurrency()).
// Throws std::runtime_error naming the tensor or setting that is missing, misshapen or out of its file.
//
// forward() calls on one backend are serialised; it works on batches of any size: across sequences
// when there are at least as many sequences as threads, otherwise inside each sequence's products.
std::unique_ptr<Backend> createCpuBackend(const ModelSpec& spec, int numThreads);

}  // namespace trt_rerank
