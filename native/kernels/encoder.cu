// LayerNorm (transformers' nn.LayerNorm): y = (x - mean) / sqrt(var + eps) * gamma + beta, mean and biased
// variance over the row in fp32 (two passes over values held in registers); beta absent for bias=False. GELU
// as the models define it: erf form 0.5 x (1 + erf(x / sqrt 2)) for "gelu", tanh form for "gelu_new" and
// friends; gated (GeGLU) as act(input) * gate. Mean pooling over each packed sequence.
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
// centred squares), fp32 throughout, then gamma / beta and one 16-byte store per chunk. kOptional: beta may be
// nullptr (no bias), checked at run time; otherwise it is always read.
template <typename T, int kChunks, bool kOptional>
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
    float g[8], b[8] = {}, y[8];
    load8(gamma + at, g);
    if (!kOptional || beta != nullptr) load8(beta + at, b);
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
#if CUDART_VERSION < 13000
    // __ldg (the same ld.global.nc as ids[t]): ptxas 12.4.131 crashes (SIGSEGV) on the plain load for sm_90.
    const bool counted = inside && xlmr && __ldg(ids + t) != padId;
#else
    const bool counted = inside && xlmr && ids[t] != padId;
#endif
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

// One warp per token. kOptional false (BERT / XLM-R): every table and beta present. kOptional true: position /
// tokenType nullptr means that term is absent (its index array is not read), beta nullptr no bias.
template <typename T, int kChunks, bool kOptional>
__global__ void __launch_bounds__(kRowWarps * 32)
embeddingLayerNormKernel(const int32_t* __restrict__ ids, const uint8_t* __restrict__ typeIds, const int32_t* __restrict__ positions,
                         int64_t tokens, int hidden, const T* __restrict__ word, const T* __restrict__ position,
                         const T* __restrict__ tokenType, const T* __restrict__ gamma, const T* __restrict__ beta, float eps,
                         T* __restrict__ out) {
  const int64_t t = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / 32;
  if (t >= tokens) return;  // the whole warp
  const int lane = threadIdx.x % 32;
  const T* w = word + static_cast<int64_t>(ids[t]) * hidden;
  const T* p = !kOptional || position != nullptr ? position + static_cast<int64_t>(positions[t]) * hidden : nullptr;
  const T* y = !kOptional || tokenType != nullptr ? tokenType + static_cast<int64_t>(typeIds[t]) * hidden : nullptr;
  float v[kChunks][8];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int at = (c * 32 + lane) * 8;
    if (at >= hidden) continue;
    float a[8], b[8];
    load8(w + at, v[c]);
    if (!kOptional || (p != nullptr && y != nullptr)) {  // (position + type) added to the word
      load8(p + at, a);
      load8(y + at, b);
#pragma unroll
      for (int i = 0; i < 8; ++i) v[c][i] += a[i] + b[i];
    } else if (p != nullptr || y != nullptr) {
      load8(p != nullptr ? p + at : y + at, a);
#pragma unroll
      for (int i = 0; i < 8; ++i) v[c][i] += a[i];
    }
  }
  normalizeRow<T, kChunks, kOptional>(v, hidden, gamma, beta, eps, out + t * hidden);
}

// x as T, rounded to nearest (the value a store of x keeps).
__device__ __forceinline__ float roundToStorage(float x, __half) { return __half2float(__float2half_rn(x)); }
__device__ __forceinline__ float roundToStorage(float x, __nv_bfloat16) { return __bfloat162float(__float2bfloat16_rn(x)); }
__device__ __forceinline__ float roundToStorage(float x, float) { return x; }

// One warp per row, out = LayerNorm(x + residual): x, residual, out [rows, hidden], every pointer present,
// out may alias residual (not x). The post-LN layers' norm (BERT / XLM-R).
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
  normalizeRow<T, kChunks, false>(v, hidden, gamma, beta, eps, out + row);  // this warp's reads are done: out may alias residual
}

// The general form, one warp per row: s = x + residual (residual nullptr: x); with sumOut, s rounded to S and
// stored there; out = LayerNorm(s) (beta nullptr: no bias). x, out [rows, hidden] in T; residual in R and sumOut in
// S, each T or float (a pre-LN model's residual stream kept in fp32: then s is not rounded at all). No
// __restrict__ on x, residual, sumOut, out: sumOut and out may alias x or residual. Each lane loads all of its
// elements of the row before it stores any (so the loads are not held behind possibly-aliasing stores), and
// no other thread touches those elements.
template <typename T, int kChunks, typename R = T, typename S = T>
__global__ void __launch_bounds__(kRowWarps * 32)
residualLayerNormAnyKernel(const T* x, const R* residual, int64_t rows, int hidden, const T* __restrict__ gamma,
                           const T* __restrict__ beta, float eps, S* sumOut, T* out) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / 32;
  if (r >= rows) return;  // the whole warp
  const int lane = threadIdx.x % 32;
  const int64_t row = r * hidden;
  const S tag{};
  float v[kChunks][8];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int at = (c * 32 + lane) * 8;
    if (at >= hidden) continue;
    load8(x + row + at, v[c]);
    if (residual != nullptr) {
      float a[8];
      load8(residual + row + at, a);
#pragma unroll
      for (int i = 0; i < 8; ++i) v[c][i] += a[i];
    }
  }
  if (sumOut != nullptr) {  // pre-LN: the residual stream keeps s as stored, and the norm sees that value
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int at = (c * 32 + lane) * 8;
      if (at >= hidden) continue;
#pragma unroll
      for (int i = 0; i < 8; ++i) v[c][i] = roundToStorage(v[c][i], tag);
      store8(sumOut + row + at, v[c]);  // exact: the values are already S's
    }
  }
  normalizeRow<T, kChunks, true>(v, hidden, gamma, beta, eps, out + row);  // this lane's reads are done: out may alias x or residual
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

// out[r, j] = act(x[r, j]) * x[r, width + j]: x [rows, 2 * width], out [rows, width]. grid (ceil(width / kVec /
// blockDim.x), min(rows, 65535)): thread (blockIdx.x, threadIdx.x) takes columns j .. j + kVec - 1 of rows
// blockIdx.y, + gridDim.y, ... (kVec 8: 16-byte loads of input and gate and a 16-byte store; kVec 1: scalars).
template <typename T>
struct GatedActivationArgs {
  const T* x;
  T* out;
  int64_t rows;
  int width;
  Activation act;
};

template <typename T, int kVec>
__global__ void gatedActivationKernel(GatedActivationArgs<T> a) {
  const int j = (blockIdx.x * blockDim.x + threadIdx.x) * kVec;
  if (j >= a.width) return;
  for (int64_t r = blockIdx.y; r < a.rows; r += gridDim.y) {
    const T* in = a.x + r * 2 * a.width + j;
    T* dst = a.out + r * a.width + j;
    if constexpr (kVec == 8) {
      float u[8], g[8];
      load8(in, u);
      load8(in + a.width, g);
#pragma unroll
      for (int i = 0; i < 8; ++i) u[i] = activation(a.act, u[i]) * g[i];
      store8(dst, u);
    } else {
      store(dst, 0, activation(a.act, load(in, 0)) * load(in, a.width));
    }
  }
}

// out[s, :] = mean of x[cuSeqLens[s] .. cuSeqLens[s + 1] - 1, :] (zeros for an empty sequence): x [tokens, hidden],
// out [count, hidden]. grid (count, ceil(hidden / (32 kVec))), kPoolWarps warps: lane l owns columns
// blockIdx.y * 32 kVec + l kVec .. + kVec - 1, warp w sums rows begin + w, + kPoolWarps, ... in fp32; the warps'
// partial sums meet in shared memory and warp 0 adds them in order and divides by the count.
constexpr int kPoolWarps = 8;

template <typename T>
struct MeanPoolArgs {
  const T* x;
  const int32_t* cuSeqLens;
  int hidden;
  T* out;
};

template <typename T, int kVec>
__global__ void __launch_bounds__(kPoolWarps * 32) meanPoolKernel(MeanPoolArgs<T> a) {
  __shared__ float partial[kPoolWarps][32 * kVec];
  const int32_t s = blockIdx.x;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int col = blockIdx.y * 32 * kVec + lane * kVec;
  const int32_t begin = a.cuSeqLens[s], end = a.cuSeqLens[s + 1];
  float sum[kVec] = {};
  if (col < a.hidden) {
#pragma unroll 4
    for (int32_t t = begin + warp; t < end; t += kPoolWarps) {  // unrolled: several rows' loads in flight
      const T* from = a.x + static_cast<int64_t>(t) * a.hidden + col;
      if constexpr (kVec == 8) {
        float v[8];
        load8(from, v);
#pragma unroll
        for (int i = 0; i < 8; ++i) sum[i] += v[i];
      } else {
        sum[0] += load(from, 0);
      }
    }
  }
#pragma unroll
  for (int i = 0; i < kVec; ++i) partial[warp][lane * kVec + i] = sum[i];
  __syncthreads();
  if (warp != 0 || col >= a.hidden) return;
  const int32_t n = end - begin;
  float y[kVec];
#pragma unroll
  for (int i = 0; i < kVec; ++i) {
    float total = 0.0f;
#pragma unroll
    for (int w = 0; w < kPoolWarps; ++w) total += partial[w][lane * kVec + i];
    y[i] = n > 0 ? total / static_cast<float>(n) : 0.0f;
  }
  T* dst = a.out + static_cast<int64_t>(s) * a.hidden + col;
  if constexpr (kVec == 8) store8(dst, y);
  else store(dst, 0, y[0]);
}

template <typename T>
__global__ void gatherFirstTokensKernel(const T* __restrict__ x, const int32_t* __restrict__ cuSeqLens, int hidden, T* __restrict__ out) {
  const int32_t s = blockIdx.x;
  const T* from = x + static_cast<int64_t>(cuSeqLens[s]) * hidden;
  for (int i = threadIdx.x; i < hidden; i += blockDim.x) out[static_cast<int64_t>(s) * hidden + i] = from[i];
}

// One warp per (sequence, label): x [count, hidden], w [labels, hidden], b [labels] (kBias), logits [count, labels].
template <typename T, bool kBias>
__global__ void classifierOutputKernel(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b, int hidden,
                                       int labels, float* __restrict__ logits) {
  const int32_t s = blockIdx.x;
  const int label = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (label >= labels) return;
  float sum = 0.0f;
  for (int i = lane; i < hidden; i += 32) sum += load(x, static_cast<int64_t>(s) * hidden + i) * load(w, static_cast<int64_t>(label) * hidden + i);
  for (int o = 16; o > 0; o >>= 1) sum += __shfl_xor_sync(0xffffffffu, sum, o);
  if (lane == 0) logits[s * labels + label] = kBias ? sum + load(b, label) : sum;
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
  const bool full = position != nullptr && tokenType != nullptr && beta != nullptr;  // BERT / XLM-R: today's kernel
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    dispatchChunks(hidden, [&](auto chunks) {
      constexpr int kChunks = decltype(chunks)::value;
      auto kernel = full ? embeddingLayerNormKernel<T, kChunks, false> : embeddingLayerNormKernel<T, kChunks, true>;
      kernel<<<rowBlocks(tokens), kRowWarps * 32, 0, stream>>>(ids, typeIds, positions, tokens, hidden, static_cast<const T*>(word),
                                                               static_cast<const T*>(position), static_cast<const T*>(tokenType),
                                                               static_cast<const T*>(gamma), static_cast<const T*>(beta), eps,
                                                               static_cast<T*>(out));
    });
  });
  TRT_RERANK_LAUNCH_CHECK("embeddingLayerNormKernel");
}

void residualLayerNorm(StorageType type, const void* x, const void* residual, int64_t rows, int hidden, const void* gamma,
                       const void* beta, float eps, void* out, cudaStream_t stream, void* sumOut, bool residualFloat, bool sumFloat) {
  if (rows <= 0) return;
  requireRowWidth(hidden);
  if (sumOut != nullptr && sumOut == out) throw NativeError(kErrInvalidArgument, "residualLayerNorm: sumOut and out must be different buffers");
  // Post-LN with every operand (BERT / XLM-R, out = residual): today's kernel, x read-only; anything else the
  // general one.
  const bool postLn = residual != nullptr && beta != nullptr && sumOut == nullptr && out != x && !residualFloat;
  if ((residualFloat && residual == nullptr) || (sumFloat && sumOut == nullptr)) {
    throw NativeError(kErrInvalidArgument, "residualLayerNorm: an fp32 residual or sum needs its buffer");
  }
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    dispatchChunks(hidden, [&](auto chunks) {
      constexpr int kChunks = decltype(chunks)::value;
      const T* tx = static_cast<const T*>(x);
      const T* tr = static_cast<const T*>(residual);
      const T* tg = static_cast<const T*>(gamma);
      const T* tb = static_cast<const T*>(beta);
      if (postLn) {
        residualLayerNormKernel<T, kChunks><<<rowBlocks(rows), kRowWarps * 32, 0, stream>>>(tx, tr, rows, hidden, tg, tb, eps, static_cast<T*>(out));
      } else if (residualFloat && sumFloat) {  // a pre-LN stream in fp32, read and written
        residualLayerNormAnyKernel<T, kChunks, float, float><<<rowBlocks(rows), kRowWarps * 32, 0, stream>>>(
            tx, static_cast<const float*>(residual), rows, hidden, tg, tb, eps, static_cast<float*>(sumOut), static_cast<T*>(out));
      } else if (sumFloat) {  // the stream's first add: a residual in T (the embeddings), the stream from now in fp32
        residualLayerNormAnyKernel<T, kChunks, T, float><<<rowBlocks(rows), kRowWarps * 32, 0, stream>>>(
            tx, tr, rows, hidden, tg, tb, eps, static_cast<float*>(sumOut), static_cast<T*>(out));
      } else if (residualFloat) {
        residualLayerNormAnyKernel<T, kChunks, float, T><<<rowBlocks(rows), kRowWarps * 32, 0, stream>>>(
            tx, static_cast<const float*>(residual), rows, hidden, tg, tb, eps, static_cast<T*>(sumOut), static_cast<T*>(out));
      } else {
        residualLayerNormAnyKernel<T, kChunks><<<rowBlocks(rows), kRowWarps * 32, 0, stream>>>(tx, tr, rows, hidden, tg, tb, eps,
                                                                                             static_cast<T*>(sumOut), static_cast<T*>(out));
      }
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

void gatedActivation(StorageType type, Activation act, const void* x, int64_t rows, int width, void* out, cudaStream_t stream) {
  if (rows <= 0 || width <= 0) return;
  const bool vector = width % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  const int perThread = vector ? 8 : 1;
  constexpr int kThreads = 128;
  const dim3 grid(static_cast<unsigned>((width / perThread + kThreads - 1) / kThreads), static_cast<unsigned>(std::min<int64_t>(rows, 65535)));
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const GatedActivationArgs<T> a{static_cast<const T*>(x), static_cast<T*>(out), rows, width, act};
    if (vector) gatedActivationKernel<T, 8><<<grid, kThreads, 0, stream>>>(a);
    else gatedActivationKernel<T, 1><<<grid, kThreads, 0, stream>>>(a);
  });
  TRT_RERANK_LAUNCH_CHECK("gatedActivationKernel");
}

void meanPool(StorageType type, const void* x, const int32_t* cuSeqLens, int32_t count, int hidden, void* out, cudaStream_t stream) {
  if (count <= 0 || hidden <= 0) return;
  const bool vector = hidden % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 16 == 0;
  const int columns = 32 * (vector ? 8 : 1);  // per block
  const dim3 grid(static_cast<unsigned>(count), static_cast<unsigned>((hidden + columns - 1) / columns));
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const MeanPoolArgs<T> a{static_cast<const T*>(x), cuSeqLens, hidden, static_cast<T*>(out)};
    if (vector) meanPoolKernel<T, 8><<<grid, kPoolWarps * 32, 0, stream>>>(a);
    else meanPoolKernel<T, 1><<<grid, kPoolWarps * 32, 0, stream>>>(a);
  });
  TRT_RERANK_LAUNCH_CHECK("meanPoolKernel");
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
    auto kernel = b != nullptr ? classifierOutputKernel<T, true> : classifierOutputKernel<T, false>;
    kernel<<<count, 32 * labels, 0, stream>>>(static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b), hidden,
                                              labels, logits);
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
