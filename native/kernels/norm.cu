// The row norms of the CUDA backend (norm.cuh has the shapes): LayerNorm (transformers' nn.LayerNorm,
// y = (x - mean) / sqrt(var + eps) * gamma + beta, mean and biased variance over the row; beta absent for
// bias=False) and RMSNorm (LlamaRMSNorm / Qwen3RMSNorm, y = x / sqrt(mean(x^2) + eps) * gamma), each fused with
// the residual add before it or with the embedding gather; or the embedding gather alone (decoders).
//
// One warp per row, the row held in registers (lane l: chunks c of 8 values at (c * 32 + l) * 8, 16-byte loads
// and stores; kChunks the fewest chunks covering the row, hidden up to 4096), fp32 throughout: LayerNorm's two
// passes over the registers (mean, then the centred squares), RMSNorm's one (the squares). Memory-bound: a
// row's operands read once and its results written once (2 bytes a value, 4 for an fp32 residual stream),
// ~5 FLOPs a value.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>
#include <type_traits>

#include "common/cuda_check.h"
#include "common/errors.h"
#include "kernels/norm.cuh"
#include "kernels/storage.cuh"

namespace trt_rerank::kernels {
namespace {

constexpr int kRowWarps = 4;  // rows per block: one warp per row

__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// One warp normalizes one row held in registers (see the top of this file), then applies gamma (and beta) with
// one 16-byte store per chunk. kRms: RMSNorm (no mean, no beta). kOptional: beta may be nullptr (no bias),
// checked at run time; otherwise it is always read (LayerNorm).
template <typename T, int kChunks, bool kOptional, bool kRms = false>
__device__ __forceinline__ void normalizeRow(float (&v)[kChunks][8], int hidden, const T* __restrict__ gamma,
                                             const T* __restrict__ beta, float eps, T* out) {
  const int lane = threadIdx.x % 32;
  float mean = 0.0f;
  if constexpr (!kRms) {
    float sum = 0.0f;
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      if ((c * 32 + lane) * 8 >= hidden) continue;
#pragma unroll
      for (int i = 0; i < 8; ++i) sum += v[c][i];
    }
    mean = warpSum(sum) / hidden;
  }
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
    if (!kRms && (!kOptional || beta != nullptr)) load8(beta + at, b);
#pragma unroll
    for (int i = 0; i < 8; ++i) y[i] = (v[c][i] - mean) * rstd * g[i] + b[i];
    store8(out + at, y);
  }
}

template <typename T>
struct EmbeddingParams {
  const int32_t* ids;
  const uint8_t* typeIds;    // read only with tokenType
  const int32_t* positions;  // read only with position
  int64_t tokens;
  int hidden;
  const T* word;
  const T* position;   // nullptr: none (kOptional only)
  const T* tokenType;  // nullptr: none (kOptional only)
  const T* gamma;      // kNorm only
  const T* beta;       // nullptr: no bias (kOptional only)
  float eps;
  T* out;
};

//   ids, typeIds, positions [tokens]; word [vocab, hidden], position [positions, hidden], tokenType [types, hidden],
//   gamma and beta [hidden], out [tokens, hidden]. One warp per token, rowBlocks(tokens) blocks of kRowWarps warps.
//   kOptional false (BERT / XLM-R): every table and beta present. kOptional true: position / tokenType nullptr
//   means that term is absent (its index array is not read), beta nullptr no bias. kNorm false (decoders, always
//   kOptional): out is the sum itself, rounded once to T.
template <typename T, int kChunks, bool kOptional, bool kNorm>
__global__ void __launch_bounds__(kRowWarps * 32) embeddingKernel(const EmbeddingParams<T> a) {
  static_assert(kNorm || kOptional, "the embedding without a norm is the optional-table form");
  const int64_t t = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / 32;
  if (t >= a.tokens) return;  // the whole warp
  const int lane = threadIdx.x % 32;
  const T* w = a.word + static_cast<int64_t>(a.ids[t]) * a.hidden;
  const T* p = !kOptional || a.position != nullptr ? a.position + static_cast<int64_t>(a.positions[t]) * a.hidden : nullptr;
  const T* y = !kOptional || a.tokenType != nullptr ? a.tokenType + static_cast<int64_t>(a.typeIds[t]) * a.hidden : nullptr;
  float v[kChunks][8];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int at = (c * 32 + lane) * 8;
    if (at >= a.hidden) continue;
    float u[8], b[8];
    load8(w + at, v[c]);
    if (!kOptional || (p != nullptr && y != nullptr)) {  // (position + type) added to the word
      load8(p + at, u);
      load8(y + at, b);
#pragma unroll
      for (int i = 0; i < 8; ++i) v[c][i] += u[i] + b[i];
    } else if (p != nullptr || y != nullptr) {
      load8(p != nullptr ? p + at : y + at, u);
#pragma unroll
      for (int i = 0; i < 8; ++i) v[c][i] += u[i];
    }
    if constexpr (!kNorm) store8(a.out + t * a.hidden + at, v[c]);
  }
  if constexpr (kNorm) normalizeRow<T, kChunks, kOptional>(v, a.hidden, a.gamma, a.beta, a.eps, a.out + t * a.hidden);
}

// x as T, rounded to nearest (the value a store of x keeps).
__device__ __forceinline__ float roundToStorage(float x, __half) { return __half2float(__float2half_rn(x)); }
__device__ __forceinline__ float roundToStorage(float x, __nv_bfloat16) { return __bfloat162float(__float2bfloat16_rn(x)); }
__device__ __forceinline__ float roundToStorage(float x, float) { return x; }

// The operands of a residual norm: x and out in T, residual in R, sum in S (each T or float). No __restrict__ on
// x, residual, sum, out: sum and out may alias x or residual (residualNorm in norm.cuh).
template <typename T, typename R, typename S>
struct ResidualNormParams {
  const T* x;
  const R* residual;  // nullptr: none (not for the post-LN kernel)
  S* sum;             // nullptr: not written (always for the post-LN kernel)
  int64_t rows;
  int hidden;
  const T* gamma;
  const T* beta;  // nullptr: no bias (not for the post-LN kernel)
  float eps;
  T* out;
};

//   x, residual, out [rows, hidden], every pointer present, out may alias residual (not x); LayerNorm(x + residual).
//   The post-LN layers' norm (BERT / XLM-R). One warp per row, rowBlocks(rows) blocks of kRowWarps warps.
template <typename T, int kChunks>
__global__ void __launch_bounds__(kRowWarps * 32) postLayerNormKernel(const ResidualNormParams<T, T, T> a) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / 32;
  if (r >= a.rows) return;  // the whole warp
  const int lane = threadIdx.x % 32;
  const int64_t row = r * a.hidden;
  float v[kChunks][8];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int at = (c * 32 + lane) * 8;
    if (at >= a.hidden) continue;
    float u[8];
    load8(a.x + row + at, v[c]);
    load8(a.residual + row + at, u);
#pragma unroll
    for (int i = 0; i < 8; ++i) v[c][i] += u[i];
  }
  normalizeRow<T, kChunks, false>(v, a.hidden, a.gamma, a.beta, a.eps, a.out + row);  // this warp's reads are done: out may alias residual
}

//   The general form: s = x + residual (residual nullptr: x); with sum, s rounded to S and stored there; out =
//   norm(s) (LayerNorm, beta nullptr: no bias; kRms: RMSNorm). x, out [rows, hidden] in T; residual [rows, hidden] in
//   R and sum in S, each T or float (a pre-norm model's residual stream kept in fp32: then s is not rounded at all).
//   Each lane loads all of its elements of the row before it stores any (so the loads are not held behind
//   possibly-aliasing stores), and no other thread touches those elements. One warp per row.
template <typename T, int kChunks, typename R, typename S, bool kRms>
__global__ void __launch_bounds__(kRowWarps * 32) residualNormKernel(const ResidualNormParams<T, R, S> a) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * kRowWarps + threadIdx.x / 32;
  if (r >= a.rows) return;  // the whole warp
  const int lane = threadIdx.x % 32;
  const int64_t row = r * a.hidden;
  const S tag{};
  float v[kChunks][8];
#pragma unroll
  for (int c = 0; c < kChunks; ++c) {
    const int at = (c * 32 + lane) * 8;
    if (at >= a.hidden) continue;
    load8(a.x + row + at, v[c]);
    if (a.residual != nullptr) {
      float u[8];
      load8(a.residual + row + at, u);
#pragma unroll
      for (int i = 0; i < 8; ++i) v[c][i] += u[i];
    }
  }
  if (a.sum != nullptr) {  // pre-norm: the residual stream keeps s as stored, and the norm sees that value
#pragma unroll
    for (int c = 0; c < kChunks; ++c) {
      const int at = (c * 32 + lane) * 8;
      if (at >= a.hidden) continue;
#pragma unroll
      for (int i = 0; i < 8; ++i) v[c][i] = roundToStorage(v[c][i], tag);
      store8(a.sum + row + at, v[c]);  // exact: the values are already S's
    }
  }
  normalizeRow<T, kChunks, true, kRms>(v, a.hidden, a.gamma, a.beta, a.eps, a.out + row);  // this lane's reads are done: out may alias x or residual
}

// Calls fn with a typed null pointer standing for the storage type.
template <typename Fn>
void dispatch(StorageType type, Fn&& fn) {
  if (type == StorageType::Half) fn(static_cast<__half*>(nullptr));
  else fn(static_cast<__nv_bfloat16*>(nullptr));
}

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

// The row kernels hold a row in registers: at most 16 chunks of 8 values a lane.
void requireRowWidth(int hidden) {
  if (hidden % 8 != 0) throw NativeError(kErrInvalidArgument, "hidden_size must be a multiple of 8 for the CUDA kernels, not " + std::to_string(hidden));
  if (hidden > 16 * 256) throw NativeError(kErrInvalidArgument, "the CUDA kernels normalize rows of up to 4096 values, not " + std::to_string(hidden));
}

unsigned rowBlocks(int64_t rows) { return static_cast<unsigned>((rows + kRowWarps - 1) / kRowWarps); }

// The general kernel for operands of types R and S, LayerNorm or RMSNorm.
template <typename T, int kChunks, typename R, typename S>
void launchResidualNorm(const ResidualNormArgs& n, cudaStream_t stream) {
  ResidualNormParams<T, R, S> a;
  a.x = static_cast<const T*>(n.x);
  a.residual = static_cast<const R*>(n.residual);
  a.sum = static_cast<S*>(n.sum);
  a.rows = n.rows;
  a.hidden = n.hidden;
  a.gamma = static_cast<const T*>(n.gamma);
  a.beta = static_cast<const T*>(n.beta);
  a.eps = n.eps;
  a.out = static_cast<T*>(n.out);
  if (n.kind == NormType::Rms) residualNormKernel<T, kChunks, R, S, true><<<rowBlocks(n.rows), kRowWarps * 32, 0, stream>>>(a);
  else residualNormKernel<T, kChunks, R, S, false><<<rowBlocks(n.rows), kRowWarps * 32, 0, stream>>>(a);
}

}  // namespace

void embeddingLayerNorm(StorageType type, const int32_t* ids, const uint8_t* typeIds, const int32_t* positions, int64_t tokens,
                        int hidden, const void* word, const void* position, const void* tokenType, const void* gamma,
                        const void* beta, float eps, void* out, cudaStream_t stream) {
  if (tokens <= 0) return;
  requireRowWidth(hidden);
  if (gamma == nullptr && beta != nullptr) throw NativeError(kErrInvalidArgument, "embeddingLayerNorm: a bias without a norm weight");
  const bool full = position != nullptr && tokenType != nullptr && gamma != nullptr && beta != nullptr;  // BERT / XLM-R
  dispatch(type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    const EmbeddingParams<T> a{ids, typeIds, positions, tokens, hidden, static_cast<const T*>(word), static_cast<const T*>(position),
                               static_cast<const T*>(tokenType), static_cast<const T*>(gamma), static_cast<const T*>(beta), eps,
                               static_cast<T*>(out)};
    dispatchChunks(hidden, [&](auto chunks) {
      constexpr int kChunks = decltype(chunks)::value;
      auto kernel = full               ? embeddingKernel<T, kChunks, false, true>
                    : gamma != nullptr ? embeddingKernel<T, kChunks, true, true>
                                       : embeddingKernel<T, kChunks, true, false>;
      kernel<<<rowBlocks(tokens), kRowWarps * 32, 0, stream>>>(a);
    });
  });
  TRT_RERANK_LAUNCH_CHECK("embeddingKernel");
}

void residualNorm(const ResidualNormArgs& n, cudaStream_t stream) {
  if (n.rows <= 0) return;
  requireRowWidth(n.hidden);
  if (n.sum != nullptr && n.sum == n.out) throw NativeError(kErrInvalidArgument, "residualNorm: the sum and the output must be different buffers");
  if ((n.residualFloat && n.residual == nullptr) || (n.sumFloat && n.sum == nullptr)) {
    throw NativeError(kErrInvalidArgument, "residualNorm: an fp32 residual or sum needs its buffer");
  }
  if (n.kind == NormType::Rms && n.beta != nullptr) throw NativeError(kErrInvalidArgument, "residualNorm: RMSNorm has no bias");
  if (n.gamma == nullptr) throw NativeError(kErrInvalidArgument, "residualNorm: needs its weight");
  // Post-LN with every operand (BERT / XLM-R, out = residual): its own kernel, x read-only; anything else the
  // general one.
  const bool postLn = n.kind == NormType::Layer && n.residual != nullptr && n.beta != nullptr && n.sum == nullptr && n.out != n.x &&
                      !n.residualFloat;
  dispatch(n.type, [&](auto* tag) {
    using T = std::remove_pointer_t<decltype(tag)>;
    dispatchChunks(n.hidden, [&](auto chunks) {
      constexpr int kChunks = decltype(chunks)::value;
      if (postLn) {
        const ResidualNormParams<T, T, T> a{static_cast<const T*>(n.x), static_cast<const T*>(n.residual), nullptr, n.rows, n.hidden,
                                            static_cast<const T*>(n.gamma), static_cast<const T*>(n.beta), n.eps, static_cast<T*>(n.out)};
        postLayerNormKernel<T, kChunks><<<rowBlocks(n.rows), kRowWarps * 32, 0, stream>>>(a);
      } else if (n.residualFloat && n.sumFloat) {  // a pre-norm stream in fp32, read and written
        launchResidualNorm<T, kChunks, float, float>(n, stream);
      } else if (n.sumFloat) {  // the stream's first add: a residual in T (or none), the stream from now in fp32
        launchResidualNorm<T, kChunks, T, float>(n, stream);
      } else if (n.residualFloat) {  // the stream read, not written (a final norm), or its sum rounded to T
        launchResidualNorm<T, kChunks, float, T>(n, stream);
      } else {
        launchResidualNorm<T, kChunks, T, T>(n, stream);
      }
    });
  });
  TRT_RERANK_LAUNCH_CHECK("residualNormKernel");
}

}  // namespace trt_rerank::kernels
