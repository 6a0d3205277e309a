// The CPU backend's weight loading: every param a model declares, read from its safetensors file (one file, or
// the shards of an index: each mapped once) and widened to fp32.
#pragma once

#include <vector>

#include "backends/cpu/cpu_ops.h"
#include "common/model_spec.h"

namespace trt_rerank::cpu {

// Every param of spec.model, by ParamId, in fp32: a Linear packed per part (PackedLinear), a Table or Vector as
// values. A param with picked rows reads only those rows of its tensor, in its order. Each tensor is checked
// (checkedTensor, checkPickedRows) before it is read: throws NativeError (ERR_MODEL_INVALID) naming the tensor,
// or std::runtime_error naming a file that cannot be mapped. The files are unmapped when this returns.
std::vector<Param> loadParams(const ModelSpec& spec);

}  // namespace trt_rerank::cpu
