// The row-wise and per-sequence kernels of the CUDA backend besides the norms (norm.cu): position ids, GELU as
// the models define it (erf form 0.5 x (1 + erf(x / sqrt 2)) for "gelu", tanh form for "gelu_new" and friends),
// gated (GeGLU / SwiGLU) as act(input) * gate, mean pooling over each packed sequence, first / last row gathers,
// the classifier's projection, graph input padding and weight conversion.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <string>
#include <type_traits>

#include "common/cuda_check.h"
#include "common/errors.h"
#include "kernels/activation.cuh"
#include "kernels/encoder.cuh"
#include "kernels/storage.cuh"

namespace trt_rerank::kernels {
namespace {

// One warp per sequence, 32 tokens a step; XLM-R's running count of non-pad tokens by ballot and popc (a
// thread per sequence counting alone took ~18 us per batch, as long as a LayerNorm of the whole batch).
// contextOf (sequential rule only; nullptr: none): a sequence with a context counts from the context's length.
__global__ void positionIdsKernel(const int32_t* __restrict__ ids, const int32_t* __restrict__ cuSeqLens, const int32_t* __restrict__ contextOf,
                                  int32_t count, int32_t padId, bool xlmr, int32_t* __restrict__ positions) {
  const int64_t s = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  if (s >= count) return;  // the whole warp
  const int lane = threadIdx.x % 32;
  const int32_t begin = cuSeqLens[s], end = cuSeqLens[s + 1];
  int32_t first = 0;  // the sequential rule's first position
  if (contextOf != nullptr) {
    const int32_t c = contextOf[s];
    if (c >= 0) first = cuSeqLens[c + 1] - cuSeqLens[c];
  }
  int32_t real = 0;                                     // non-pad tokens before this step
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
      positions[t] = !xlmr ? first + t - begin : counted ? padId + real + __popc(ballot & ((1u << lane) - 1u)) + 1
                                                         : padId;
    }
    real += __popc(ballot);
  }
}

// The real tokens' count is read on the device (cuSeqLens[count]): the host never waits for it. paddedTokens >
// paddedCount, so the one loop covers the sequences' entries too.
struct PadGraphBatchParams {
  const int32_t* ids;
  const uint8_t* typeIds;
  const int32_t* cuSeqLens;
  const int32_t* contextOf;  // nullptr: none (every entry -1)
  int32_t count, paddedCount, paddedTokens;
  int32_t* outIds;
  uint8_t* outTypeIds;
  int32_t* outCuSeqLens;
  int32_t* outContextOf;  // nullptr: not written
  int32_t* positions;
};

__global__ void padGraphBatchKernel(const PadGraphBatchParams a) {
  const int32_t tokens = a.cuSeqLens[a.count];
  for (int32_t i = blockIdx.x * blockDim.x + threadIdx.x; i < a.paddedTokens; i += gridDim.x * blockDim.x) {
    const bool real = i < tokens;
    a.outIds[i] = real ? a.ids[i] : 0;
    a.outTypeIds[i] = real ? a.typeIds[i] : 0;
    if (!real) a.positions[i] = 0;
    if (i <= a.paddedCount) a.outCuSeqLens[i] = i <= a.count ? a.cuSeqLens[i] : tokens;
    if (a.outContextOf != nullptr && i < a.paddedCount) a.outContextOf[i] = a.contextOf != nullptr && i < a.count ? a.contextOf[i] : -1;
  }
}

// out[s] = x[cuSeqLens[s + 1] - 1] (zeros for an empty sequence), rows of rowUnits units U (16, 4 or 1 bytes):
// a block per sequence, its threads striding over the row.
template <typename U>
__global__ void gatherLastRowsKernel(const U* __restrict__ x, const int32_t* __restrict__ cuSeqLens, int64_t rowUnits, U* __restrict__ out) {
  const int32_t s = blockIdx.x;
  const int32_t begin = cuSeqLens[s], end = cuSeqLens[s + 1];
  U* dst = out + static_cast<int64_t>(s) * rowUnits;
  if (end == begin) {  // graph padding: its offset's row - 1 is another sequence's (or -1)
    for (int64_t i = threadIdx.x; i < rowUnits; i += blockDim.x) dst[i] = U{};
    return;
  }
  const U* src = x + static_cast<int64_t>(end - 1) * rowUnits;
  for (int64_t i = threadIdx.x; i < rowUnits; i += blockDim.x) dst[i] = src[i];
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
                 cudaStream_t stream, const int32_t* contextOf) {
  if (xlmr && contextOf != nullptr) throw NativeError(kErrInvalidArgument, "positionIds: contexts only with the sequential rule");
  if (count <= 0) return;
  positionIdsKernel<<<(count + 3) / 4, 128, 0, stream>>>(ids, cuSeqLens, contextOf, count, padId, xlmr, positions);
  TRT_RERANK_LAUNCH_CHECK("positionIdsKernel");
}

void padGraphBatch(const int32_t* ids, const uint8_t* typeIds, const int32_t* cuSeqLens, int32_t count, int32_t paddedCount,
                   int32_t paddedTokens, int32_t* outIds, uint8_t* outTypeIds, int32_t* outCuSeqLens, int32_t* positions,
                   cudaStream_t stream, const int32_t* contextOf, int32_t* outContextOf) {
  if (count < 0 || paddedCount < count || paddedTokens <= paddedCount) {
    throw NativeError(kErrInvalidArgument, "padGraphBatch: needs count <= paddedCount < paddedTokens");
  }
  const PadGraphBatchParams a{ids, typeIds, cuSeqLens, contextOf, count, paddedCount, paddedTokens, outIds, outTypeIds, outCuSeqLens,
                              outContextOf, positions};
  padGraphBatchKernel<<<gridFor(paddedTokens, 256), 256, 0, stream>>>(a);
  TRT_RERANK_LAUNCH_CHECK("padGraphBatchKernel");
}

namespace {

void requireVectorWidth(int64_t n, const char* what) {
  if (n % 8 != 0) throw NativeError(kErrInvalidArgument, std::string(what) + " must be a multiple of 8 for the CUDA kernels, not " + std::to_string(n));
}

}  // namespace

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

void gatherLastRows(const void* x, const int32_t* cuSeqLens, int32_t count, int64_t rowBytes, void* out, cudaStream_t stream) {
  if (count <= 0 || rowBytes <= 0) return;
  const uintptr_t alignment = reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(out) | static_cast<uintptr_t>(rowBytes);
  if (alignment % 16 == 0) {
    gatherLastRowsKernel<uint4><<<count, 128, 0, stream>>>(static_cast<const uint4*>(x), cuSeqLens, rowBytes / 16, static_cast<uint4*>(out));
  } else if (alignment % 4 == 0) {
    gatherLastRowsKernel<uint32_t><<<count, 128, 0, stream>>>(static_cast<const uint32_t*>(x), cuSeqLens, rowBytes / 4, static_cast<uint32_t*>(out));
  } else {
    gatherLastRowsKernel<uint8_t><<<count, 128, 0, stream>>>(static_cast<const uint8_t*>(x), cuSeqLens, rowBytes, static_cast<uint8_t*>(out));
  }
  TRT_RERANK_LAUNCH_CHECK("gatherLastRowsKernel");
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
