// The CUDA backend: every model of native/models/ straight from safetensors, with our kernels and cuBLASLt,
// padding-free (packed tokens, cumulative sequence offsets). Plugs into the GPU pipeline as a packed backend.
#pragma once

#include <memory>
#include <string>

#include "backends/device_backend.h"
#include "common/model_spec.h"

namespace trt_rerank {

struct CudaBackendOptions {
  int device = 0;
  bool bf16 = false;       // storage type of weights and activations (fp16 by default); arithmetic is fp32
  bool cudaGraphs = true;  // replay a CUDA graph per padded shape for small batches (cuda_backend.cc)
};

// Reads the weights from spec.weightFiles onto the device, converted to the storage type (cuda_weights.h). Throws NativeError
// for what it cannot run (head size, hidden size) and when cuBLASLt is missing.
std::unique_ptr<DeviceBackend> makeCudaBackend(const ModelSpec& spec, const CudaBackendOptions& options);

}  // namespace trt_rerank
