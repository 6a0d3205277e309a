// What the two GEMM kernels (gemm.cu: mma.sync; gemm_sm90.cu: wgmma) share on the device: their parameters, the
// cp.async copies that fill their shared-memory rings, and the epilogue (gemm.cuh's formulas) with its stores.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/activation.cuh"
#include "kernels/gemm.cuh"
#include "kernels/storage.cuh"

namespace trt_rerank::kernels::gemm_device {

template <typename T>
struct Params {
  const T* x;
  const T* w;
  const T* bias;
  T* y;
  int64_t m, n, k;
  Activation act;
};

template <typename T>
Params<T> paramsOf(const GemmArgs& a) {
  return {static_cast<const T*>(a.x), static_cast<const T*>(a.w), static_cast<const T*>(a.bias), static_cast<T*>(a.y), a.m, a.n, a.k, a.act};
}

__device__ __forceinline__ uint32_t sharedAddress(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

// 16 bytes global -> shared, asynchronously; src-size 0 (valid false) writes zeros and reads nothing.
__device__ __forceinline__ void copyAsync16(uint32_t dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src), "r"(valid ? 16 : 0));
}
__device__ __forceinline__ void commitCopies() { asm volatile("cp.async.commit_group;\n" ::); }
// Until at most kPending of this thread's committed copy groups are still in flight.
template <int kPending>
__device__ __forceinline__ void waitCopies() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending));
}

// The epilogue of output column c from its fp32 products: act(u + bias[c]), or gated act(u + bias[c]) * (g + bias[n + c]).
template <typename T>
__device__ __forceinline__ float plainOutput(const Params<T>& p, float u, int64_t c) {
  if (p.bias != nullptr && c < p.n) u += load(p.bias, c);
  return activation(p.act, u);
}
template <typename T>
__device__ __forceinline__ float gatedOutput(const Params<T>& p, float u, float g, int64_t c) {
  if (p.bias != nullptr && c < p.n) u += load(p.bias, c), g += load(p.bias, p.n + c);
  return activation(p.act, u) * g;
}

// Columns c and c + 1 of a row of y (c even); a pair store where both are in the row and n keeps it aligned.
template <typename T>
__device__ __forceinline__ void storePair(T* row, int64_t c, int64_t n, float v0, float v1) {
  if (c + 1 < n && n % 2 == 0) {
    *reinterpret_cast<uint32_t*>(row + c) = pack(v0, v1, T{});
  } else {
    if (c < n) store(row, c, v0);
    if (c + 1 < n) store(row, c + 1, v1);
  }
}

}  // namespace trt_rerank::kernels::gemm_device
