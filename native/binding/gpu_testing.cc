#include "binding/gpu_testing.h"

#include <algorithm>
#include <vector>

#include "binding/promise_worker.h"
#include "common/cuda_resources.h"
#include "backends/device_backend.h"
#include "kernels/scores.cuh"
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

// The test backend alone on one batch already on the device, enqueued `iterations` times back to back:
// the throughput bound the pipeline is measured against (bench/pipeline.mjs).
class BackendBenchWorker : public PromiseWorker {
 public:
  BackendBenchWorker(Napi::Env env, const Napi::Int32Array& ids, const Napi::Uint8Array& typeIds,
                     const Napi::Int32Array& offsets, TestBackendOptions options, int32_t iterations)
      : PromiseWorker(env, "trt_rerank.testing.benchTestBackend"),
        ids_(ids.Data(), ids.Data() + ids.ElementLength()),
        typeIds_(typeIds.Data(), typeIds.Data() + typeIds.ElementLength()),
        offsets_(offsets.Data(), offsets.Data() + offsets.ElementLength()),
        options_(options),
        iterations_(iterations) {}

 protected:
  void work() override {
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(0));
    auto backend = makeTestBackend(options_);
    const int32_t count = static_cast<int32_t>(offsets_.size()) - 1;
    const int32_t tokens = offsets_.back();
    int32_t maxLength = 0;
    for (int32_t i = 0; i < count; ++i) maxLength = std::max(maxLength, offsets_[i + 1] - offsets_[i]);
    CudaStream stream;
    DeviceBuffer ids(sizeof(int32_t) * std::max(tokens, 1)), typeIds(std::max(tokens, 1)),
        cuSeqLens(sizeof(int32_t) * offsets_.size());
    const size_t padded = static_cast<size_t>(count) * maxLength;
    DeviceBuffer paddedIds(sizeof(int32_t) * padded), paddedTypeIds(padded), paddedMask(padded);
    DeviceBuffer logits(sizeof(float) * count * options_.numLabels);
    cudaStream_t s = stream.get();
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(ids.get(), ids_.data(), sizeof(int32_t) * tokens, cudaMemcpyHostToDevice, s));
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(typeIds.get(), typeIds_.data(), tokens, cudaMemcpyHostToDevice, s));
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(cuSeqLens.get(), offsets_.data(), sizeof(int32_t) * offsets_.size(), cudaMemcpyHostToDevice, s));
    DeviceBatch batch;
    batch.count = count;
    batch.totalTokens = tokens;
    batch.maxLength = maxLength;
    batch.ids = ids.get<int32_t>();
    batch.typeIds = typeIds.get<uint8_t>();
    batch.cuSeqLens = cuSeqLens.get<int32_t>();
    if (options_.layout == InputLayout::Padded) {
      kernels::packedToPadded(batch.ids, batch.typeIds, batch.cuSeqLens, count, maxLength, paddedIds.get<int32_t>(),
                              paddedTypeIds.get<uint8_t>(), paddedMask.get<uint8_t>(), s);
      batch.paddedIds = paddedIds.get<int32_t>();
      batch.paddedTypeIds = paddedTypeIds.get<uint8_t>();
      batch.paddedMask = paddedMask.get<uint8_t>();
    }
    for (int i = 0; i < 3; ++i) backend->enqueue(batch, logits.get<float>(), s, 0);  // warm-up
    CudaEvent start, stop;
    TRT_RERANK_CUDA_CHECK(cudaEventRecord(start.get(), s));
    for (int i = 0; i < iterations_; ++i) backend->enqueue(batch, logits.get<float>(), s, 0);
    TRT_RERANK_CUDA_CHECK(cudaEventRecord(stop.get(), s));
    TRT_RERANK_CUDA_CHECK(cudaEventSynchronize(stop.get()));
    float ms = 0;
    TRT_RERANK_CUDA_CHECK(cudaEventElapsedTime(&ms, start.get(), stop.get()));
    microsPerBatch_ = ms * 1000.0 / iterations_;
  }
  Napi::Value result(Napi::Env env) override { return Napi::Number::New(env, microsPerBatch_); }

 private:
  std::vector<int32_t> ids_;
  std::vector<uint8_t> typeIds_;
  std::vector<int32_t> offsets_;
  TestBackendOptions options_;
  int32_t iterations_;
  double microsPerBatch_ = 0;
};

Napi::Value startBackendBench(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto isTyped = [&](int i, napi_typedarray_type t) {
    return info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == t;
  };
  if (!isTyped(0, napi_int32_array) || !isTyped(1, napi_uint8_array) || !isTyped(2, napi_int32_array) ||
      !info[3].IsObject() || !info[4].IsNumber()) {
    throwJsError(env, kErrInvalidArgument,
                 "benchTestBackend(ids: Int32Array, typeIds: Uint8Array, offsets: Int32Array, options: object, iterations: number)");
  }
  Napi::Int32Array offsets = info[2].As<Napi::Int32Array>();
  const size_t tokens = info[0].As<Napi::Int32Array>().ElementLength();
  if (offsets.ElementLength() < 2 || offsets[0] != 0 || static_cast<size_t>(offsets[offsets.ElementLength() - 1]) != tokens ||
      info[1].As<Napi::Uint8Array>().ElementLength() != tokens) {
    throwJsError(env, kErrInvalidArgument, "benchTestBackend: offsets must run from 0 to ids.length, typeIds match ids");
  }
  Napi::Object o = info[3].As<Napi::Object>();
  TestBackendOptions options;
  options.layout = o.Get("layout").IsString() && o.Get("layout").As<Napi::String>().Utf8Value() == "padded" ? InputLayout::Padded
                                                                                                          : InputLayout::Packed;
  options.numLabels = o.Get("numLabels").IsNumber() ? o.Get("numLabels").As<Napi::Number>().Int32Value() : 1;
  options.spinPerToken = o.Get("spinPerToken").IsNumber() ? o.Get("spinPerToken").As<Napi::Number>().Int32Value() : 0;
  const int32_t iterations = std::max(1, info[4].As<Napi::Number>().Int32Value());
  auto* worker = new BackendBenchWorker(env, info[0].As<Napi::Int32Array>(), info[1].As<Napi::Uint8Array>(), offsets, options, iterations);
  worker->Queue();
  return worker->promise();
}

}  // namespace

Napi::Object gpuTestingExports(Napi::Env env) {
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("topK", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return startTopK(info, false); }));
  testing.Set("benchTopK", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return startTopK(info, true); }));
  testing.Set("benchTestBackend", Napi::Function::New(env, startBackendBench));
  return testing;
}

}  // namespace trt_rerank
