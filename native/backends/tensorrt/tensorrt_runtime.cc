#include "backends/tensorrt/tensorrt_runtime.h"

#include <NvOnnxParser.h>

#include <cstdio>
#include <cstdlib>

#include "backends/tensorrt/tensorrt_backend.h"
#include "common/errors.h"

namespace trt_rerank {
namespace tensorrt {
namespace {

std::string soname(const char* base, int major) { return std::string(base) + ".so." + std::to_string(major); }

std::string versionString(int32_t v) {
  return std::to_string(v / 10000) + "." + std::to_string((v / 100) % 100) + "." + std::to_string(v % 100);
}

// A human explanation of why libnvinfer of this build's major did not load, naming the other major if present.
std::string missingLibraryMessage(const std::string& dlerrorText) {
  const int major = NV_TENSORRT_MAJOR;
  const int other = major == 10 ? 11 : 10;
  std::string message = "TensorRT " + std::to_string(major) + " runtime not found (" + dlerrorText +
                        "). This build of trt-rerank was compiled against TensorRT " + compiledVersion() +
                        " headers and loads " + soname("libnvinfer", major) + " at run time";
  DynamicLibrary otherLib = DynamicLibrary::openFirst(soname("libnvinfer", other).c_str());
  if (otherLib.loaded()) {
    message += "; " + soname("libnvinfer", other) + " is present: rebuild trt-rerank with TENSORRT_INCLUDE_DIR set to TensorRT " +
               std::to_string(other) + " headers, or install TensorRT " + std::to_string(major);
  } else {
    message += ": install TensorRT " + std::to_string(major) +
               " (NVIDIA's tar or deb packages, or the tensorrt-cu12 / tensorrt-cu13 pip wheels) and put the folder holding " +
               soname("libnvinfer", major) + " on LD_LIBRARY_PATH";
  }
  return message;
}

}  // namespace

void Logger::log(Severity severity, nvinfer1::AsciiChar const* message) noexcept {
  if (!message) return;
  std::lock_guard<std::mutex> lock(mutex_);
  if (severity <= Severity::kERROR) lastError_ = message;
  if (severity <= Severity::kINFO && sink_) sink_(sinkUser_, message);
  if (severity <= Severity::kWARNING && std::getenv("TRT_RERANK_VERBOSE")) std::fprintf(stderr, "[trt-rerank tensorrt] %s\n", message);
}

std::string Logger::lastError(const std::string& fallback) {
  std::lock_guard<std::mutex> lock(mutex_);
  std::string e = lastError_.empty() ? fallback : lastError_;
  lastError_.clear();
  return e;
}

void Logger::setInfoSink(void (*sink)(void*, const char*), void* user) {
  std::lock_guard<std::mutex> lock(mutex_);
  sink_ = sink;
  sinkUser_ = user;
}

Logger& logger() {
  static Logger* instance = new Logger();  // never destroyed: TensorRT may log until the process ends
  return *instance;
}

const Library& library() {
  static std::mutex mutex;
  static Library* loaded = nullptr;
  static std::string failure;
  static const char* failureCode = kErrBackend;
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded) return *loaded;
  if (!failure.empty()) throw NativeError(failureCode, failure);
  auto lib = std::make_unique<Library>();
  lib->nvinfer = DynamicLibrary::openFirst(soname("libnvinfer", NV_TENSORRT_MAJOR).c_str());
  if (!lib->nvinfer.loaded()) {
    failure = missingLibraryMessage(lib->nvinfer.error());
    failureCode = kErrBackendUnavailable;
    throw NativeError(failureCode, failure);
  }
  lib->createInferRuntime = lib->nvinfer.symbol<void* (*)(void*, int32_t)>("createInferRuntime_INTERNAL");
  lib->createInferBuilder = lib->nvinfer.symbol<void* (*)(void*, int32_t)>("createInferBuilder_INTERNAL");
  lib->getInferLibVersion = lib->nvinfer.symbol<int32_t (*)()>("getInferLibVersion");
  if (!lib->createInferRuntime || !lib->getInferLibVersion) {
    failure = lib->nvinfer.name() + " lacks createInferRuntime_INTERNAL or getInferLibVersion: not a TensorRT runtime library";
    throw NativeError(kErrBackend, failure);
  }
  const int32_t v = lib->getInferLibVersion();
  lib->version = versionString(v);
  if (v / 10000 != NV_TENSORRT_MAJOR) {
    failure = lib->nvinfer.name() + " reports TensorRT " + lib->version + ", but this build was compiled against TensorRT " +
              compiledVersion() + " headers: rebuild with TENSORRT_INCLUDE_DIR pointing at TensorRT " + std::to_string(v / 10000) + " headers";
    failureCode = kErrBackendUnavailable;
    throw NativeError(failureCode, failure);
  }
  loaded = lib.release();  // kept for the life of the process
  return *loaded;
}

const OnnxParserLibrary& onnxParserLibrary() {
  static std::mutex mutex;
  static OnnxParserLibrary* loaded = nullptr;
  std::lock_guard<std::mutex> lock(mutex);
  if (loaded) return *loaded;
  auto lib = std::make_unique<OnnxParserLibrary>();
  lib->handle = DynamicLibrary::openFirst(soname("libnvonnxparser", NV_TENSORRT_MAJOR).c_str());
  if (!lib->handle.loaded()) {
    throw NativeError(kErrBackendUnavailable, "TensorRT's ONNX parser not found (" + lib->handle.error() + "): engine builds need " +
                                                  soname("libnvonnxparser", NV_TENSORRT_MAJOR) + " from TensorRT " +
                                                  std::to_string(NV_TENSORRT_MAJOR) + " on LD_LIBRARY_PATH");
  }
  lib->createParser = lib->handle.symbol<void* (*)(void*, void*, int)>("createNvOnnxParser_INTERNAL");
  if (!lib->createParser) throw NativeError(kErrBackend, lib->handle.name() + " lacks createNvOnnxParser_INTERNAL");
  loaded = lib.release();
  return *loaded;
}

}  // namespace tensorrt

TensorRtRuntimeStatus tensorRtRuntimeStatus() {
  TensorRtRuntimeStatus status;
  status.compiledMajor = NV_TENSORRT_MAJOR;
  status.compiledVersion = tensorrt::compiledVersion();
  try {
    const auto& lib = tensorrt::library();
    status.found = true;
    status.library = lib.nvinfer.name();
    status.version = lib.version;
  } catch (const NativeError& e) {
    status.error = e.what();
  }
  return status;
}

}  // namespace trt_rerank
