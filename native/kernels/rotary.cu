// RoPE in place on packed q / k heads (rotary.cuh has the math). The inverse frequencies are computed once on
// the host (in double, rounded to fp32: torch's fp32 pow to within its last bit) and passed in the kernel's
// argument struct; each thread takes one token and kVec consecutive rotation pairs, computes their angles'
// sines and cosines once, and applies them to that slice of every q and k head of the token.
//
// The per-head RMSNorm + RoPE (headNormRotary): a block per (token, kHeadsPerBlock heads); its threads compute
// the token's D / 2 sines and cosines once into shared memory, then each warp takes one head at a time, lane l
// the pairs (i, i + D/2) for i = l, l + 32, .. held in registers: the sum of squares (a warp sum), the scale,
// the weight, the rotation, one store per value. Memory-bound: 2 D bytes read and written per head (the values
// of every warp's head are 64-byte runs, whole sectors), ~10 FLOPs a value, and a sincos per pair per block
// instead of per head.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>
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
constexpr int kHeadsPerBlock = 8;  // headNormRotary: 2 heads a warp, the token's sincos shared by 8 heads

// inv_i = 1 / theta^(2i / D) as torch computes it (rotary.cuh), into invFreq[0 .. D/2 - 1]; theta <= 0: zeros
// (every angle 0: cos 1, sin 0, the identity).
void inverseFrequencies(float theta, int headDim, float* invFreq) {
  for (int i = 0; i < headDim / 2; ++i) {
    if (!(theta > 0.0f)) {
      invFreq[i] = 0.0f;
      continue;
    }
    // torch: base ** (arange(0, D, 2).float() / D) in fp32, then 1.0 / that in fp32.
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(headDim);
    const float power = static_cast<float>(std::pow(static_cast<double>(theta), static_cast<double>(exponent)));
    invFreq[i] = 1.0f / power;
  }
}

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

template <typename T>
struct HeadNormRotaryParams {
  T* qkv;                    // [tokens, stride]
  const int32_t* positions;  // [tokens], or nullptr (no rotation)
  const T* qWeight;          // [headDim] or nullptr
  const T* kWeight;          // [headDim] or nullptr
  int64_t stride, kOffset;
  int qHeads, kHeads, headDim;
  float eps;
  float invFreq[kMaxRotaryHeadDim / 2];  // [headDim / 2]; zeros: no rotation
};

__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

//   qkv [tokens, stride]: q head h at columns h * D .., k head h at kOffset + h * D ..; positions [tokens].
//   grid (tokens, ceil((qHeads + kHeads) / kHeadsPerBlock)), kThreads threads: block (t, b) takes heads
//   b * kHeadsPerBlock .. (q heads first, then k heads) of token t, warp w heads w, w + 4 of them. kPairs =
//   ceil(D / 64): lane l holds pairs i = l + 32 j, j < kPairs, i < D / 2.
template <typename T, int kPairs>
__global__ void __launch_bounds__(kThreads) headNormRotaryKernel(const __grid_constant__ HeadNormRotaryParams<T> a) {
  __shared__ float2 angles[kMaxRotaryHeadDim / 2];  // (cos, sin) of pair i's angle at this token's position
  const int64_t t = blockIdx.x;
  const int half = a.headDim / 2;
  const float position = a.positions != nullptr ? static_cast<float>(a.positions[t]) : 0.0f;
  for (int i = threadIdx.x; i < half; i += kThreads) {
    float s, c;
    sincosf(__fmul_rn(position, a.invFreq[i]), &s, &c);  // the fp32 angle (never fused), accurate sincos
    angles[i] = make_float2(c, s);
  }
  __syncthreads();
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int first = blockIdx.y * kHeadsPerBlock;
  const int last = min(a.qHeads + a.kHeads, first + kHeadsPerBlock);
  for (int h = first + warp; h < last; h += kThreads / 32) {  // uniform over the warp
    const bool isQ = h < a.qHeads;
    T* x = a.qkv + t * a.stride + (isQ ? static_cast<int64_t>(h) * a.headDim : a.kOffset + static_cast<int64_t>(h - a.qHeads) * a.headDim);
    const T* w = isQ ? a.qWeight : a.kWeight;
    float x1[kPairs], x2[kPairs], squares = 0.0f;
#pragma unroll
    for (int j = 0; j < kPairs; ++j) {
      const int i = lane + 32 * j;
      x1[j] = i < half ? load(x, i) : 0.0f;
      x2[j] = i < half ? load(x, i + half) : 0.0f;
      squares += x1[j] * x1[j] + x2[j] * x2[j];
    }
    const float total = warpSum(squares);  // every lane: a full-warp shuffle
    const float scale = w != nullptr ? rsqrtf(total / static_cast<float>(a.headDim) + a.eps) : 1.0f;
#pragma unroll
    for (int j = 0; j < kPairs; ++j) {
      const int i = lane + 32 * j;
      if (i >= half) continue;
      const float y1 = w != nullptr ? x1[j] * scale * load(w, i) : x1[j];
      const float y2 = w != nullptr ? x2[j] * scale * load(w, i + half) : x2[j];
      const float2 cs = angles[i];
      store(x, i, y1 * cs.x - y2 * cs.y);
      store(x, i + half, y2 * cs.x + y1 * cs.y);
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
    inverseFrequencies(theta, headDim, a.invFreq);
    if (vector) rotaryKernel<T, 8><<<blocks, kThreads, 0, stream>>>(a);
    else rotaryKernel<T, 1><<<blocks, kThreads, 0, stream>>>(a);
  };
  if (type == StorageType::Half) run(static_cast<__half*>(nullptr));
  else run(static_cast<__nv_bfloat16*>(nullptr));
  TRT_RERANK_LAUNCH_CHECK("rotaryKernel");
}

void headNormRotary(const HeadNormRotaryArgs& args, cudaStream_t stream) {
  if (args.headDim < 2 || args.headDim % 2 != 0 || args.headDim > kMaxRotaryHeadDim) {
    throw NativeError(kErrInvalidArgument, "headNormRotary: needs an even head size of at most " + std::to_string(kMaxRotaryHeadDim) + ", not " +
                                               std::to_string(args.headDim));
  }
  if (args.qHeads < 0 || args.kHeads < 0 || (args.kHeads > 0 && args.kOffset < 0) || !(args.eps >= 0.0f) || args.tokens > INT32_MAX) {
    throw NativeError(kErrInvalidArgument, "headNormRotary: negative head count, k offset or eps, or more than 2^31 tokens");
  }
  if (args.theta > 0.0f && (!std::isfinite(args.theta) || args.positions == nullptr)) {
    throw NativeError(kErrInvalidArgument, "headNormRotary: a rotation needs a finite rope_theta and the positions");
  }
  const int heads = args.qHeads + args.kHeads;
  if (args.tokens <= 0 || heads == 0) return;
  const dim3 grid(static_cast<unsigned>(args.tokens), static_cast<unsigned>((heads + kHeadsPerBlock - 1) / kHeadsPerBlock));
  const int pairs = (args.headDim / 2 + 31) / 32;  // 1 .. kMaxRotaryHeadDim / 64
  auto run = [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    HeadNormRotaryParams<T> a{};
    a.qkv = static_cast<T*>(args.qkv);
    a.positions = args.theta > 0.0f ? args.positions : nullptr;
    a.qWeight = static_cast<const T*>(args.qWeight);
    a.kWeight = static_cast<const T*>(args.kWeight);
    a.stride = args.stride;
    a.kOffset = args.kOffset;
    a.qHeads = args.qHeads;
    a.kHeads = args.kHeads;
    a.headDim = args.headDim;
    a.eps = args.eps;
    inverseFrequencies(args.theta, args.headDim, a.invFreq);
    static_assert(kMaxRotaryHeadDim / 64 == 8, "the pair counts below cover head sizes up to kMaxRotaryHeadDim");
    if (pairs <= 1) headNormRotaryKernel<T, 1><<<grid, kThreads, 0, stream>>>(a);
    else if (pairs <= 2) headNormRotaryKernel<T, 2><<<grid, kThreads, 0, stream>>>(a);
    else if (pairs <= 4) headNormRotaryKernel<T, 4><<<grid, kThreads, 0, stream>>>(a);
    else headNormRotaryKernel<T, 8><<<grid, kThreads, 0, stream>>>(a);
  };
  if (args.type == StorageType::Half) run(static_cast<__half*>(nullptr));
  else run(static_cast<__nv_bfloat16*>(nullptr));
  TRT_RERANK_LAUNCH_CHECK("headNormRotaryKernel");
}

}  // namespace trt_rerank::kernels
