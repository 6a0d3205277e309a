// addon.testing's hooks for the decoders' kernels (Qwen3), on given fp32 inputs stored as fp16 or bf16 on the
// device (synchronous: small test data only); results widened back to fp32. Options objects name every size.
//   decoderAttention(q, k, v, offsets, contextOf | null, {heads, kvHeads, headDim, dtype, queries, causal, window})
//       -> Float32Array [tokens or sequences, heads * headDim]: kernels::attention with grouped-query heads,
//       queries 'all' | 'first' | 'last', causal masking, contexts (contextOf Int32Array [sequences], each entry a
//       sequence without a context, or -1) and window (default -1). q [tokens, heads * headDim] ('first': one row
//       per sequence), k and v [tokens, kvHeads * headDim]; empty sequences allowed
//   headNormRotary(qkv, positions | null, {stride, qHeads, kHeads, kOffset, headDim, qWeight, kWeight, eps, theta,
//       dtype}) -> Float32Array like qkv [tokens, stride]: per-head RMSNorm (weights [headDim] or null) then RoPE
//       (theta 0: none) in place
//   residualNorm(x, residual | null, hidden, gamma, beta | null, eps, dtype, {kind, sum, out, residualFloat,
//       sumFloat}) -> {out, sum | null}: kernels::residualNorm, kind 'layer' | 'rms'; sum 'none' | 'new' | 'x' |
//       'residual' and out 'new' | 'x' | 'residual' the buffer each result goes to; residualFloat / sumFloat: the
//       residual (as given, unrounded) and the sum in fp32
//   lastTokens(x, offsets, hidden, dtype | 'fp32') -> Float32Array [sequences, hidden]: each sequence's last row
#include <algorithm>
#include <string>

#include "binding/gpu_testing_hooks.h"
#include "kernels/attention.cuh"
#include "kernels/norm.cuh"
#include "kernels/rotary.cuh"

namespace trt_rerank::gpu_testing {
namespace {

int32_t intOption(const Napi::Object& o, const char* name, int32_t fallback) {
  const Napi::Value v = o.Get(name);
  return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
}
std::string textOption(const Napi::Object& o, const char* name, const std::string& fallback) {
  const Napi::Value v = o.Get(name);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : fallback;
}
Napi::Object options(const Napi::CallbackInfo& info, size_t i) {
  return info[i].IsObject() ? info[i].As<Napi::Object>() : Napi::Object::New(info.Env());
}

Napi::Value decoderAttentionHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isFloat32Array(info[0]) || !isFloat32Array(info[1]) || !isFloat32Array(info[2]) || !isInt32Array(info[3]) ||
      !(isAbsent(info[4]) || isInt32Array(info[4])) || !info[5].IsObject()) {
    throwJsError(env, kErrInvalidArgument, "decoderAttention(q, k, v, offsets, contextOf | null, {heads, kvHeads, headDim, dtype, queries, causal, window})");
  }
  Napi::Float32Array q = info[0].As<Napi::Float32Array>(), k = info[1].As<Napi::Float32Array>(), v = info[2].As<Napi::Float32Array>();
  Napi::Int32Array offsets = info[3].As<Napi::Int32Array>();
  const Napi::Object o = options(info, 5);
  const int heads = intOption(o, "heads", 0), kvHeads = intOption(o, "kvHeads", heads), headDim = intOption(o, "headDim", 0);
  const kernels::StorageType type = storageType(env, o.Get("dtype"));
  const std::string queries = textOption(o, "queries", "all");
  const bool causal = o.Get("causal").ToBoolean();
  const int window = intOption(o, "window", -1);
  const int32_t count = static_cast<int32_t>(offsets.ElementLength()) - 1;
  const int64_t tokens = count > 0 ? offsets[count] : 0;
  const int64_t width = static_cast<int64_t>(heads) * headDim, kvWidth = static_cast<int64_t>(kvHeads) * headDim;
  const bool first = queries == "first";
  if (queries != "all" && queries != "first" && queries != "last") throwJsError(env, kErrInvalidArgument, "decoderAttention: queries 'all' | 'first' | 'last'");
  // Bad offsets or contexts would read outside k and v: a sticky CUDA error for the whole process, so they are refused here.
  if (count < 1 || heads < 1 || kvHeads < 1 || headDim < 1 || !validOffsets(offsets, tokens) || k.ElementLength() != static_cast<size_t>(tokens * kvWidth) ||
      v.ElementLength() != k.ElementLength() || q.ElementLength() != static_cast<size_t>((first ? count : tokens) * width)) {
    throwJsError(env, kErrInvalidArgument,
                 "decoderAttention: offsets from 0 to tokens, never decreasing; q [tokens (first: sequences), heads * headDim], k and v [tokens, kvHeads * headDim]");
  }
  const bool hasContexts = !isAbsent(info[4]);
  if (hasContexts && !validContexts(info[4].As<Napi::Int32Array>(), count)) {
    throwJsError(env, kErrInvalidArgument, "decoderAttention: contextOf has one entry per sequence, -1 or a sequence without a context");
  }
  const size_t outRows = queries == "all" ? static_cast<size_t>(tokens) : static_cast<size_t>(count);
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dq = upload(q, type, stream), dk = upload(k, type, stream), dv = upload(v, type, stream);
    DeviceBuffer dOffsets = uploadInt32(offsets, stream), dContexts, out(2 * std::max<size_t>(outRows * width, 8));
    if (hasContexts) dContexts = uploadInt32(info[4].As<Napi::Int32Array>(), stream);
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(out.get(), 0xff, out.bytes(), stream));  // NaN: a row the kernel skips shows up
    int32_t maxLength = 0;
    for (int32_t s = 0; s < count; ++s) maxLength = std::max(maxLength, offsets[s + 1] - offsets[s]);
    kernels::AttentionArgs a;
    a.type = type;
    a.q = dq.get();
    a.k = dk.get();
    a.v = dv.get();
    a.out = out.get();
    a.qStride = a.outStride = width;
    a.kvStride = kvWidth;
    a.cuSeqLens = dOffsets.get<int32_t>();
    a.contextOf = hasContexts ? dContexts.get<int32_t>() : nullptr;
    a.count = count;
    a.maxLength = maxLength;
    a.heads = heads;
    a.kvHeads = kvHeads;
    a.headDim = headDim;
    a.queries = first ? kernels::AttentionQueries::First : queries == "last" ? kernels::AttentionQueries::Last
                                                                             : kernels::AttentionQueries::All;
    a.window = window;
    a.causal = causal;
    kernels::attention(a, stream);
    return download(env, out, outRows * width, type, stream);
  });
}

Napi::Value headNormRotaryHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isFloat32Array(info[0]) || !(isAbsent(info[1]) || isInt32Array(info[1])) || !info[2].IsObject()) {
    throwJsError(env, kErrInvalidArgument, "headNormRotary(qkv, positions | null, {stride, qHeads, kHeads, kOffset, headDim, qWeight, kWeight, eps, theta, dtype})");
  }
  Napi::Float32Array qkv = info[0].As<Napi::Float32Array>(), qWeight, kWeight;
  const Napi::Object o = options(info, 2);
  const int64_t stride = intOption(o, "stride", 0), kOffset = intOption(o, "kOffset", 0);
  const int qHeads = intOption(o, "qHeads", 0), kHeads = intOption(o, "kHeads", 0), headDim = intOption(o, "headDim", 0);
  const bool hasQ = optionalFloat32(env, o.Get("qWeight"), "qWeight", qWeight), hasK = optionalFloat32(env, o.Get("kWeight"), "kWeight", kWeight);
  const float eps = o.Get("eps").IsNumber() ? o.Get("eps").As<Napi::Number>().FloatValue() : 1e-6f;
  const float theta = o.Get("theta").IsNumber() ? o.Get("theta").As<Napi::Number>().FloatValue() : 0.0f;
  const kernels::StorageType type = storageType(env, o.Get("dtype"));
  const bool hasPositions = !isAbsent(info[1]);
  const int64_t tokens = stride > 0 ? static_cast<int64_t>(qkv.ElementLength()) / stride : 0;
  // Every head inside its row (else the kernel would write outside qkv).
  if (stride < 1 || tokens < 1 || qkv.ElementLength() != static_cast<size_t>(tokens * stride) || qHeads < 0 || kHeads < 0 || kOffset < 0 ||
      headDim < 1 || static_cast<int64_t>(qHeads) * headDim > stride || kOffset + static_cast<int64_t>(kHeads) * headDim > stride ||
      (hasPositions && info[1].As<Napi::Int32Array>().ElementLength() != static_cast<size_t>(tokens)) ||
      (hasQ && qWeight.ElementLength() != static_cast<size_t>(headDim)) || (hasK && kWeight.ElementLength() != static_cast<size_t>(headDim))) {
    throwJsError(env, kErrInvalidArgument, "headNormRotary: qkv [tokens, stride] with every head inside a row, positions [tokens], weights [headDim]");
  }
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    DeviceBuffer dqkv = upload(qkv, type, stream), dPositions, dq, dk;
    if (hasPositions) dPositions = uploadInt32(info[1].As<Napi::Int32Array>(), stream);
    if (hasQ) dq = upload(qWeight, type, stream);
    if (hasK) dk = upload(kWeight, type, stream);
    kernels::HeadNormRotaryArgs a;
    a.type = type;
    a.qkv = dqkv.get();
    a.tokens = tokens;
    a.stride = stride;
    a.qHeads = qHeads;
    a.kHeads = kHeads;
    a.kOffset = kOffset;
    a.headDim = headDim;
    a.positions = hasPositions ? dPositions.get<int32_t>() : nullptr;
    a.qWeight = hasQ ? dq.get() : nullptr;
    a.kWeight = hasK ? dk.get() : nullptr;
    a.eps = eps;
    a.theta = theta;
    kernels::headNormRotary(a, stream);
    return download(env, dqkv, qkv.ElementLength(), type, stream);
  });
}

Napi::Value residualNormHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isFloat32Array(info[0]) || !isFloat32Array(info[3]) || !info[2].IsNumber() || !info[5].IsNumber()) {
    throwJsError(env, kErrInvalidArgument, "residualNorm(x, residual | null, hidden, gamma, beta | null, eps, dtype, {kind, sum, out, residualFloat, sumFloat})");
  }
  Napi::Float32Array x = info[0].As<Napi::Float32Array>(), gamma = info[3].As<Napi::Float32Array>(), residual, beta;
  const bool hasResidual = optionalFloat32(env, info[1], "residual", residual);
  const bool hasBeta = optionalFloat32(env, info[4], "beta", beta);
  const int hidden = info[2].As<Napi::Number>().Int32Value();
  const float eps = info[5].As<Napi::Number>().FloatValue();
  const kernels::StorageType type = storageType(env, info[6]);
  const Napi::Object o = options(info, 7);
  const std::string kind = textOption(o, "kind", "layer"), sumAt = textOption(o, "sum", "none"), outAt = textOption(o, "out", "new");
  const bool residualFloat = o.Get("residualFloat").ToBoolean(), sumFloat = o.Get("sumFloat").ToBoolean();
  if (hidden < 1 || x.ElementLength() % hidden != 0 || (hasResidual && residual.ElementLength() != x.ElementLength()) ||
      gamma.ElementLength() != static_cast<size_t>(hidden) || (hasBeta && beta.ElementLength() != gamma.ElementLength())) {
    throwJsError(env, kErrInvalidArgument, "residualNorm: x and residual [rows, hidden], gamma and beta [hidden]");
  }
  const auto known = [&](const std::string& at, bool none) { return (none && at == "none") || at == "new" || at == "x" || (at == "residual" && hasResidual); };
  // An alias shares its input's element type: the sum over x is in T, over the residual in the residual's type;
  // the output is always T.
  const bool typesMatch = (sumAt != "x" || !sumFloat) && (sumAt != "residual" || sumFloat == residualFloat) && (outAt != "residual" || !residualFloat);
  if ((kind != "layer" && kind != "rms") || !known(sumAt, true) || !known(outAt, false) || (sumAt == outAt && outAt != "new") || !typesMatch ||
      (residualFloat && !hasResidual) || (sumFloat && sumAt == "none")) {
    throwJsError(env, kErrInvalidArgument,
                 "residualNorm: kind 'layer' | 'rms'; sum 'none' | 'new' | 'x' | 'residual', out 'new' | 'x' | 'residual', "
                 "not the same input, aliases of one element type, fp32 flags with their buffers");
  }
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    const size_t n = x.ElementLength();
    DeviceBuffer dx = upload(x, type, stream), dg = upload(gamma, type, stream), dr, db, sumNew, outNew;
    if (hasResidual) dr = residualFloat ? uploadFloat(residual, stream) : upload(residual, type, stream);
    if (hasBeta) db = upload(beta, type, stream);
    const auto target = [&](const std::string& at, DeviceBuffer& fresh, bool fp32) -> DeviceBuffer* {
      if (at == "x") return &dx;
      if (at == "residual") return &dr;
      fresh = DeviceBuffer((fp32 ? 4 : 2) * std::max<size_t>(n, 8));
      TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(fresh.get(), 0xff, fresh.bytes(), stream));  // NaN: an element the kernel skips shows up
      return &fresh;
    };
    DeviceBuffer* sum = sumAt == "none" ? nullptr : target(sumAt, sumNew, sumFloat);
    DeviceBuffer* out = target(outAt, outNew, false);
    kernels::ResidualNormArgs a;
    a.type = type;
    a.kind = kind == "rms" ? kernels::NormType::Rms : kernels::NormType::Layer;
    a.x = dx.get();
    a.residual = hasResidual ? dr.get() : nullptr;
    a.residualFloat = residualFloat;
    a.sum = sum != nullptr ? sum->get() : nullptr;
    a.sumFloat = sumFloat;
    a.rows = static_cast<int64_t>(n) / hidden;
    a.hidden = hidden;
    a.gamma = dg.get();
    a.beta = hasBeta ? db.get() : nullptr;
    a.eps = eps;
    a.out = out->get();
    kernels::residualNorm(a, stream);
    Napi::Object result = Napi::Object::New(env);
    result.Set("out", download(env, *out, n, type, stream));
    result.Set("sum", sum == nullptr ? env.Null() : sumFloat ? downloadFloat(env, *sum, n, stream)
                                                             : download(env, *sum, n, type, stream));
    return result;
  });
}

Napi::Value lastTokensHook(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!isFloat32Array(info[0]) || !isInt32Array(info[1]) || !info[2].IsNumber()) throwJsError(env, kErrInvalidArgument, "lastTokens(x, offsets, hidden, dtype | 'fp32')");
  Napi::Float32Array x = info[0].As<Napi::Float32Array>();
  Napi::Int32Array offsets = info[1].As<Napi::Int32Array>();
  const int hidden = info[2].As<Napi::Number>().Int32Value();
  const bool fp32 = info[3].IsString() && info[3].As<Napi::String>().Utf8Value() == "fp32";
  const kernels::StorageType type = fp32 ? kernels::StorageType::Half : storageType(env, info[3]);
  if (hidden < 1 || x.ElementLength() % hidden != 0 || !validOffsets(offsets, static_cast<int64_t>(x.ElementLength() / hidden))) {
    throwJsError(env, kErrInvalidArgument, "lastTokens: x [tokens, hidden], offsets from 0 to tokens, never decreasing");
  }
  const int32_t count = static_cast<int32_t>(offsets.ElementLength()) - 1;
  return onDevice(env, [&](cudaStream_t stream) -> Napi::Value {
    const size_t n = static_cast<size_t>(count) * hidden;
    const int bytes = fp32 ? 4 : 2;
    DeviceBuffer dx = fp32 ? uploadFloat(x, stream) : upload(x, type, stream), dOffsets = uploadInt32(offsets, stream);
    DeviceBuffer out(bytes * std::max<size_t>(n, 8));
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(out.get(), 0xff, out.bytes(), stream));  // NaN: an element the kernel skips shows up
    kernels::gatherLastRows(dx.get(), dOffsets.get<int32_t>(), count, static_cast<int64_t>(hidden) * bytes, out.get(), stream);
    return fp32 ? downloadFloat(env, out, n, stream) : download(env, out, n, type, stream);
  });
}

}  // namespace

void addDecoderKernelHooks(Napi::Env env, Napi::Object& testing) {
  testing.Set("decoderAttention", Napi::Function::New(env, decoderAttentionHook));
  testing.Set("headNormRotary", Napi::Function::New(env, headNormRotaryHook));
  testing.Set("residualNorm", Napi::Function::New(env, residualNormHook));
  testing.Set("lastTokens", Napi::Function::New(env, lastTokensHook));
}

}  // namespace trt_rerank::gpu_testing
