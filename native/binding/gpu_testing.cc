#include "binding/gpu_testing.h"

#include <algorithm>
#include <vector>

#include "binding/promise_worker.h"
#include "common/cuda_resources.h"
#include "backends/cuda/cublaslt.h"
#include "backends/device_backend.h"
#include "common/half.h"
#include "kernels/attention.cuh"
#include "kernels/encoder.cuh"
#include "kernels/engine_io.cuh"
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

// Runs a hook's device work on device 0 with a fresh stream (destroyed after fn returns); a CUDA or cuBLASLt
// failure becomes a JS error with code ERR_BACKEND.
template <typename Fn>
Napi::Value onDevice(Napi::Env env, Fn&& fn) {
  try {
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(0));
    CudaStream stream;
    return fn(stream.get());
  } catch (const std::exception& e) {
    throwJsError(env, kErrBackend, e.what());
  }
}

// The TensorRT backend's I/O kernels on given inputs (synchronous: small test data only).
//   packEngineInputs(ids, typeIds, offsets, rows, seqLen, int64, withTypeIds) -> {ids, mask, typeIds}
//       Int32Array or BigInt64Array [rows * seqLen]
//   engineLogitsToFloat(raw: Uint8Array, type: 'fp32'|'fp16'|'bf16', count, labels) -> Float32Array
Napi::Value packEngineInputsHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Int32Array ids = info[0].As<Napi::Int32Array>();
  Napi::Uint8Array typeIds = info[1].As<Napi::Uint8Array>();
  Napi::Int32Array offsets = info[2].As<Napi::Int32Array>();
  const int32_t rows = info[3].As<Napi::Number>().Int32Value();
  const int32_t seqLen = info[4].As<Napi::Number>().Int32Value();
  const bool int64 = info[5].ToBoolean();
  const bool withTypeIds = info[6].ToBoolean();
  const int32_t count = static_cast<int32_t>(offsets.ElementLength()) - 1;
  if (count < 0 || rows < count || seqLen < 1) throwJsError(env, kErrInvalidArgument, "packEngineInputs: rows >= pairs, seqLen >= 1");
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    const size_t tokens = std::max<size_t>(1, ids.ElementLength());
    DeviceBuffer dIds(sizeof(int32_t) * tokens), dTypes(tokens), dOffsets(sizeof(int32_t) * offsets.ElementLength());
    const size_t width = int64 ? 8 : 4;
    const size_t n = static_cast<size_t>(rows) * seqLen;
    DeviceBuffer oIds(n * width), oMask(n * width), oTypes(n * width);
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dIds.get(), ids.Data(), sizeof(int32_t) * ids.ElementLength(), cudaMemcpyHostToDevice, stream));
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dTypes.get(), typeIds.Data(), typeIds.ElementLength(), cudaMemcpyHostToDevice, stream));
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dOffsets.get(), offsets.Data(), sizeof(int32_t) * offsets.ElementLength(), cudaMemcpyHostToDevice, stream));
    // Poison the outputs, so a position the kernel skips shows up.
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(oIds.get(), 0x7f, n * width, stream));
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(oMask.get(), 0x7f, n * width, stream));
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(oTypes.get(), 0x7f, n * width, stream));
    kernels::packEngineInputs(dIds.get<int32_t>(), dTypes.get<uint8_t>(), dOffsets.get<int32_t>(), count, rows, seqLen,
                              int64 ? kernels::EngineIntType::Int64 : kernels::EngineIntType::Int32, oIds.get(), oMask.get(),
                              withTypeIds ? oTypes.get() : nullptr, stream);
    TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
    Napi::Object out = Napi::Object::New(env);
    auto copyOut = [&](const char* name, DeviceBuffer& buffer) {
      Napi::ArrayBuffer host = Napi::ArrayBuffer::New(env, n * width);
      TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(host.Data(), buffer.get(), n * width, cudaMemcpyDeviceToHost, stream));
      if (int64) out.Set(name, Napi::TypedArrayOf<int64_t>::New(env, n, host, 0, napi_bigint64_array));
      else out.Set(name, Napi::Int32Array::New(env, n, host, 0));
    };
    copyOut("ids", oIds);
    copyOut("mask", oMask);
    copyOut("typeIds", oTypes);
    TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
    return out;
  });
}

Napi::Value engineLogitsToFloatHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Uint8Array raw = info[0].As<Napi::Uint8Array>();
  const std::string type = info[1].As<Napi::String>().Utf8Value();
  const int32_t count = info[2].As<Napi::Number>().Int32Value();
  const int labels = info[3].As<Napi::Number>().Int32Value();
  const kernels::EngineFloatType t = type == "fp16" ? kernels::EngineFloatType::Half
                                     : type == "bf16" ? kernels::EngineFloatType::BFloat16
                                                      : kernels::EngineFloatType::Float;
  const size_t width = type == "fp32" ? 4 : 2;
  if (raw.ElementLength() < static_cast<size_t>(count) * labels * width) throwJsError(env, kErrInvalidArgument, "engineLogitsToFloat: too few bytes");
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer in(std::max<size_t>(1, raw.ElementLength())), out(sizeof(float) * std::max(1, count * labels));
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(in.get(), raw.Data(), raw.ElementLength(), cudaMemcpyHostToDevice, stream));
    kernels::engineLogitsToFloat(in.get(), t, count, labels, out.get<float>(), stream);
    TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
    Napi::Float32Array result = Napi::Float32Array::New(env, static_cast<size_t>(count) * labels);
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(result.Data(), out.get(), sizeof(float) * count * labels, cudaMemcpyDeviceToHost, stream));
    TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
    return result;
  });
}

// The CUDA backend's kernels on given fp32 inputs, stored as fp16 or bf16 on the device (synchronous: small test
// data only); results widened back to fp32.
//   attention(q, k, v, offsets, heads, headDim, dtype, firstQueryOnly) -> Float32Array like q
//       q [tokens or sequences, heads * headDim], k and v [tokens, heads * headDim]
//   layerNorm(x, residual, hidden, gamma, beta, eps, dtype) -> Float32Array: LayerNorm(x + residual) per row
//   activation(x, act, dtype) -> Float32Array, act 'gelu' | 'gelu_tanh' | 'relu' | 'silu' | 'tanh'
kernels::StorageType storageType(Napi::Env env, const Napi::Value& v) {
  const std::string type = v.As<Napi::String>().Utf8Value();
  if (type != "fp16" && type != "bf16") throwJsError(env, kErrInvalidArgument, "dtype must be 'fp16' or 'bf16'");
  return type == "fp16" ? kernels::StorageType::Half : kernels::StorageType::BFloat16;
}

DeviceBuffer upload(const Napi::Float32Array& values, kernels::StorageType type, cudaStream_t stream) {
  const size_t n = values.ElementLength();
  DeviceBuffer staging(sizeof(float) * std::max<size_t>(n, 1)), stored(2 * std::max<size_t>(n, 8));
  TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(staging.get(), values.Data(), sizeof(float) * n, cudaMemcpyHostToDevice, stream));
  kernels::convertWeights(staging.get(), 0, type, stored.get(), static_cast<int64_t>(n), stream);
  TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
  return stored;
}

Napi::Float32Array download(Napi::Env env, const DeviceBuffer& stored, size_t n, kernels::StorageType type, cudaStream_t stream) {
  std::vector<uint16_t> raw(n);
  TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(raw.data(), stored.get(), 2 * n, cudaMemcpyDeviceToHost, stream));
  TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  for (size_t i = 0; i < n; ++i) out[i] = type == kernels::StorageType::Half ? halfToFloat(raw[i]) : bf16ToFloat(raw[i]);
  return out;
}

Napi::Value attentionHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array q = info[0].As<Napi::Float32Array>(), k = info[1].As<Napi::Float32Array>(), v = info[2].As<Napi::Float32Array>();
  Napi::Int32Array offsets = info[3].As<Napi::Int32Array>();
  const int heads = info[4].As<Napi::Number>().Int32Value(), headDim = info[5].As<Napi::Number>().Int32Value();
  const kernels::StorageType type = storageType(env, info[6]);
  const bool firstOnly = info[7].ToBoolean();
  const int32_t count = static_cast<int32_t>(offsets.ElementLength()) - 1;
  const int64_t width = static_cast<int64_t>(heads) * headDim;
  const int64_t tokens = count > 0 ? offsets[count] : 0;
  if (count < 1 || heads < 1 || headDim < 1 || k.ElementLength() != static_cast<size_t>(tokens * width) ||
      v.ElementLength() != k.ElementLength() || q.ElementLength() != static_cast<size_t>((firstOnly ? count : tokens) * width)) {
    throwJsError(env, kErrInvalidArgument, "attention: q [tokens or sequences, heads * headDim], k and v [tokens, heads * headDim]");
  }
  // A bad offset would read outside k and v: a sticky CUDA error for the whole process, so it is refused here.
  for (int32_t s = 0; s < count; ++s) {
    if (offsets[0] != 0 || offsets[s + 1] <= offsets[s]) {
      throwJsError(env, kErrInvalidArgument, "attention: offsets must start at 0 and increase (every sequence at least one token)");
    }
  }
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dq = upload(q, type, stream), dk = upload(k, type, stream), dv = upload(v, type, stream);
    DeviceBuffer dOffsets(sizeof(int32_t) * offsets.ElementLength()), out(2 * q.ElementLength());
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dOffsets.get(), offsets.Data(), sizeof(int32_t) * offsets.ElementLength(), cudaMemcpyHostToDevice, stream));
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(out.get(), 0xff, out.bytes(), stream));  // NaN: a row the kernel skips shows up
    int32_t maxLength = 0;
    for (int32_t s = 0; s < count; ++s) maxLength = std::max(maxLength, offsets[s + 1] - offsets[s]);
    kernels::AttentionArgs a;
    a.type = type;
    a.q = dq.get();
    a.k = dk.get();
    a.v = dv.get();
    a.out = out.get();
    a.qStride = a.kvStride = a.outStride = width;
    a.cuSeqLens = dOffsets.get<int32_t>();
    a.count = count;
    a.maxLength = maxLength;
    a.heads = heads;
    a.headDim = headDim;
    a.oneQueryPerSequence = firstOnly;
    kernels::attention(a, stream);
    return download(env, out, q.ElementLength(), type, stream);
  });
}

Napi::Value layerNormHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), residual = info[1].As<Napi::Float32Array>();
  const int hidden = info[2].As<Napi::Number>().Int32Value();
  Napi::Float32Array gamma = info[3].As<Napi::Float32Array>(), beta = info[4].As<Napi::Float32Array>();
  const float eps = info[5].As<Napi::Number>().FloatValue();
  const kernels::StorageType type = storageType(env, info[6]);
  if (hidden < 1 || x.ElementLength() % hidden != 0 || residual.ElementLength() != x.ElementLength() ||
      gamma.ElementLength() != static_cast<size_t>(hidden) || beta.ElementLength() != gamma.ElementLength()) {
    throwJsError(env, kErrInvalidArgument, "layerNorm: x and residual [rows, hidden], gamma and beta [hidden]");
  }
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dx = upload(x, type, stream), dr = upload(residual, type, stream);
    DeviceBuffer dg = upload(gamma, type, stream), db = upload(beta, type, stream);
    const int64_t rows = static_cast<int64_t>(x.ElementLength()) / hidden;
    kernels::residualLayerNorm(type, dx.get(), dr.get(), rows, hidden, dg.get(), db.get(), eps, dr.get(), stream);
    return download(env, dr, x.ElementLength(), type, stream);
  });
}

Napi::Value activationHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>();
  const std::string name = info[1].As<Napi::String>().Utf8Value();
  const kernels::StorageType type = storageType(env, info[2]);
  if (name != "gelu" && name != "gelu_tanh" && name != "relu" && name != "silu" && name != "tanh") {
    throwJsError(env, kErrInvalidArgument, "activation: 'gelu', 'gelu_tanh', 'relu', 'silu' or 'tanh', not '" + name + "'");
  }
  const kernels::Activation act = name == "gelu"        ? kernels::Activation::GeluErf
                                  : name == "gelu_tanh" ? kernels::Activation::GeluTanh
                                  : name == "relu"      ? kernels::Activation::Relu
                                  : name == "silu"      ? kernels::Activation::Silu
                                                        : kernels::Activation::Tanh;
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dx = upload(x, type, stream);
    kernels::activate(type, act, dx.get(), static_cast<int64_t>(x.ElementLength()), stream);
    return download(env, dx, x.ElementLength(), type, stream);
  });
}

//   positionIds(ids, offsets, padId, xlmr) -> Int32Array [tokens]: the position ids the embedding reads
Napi::Value positionIdsHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Int32Array ids = info[0].As<Napi::Int32Array>(), offsets = info[1].As<Napi::Int32Array>();
  const int32_t padId = info[2].As<Napi::Number>().Int32Value();
  const bool xlmr = info[3].ToBoolean();
  const int32_t count = static_cast<int32_t>(offsets.ElementLength()) - 1;
  bool valid = count >= 1 && offsets[0] == 0 && static_cast<size_t>(offsets[count]) == ids.ElementLength();
  for (int32_t s = 0; valid && s < count; ++s) valid = offsets[s + 1] >= offsets[s];
  if (!valid) throwJsError(env, kErrInvalidArgument, "positionIds: offsets must start at 0, not decrease, and end at ids.length");
  const size_t tokens = std::max<size_t>(1, ids.ElementLength());
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dIds(sizeof(int32_t) * tokens), dOffsets(sizeof(int32_t) * offsets.ElementLength()), out(sizeof(int32_t) * tokens);
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dIds.get(), ids.Data(), sizeof(int32_t) * ids.ElementLength(), cudaMemcpyHostToDevice, stream));
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dOffsets.get(), offsets.Data(), sizeof(int32_t) * offsets.ElementLength(), cudaMemcpyHostToDevice, stream));
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(out.get(), 0x7f, out.bytes(), stream));  // a token the kernel skips shows up
    kernels::positionIds(dIds.get<int32_t>(), dOffsets.get<int32_t>(), count, padId, xlmr, out.get<int32_t>(), stream);
    Napi::Int32Array result = Napi::Int32Array::New(env, ids.ElementLength());
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(result.Data(), out.get(), sizeof(int32_t) * ids.ElementLength(), cudaMemcpyDeviceToHost, stream));
    TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
    return result;
  });
}

//   gemm(x, w, bias, m, n, k, epilogue, dtype) -> Float32Array [m, n]: epilogue(x . w^T + bias) through cuBLASLt,
//       epilogue 'bias' | 'bias_relu'
Napi::Value gemmHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), w = info[1].As<Napi::Float32Array>(), bias = info[2].As<Napi::Float32Array>();
  const int64_t m = info[3].As<Napi::Number>().Int64Value(), n = info[4].As<Napi::Number>().Int64Value(), k = info[5].As<Napi::Number>().Int64Value();
  const std::string name = info[6].As<Napi::String>().Utf8Value();
  const kernels::StorageType type = storageType(env, info[7]);
  if (m < 1 || n < 1 || k < 1 || m > (1 << 24) || n > (1 << 24) || k > (1 << 24) || x.ElementLength() != static_cast<size_t>(m * k) || w.ElementLength() != static_cast<size_t>(n * k) ||
      bias.ElementLength() != static_cast<size_t>(n)) {
    throwJsError(env, kErrInvalidArgument, "gemm: x [m, k], w [n, k], bias [n]");
  }
  if (name != "bias" && name != "bias_relu") throwJsError(env, kErrInvalidArgument, "gemm: epilogue 'bias' or 'bias_relu', not '" + name + "'");
  const cublaslt::Epilogue epilogue = name == "bias_relu" ? cublaslt::Epilogue::BiasRelu : cublaslt::Epilogue::Bias;
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    cublaslt::Gemm gemm;
    DeviceBuffer dx = upload(x, type, stream), dw = upload(w, type, stream), db = upload(bias, type, stream);
    DeviceBuffer y(2 * m * n), workspace(32u << 20);
    gemm.linear(type == kernels::StorageType::Half ? CUDA_R_16F : CUDA_R_16BF, dx.get(), dw.get(), db.get(), y.get(), m, n, k,
                workspace.get(), workspace.bytes(), stream, epilogue);
    return download(env, y, static_cast<size_t>(m * n), type, stream);
  });
}

}  // namespace

Napi::Object gpuTestingExports(Napi::Env env) {
  Napi::Object testing = Napi::Object::New(env);
  testing.Set("topK", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return startTopK(info, false); }));
  testing.Set("benchTopK", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { return startTopK(info, true); }));
  testing.Set("benchTestBackend", Napi::Function::New(env, startBackendBench));
  testing.Set("packEngineInputs", Napi::Function::New(env, packEngineInputsHook));
  testing.Set("engineLogitsToFloat", Napi::Function::New(env, engineLogitsToFloatHook));
  testing.Set("attention", Napi::Function::New(env, attentionHook));
  testing.Set("layerNorm", Napi::Function::New(env, layerNormHook));
  testing.Set("activation", Napi::Function::New(env, activationHook));
  testing.Set("gemm", Napi::Function::New(env, gemmHook));
  testing.Set("positionIds", Napi::Function::New(env, positionIdsHook));
  return testing;
}

}  // namespace trt_rerank
