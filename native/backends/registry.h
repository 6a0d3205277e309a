// Every backend by the name Reranker.load's `backend` option uses, in the order `'auto'` tries them: whether
// this build has it, why it cannot run here (no device, a missing library), and how to make its engine. Session
// creation (binding/session.cc), systemInfo().backends and `'auto'` (lib/reranker.ts, through backendStatus) all
// read this one table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/model_spec.h"
#include "pipeline/executor.h"

namespace trt_rerank {

// Load options as plain values (read on the JS thread; binding/session.cc).
struct BackendOptions {
  int threads = 0;
  int maxBatchSize = 0;        // pairs a batch; 0: auto
  int64_t maxBatchTokens = 0;  // tokens a batch; 0: auto
  int64_t maxQueuedPairs = 1 << 18;
  int device = 0;            // the device one executor runs on
  std::vector<int> devices;  // the load's `device`: its devices (several: one model copy each); {-1}: every device
  int concurrency = 2;       // GPU execution slots (per device)
  int maxLength = 512;
  bool clampMaxLength = false;
  bool warmup = true;
  bool sharePrefixes = true;  // causal models: a prefix the pairs of a call share runs once per batch (scheduler contexts)
  bool bf16 = false;          // cuda: storage type
  bool cudaGraphs = true;     // tensorrt and cuda
  std::string engine;         // tensorrt: the engine file
  // gpu-test only (a backend of the testing addon, trt_rerank_testing.node)
  bool padded = false;
  int numLabels = 1;
  int spinPerToken = 0;
  std::string fault;
  int faultAtBatch = 1;
  int cpuReplicas = 1;  // testing addon: cpu copies behind one multi-device executor (its dispatch, without GPUs)
};

struct BackendEntry {
  const char* name;
  bool inBuild;     // compiled into this addon
  bool selectable;  // 'auto' may choose it (the test backend may not)
  bool needsModel;  // runs a ModelSpec (cpu, cuda) rather than its own file (tensorrt) or nothing (gpu-test)
  // Why it cannot run here with these options ("" when it can): what the build lacks, the device, a library.
  std::string (*unavailable)(const BackendOptions& options);
  std::unique_ptr<BatchExecutor> (*create)(const ModelSpec* spec, const BackendOptions& options);
};

const std::vector<BackendEntry>& backendRegistry();

// The executor of backend `name` (the scheduler, pipeline/scheduler.h, runs its batches); throws NativeError: ERR_BACKEND_UNAVAILABLE (not in this build, or cannot run
// here: the reason), ERR_INVALID_ARGUMENT (an unknown name, or no model for a backend that runs one).
std::unique_ptr<BatchExecutor> createExecutor(const std::string& name, const ModelSpec* spec, const BackendOptions& options);

}  // namespace trt_rerank
