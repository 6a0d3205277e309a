#pragma once

#include <napi.h>

namespace trt_rerank {

// systemInfo() -> { addon, cuda: {built, note, runtimeVersion, driverVersion, devices[], error}, backends }
Napi::Value systemInfo(const Napi::CallbackInfo& info);

}  // namespace trt_rerank
