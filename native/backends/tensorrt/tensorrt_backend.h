// The TensorRT backend: runs a serialized cross-encoder engine (model.plan) through the GPU pipeline.
// libnvinfer is loaded at run time (dlopen), never linked, so the addon loads and the other backends work
// where TensorRT is absent. One build serves one TensorRT major version: the one whose headers it was
// compiled against (TENSORRT_INCLUDE_DIR), because the C++ API's layout differs between majors.
//
// No TensorRT type appears here: only tensorrt_*.cc include the TensorRT headers.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "backends/device_backend.h"

namespace trt_rerank {

struct TensorRtOptions {
  std::string enginePath;
  int device = 0;
  bool cudaGraphs = true;  // capture each (rows, seqLen) shape's enqueue once, then replay it
};

std::unique_ptr<DeviceBackend> makeTensorRtBackend(const TensorRtOptions& options);

// Whether libnvinfer of this build's major version loads, and what it is. The message explains a failure.
struct TensorRtRuntimeStatus {
  bool found = false;
  int compiledMajor = 0;
  std::string compiledVersion;  // of the headers, e.g. "10.16.0"
  std::string library;          // the file that loaded
  std::string version;          // getInferLibVersion()
  std::string error;
};
TensorRtRuntimeStatus tensorRtRuntimeStatus();

// trt-rerank build-engine: ONNX -> serialized engine with one optimization profile
// [1 .. maxBatch] x [1 .. maxSeq], optimised at [maxBatch, optSeq].
struct EngineBuildOptions {
  std::string onnxPath;
  std::string outPath;
  int maxBatch = 512;
  int maxSeq = 512;
  int optSeq = 128;
  std::string precision = "fp32";              // fp32 | fp16 | bf16 (TensorRT 10 builder flags; TensorRT 11: see docs)
  size_t workspaceBytes = 0;                   // 0: TensorRT's default (the device's memory)
  bool versionCompatible = false;              // loads with later TensorRT runtimes of the same major (embeds the lean runtime)
  std::string hardwareCompatibility = "none";  // none | ampere+ | same-cc: runs on other GPUs than the builder's
};
// Returns the engine's size in bytes; `log` receives TensorRT's info messages and progress.
size_t buildTensorRtEngine(const EngineBuildOptions& options, const std::function<void(const std::string&)>& log);

}  // namespace trt_rerank
