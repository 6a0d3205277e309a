// LayerNorm (transformers' nn.LayerNorm): y = (x - mean) / sqrt(var + eps) * gamma + beta, mean and biased
// variance over the row in fp32 (two passes over values held in registers). GELU as the models define it:
// erf form 0.5 x (1 + erf(x / sqrt 2)) for "gelu", tanh form for "gelu_new" and friends.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>
#include <type_traits>

#include "common/cuda_check.h"
#include "common/errors.h"
#include "kernels/encoder.cuh"
#include "kernels/storage.cuh"

namespace trt_rerank::kernels {
namespace {

constexpr int kRowWarps = 4;  // rows per block in the row kernels: one warp per row

__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// One warp normalizes one row held in registers: lane l holds chunks c = 0 .. kChunks-1, elements
// (c * 32 + l) * 8 .. + 7 (present when below hidden). Two passes over the registers (mean, then the
// centred squares), fp32 throughout, then gamma / beta and one 16-byte store per chunk.
template <typename T, int kChunks>
__device__ __forceinline__ void normalizeRow(float (&v)[kChunks][8], int hidden, const T* __restrict__ gamma,
                                             const T* __restrict__ beta, float eps, T* out) {
  const int lane = threadIdx.x % 32;
  float sum = 0.0f;
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    if ((c * 32 + lane) * 8 >= hidden) continue;
#pragma unroll
    for (int i = 0; i < 8; ++i) sum += v[c][i];
  }
  const float mean = warpSum(sum) / hidden;
  float squares = 0.0f;
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    if ((c * 32 + lane) * 8 >= hidden) continue;
#pragma unroll
    for (int i = 0; i < 8; ++i) squares += (v[c][i] - mean) * (v[c][i] - mean);
  }
  const float rstd = rsqrtf(warpSum(squares) / hidden + eps);
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int at = (c * 32 + lane) * 8;
    if (at >= hidden) continue;
    float g[8], b[8], y[8];
    load8(gamma + at, g);
    load8(beta + at, b);
#pragma unroll
    for (int i = 0; i < 8; ++i) y[i] = (v[c][i] - mean) * rstd * g[i] + b[i];
    store8(out + at, y);
  }
}

// One warp per sequence, 32 tokens a step; XLM-R's running count of non-pad tokens by ballot and popc (a
// thread per sequence counting alone took ~18 us per batch, as long as a LayerNorm of the whole batch).
__global__ void positionIdsKernel(const int32_t* __restrict__ ids, const int32_t* __restrict__ cuSeqLens, int32_t count,
                                  int32_t padId, bool xlmr, int32_t* __restrict__ positions) {
  const int64_t s = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (s >= count) return;  // the whole warp
  const int lane = threadIdx.x % 32;
  const int32_t begin = cuSeqLens[s], end = cuSeqLens[s + 1];
  int32_t real = 0;  // non-pad tokens before this step
  for (int32_t base = begin; base < end; base += 32) {  // uniform over the warp
    const int32_t t = base + lane;
    const bool inside = t < end;
    const bool counted = inside && xlmr && ids[t] != padId;
    const unsigned ballot = __ballot_sync(0xffffffffu, counted);
    if (inside) {
      positions[t] = !xlmr ? t - begin : counted ? padId + real + __popc(ballot & ((1u << lane) - 1u)) + 1 : padId;
    }
    real += __popc(ballot);
  }
}

// The real tokens' count is read on the device (cuSeqLens[count]): the host never waits for it.
__global__ void padGraphBatchKernel(const int32_t* __restrict__ ids, const uint8_t* __restrict__ typeIds, const int32_t* __restrict__ cuSeqLens,
                                    int32_t count, int32_t paddedCount, int32_t paddedTokens, int32_t* __restrict__ outIds,
                                    uint8_t* __restrict__ outTypeIds, int32_t* __restrict__ outCuSeqLens, int32_t* __restrict__ positions) {
  const int32_t tokens = cuSeqLens[count];
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < paddedTokens; i += gridDim.x * blockDim.x) {
    const bool real = i < tokens;
    outIds[i] = real ? ids[i] : 0;
    outTypeIds[i] = real ? typeIds[i] : 0;
    if (!real) positions[i] = 0;
    if (i <= paddedCount) outCuSeqLens[i] = i <= count ? cuSeqLens[i] : tokens;
  }
}

template <typename T, int kChunks>
__global__ void __launch_bounds__(kRowWarps * 32)
embeddingLayerNormKernel(const int32_t* __restrict__ ids, const uint8_t* __restrict__ typeIds, const int32_t* __restrict__ positions,
                         int64_t tokens, int hidden, const T* __restrict__ word, const T* __restrict__ position,
                         const T* __restrict__ tokenType, const T* __restrict__ gamma, const T* __restrict__ beta, float eps,
                         T* __restrict__ out) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / 32;
  if (t >= tokens) return;  // the whole warp
  const int lane = threadIdx.x % 32;
  const T* w = word + static_cast<int64_t>(ids[t]) * hidden;
  const T* p = position + static_cast<int64_t>(positions[t]) * hidden;
  const T* y = tokenType + static_cast<int64_t>(typeIds[t]) * hidden;
  float v[kChunks][8];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int at = (c * 32 + lane) * 8;
    if (at >= hidden) continue;
    float a[8], b[8];
    load8(w + at, v[c]);
    load8(p + at, a);
    load8(y + at, b);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[c][i] += a[i] + b[i];
  }
  normalizeRow<T, kChunks>(v, hidden, gamma, beta, eps, out + t * hidden);
}

template <typename T, int kChunks>
__global__ void __launch_bounds__(kRowWarps * 32)
residualLayerNormKernel(const T* __restrict__ x, const T* residual, int64_t rows, int hidden, const T* __restrict__ gamma,
                        const T* __restrict__ beta, float eps, T* out) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / 32;
  if (r >= rows) return;  // the whole warp
  const int lane = threadIdx.x % 32;
  const int64_t row = r * hidden;
  float v[kChunks][8];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int at = (c * 32 + lane) * 8;
    if (at >= hidden) continue;
    float a[8];
    load8(x + row + at, v[c]);
    load8(residual + row + at, a);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[c][i] += a[i];
  }
  normalizeRow<T, kChunks>(v, hidden, gamma, beta, eps, out + row);  // this warp's reads are done: out may alias residual
}

__device__ __forceinline__ float activation(Activation act, float x) {
  switch (act) {
    case Activation::GeluErf: return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case Activation::GeluTanh: return 0.5f * x * (1.0f + tanhf(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    case Activation::Relu: return fmaxf(x, 0.0f);
    case Activation::Silu: return x / (1.0f + expf(-x));
    default: return tanhf(x);
  }
}

// 8 values per thread step (16-byte loads; n % 8 == 0 and x 16-byte aligned, as every caller's [rows, width] is).
template <typename T>
__global__ void activateKernel(Activation act, T* x, int64_t n) {
  const int64_t chunks = n / 8;
  for (int64_t c = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; c < chunks; c += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v[8];
    load8(x + c * 8, v);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[i] = activation(act, v[i]);
    store8(x + c * 8, v);
  }
}

template <typename T>
__global__ void gatherFirstTokensKernel(const T* __restrict__ x, const int32_t* __restrict__ cuSeqLens, int hidden, T* __restrict__ out) {
  const int32_t s = blockIdx.x;
  const T* from = x + static_cast<int64_t>(cuSeqLens[s]) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) out[static_cast<int64_t>(s) * hidden + i] = from[i];
}

// One warp per (sequence, label).
template <typename T>
__global__ void classifierOutputKernel(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b, int hidden,
                                       int labels, float* __restrict__ logits) {
  const int32_t s = blockIdx.x;
  const int label = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (label >= labels) return;
  float sum = 0.0f;
  for (int i = lane; i < hidden; i += 32) sum += load(x, static_cast<int64_t>(s) * hidden + i) * load(w, static_cast<int64_t>(label) * hidden + i);
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) logits[s * labels + label] = sum + load(b, label);
}

template <typename T>
__global__ void convertWeightsKernel(const void* __restrict__ src, int srcType, T* __restrict__ dst, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float v;
    if (srcType == 0) v = static_cast<const float*>(src)[i];
    else if (srcType == 1) v = load(static_cast<const __half*>(src), i);
    else v = load(static_cast<const __nv_bfloat16*>(src), i);
    store(dst, i, v);
  }
}

int gridFor(int64_t n, int threads) { return static_cast<int>(std::min<int64_t>((n + threads - 1) / threads, 65535)); }

// Calls fn with a typed null pointer standing for the storage type.
template <typename Fn>
void dispatch(StorageType type, Fn&& fn) {
  if (type == StorageType::Half) fn(static_cast<__half*>(nullptr));
  else fn(static_cast<__nv_bfloat16*>(nullptr));
}

}  // namespace

void positionIds(const int32_t* ids, const int32_t* cuSeqLens, int32_t count, int32_t padId, bool xlmr, int32_t* positions,
                 cudaStream_t stream) {
  if (count <= 0) return;
  positionIdsKernel<<<(count + 3) / 4, 128, 0, stream>>>(ids, cuSeqLens, count, padId, xlmr, positions);
  TRT_RERANK_LAUNCH_CHECK("positionIdsKernel");
}

void padGraphBatch(const int32_t* ids, const uint8_t* typeIds, const int32_t* cuSeqLens, int32_t count, int32_t paddedCount,
                   int32_t paddedTokens, int32_t* outIds, uint8_t* outTypeIds, int32_t* outCuSeqLens, int32_t* positions,
                   cudaStream_t stream) {
  if (count < 0 || paddedCount < count || paddedTokens <= paddedCount) {
    throw NativeError(kErrInvalidArgument, "padGraphBatch: needs count <= paddedCount < paddedTokens");
  }
  padGraphBatchKernel<<<gridFor(paddedTokens, 256), 256, 0, stream>>>(ids, typeIds, cuSeqLens, count, paddedCount, paddedTokens, outIds,
                                                                       outTypeIds, outCuSeqLens, positions);
  TRT_RERANK_LAUNCH_CHECK("padGraphBatchKernel");
}

namespace {

// Calls fn with std::integral_constant<int, kChunks>: the fewest chunks of 8 values per lane covering `hidden`.
template <typename Fn>
void dispatchChunks(int hidden, Fn&& fn) {
  const int chunks = (hidden + 255) / 256;
  if (chunks <= 1) fn(std::integral_constant<int, 1>{});
  else if (chunks <= 2) fn(std::integral_constant<int, 2>{});
  else if (chunks <= 4) fn(std::integral_constant<int, 4>{});
  else if (chunks <= 8) fn(std::integral_constant<int, 8>{});
  else fn(std::integral_constant<int, 16>{});
}

void requireVectorWidth(int64_t n, const char* what) {
  if (n % 8 != 0) throw NativeError(kErrInvalidArgument, std::string(what) + " must be a multiple of 8 for the CUDA kernels, not " + std::to_string(n));
}

// The row kernels hold a row in registers: at most 16 chunks of 8 values a lane.
void requireRowWidth(int hidden) {
  requireVectorWidth(hidden, "hidden_size");
  if (hidden > 16 * 256) throw NativeError(kErrInvalidArgument, "the CUDA kernels normalize rows of up to 4096 values, not " + std::to_string(hidden));
}

unsigned rowBlocks(int64_t rows) { return static_cast<unsigned>((rows + kRowWarps - 1) / kRowWarps); }

}  // namespace

void embeddingLayerNorm(StorageType type, const int32_t* ids, const uint8_t* typeIds, const int32_t* positions, int64_t tokens,
                        int hidden, const void* word, const void* position, const void* tokenType, const void* gamma,
                        const void* beta, float eps, void* out, cudaStream_t stream) {
  if (tokens <= 0) return;
  requireRowWidth(hidden);
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    dispatchChunks(hidden, [&](auto chunks) {
      embeddingLayerNormKernel<T, decltype(chunks)::value><<<rowBlocks(tokens), kRowWarps * 32, 0, stream>>>(
          ids, typeIds, positions, tokens, hidden, static_cast<const T*>(word), static_cast<const T*>(position),
          static_cast<const T*>(tokenType), static_cast<const T*>(gamma), static_cast<const T*>(beta), eps, static_cast<T*>(out));
    });
  });
  TRT_RERANK_LAUNCH_CHECK("embeddingLayerNormKernel");
}

void residualLayerNorm(StorageType type, const void* x, const void* residual, int64_t rows, int hidden, const void* gamma,
                       const void* beta, float eps, void* out, cudaStream_t stream) {
  if (rows <= 0) return;
  requireRowWidth(hidden);
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    dispatchChunks(hidden, [&](auto chunks) {
      residualLayerNormKernel<T, decltype(chunks)::value><<<rowBlocks(rows), kRowWarps * 32, 0, stream>>>(
          static_cast<const T*>(x), static_cast<const T*>(residual), rows, hidden, static_cast<const T*>(gamma),
          static_cast<const T*>(beta), eps, static_cast<T*>(out));
    });
  });
  TRT_RERANK_LAUNCH_CHECK("residualLayerNormKernel");
}

void activate(StorageType type, Activation act, void* x, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  requireVectorWidth(n, "the activation's size");
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    activateKernel<T><<<gridFor(n / 8, 256), 256, 0, stream>>>(act, static_cast<T*>(x), n);
  });
  TRT_RERANK_LAUNCH_CHECK("activateKernel");
}

void gatherFirstTokens(StorageType type, const void* x, const int32_t* cuSeqLens, int32_t count, int hidden, void* out,
                       cudaStream_t stream) {
  if (count <= 0) return;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    gatherFirstTokensKernel<T><<<count, 128, 0, stream>>>(static_cast<const T*>(x), cuSeqLens, hidden, static_cast<T*>(out));
  });
  TRT_RERANK_LAUNCH_CHECK("gatherFirstTokensKernel");
}

void classifierOutput(StorageType type, const void* x, const void* w, const void* b, int32_t count, int hidden, int labels,
                      float* logits, cudaStream_t stream) {
  if (count <= 0) return;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    classifierOutputKernel<T><<<count, 32 * labels, 0, stream>>>(static_cast<const T*>(x), static_cast<const T*>(w),
                                                                 static_cast<const T*>(b), hidden, labels, logits);
  });
  TRT_RERANK_LAUNCH_CHECK("classifierOutputKernel");
}

void convertWeights(const void* src, int srcType, StorageType type, void* dst, int64_t n, cudaStream_t stream) {
  if (n <= 0) return;
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    convertWeightsKernel<T><<<gridFor(n, 256), 256, 0, stream>>>(src, srcType, static_cast<T*>(dst), n);
  });
  TRT_RERANK_LAUNCH_CHECK("convertWeightsKernel");
}

}  // namespace trt_rerank::kernels
