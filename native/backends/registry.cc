// Compiled once per addon: the gpu-test entry is in the testing addon's table only (TRT_RERANK_TESTING,
// trt_rerank_testing.node); trt_rerank.node has no entry for it and says where it is.
#include "backends/registry.h"

#include "backends/cpu/cpu_backend.h"
#include "common/errors.h"
#include "pipeline/host_executor.h"
#include "pipeline/multi_device_executor.h"
#ifdef TRT_RERANK_WITH_CUDA
#include <cuda_runtime_api.h>

#include "backends/cuda/cublaslt.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/linear_gemm.h"
#include "backends/device_backend.h"
#include "pipeline/gpu_executor.h"
#endif
#if defined(TRT_RERANK_TESTING) && defined(TRT_RERANK_WITH_CUDA)
#include "backends/testing/test_backend.h"
#endif
#ifdef TRT_RERANK_WITH_TENSORRT
#include "backends/tensorrt/tensorrt_backend.h"
#endif

namespace trt_rerank {
namespace {

// What every executor takes from the load options.
ExecutorOptions executorOptions(const BackendOptions& o) {
  ExecutorOptions e;
  e.maxBatchPairs = o.maxBatchSize;
  e.maxBatchTokens = o.maxBatchTokens;
  e.maxCallPairs = o.maxQueuedPairs;
  e.arenaPairs = 2 * o.maxQueuedPairs;  // room for any admissible call however the ranges lie (score_arena.h)
  e.maxLength = o.maxLength;
  e.clampMaxLength = o.clampMaxLength;
  e.slots = o.concurrency;
  e.warmup = o.warmup;
  e.sharePrefixes = o.sharePrefixes;
  e.device = o.device;
  return e;
}

std::unique_ptr<BatchExecutor> createCpu(const ModelSpec* spec, const BackendOptions& o) {
  return makeHostExecutor(createCpuBackend(*spec, o.threads), executorOptions(o));
}

#ifdef TRT_RERANK_WITH_CUDA
// Why CUDA device `device` cannot be used ("" when it can).
std::string deviceUnavailable(int device) {
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    return std::string("no CUDA device (") + cudaGetErrorName(status) + ": " + cudaGetErrorString(status) + ")";
  }
  if (count == 0) return "no CUDA device";
  if (device < 0 || device >= count) return "CUDA device " + std::to_string(device) + " does not exist (" + std::to_string(count) + " found)";
  return "";
}

// The CUDA backend needs the device and a GEMM: ours on sm_80 and newer (the driver alone), else cuBLASLt.
std::string cudaUnavailable(const BackendOptions& o) {
  const std::string device = deviceUnavailable(o.device);
  if (!device.empty()) return device;
  int major = 0, minor = 0;
  if (cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, o.device) != cudaSuccess ||
      cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, o.device) != cudaSuccess) {
    cudaGetLastError();
    return "cannot read CUDA device " + std::to_string(o.device) + "'s compute capability";
  }
  if (major >= 8) return "";
  const std::string arch = "CUDA device " + std::to_string(o.device) + " is sm_" + std::to_string(major) + std::to_string(minor) +
                           ", older than our GEMM kernels' sm_80";
  if (cuda::gemmChoice() == cuda::GemmChoice::Ours) return arch + ", and TRT_RERANK_GEMM=ours leaves cuBLASLt out";
  const std::string why = cublaslt::unavailableReason();
  return why.empty() ? "" : arch + ", and " + why;
}

std::unique_ptr<BatchExecutor> createCuda(const ModelSpec* spec, const BackendOptions& o) {
  CudaBackendOptions cuda;
  cuda.device = o.device;
  cuda.bf16 = o.bf16;
  cuda.cudaGraphs = o.cudaGraphs;
  return makeGpuExecutor(makeCudaBackend(*spec, cuda), executorOptions(o));
}
#endif

#if defined(TRT_RERANK_TESTING) && defined(TRT_RERANK_WITH_CUDA)
// The test backend needs a device, not cuBLASLt.
std::string gpuTestUnavailable(const BackendOptions& o) { return deviceUnavailable(o.device); }

std::unique_ptr<BatchExecutor> createGpuTest(const ModelSpec*, const BackendOptions& o) {
  TestBackendOptions test;
  test.layout = o.padded ? InputLayout::Padded : InputLayout::Packed;
  test.numLabels = o.numLabels;
  test.spinPerToken = o.spinPerToken;
  test.fault = o.fault == "bad-launch" ? TestFault::BadLaunch : o.fault == "illegal-address" ? TestFault::IllegalAddress
                                                                                             : TestFault::None;
  test.faultAtBatch = o.faultAtBatch;
  return makeGpuExecutor(makeTestBackend(test), executorOptions(o));
}
#endif

#ifndef TRT_RERANK_WITH_CUDA
std::string cudaUnavailable(const BackendOptions&) {
  // The build's own note says why (the toolkit was not found, or a CPU-only build such as @trt-rerank/linux-x64).
  return std::string("this build of trt-rerank has no CUDA parts (") + TRT_RERANK_CUDA_NOTE +
         "): install the prebuilt package for your driver, or rebuild where the CUDA toolkit is (npm rebuild trt-rerank --build-from-source)";
}
#endif

#ifdef TRT_RERANK_WITH_TENSORRT
std::string tensorRtUnavailable(const BackendOptions& o) {
  const TensorRtRuntimeStatus status = tensorRtRuntimeStatus();
  if (!status.found) return status.error.empty() ? "libnvinfer did not load" : status.error;
  return deviceUnavailable(o.device);
}

std::unique_ptr<BatchExecutor> createTensorRt(const ModelSpec*, const BackendOptions& o) {
  TensorRtOptions trt;
  trt.enginePath = o.engine;
  trt.device = o.device;
  trt.cudaGraphs = o.cudaGraphs;
  return makeGpuExecutor(makeTensorRtBackend(trt), executorOptions(o));
}
#else
std::string tensorRtUnavailable(const BackendOptions&) {
  return "this build of trt-rerank has no TensorRT backend (it was compiled without TensorRT headers): rebuild with "
         "TENSORRT_INCLUDE_DIR set to a TensorRT 10 or 11 include folder (`TENSORRT_INCLUDE_DIR=... npm rebuild trt-rerank`, docs/tensorrt.md)";
}
#endif

std::string alwaysAvailable(const BackendOptions&) { return ""; }

}  // namespace

const std::vector<BackendEntry>& backendRegistry() {
  static const std::vector<BackendEntry> entries = {
#ifdef TRT_RERANK_WITH_TENSORRT
    {"tensorrt", true, true, false, tensorRtUnavailable, createTensorRt},
#else
    {"tensorrt", false, true, false, tensorRtUnavailable, nullptr},
#endif
#ifdef TRT_RERANK_WITH_CUDA
    {"cuda", true, true, true, cudaUnavailable, createCuda},
#else
    {"cuda", false, true, true, cudaUnavailable, nullptr},
#endif
    {"cpu", true, true, true, alwaysAvailable, createCpu},
#if defined(TRT_RERANK_TESTING) && defined(TRT_RERANK_WITH_CUDA)
    {"gpu-test", true, false, false, gpuTestUnavailable, createGpuTest},
#elif defined(TRT_RERANK_TESTING)
    {"gpu-test", false, false, false, cudaUnavailable, nullptr},
#endif
  };
  return entries;
}

namespace {

// The load's devices, 'all' ({-1}) made concrete (every CUDA device; none in a build without CUDA).
std::vector<int> devicesOf(const BackendOptions& o) {
  if (o.devices.empty()) return {o.device};
  if (o.devices != std::vector<int>{-1}) return o.devices;
  int count = 0;
#ifdef TRT_RERANK_WITH_CUDA
  if (cudaGetDeviceCount(&count) != cudaSuccess) cudaGetLastError(), count = 0;
#endif
  std::vector<int> all;
  for (int d = 0; d < count; ++d) all.push_back(d);
  if (all.empty()) all.push_back(0);  // the backend's own check then says there is no device
  return all;
}

}  // namespace

std::unique_ptr<BatchExecutor> createExecutor(const std::string& name, const ModelSpec* spec, const BackendOptions& options) {
  for (const BackendEntry& e : backendRegistry()) {
    if (name != e.name) continue;
    if (!e.inBuild) throw NativeError(kErrBackendUnavailable, "backend '" + name + "' is not in this build: " + e.unavailable(options));
    if (e.needsModel && !spec) throw NativeError(kErrInvalidArgument, "the " + name + " backend needs a model spec");
    std::vector<int> devices = devicesOf(options);
    if (name == "cpu") {
      if (options.devices.size() > 1) {
        throw NativeError(kErrInvalidArgument, "a device list is for the GPU backends (cuda, tensorrt): the cpu backend runs on the host; load with one device, or backend 'cuda'");
      }
#ifdef TRT_RERANK_TESTING
      devices.assign(static_cast<size_t>(std::max(1, options.cpuReplicas)), 0);
#else
      if (options.cpuReplicas > 1) throw NativeError(kErrInvalidArgument, "cpuReplicas is an option of the testing addon (trt_rerank_testing.node) only");
      devices = {0};
#endif
    }
    if (devices.size() > 255) throw NativeError(kErrInvalidArgument, "at most 255 devices behind one Reranker");
    const auto onDevice = [&](int d) {
      BackendOptions one = options;
      one.device = d;
      one.devices = {d};
      return one;
    };
    for (int d : devices) {  // every device checked before any copy loads
      if (const std::string why = e.unavailable(onDevice(d)); !why.empty()) {
        throw NativeError(kErrBackendUnavailable, "the " + name + " backend cannot run here: " + why);
      }
    }
    std::vector<std::unique_ptr<BatchExecutor>> parts;
    for (int d : devices) parts.push_back(e.create(spec, onDevice(d)));
    if (parts.size() == 1) return std::move(parts[0]);
    return makeMultiDeviceExecutor(std::move(parts), devices);
  }
#ifndef TRT_RERANK_TESTING
  if (name == "gpu-test") {
    throw NativeError(kErrBackendUnavailable,
                      "backend 'gpu-test' is not in this addon: it is in the testing addon only (build/Release/trt_rerank_testing.node, "
                      "built by `TRT_RERANK_TESTING=1 npm run build` and loaded where TRT_RERANK_TESTING=1 is set)");
  }
#endif
  throw NativeError(kErrInvalidArgument, "backend '" + name + "' is not in this build");
}

}  // namespace trt_rerank
