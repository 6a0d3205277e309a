#pragma once

#include <napi.h>

#include "common/model_spec.h"

namespace trt_rerank {

// The plain object built by lib/model/plan.ts ({config, weightFiles, tensors, modelOptions?}) -> ModelSpec, on the JS thread.
// Throws coded JS errors: the model's own (ERR_MODEL_INVALID / ERR_MODEL_UNSUPPORTED naming a config.json field),
// or ERR_INVALID_ARGUMENT naming a malformed field of the object, which only a bug on the JS side can cause.
ModelSpec modelSpecFromJs(const Napi::Object& spec);

}  // namespace trt_rerank
