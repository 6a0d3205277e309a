#pragma once

#include <napi.h>

#include "common/model_spec.h"

namespace trt_rerank {

// The plain object built by lib/model/plan.ts -> ModelSpec (on the JS thread; throws a JS TypeError
// naming the field when the object is malformed, which only a bug on the JS side can cause).
ModelSpec modelSpecFromJs(const Napi::Object& spec);

}  // namespace trt_rerank
