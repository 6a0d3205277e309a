#include "binding/gpu_testing.h"

#include <algorithm>
#include <string>
#include <vector>

#include "backends/cuda/cublaslt.h"
#include "backends/device_backend.h"
#include "backends/testing/test_backend.h"
#include "binding/gpu_testing_hooks.h"
#include "binding/promise_worker.h"
#include "common/cuda_resources.h"
#include "common/half.h"
#include "kernels/attention.cuh"
#include "kernels/encoder.cuh"
#include "kernels/engine_io.cuh"
#include "kernels/norm.cuh"
#include "kernels/rotary.cuh"
#include "kernels/scores.cuh"
#include "kernels/topk.cuh"

namespace trt_rerank {
namespace {

using namespace gpu_testing;  // NOLINT(google-build-using-namespace): the hooks' shared helpers

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
  const kernels::EngineFloatType t = type == "fp16"   ? kernels::EngineFloatType::Half
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
// data only); results widened back to fp32. A Float32Array argument marked "| null" may be null (or left out).
//   attention(q, k, v, offsets, heads, headDim, dtype, firstQueryOnly, window = -1) -> Float32Array like q
//       q [tokens or sequences, heads * headDim], k and v [tokens, heads * headDim]; window >= 0: sliding window
//   layerNorm(x, residual, hidden, gamma, beta, eps, dtype) -> Float32Array: LayerNorm(x + residual) per row
//   residualLayerNorm(x, residual | null, hidden, gamma, beta | null, eps, dtype, {sum, out})
//       -> {out: Float32Array, sum: Float32Array | null}, x (and residual) [rows, hidden]: every LayerNorm mode of
//       kernels::residualNorm in the storage type; sum 'none' (no sum) | 'new' | 'x' | 'residual' and out 'new' |
//       'x' | 'residual' say which buffer each result is written to (an alias of that input, or a buffer of its own)
//   embeddingLayerNorm(ids, typeIds | null, positions | null, word, position | null, tokenType | null, hidden,
//       gamma | null, beta | null, eps, dtype) -> Float32Array [tokens, hidden]; typeIds Uint8Array, ids and
//       positions Int32Array [tokens], tables [rows, hidden]; gamma null: no norm (beta null too)
//   classifierOutput(x, w, b | null, count, hidden, labels, dtype) -> Float32Array [count, labels] (fp32 logits)
//   activation(x, act, dtype) -> Float32Array, act 'gelu' | 'gelu_tanh' | 'relu' | 'silu' | 'tanh'
//   gatedActivation(x, rows, width, act, dtype) -> Float32Array [rows, width]: act(x[:, :width]) * x[:, width:]
//   rotary(qkv, positions, stride, heads, kOffset, headDim, theta, dtype, rotateQ = true, kHeads = -1)
//       -> Float32Array like qkv [positions.length, stride], q and k heads rotated in place
//   meanPool(x, offsets, hidden, dtype) -> Float32Array [sequences, hidden]: each sequence's mean row
// The decoders' hooks (attention with GQA, causal masking and contexts, head norms with RoPE, RMSNorm, last-row
// gathers) are in gpu_testing_decoder.cc.
kernels::Activation activationByName(Napi::Env env, const std::string& name, const char* hook) {
  if (name == "gelu") return kernels::Activation::GeluErf;
  if (name == "gelu_tanh") return kernels::Activation::GeluTanh;
  if (name == "relu") return kernels::Activation::Relu;
  if (name == "silu") return kernels::Activation::Silu;
  if (name == "tanh") return kernels::Activation::Tanh;
  throwJsError(env, kErrInvalidArgument, std::string(hook) + ": 'gelu', 'gelu_tanh', 'relu', 'silu' or 'tanh', not '" + name + "'");
}

Napi::Value attentionHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array q = info[0].As<Napi::Float32Array>(), k = info[1].As<Napi::Float32Array>(), v = info[2].As<Napi::Float32Array>();
  Napi::Int32Array offsets = info[3].As<Napi::Int32Array>();
  const int heads = info[4].As<Napi::Number>().Int32Value(), headDim = info[5].As<Napi::Number>().Int32Value();
  const kernels::StorageType type = storageType(env, info[6]);
  const bool firstOnly = info[7].ToBoolean();
  const int window = info[8].IsNumber() ? info[8].As<Napi::Number>().Int32Value() : -1;
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
    a.queries = firstOnly ? kernels::AttentionQueries::First : kernels::AttentionQueries::All;
    a.window = window;
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
    kernels::ResidualNormArgs n;
    n.type = type;
    n.x = dx.get();
    n.residual = dr.get();
    n.rows = rows;
    n.hidden = hidden;
    n.gamma = dg.get();
    n.beta = db.get();
    n.eps = eps;
    n.out = dr.get();
    kernels::residualNorm(n, stream);
    return download(env, dr, x.ElementLength(), type, stream);
  });
}

Napi::Value residualLayerNormHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isFloat32Array(info[0]) || !isFloat32Array(info[3]) || !info[2].IsNumber() || !info[5].IsNumber()) {
    throwJsError(env, kErrInvalidArgument, "residualLayerNorm(x, residual | null, hidden, gamma, beta | null, eps, dtype, {sum, out})");
  }
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), gamma = info[3].As<Napi::Float32Array>(), residual, beta;
  const bool hasResidual = optionalFloat32(env, info[1], "residual", residual);
  const bool hasBeta = optionalFloat32(env, info[4], "beta", beta);
  const int hidden = info[2].As<Napi::Number>().Int32Value();
  const float eps = info[5].As<Napi::Number>().FloatValue();
  const kernels::StorageType type = storageType(env, info[6]);
  Napi::Object options = info[7].IsObject() ? info[7].As<Napi::Object>() : Napi::Object::New(env);
  const std::string sumAt = options.Get("sum").IsString() ? options.Get("sum").As<Napi::String>().Utf8Value() : "none";
  const std::string outAt = options.Get("out").IsString() ? options.Get("out").As<Napi::String>().Utf8Value() : "new";
  if (hidden < 1 || x.ElementLength() % hidden != 0 || (hasResidual && residual.ElementLength() != x.ElementLength()) ||
      gamma.ElementLength() != static_cast<size_t>(hidden) || (hasBeta && beta.ElementLength() != gamma.ElementLength())) {
    throwJsError(env, kErrInvalidArgument, "residualLayerNorm: x and residual [rows, hidden], gamma and beta [hidden]");
  }
  const auto known = [&](const std::string& at, bool none) { return (none && at == "none") || at == "new" || at == "x" || (at == "residual" && hasResidual); };
  if (!known(sumAt, true) || !known(outAt, false) || (sumAt == outAt && outAt != "new")) {
    throwJsError(env, kErrInvalidArgument, "residualLayerNorm: sum 'none' | 'new' | 'x' | 'residual', out 'new' | 'x' | 'residual' (residual only when given), not the same input");
  }
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    const size_t n = x.ElementLength();
    DeviceBuffer dx = upload(x, type, stream), dg = upload(gamma, type, stream), dr, db, sumNew, outNew;
    if (hasResidual) dr = upload(residual, type, stream);
    if (hasBeta) db = upload(beta, type, stream);
    const auto target = [&](const std::string& at, DeviceBuffer& fresh) -> DeviceBuffer* {
      if (at == "x") return &dx;
      if (at == "residual") return &dr;
      fresh = DeviceBuffer(2 * std::max<size_t>(n, 8));
      TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(fresh.get(), 0xff, fresh.bytes(), stream));  // NaN: an element the kernel skips shows up
      return &fresh;
    };
    DeviceBuffer* sum = sumAt == "none" ? nullptr : target(sumAt, sumNew);
    DeviceBuffer* out = target(outAt, outNew);
    kernels::ResidualNormArgs a;
    a.type = type;
    a.x = dx.get();
    a.residual = hasResidual ? dr.get() : nullptr;
    a.sum = sum != nullptr ? sum->get() : nullptr;
    a.rows = static_cast<int64_t>(n) / hidden;
    a.hidden = hidden;
    a.gamma = dg.get();
    a.beta = hasBeta ? db.get() : nullptr;
    a.eps = eps;
    a.out = out->get();
    kernels::residualNorm(a, stream);
    Napi::Object result = Napi::Object::New(env);
    result.Set("out", download(env, *out, n, type, stream));
    result.Set("sum", sum != nullptr ? download(env, *sum, n, type, stream) : env.Null());
    return result;
  });
}

Napi::Value embeddingLayerNormHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const auto isTyped = [&](int i, napi_typedarray_type t) { return info[i].IsTypedArray() && info[i].As<Napi::TypedArray>().TypedArrayType() == t; };
  if (!isTyped(0, napi_int32_array) || !(isAbsent(info[1]) || isTyped(1, napi_uint8_array)) || !(isAbsent(info[2]) || isTyped(2, napi_int32_array)) ||
      !isFloat32Array(info[3]) || !info[6].IsNumber() || !(isAbsent(info[7]) || isFloat32Array(info[7])) || !info[9].IsNumber()) {
    throwJsError(env, kErrInvalidArgument,
                 "embeddingLayerNorm(ids, typeIds | null, positions | null, word, position | null, tokenType | null, hidden, gamma, beta | null, eps, dtype)");
  }
  Napi::Int32Array ids = info[0].As<Napi::Int32Array>();
  Napi::Float32Array word = info[3].As<Napi::Float32Array>(), gamma, position, tokenType, beta;
  const bool hasGamma = optionalFloat32(env, info[7], "gamma", gamma);
  const bool hasPosition = optionalFloat32(env, info[4], "position", position);
  const bool hasType = optionalFloat32(env, info[5], "tokenType", tokenType);
  const bool hasBeta = optionalFloat32(env, info[8], "beta", beta);
  const int hidden = info[6].As<Napi::Number>().Int32Value();
  const float eps = info[9].As<Napi::Number>().FloatValue();
  const kernels::StorageType type = storageType(env, info[10]);
  const size_t tokens = ids.ElementLength();
  if (hidden < 1 || tokens < 1 || (hasGamma && gamma.ElementLength() != static_cast<size_t>(hidden)) ||
      (hasBeta && (!hasGamma || beta.ElementLength() != gamma.ElementLength())) ||
      word.ElementLength() % hidden != 0 || (hasPosition && (position.ElementLength() % hidden != 0 || isAbsent(info[2]))) ||
      (hasType && (tokenType.ElementLength() % hidden != 0 || isAbsent(info[1])))) {
    throwJsError(env, kErrInvalidArgument, "embeddingLayerNorm: tables [rows, hidden], gamma and beta [hidden], positions / typeIds with their tables");
  }
  // An index past its table would read outside it: refused here, as the attention hook refuses bad offsets.
  const auto inRange = [&](auto values, size_t rows) {
    if (values.ElementLength() != tokens) return false;
    for (size_t t = 0; t < tokens; ++t) {
      if (static_cast<int64_t>(values[t]) < 0 || static_cast<size_t>(values[t]) >= rows) return false;
    }
    return true;
  };
  Napi::Int32Array positions = hasPosition ? info[2].As<Napi::Int32Array>() : Napi::Int32Array();
  Napi::Uint8Array typeIds = hasType ? info[1].As<Napi::Uint8Array>() : Napi::Uint8Array();
  if (!inRange(ids, word.ElementLength() / hidden) || (hasPosition && !inRange(positions, position.ElementLength() / hidden)) ||
      (hasType && !inRange(typeIds, tokenType.ElementLength() / hidden))) {
    throwJsError(env, kErrInvalidArgument, "embeddingLayerNorm: every id, position and type id must index a row of its table");
  }
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dWord = upload(word, type, stream), dg, dPosition, dType, db;
    if (hasGamma) dg = upload(gamma, type, stream);
    if (hasPosition) dPosition = upload(position, type, stream);
    if (hasType) dType = upload(tokenType, type, stream);
    if (hasBeta) db = upload(beta, type, stream);
    DeviceBuffer dIds(sizeof(int32_t) * tokens), dPositions(sizeof(int32_t) * tokens), dTypeIds(tokens), out(2 * tokens * hidden);
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dIds.get(), ids.Data(), sizeof(int32_t) * tokens, cudaMemcpyHostToDevice, stream));
    if (hasPosition) TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dPositions.get(), positions.Data(), sizeof(int32_t) * tokens, cudaMemcpyHostToDevice, stream));
    if (hasType) TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dTypeIds.get(), typeIds.Data(), tokens, cudaMemcpyHostToDevice, stream));
    kernels::embeddingLayerNorm(type, dIds.get<int32_t>(), hasType ? dTypeIds.get<uint8_t>() : nullptr, hasPosition ? dPositions.get<int32_t>() : nullptr,
                                static_cast<int64_t>(tokens), hidden, dWord.get(), hasPosition ? dPosition.get() : nullptr,
                                hasType ? dType.get() : nullptr, hasGamma ? dg.get() : nullptr, hasBeta ? db.get() : nullptr, eps, out.get(), stream);
    return download(env, out, tokens * hidden, type, stream);
  });
}

Napi::Value classifierOutputHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isFloat32Array(info[0]) || !isFloat32Array(info[1]) || !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsNumber()) {
    throwJsError(env, kErrInvalidArgument, "classifierOutput(x, w, b | null, count, hidden, labels, dtype)");
  }
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), w = info[1].As<Napi::Float32Array>(), b;
  const bool hasBias = optionalFloat32(env, info[2], "b", b);
  const int32_t count = info[3].As<Napi::Number>().Int32Value();
  const int hidden = info[4].As<Napi::Number>().Int32Value(), labels = info[5].As<Napi::Number>().Int32Value();
  const kernels::StorageType type = storageType(env, info[6]);
  if (count < 1 || hidden < 1 || labels < 1 || labels > 32 || x.ElementLength() != static_cast<size_t>(count) * hidden ||
      w.ElementLength() != static_cast<size_t>(labels) * hidden || (hasBias && b.ElementLength() != static_cast<size_t>(labels))) {
    throwJsError(env, kErrInvalidArgument, "classifierOutput: x [count, hidden], w [labels, hidden], b [labels], 1 <= labels <= 32");
  }
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dx = upload(x, type, stream), dw = upload(w, type, stream), db, logits(sizeof(float) * count * labels);
    if (hasBias) db = upload(b, type, stream);
    kernels::classifierOutput(type, dx.get(), dw.get(), hasBias ? db.get() : nullptr, count, hidden, labels, logits.get<float>(), stream);
    Napi::Float32Array result = Napi::Float32Array::New(env, static_cast<size_t>(count) * labels);
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(result.Data(), logits.get(), logits.bytes(), cudaMemcpyDeviceToHost, stream));
    TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
    return result;
  });
}

Napi::Value gatedActivationHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isFloat32Array(info[0]) || !info[1].IsNumber() || !info[2].IsNumber() || !info[3].IsString()) {
    throwJsError(env, kErrInvalidArgument, "gatedActivation(x, rows, width, act, dtype)");
  }
  Napi::Float32Array x = info[0].As<Napi::Float32Array>();
  const int64_t rows = info[1].As<Napi::Number>().Int64Value();
  const int width = info[2].As<Napi::Number>().Int32Value();
  const kernels::Activation act = activationByName(env, info[3].As<Napi::String>().Utf8Value(), "gatedActivation");
  const kernels::StorageType type = storageType(env, info[4]);
  if (rows < 1 || width < 1 || x.ElementLength() != static_cast<size_t>(rows) * 2 * width) {
    throwJsError(env, kErrInvalidArgument, "gatedActivation: x [rows, 2 * width]");
  }
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    const size_t n = static_cast<size_t>(rows) * width;
    DeviceBuffer dx = upload(x, type, stream), out(2 * std::max<size_t>(n, 8));
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(out.get(), 0xff, out.bytes(), stream));  // NaN: an element the kernel skips shows up
    kernels::gatedActivation(type, act, dx.get(), rows, width, out.get(), stream);
    return download(env, out, n, type, stream);
  });
}

Napi::Value rotaryHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isFloat32Array(info[0]) || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array ||
      !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsNumber() || !info[5].IsNumber() || !info[6].IsNumber()) {
    throwJsError(env, kErrInvalidArgument, "rotary(qkv, positions, stride, heads, kOffset, headDim, theta, dtype, rotateQ = true, kHeads = -1)");
  }
  Napi::Float32Array qkv = info[0].As<Napi::Float32Array>();
  Napi::Int32Array positions = info[1].As<Napi::Int32Array>();
  const int64_t stride = info[2].As<Napi::Number>().Int64Value(), kOffset = info[4].As<Napi::Number>().Int64Value();
  const int heads = info[3].As<Napi::Number>().Int32Value(), headDim = info[5].As<Napi::Number>().Int32Value();
  const float theta = info[6].As<Napi::Number>().FloatValue();
  const kernels::StorageType type = storageType(env, info[7]);
  const bool rotateQ = isAbsent(info[8]) ? true : info[8].ToBoolean().Value();
  const int kHeads = info[9].IsNumber() ? info[9].As<Napi::Number>().Int32Value() : -1;
  const int64_t tokens = static_cast<int64_t>(positions.ElementLength());
  const int64_t k = kHeads < 0 ? heads : kHeads;
  // Every head inside its row (else the kernel would write outside qkv).
  if (tokens < 1 || heads < 0 || kOffset < 0 || headDim < 1 || qkv.ElementLength() != static_cast<size_t>(tokens * stride) ||
      (rotateQ && static_cast<int64_t>(heads) * headDim > stride) || (k > 0 && kOffset + k * headDim > stride)) {
    throwJsError(env, kErrInvalidArgument, "rotary: qkv [positions.length, stride], every q and k head inside a row");
  }
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dqkv = upload(qkv, type, stream), dPositions(sizeof(int32_t) * tokens);
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dPositions.get(), positions.Data(), sizeof(int32_t) * tokens, cudaMemcpyHostToDevice, stream));
    kernels::rotaryEmbedding(type, dqkv.get(), tokens, stride, heads, kOffset, headDim, dPositions.get<int32_t>(), theta, stream, rotateQ, kHeads);
    return download(env, dqkv, qkv.ElementLength(), type, stream);
  });
}

Napi::Value meanPoolHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isFloat32Array(info[0]) || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || !info[2].IsNumber()) {
    throwJsError(env, kErrInvalidArgument, "meanPool(x, offsets, hidden, dtype)");
  }
  Napi::Float32Array x = info[0].As<Napi::Float32Array>();
  Napi::Int32Array offsets = info[1].As<Napi::Int32Array>();
  const int hidden = info[2].As<Napi::Number>().Int32Value();
  const kernels::StorageType type = storageType(env, info[3]);
  if (hidden < 1 || x.ElementLength() % hidden != 0 || !validOffsets(offsets, static_cast<int64_t>(x.ElementLength() / hidden))) {
    throwJsError(env, kErrInvalidArgument, "meanPool: x [tokens, hidden], offsets from 0 to tokens, never decreasing");
  }
  const int32_t count = static_cast<int32_t>(offsets.ElementLength()) - 1;
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    const size_t n = static_cast<size_t>(count) * hidden;
    DeviceBuffer dx = upload(x, type, stream), dOffsets(sizeof(int32_t) * offsets.ElementLength()), out(2 * std::max<size_t>(n, 8));
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dOffsets.get(), offsets.Data(), sizeof(int32_t) * offsets.ElementLength(), cudaMemcpyHostToDevice, stream));
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(out.get(), 0xff, out.bytes(), stream));  // NaN: an element the kernel skips shows up
    kernels::meanPool(type, dx.get(), dOffsets.get<int32_t>(), count, hidden, out.get(), stream);
    return download(env, out, n, type, stream);
  });
}

Napi::Value activationHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Float32Array x = info[0].As<Napi::Float32Array>();
  const std::string name = info[1].As<Napi::String>().Utf8Value();
  const kernels::StorageType type = storageType(env, info[2]);
  const kernels::Activation act = activationByName(env, name, "activation");
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dx = upload(x, type, stream);
    kernels::activate(type, act, dx.get(), static_cast<int64_t>(x.ElementLength()), stream);
    return download(env, dx, x.ElementLength(), type, stream);
  });
}

//   positionIds(ids, offsets, padId, xlmr, contextOf | null = null) -> Int32Array [tokens]: the position ids the
//       embedding reads; contextOf Int32Array [sequences] (each sequence's context or -1)
Napi::Value positionIdsHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Int32Array ids = info[0].As<Napi::Int32Array>(), offsets = info[1].As<Napi::Int32Array>();
  const int32_t padId = info[2].As<Napi::Number>().Int32Value();
  const bool xlmr = info[3].ToBoolean();
  const int32_t count = static_cast<int32_t>(offsets.ElementLength()) - 1;
  bool valid = count >= 1 && offsets[0] == 0 && static_cast<size_t>(offsets[count]) == ids.ElementLength();
  for (int32_t s = 0; valid && s < count; ++s) valid = offsets[s + 1] >= offsets[s];
  if (!valid) throwJsError(env, kErrInvalidArgument, "positionIds: offsets must start at 0, not decrease, and end at ids.length");
  const bool hasContexts = !isAbsent(info[4]);
  if (hasContexts && (!isInt32Array(info[4]) || !validContexts(info[4].As<Napi::Int32Array>(), count))) {
    throwJsError(env, kErrInvalidArgument, "positionIds: contextOf must be an Int32Array of one context (or -1) per sequence, one level");
  }
  const size_t tokens = std::max<size_t>(1, ids.ElementLength());
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dIds(sizeof(int32_t) * tokens), dOffsets(sizeof(int32_t) * offsets.ElementLength()), out(sizeof(int32_t) * tokens);
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dIds.get(), ids.Data(), sizeof(int32_t) * ids.ElementLength(), cudaMemcpyHostToDevice, stream));
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(dOffsets.get(), offsets.Data(), sizeof(int32_t) * offsets.ElementLength(), cudaMemcpyHostToDevice, stream));
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(out.get(), 0x7f, out.bytes(), stream));  // a token the kernel skips shows up
    DeviceBuffer dContexts;
    if (hasContexts) dContexts = uploadInt32(info[4].As<Napi::Int32Array>(), stream);
    kernels::positionIds(dIds.get<int32_t>(), dOffsets.get<int32_t>(), count, padId, xlmr, out.get<int32_t>(), stream,
                         hasContexts ? dContexts.get<int32_t>() : nullptr);
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
  testing.Set("residualLayerNorm", Napi::Function::New(env, residualLayerNormHook));
  testing.Set("embeddingLayerNorm", Napi::Function::New(env, embeddingLayerNormHook));
  testing.Set("classifierOutput", Napi::Function::New(env, classifierOutputHook));
  testing.Set("gatedActivation", Napi::Function::New(env, gatedActivationHook));
  testing.Set("rotary", Napi::Function::New(env, rotaryHook));
  testing.Set("meanPool", Napi::Function::New(env, meanPoolHook));
  testing.Set("gemm", Napi::Function::New(env, gemmHook));
  testing.Set("positionIds", Napi::Function::New(env, positionIdsHook));
  addDecoderKernelHooks(env, testing);
  addGemmHooks(env, testing);
  return testing;
}

}  // namespace trt_rerank
