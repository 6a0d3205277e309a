#pragma once

#include <napi.h>

namespace trt_rerank {

// systemInfo() -> { addon, cuda: {built, note, runtimeVersion, driverVersion, devices[], error}, backends }
Napi::Value systemInfo(const Napi::CallbackInfo& info);

// backendStatus(device) -> [{name, inBuild, unavailable}], the backends 'auto' may choose, in the order it tries
// them (backends/registry.h); unavailable is "" when the backend can run here on that device.
Napi::Value backendStatus(const Napi::CallbackInfo& info);

}  // namespace trt_rerank
