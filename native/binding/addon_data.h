// Per-environment state (one per main thread or worker_thread that loads the addon).
#pragma once

#include <napi.h>

namespace trt_rerank {

struct AddonData {
  Napi::FunctionReference sessionConstructor;
  Napi::FunctionReference requestConstructor;
};

}  // namespace trt_rerank
