// trt_rerank.node: init and the export list only. Each export lives in binding/. Compiled once per addon: with
// TRT_RERANK_TESTING (trt_rerank_testing.node, CMakeLists.txt) the list adds `testing`, the kernel hooks.
#include <napi.h>

#include "binding/addon_data.h"
#include "binding/build_engine.h"
#include "binding/config_from_js.h"
#include "binding/engine_io_binding.h"
#include "binding/session.h"
#include "binding/system_info.h"
#if defined(TRT_RERANK_TESTING) && defined(TRT_RERANK_WITH_CUDA)
#include "binding/gpu_testing.h"
#endif

namespace trt_rerank {

Napi::Object init(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData();
  data->sessionConstructor = Napi::Persistent(Session::define(env));
  data->requestConstructor = Napi::Persistent(Request::define(env));
  env.SetInstanceData(data);  // deleted by Node when the environment ends
  env.AddCleanupHook([env] { closeSessionsAtExit(env); });

  exports.Set("loadSession", Napi::Function::New<loadSession>(env, "loadSession"));
  exports.Set("describeModel", Napi::Function::New<describeModel>(env, "describeModel"));
  exports.Set("systemInfo", Napi::Function::New<systemInfo>(env, "systemInfo"));
  exports.Set("backendStatus", Napi::Function::New<backendStatus>(env, "backendStatus"));
  exports.Set("engineIo", engineIoExports(env));
  exports.Set("buildEngine", Napi::Function::New<buildEngine>(env, "buildEngine"));
#if defined(TRT_RERANK_TESTING) && defined(TRT_RERANK_WITH_CUDA)
  exports.Set("testing", gpuTestingExports(env));
#endif
  return exports;
}

}  // namespace trt_rerank

static Napi::Object initAddon(Napi::Env env, Napi::Object exports) { return trt_rerank::init(env, exports); }

NODE_API_MODULE(trt_rerank, initAddon)
