// The gpu-test backend (test_backend.cu): the pipeline driven by a deterministic score from the token ids, no
// weights. It is in the testing addon only (trt_rerank_testing.node, CMake option TRT_RERANK_TESTING), never in
// trt_rerank.node: its users are the GPU test lane, bench/pipeline.mjs and binding/gpu_testing.cc.
#pragma once

#include <memory>

#include "backends/device_backend.h"

namespace trt_rerank {

// Failures the test backend can inject, to test how the pipeline reports them.
enum class TestFault {
  None,
  BadLaunch,       // a launch the runtime refuses (cudaErrorInvalidConfiguration): the context survives
  IllegalAddress,  // a kernel writes outside any allocation: the context is lost for the whole process
};

struct TestBackendOptions {
  InputLayout layout = InputLayout::Packed;
  int numLabels = 1;
  int spinPerToken = 0;  // extra arithmetic per token, so a benchmark can give the backend real cost
  TestFault fault = TestFault::None;
  int faultAtBatch = 1;  // the fault happens on this batch (1-based, counted over the backend's life)
};

// A backend for testing the pipeline: a deterministic score from the token ids (test_score.cuh).
std::unique_ptr<DeviceBackend> makeTestBackend(const TestBackendOptions& options);

}  // namespace trt_rerank
