// Per-environment state (one per main thread or worker_thread that loads the addon).
#pragma once

#include <napi.h>

#include <memory>
#include <vector>

namespace trt_rerank {

struct SessionCore;

struct AddonData {
  Napi::FunctionReference sessionConstructor;
  Napi::FunctionReference requestConstructor;
  // Every session loaded in this environment, so one still open when it ends is closed first (session.cc).
  std::vector<std::weak_ptr<SessionCore>> sessions;
};

}  // namespace trt_rerank
