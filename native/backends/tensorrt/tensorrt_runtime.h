// Internal to the TensorRT backend: libnvinfer / libnvonnxparser loaded at run time, the logger, owning
// pointers. Includes the TensorRT headers; only tensorrt_*.cc include this file.
#pragma once

#include <NvInfer.h>
#include <NvInferRuntime.h>
#include <NvInferVersion.h>

#include <memory>
#include <mutex>
#include <string>

#include "common/dynamic_library.h"

namespace trt_rerank::tensorrt {

// "10.16.0": the headers this build was compiled against.
inline std::string compiledVersion() {
  return std::to_string(NV_TENSORRT_MAJOR) + "." + std::to_string(NV_TENSORRT_MINOR) + "." + std::to_string(NV_TENSORRT_PATCH);
}

// Keeps TensorRT's last error, for the exceptions that follow a failed call (TensorRT returns null or false
// and reports the reason only through the logger). Warnings go to stderr when TRT_RERANK_VERBOSE is set.
class Logger : public nvinfer1::ILogger {
 public:
  void log(Severity severity, nvinfer1::AsciiChar const* message) noexcept override;
  // The last error since the previous call, or `fallback`.
  std::string lastError(const std::string& fallback);
  // Info messages go here too while set (engine builds report progress through it).
  void setInfoSink(void (*sink)(void* user, const char* message), void* user);

 private:
  std::mutex mutex_;
  std::string lastError_;
  void (*sink_)(void*, const char*) = nullptr;
  void* sinkUser_ = nullptr;
};

Logger& logger();

// libnvinfer.so.<this build's major>, opened once for the life of the process (TensorRT objects must never
// outlive it, and unloading it is not supported). Throws NativeError(ERR_BACKEND) explaining what is missing.
struct Library {
  DynamicLibrary nvinfer;
  void* (*createInferRuntime)(void* logger, int32_t version) = nullptr;
  void* (*createInferBuilder)(void* logger, int32_t version) = nullptr;
  int32_t (*getInferLibVersion)() = nullptr;
  std::string version;
};
const Library& library();

// libnvonnxparser.so.<major>, for engine builds only.
struct OnnxParserLibrary {
  DynamicLibrary handle;
  void* (*createParser)(void* network, void* logger, int version) = nullptr;
};
const OnnxParserLibrary& onnxParserLibrary();

// TensorRT 10 and 11 objects are released with delete.
template <typename T>
using Owned = std::unique_ptr<T>;

}  // namespace trt_rerank::tensorrt
