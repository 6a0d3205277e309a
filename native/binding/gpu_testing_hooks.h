// What the kernel hooks of addon.testing share (gpu_testing.cc: the encoders' kernels and the rest;
// gpu_testing_decoder.cc: the decoders'; gpu_testing_gemm.cc: the GEMMs'): device 0 with a fresh stream, fp32 values to and from the storage type,
// argument checks. Testing addon only.
#pragma once

#include <napi.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "binding/promise_worker.h"
#include "common/cuda_check.h"
#include "common/cuda_resources.h"
#include "common/half.h"
#include "kernels/encoder.cuh"

namespace trt_rerank::gpu_testing {

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

inline kernels::StorageType storageType(Napi::Env env, const Napi::Value& v) {
  const std::string type = v.IsString() ? v.As<Napi::String>().Utf8Value() : "";
  if (type != "fp16" && type != "bf16") throwJsError(env, kErrInvalidArgument, "dtype must be 'fp16' or 'bf16'");
  return type == "fp16" ? kernels::StorageType::Half : kernels::StorageType::BFloat16;
}

// values as the storage type on the device (at least 16 bytes, so an empty input still has an address).
inline DeviceBuffer upload(const Napi::Float32Array& values, kernels::StorageType type, cudaStream_t stream) {
  const size_t n = values.ElementLength();
  DeviceBuffer staging(sizeof(float) * std::max<size_t>(n, 1)), stored(2 * std::max<size_t>(n, 8));
  TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(staging.get(), values.Data(), sizeof(float) * n, cudaMemcpyHostToDevice, stream));
  kernels::convertWeights(staging.get(), 0, type, stored.get(), static_cast<int64_t>(n), stream);
  TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
  return stored;
}

// values as fp32 on the device (a residual stream kept in fp32), unrounded.
inline DeviceBuffer uploadFloat(const Napi::Float32Array& values, cudaStream_t stream) {
  const size_t n = values.ElementLength();
  DeviceBuffer out(sizeof(float) * std::max<size_t>(n, 4));
  TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(out.get(), values.Data(), sizeof(float) * n, cudaMemcpyHostToDevice, stream));
  TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

// An int32 array on the device (at least one element's room).
inline DeviceBuffer uploadInt32(const Napi::Int32Array& values, cudaStream_t stream) {
  const size_t n = values.ElementLength();
  DeviceBuffer out(sizeof(int32_t) * std::max<size_t>(n, 1));
  TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(out.get(), values.Data(), sizeof(int32_t) * n, cudaMemcpyHostToDevice, stream));
  TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

inline bool isFloat32Array(const Napi::Value& v) { return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array; }
inline bool isInt32Array(const Napi::Value& v) { return v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array; }
inline bool isAbsent(const Napi::Value& v) { return v.IsNull() || v.IsUndefined(); }

// An optional Float32Array operand: false where v is null or undefined, else out = v (a JS error for anything else).
inline bool optionalFloat32(Napi::Env env, const Napi::Value& v, const char* what, Napi::Float32Array& out) {
  if (isAbsent(v)) return false;
  if (!isFloat32Array(v)) throwJsError(env, kErrInvalidArgument, std::string(what) + " must be a Float32Array or null");
  out = v.As<Napi::Float32Array>();
  return true;
}

// Offsets that start at 0, never decrease and end at `tokens` (empty sequences allowed); false otherwise.
inline bool validOffsets(const Napi::Int32Array& offsets, int64_t tokens) {
  const size_t n = offsets.ElementLength();
  if (n < 2 || offsets[0] != 0 || offsets[n - 1] != tokens) return false;
  for (size_t i = 1; i < n; ++i) {
    if (offsets[i] < offsets[i - 1]) return false;
  }
  return true;
}

// contextOf [count]: each entry -1 or another sequence that has no context itself (one level, as models/ops.h
// says); anything else would make a kernel read outside its inputs.
inline bool validContexts(const Napi::Int32Array& contextOf, int32_t count) {
  if (contextOf.ElementLength() != static_cast<size_t>(count)) return false;
  for (int32_t s = 0; s < count; ++s) {
    const int32_t c = contextOf[s];
    if (c != -1 && (c < 0 || c >= count || c == s || contextOf[c] != -1)) return false;
  }
  return true;
}

inline Napi::Float32Array download(Napi::Env env, const DeviceBuffer& stored, size_t n, kernels::StorageType type, cudaStream_t stream) {
  std::vector<uint16_t> raw(n);
  TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(raw.data(), stored.get(), 2 * n, cudaMemcpyDeviceToHost, stream));
  TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  for (size_t i = 0; i < n; ++i) out[i] = type == kernels::StorageType::Half ? halfToFloat(raw[i]) : bf16ToFloat(raw[i]);
  return out;
}

inline Napi::Float32Array downloadFloat(Napi::Env env, const DeviceBuffer& values, size_t n, cudaStream_t stream) {
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(out.Data(), values.get(), sizeof(float) * n, cudaMemcpyDeviceToHost, stream));
  TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
  return out;
}

// The decoders' hooks (gpu_testing_decoder.cc) and the GEMMs' (gpu_testing_gemm.cc), added to addon.testing.
void addDecoderKernelHooks(Napi::Env env, Napi::Object& testing);
void addGemmHooks(Napi::Env env, Napi::Object& testing);

}  // namespace trt_rerank::gpu_testing
