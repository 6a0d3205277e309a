// RoPE in place on packed q / k heads (rotary.cuh has the math). The inverse frequencies are computed once on
// the host (in double, rounded to fp32: torch's fp32 pow to within its last bit) and passed in the kernel's
// argument struct; each thread takes one token and kVec consecutive rotation pairs, computes their angles'
// sines and cosines once, and applies them to that slice of every q and k head of the token.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <type_traits>

#include "common/cuda_check.h"
#include "common/errors.h"
#include "kernels/rotary.cuh"
#include "kernels/storage.cuh"

namespace trt_rerank::kernels {
namespace {

constexpr int kThreads = 128;

template <typename T>
struct RotaryArgs {
  T* qkv;                    // [tokens, stride]
  const int32_t* positions;  // [tokens]
  int64_t tokens, stride, kOffset;
  int qHeads, kHeads, headDim;
  float invFreq[kMaxRotaryHeadDim / 2];  // [headDim / 2]: 1 / theta^(2i / headDim)
};

//   qkv [tokens, stride]: q head h at columns h * D .., k head h at kOffset + h * D ..; positions [tokens].
//   Items (t, g), g < D / 2 / kVec, over a grid-stride loop of kThreads-thread blocks: pairs i = g kVec ..
//   g kVec + kVec - 1 of token t, for every q head then every k head. kVec 8: 16-byte loads and stores of x1 =
//   x[i ..] and x2 = x[i + D/2 ..] (D % 16 == 0, stride and kOffset multiples of 8, qkv 16-byte aligned).
//   __grid_constant__: invFreq is indexed at run time and read in place from the argument space, not copied.
template <typename T, int kVec>
__global__ void __launch_bounds__(kThreads) rotaryKernel(const __grid_constant__ RotaryArgs<T> a) {
  const int half = a.headDim / 2;
  const int groups = half / kVec;
  const int64_t items = a.tokens * groups;
  for (int64_t item = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; item < items;
       item += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = item / groups;
    const int i0 = static_cast<int>(item - t * groups) * kVec;
    const float position = static_cast<float>(a.positions[t]);
    float c[kVec], s[kVec];
#pragma unroll
    for (int v = 0; v < kVec; ++v) sincosf(__fmul_rn(position, a.invFreq[i0 + v]), &s[v], &c[v]);  // the fp32 angle (never fused), accurate sincos
    T* row = a.qkv + t * a.stride + i0;
    for (int h = 0; h < a.qHeads + a.kHeads; ++h) {
      T* x = row + (h < a.qHeads ? h * static_cast<int64_t>(a.headDim) : a.kOffset + (h - a.qHeads) * static_cast<int64_t>(a.headDim));
      if constexpr (kVec == 8) {
        float x1[8], x2[8], y1[8], y2[8];
        load8(x, x1);
        load8(x + half, x2);
#pragma unroll
        for (int v = 0; v < 8; ++v) {
          y1[v] = x1[v] * c[v] - x2[v] * s[v];
          y2[v] = x2[v] * c[v] + x1[v] * s[v];
        }
        store8(x, y1);
        store8(x + half, y2);
      } else {
        const float x1 = load(x, 0), x2 = load(x, half);
        store(x, 0, x1 * c[0] - x2 * s[0]);
        store(x, half, x2 * c[0] + x1 * s[0]);
      }
    }
  }
}

}  // namespace

void rotaryEmbedding(StorageType type, void* qkv, int64_t tokens, int64_t stride, int heads, int64_t kOffset, int headDim,
                     const int32_t* positions, float theta, cudaStream_t stream, bool rotateQ, int kHeads) {
  if (headDim < 2 || headDim % 2 != 0 || headDim > kMaxRotaryHeadDim) {
    throw NativeError(kErrInvalidArgument, "rotary embeddings need an even head size of at most " + std::to_string(kMaxRotaryHeadDim) +
                                               ", not " + std::to_string(headDim));
  }
  if (!(theta > 0.0f) || !std::isfinite(theta)) throw NativeError(kErrInvalidArgument, "rope_theta must be a positive number");
  const int qHeads = rotateQ ? heads : 0;
  if (kHeads < 0) kHeads = heads;
  if (qHeads < 0 || (kHeads > 0 && kOffset < 0)) throw NativeError(kErrInvalidArgument, "rotaryEmbedding: negative head count or k offset");
  if (tokens <= 0 || qHeads + kHeads == 0) return;
  const bool vector = headDim % 16 == 0 && stride % 8 == 0 && kOffset % 8 == 0 && reinterpret_cast<uintptr_t>(qkv) % 16 == 0;
  const int kVec = vector ? 8 : 1;
  const int64_t items = tokens * (headDim / 2 / kVec);
  const unsigned blocks = static_cast<unsigned>(std::min<int64_t>((items + kThreads - 1) / kThreads, 65535));
  auto run = [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    RotaryArgs<T> a{};
    a.qkv = static_cast<T*>(qkv);
    a.positions = positions;
    a.tokens = tokens;
    a.stride = stride;
    a.kOffset = kOffset;
    a.qHeads = qHeads;
    a.kHeads = kHeads;
    a.headDim = headDim;
    for (int i = 0; i < headDim / 2; ++i) {
      // torch: base ** (arange(0, D, 2).float() / D) in fp32, then 1.0 / that in fp32.
      const float exponent = static_cast<float>(2 * i) / static_cast<float>(headDim);
      const float power = static_cast<float>(std::pow(static_cast<double>(theta), static_cast<double>(exponent)));
      a.invFreq[i] = 1.0f / power;
    }
    if (vector) rotaryKernel<T, 8><<<blocks, kThreads, 0, stream>>>(a);
    else rotaryKernel<T, 1><<<blocks, kThreads, 0, stream>>>(a);
  };
  if (type == StorageType::Half) run(static_cast<__half*>(nullptr));
  else run(static_cast<__nv_bfloat16*>(nullptr));
  TRT_RERANK_LAUNCH_CHECK("rotaryKernel");
}

}  // namespace trt_rerank::kernels
