#include "binding/build_engine.h"

#include <cstdio>
#include <cstdlib>

#include "binding/promise_worker.h"
#ifdef TRT_RERANK_WITH_TENSORRT
#include "backends/tensorrt/tensorrt_backend.h"
#endif

namespace trt_rerank {
namespace {

#ifdef TRT_RERANK_WITH_TENSORRT
class BuildEngineWorker : public PromiseWorker {
 public:
  BuildEngineWorker(Napi::Env env, EngineBuildOptions options)
      : PromiseWorker(env, "trt_rerank.buildEngine"), options_(std::move(options)) {}

 protected:
  void work() override {
    const bool verbose = std::getenv("TRT_RERANK_VERBOSE") != nullptr;
    bytes_ = buildTensorRtEngine(options_, [verbose](const std::string& line) {
      // Our own progress lines start lower-case; TensorRT's info messages only when verbose.
      if (verbose || (!line.empty() && std::islower(static_cast<unsigned char>(line[0])))) {
        std::fprintf(stderr, "[trt-rerank build-engine] %s\n", line.c_str());
      }
    });
  }
  Napi::Value result(Napi::Env env) override {
    Napi::Object out = Napi::Object::New(env);
    out.Set("bytes", static_cast<double>(bytes_));
    return out;
  }

 private:
  EngineBuildOptions options_;
  size_t bytes_ = 0;
};
#endif

}  // namespace

Napi::Value buildEngine(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) throwJsError(env, kErrInvalidArgument, "buildEngine(options: object)");
#ifdef TRT_RERANK_WITH_TENSORRT
  Napi::Object o = info[0].As<Napi::Object>();
  auto text = [&](const char* name) { return o.Get(name).IsString() ? o.Get(name).As<Napi::String>().Utf8Value() : std::string(); };
  auto integer = [&](const char* name, int fallback) { return o.Get(name).IsNumber() ? o.Get(name).As<Napi::Number>().Int32Value() : fallback; };
  EngineBuildOptions options;
  options.onnxPath = text("onnx");
  options.outPath = text("out");
  options.maxBatch = integer("maxBatch", 512);
  options.maxSeq = integer("maxSeq", 512);
  options.optSeq = integer("optSeq", 128);
  options.precision = text("precision").empty() ? "fp32" : text("precision");
  options.versionCompatible = o.Get("versionCompatible").ToBoolean();
  if (!text("hardwareCompatibility").empty()) options.hardwareCompatibility = text("hardwareCompatibility");
  options.workspaceBytes = o.Get("workspaceBytes").IsNumber() ? static_cast<size_t>(o.Get("workspaceBytes").As<Napi::Number>().Int64Value()) : 0;
  auto* worker = new BuildEngineWorker(env, std::move(options));
  worker->Queue();
  return worker->promise();
#else
  auto deferred = Napi::Promise::Deferred::New(env);
  Napi::Error error = Napi::Error::New(env,
                                       "this build of trt-rerank has no TensorRT backend: rebuild with TENSORRT_INCLUDE_DIR set to "
                                       "TensorRT 10 or 11 headers (npm rebuild trt-rerank), or build the engine with trtexec "
                                       "(docs/tensorrt.md)");
  error.Set("code", kErrBackendUnavailable);
  deferred.Reject(error.Value());
  return deferred.Promise();
#endif
}

}  // namespace trt_rerank
