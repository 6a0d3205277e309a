#include "binding/gpu_testing.h"

#include <algorithm>
#include <vector>

#include "binding/promise_worker.h"
#include "common/cuda_resources.h"
#include "kernels/topk.cuh"

namespace trt_rerank {
namespace {

class TopKWorker : public PromiseWorker {
 public:
  TopKWorker(Napi::Env env, const Napi::Float32Array& scores, int32_t k, int32_t iterations)
      : PromiseWorker(env, "trt_rerank.testing.topK"),
        scoresRef_(Napi::Persistent(scores)),
        host_(scores.Data()),
        n_(static_cast<int32_t>(scores.ElementLength())),
        k_(std::min(k, n_)),
        iterations_(iterations) {}

 protected:
  void work() override {
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(0));
    CudaStream stream;
    DeviceBuffer scores(sizeof(float) * std::max(n_, 1));
    DeviceBuffer indices(sizeof(int32_t) * std::max(k_, 1));
    DeviceBuffer topScores(sizeof(float) * std::max(k_, 1));
    const size_t workspaceBytes = kernels::topKWorkspaceBytes(n_, k_);
    DeviceBuffer workspace(workspaceBytes);
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(scores.get(), host_, sizeof(float) * n_, cudaMemcpyHostToDevice, stream.get()));
    auto run = [&] {
      kernels::topK(scores.get<float>(), n_, k_, indices.get<int32_t>(), topScores.get<float>(), workspace.get(),
                    workspaceBytes, stream.get());
    };
    if (iterations_ > 0) {
      CudaEvent start, stop;
      for (int i = 0; i < 3; ++i) run();  // warm-up: module load, caches
      for (int i = 0; i < iterations_; ++i) {
        TRT_RERANK_CUDA_CHECK(cudaEventRecord(start.get(), stream.get()));
        run();
        TRT_RERANK_CUDA_CHECK(cudaEventRecord(stop.get(), stream.get()));
        TRT_RERANK_CUDA_CHECK(cudaEventSynchronize(stop.get()));
        float ms = 0;
        TRT_RERANK_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
        micros_.push_back(ms * 1000.0);
      }
      return;
    }
    run();
    outIndices_.resize(k_);
    outScores_.resize(k_);
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(outIndices_.data(), indices.get(), sizeof(int32_t) * k_, cudaMemcpyDeviceToHost, stream.get()));
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(outScores_.data(), topScores.get(), sizeof(float) * k_, cudaMemcpyDeviceToHost, stream.get()));
    TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream.get()));
  }
  Napi::Value result(Napi::Env env) override {
    if (iterations_ > 0) {
      Napi::Float64Array out = Napi::Float64Array::New(env, micros_.size());
      std::copy(micros_.begin(), micros_.end(), out.Data());
      return out;
    }
    Napi::Object out = Napi::Object::New(env);
    Napi::Int32Array indices = Napi::Int32Array::New(env, outIndices_.size());
    std::copy(outIndices_.begin(), outIndices_.end(), indices.Data());
    Napi::Float32Array scores = Napi::Float32Array::New(env, outScores_.size());
    std::copy(outScores_.begin(), outScores_.end(), scores.Data());
    out.Set("indices", indices);
    out.Set("scores", scores);
    return out;
  }

 private:
  Napi::Reference<Napi::Float32Array> scoresRef_;
  const float* host_;
  int32_t n_, k_, iterations_;
  std::vector<int32_t> outIndices_;
  std::vector<float> outScores_;
  std::vector<double> micros_;
};

Napi::Value startTopK(const Napi::CallbackInfo& info, bool bench) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[1].IsNumber()) {
    throwJsError(env, kErrInvalidArgument, "topK(scores: Float32Array, k: number)");
  }
  Napi::Float32Array scores = info[0].As<Napi::Float32Array>();
  const int32_t k = info[1].As<Napi::Number>().Int32Value();
  const int32_t iterations = bench ? std::max(1, info[2].As<Napi::Number>().Int32Value()) : 0;
  if (k < 1 || scores.ElementLength() == 0 || scores.ElementLength() > INT32_MAX) {
    throwJsError(env, kErrInvalidArgument, "topK: k >= 1 and 1 <= scores.length < 2^31");
  }
  auto* worker = new TopKWorker(env, scores, k, iterations);
  worker->Queue();
  return worker->promise();
}

}  // namespace

Napi::Object gpuTestingExports(Napi::Env env) {
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("topK", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return startTopK(info, false); }));
  testing.Set("benchTopK", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return startTopK(info, true); }));
  return testing;
}

}  // namespace trt_rerank
