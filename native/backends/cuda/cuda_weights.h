// The CUDA backend's weight loading: every param a model declares, from its safetensors file (one file, or the
// shards of an index: each mapped once) into one device arena, converted to the storage type on the device.
#pragma once

#include <vector>

#include "backends/cuda/cuda_ops.h"
#include "common/cuda_resources.h"
#include "common/model_spec.h"

namespace trt_rerank::cuda {

struct Weights {
  DeviceBuffer arena;         // every param, each 256-byte aligned: its weight parts back to back, then its biases
  std::vector<Param> params;  // by ParamId, pointing into arena
};

// Every param of spec.model on the current device, in `type`. Every tensor is checked (checkedTensor,
// checkPickedRows) before anything is allocated: throws NativeError (ERR_MODEL_INVALID) naming the tensor, or
// std::runtime_error naming a file that cannot be mapped. No second host copy: bytes go from the mapping to a
// device staging buffer (the size of the largest tensor read) and are converted from there; a param with picked
// rows copies only those rows, in its order. The files are unmapped when this returns.
Weights loadWeights(const ModelSpec& spec, kernels::StorageType type);

}  // namespace trt_rerank::cuda
