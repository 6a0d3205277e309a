#include "binding/system_info.h"

#include <string>
#include <thread>

#include "backends/registry.h"
#include "binding/js_values.h"
#include "common/dynamic_library.h"
#include "common/errors.h"
#ifdef TRT_RERANK_WITH_TENSORRT
#include "backends/tensorrt/tensorrt_backend.h"
#endif

#ifdef TRT_RERANK_WITH_CUDA
#include <cuda_runtime_api.h>

#include "backends/cuda/cublaslt.h"
#include "backends/cuda/linear_gemm.h"
#endif

namespace trt_rerank {
namespace {

#ifdef TRT_RERANK_WITH_CUDA
// Asks the CUDA runtime (linked statically; it loads libcuda.so.1 itself) what the machine has.
// Without a driver or GPU this reports the runtime's error text instead of failing.
Napi::Object probeCuda(Napi::Env env) {
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("built", true);
  cuda.Set("note", TRT_RERANK_CUDA_NOTE);
  int runtimeVersion = 0;
  if (cudaRuntimeGetVersion(&runtimeVersion) == cudaSuccess) cuda.Set("runtimeVersion", runtimeVersion);
  int driverVersion = 0;
  cudaDriverGetVersion(&driverVersion);  // 0 when no driver is installed
  cuda.Set("driverVersion", driverVersion);
  Napi::Array devices = Napi::Array::New(env);
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cuda.Set("error", std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status));
    count = 0;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    Napi::Object device = Napi::Object::New(env);
    device.Set("index", i);
    device.Set("name", prop.name);
    device.Set("computeCapability", std::to_string(prop.major) + "." + std::to_string(prop.minor));
    device.Set("totalMemoryBytes", static_cast<double>(prop.totalGlobalMem));
    device.Set("multiprocessors", prop.multiProcessorCount);
    devices.Set(devices.Length(), device);
  }
  cuda.Set("devices", devices);
  return cuda;
}
#else
Napi::Object probeCuda(Napi::Env env) {
  Napi::Object cuda = Napi::Object::New(env);
  cuda.Set("built", false);
  cuda.Set("note", TRT_RERANK_CUDA_NOTE);
  cuda.Set("driverVersion", 0);
  cuda.Set("devices", Napi::Array::New(env));
  return cuda;
}
#endif

// The NVIDIA driver's version string (e.g. "580.95.05"), read through NVML when the driver ships it.
Napi::Value driverVersionString(Napi::Env env) {
  DynamicLibrary nvml = DynamicLibrary::openFirst("libnvidia-ml.so.1");
  using InitFn = int (*)();
  using VersionFn = int (*)(char*, unsigned int);
  auto init = nvml.symbol<InitFn>("nvmlInit_v2");
  auto version = nvml.symbol<VersionFn>("nvmlSystemGetDriverVersion");
  auto shutdown = nvml.symbol<InitFn>("nvmlShutdown");
  if (!init || !version || init() != 0) return env.Null();
  char buffer[96] = {0};
  const bool ok = version(buffer, sizeof(buffer)) == 0;
  if (shutdown) shutdown();
  return ok ? Napi::String::New(env, buffer) : env.Null();
}

// Whether TensorRT's runtime library can be loaded here, and its version (getInferLibVersion():
// major * 10000 + minor * 100 + patch for TensorRT 10 and later). A build with the TensorRT backend loads
// exactly the major its headers came from; a build without it reports whichever libnvinfer is present.
Napi::Object probeTensorRt(Napi::Env env) {
  Napi::Object trt = Napi::Object::New(env);
#ifdef TRT_RERANK_WITH_TENSORRT
  const TensorRtRuntimeStatus status = tensorRtRuntimeStatus();
  trt.Set("compiled", status.compiledVersion);
  trt.Set("found", status.found);
  if (!status.found) {
    trt.Set("error", status.error);
    return trt;
  }
  trt.Set("library", status.library);
  trt.Set("version", status.version);
  return trt;
#else
  trt.Set("compiled", env.Null());
  DynamicLibrary nvinfer = DynamicLibrary::openFirst("libnvinfer.so.11", "libnvinfer.so.10");
  trt.Set("found", nvinfer.loaded());
  if (!nvinfer.loaded()) {
    trt.Set("error", nvinfer.error());
    return trt;
  }
  trt.Set("library", nvinfer.name());
  using VersionFn = int32_t (*)();
  if (auto version = nvinfer.symbol<VersionFn>("getInferLibVersion")) {
    const int32_t v = version();
    trt.Set("version", std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100));
  }
  return trt;
#endif
}

}  // namespace

Napi::Value systemInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  out.Set("napiVersion", NAPI_VERSION);
  out.Set("hardwareThreads", static_cast<double>(std::thread::hardware_concurrency()));
  Napi::Object cuda = probeCuda(env);
  cuda.Set("driver", driverVersionString(env));
  out.Set("cuda", cuda);
  out.Set("tensorrt", probeTensorRt(env));
  // cuBLASLt, which the cuda backend loads at run time.
  Napi::Object cublasLt = Napi::Object::New(env);
#ifdef TRT_RERANK_WITH_CUDA
  const std::string why = cublaslt::unavailableReason();
  cublasLt.Set("found", why.empty());
  if (why.empty()) {
    cublasLt.Set("library", cublaslt::api().library);
  } else {
    cublasLt.Set("error", why);
  }
  try {
    out.Set("gemm", cuda::gemmChoiceName(cuda::gemmChoice()));
  } catch (const NativeError& e) {
    out.Set("gemmError", e.what());
  }
#else
  cublasLt.Set("found", false);
  cublasLt.Set("error", "this build has no CUDA parts");
#endif
  out.Set("cublasLt", cublasLt);
  Napi::Array backends = Napi::Array::New(env);
  // In the order earlier releases listed them (cpu first), the reverse of the order 'auto' tries them.
  const auto& entries = backendRegistry();
  for (auto e = entries.rbegin(); e != entries.rend(); ++e) {
    if (e->inBuild && e->selectable) backends.Set(backends.Length(), e->name);
  }
  out.Set("backends", backends);
  return out;
}

Napi::Value backendStatus(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BackendOptions options;
  options.device = static_cast<int>(js::integer(env, info[0], "backendStatus(device)", 0, 1024));
  Napi::Array out = Napi::Array::New(env);
  for (const BackendEntry& e : backendRegistry()) {
    if (!e.selectable) continue;
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", e.name);
    o.Set("inBuild", e.inBuild);
    o.Set("unavailable", e.unavailable(options));
    out.Set(out.Length(), o);
  }
  return out;
}

}  // namespace trt_rerank
