// What the GEMM kernels (gemm.cu: mma.sync; gemm_sm90.cu, gemm_sm90_tma.cu: wgmma) share: their parameters, the
// cp.async copies that fill the mma.sync and cp.async rings, the epilogue's bias reads and stores (gemm.cuh's
// formulas), and the per-activation instantiation (withActivation).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

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

// Bias of columns c and c + 1 (past `offset`: the gate half's), 0 past n or without bias; read once per column, not
// per row.
template <typename T>
__device__ __forceinline__ float2 biasPair(const Params<T>& p, int64_t c, int64_t offset) {
  if (p.bias == nullptr) return make_float2(0.0f, 0.0f);
  return make_float2(c < p.n ? load(p.bias, offset + c) : 0.0f, c + 1 < p.n ? load(p.bias, offset + c + 1) : 0.0f);
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

// The stores of one fragment row's 4 consecutive n8 tiles (columns c0 .. c0 + 31) from the mma / wgmma layout, where
// lane q of each quad holds, per tile jj, columns c0 + 8 jj + 2 q and + 1 packed in pair[jj]. A 4 x 4 transpose
// within the quad (3 shuffles) gives lane q tile q's 8 columns, stored as one 16-byte chunk where n % 8 == 0 and y is
// 16-byte aligned (wide), else element by element; 4 lanes then write 64 contiguous bytes of a row, not 16. Every
// lane of the warp must call it (the shuffles); rowValid false stores nothing.
template <typename T>
__device__ __forceinline__ void storeQuad(T* row, bool rowValid, int64_t c0, int64_t n, bool wide, const uint32_t (&pair)[4]) {
  const int q = threadIdx.x & 3, quad = threadIdx.x & 31 & ~3;
  uint32_t chunk[4] = {0, 0, 0, 0};  // chunk[s]: columns c0 + 8 q + 2 s, + 1, from lane s of the quad
#pragma unroll
  for (int s = 0; s < 4; ++s) {
    // Round s: lane q sends its pair of tile (q - s) & 3 and receives lane (q + s) & 3's pair of tile q.
    const int send = (q - s) & 3, from = (q + s) & 3;
    const uint32_t mine = send == 0 ? pair[0] : send == 1 ? pair[1]
                                            : send == 2   ? pair[2]
                                                          : pair[3];
    const uint32_t got = s == 0 ? mine : __shfl_sync(0xFFFFFFFFu, mine, quad | from);
#pragma unroll
    for (int t = 0; t < 4; ++t) chunk[t] = t == from ? got : chunk[t];
  }
  if (!rowValid) return;
  const int64_t c = c0 + 8 * q;
  if (wide && c + 8 <= n) {
    *reinterpret_cast<uint4*>(row + c) = make_uint4(chunk[0], chunk[1], chunk[2], chunk[3]);
    return;
  }
  uint16_t* bits = reinterpret_cast<uint16_t*>(row);
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    if (c + i < n) bits[c + i] = static_cast<uint16_t>(chunk[i / 2] >> (16 * (i % 2)));
  }
}

// Calls fn(std::integral_constant<Activation, act>{}): one kernel instantiation per activation.
template <typename Fn>
void withActivation(Activation act, Fn&& fn) {
  switch (act) {
    case Activation::None: return fn(std::integral_constant<Activation, Activation::None>{});
    case Activation::GeluErf: return fn(std::integral_constant<Activation, Activation::GeluErf>{});
    case Activation::GeluTanh: return fn(std::integral_constant<Activation, Activation::GeluTanh>{});
    case Activation::Relu: return fn(std::integral_constant<Activation, Activation::Relu>{});
    case Activation::Silu: return fn(std::integral_constant<Activation, Activation::Silu>{});
    default: return fn(std::integral_constant<Activation, Activation::Tanh>{});
  }
}

}  // namespace trt_rerank::kernels::gemm_device
