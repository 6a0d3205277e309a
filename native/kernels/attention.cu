// One thread per query row (its scaled q and its output accumulator in registers), a block of kQueries
// queries of one (sequence, head); the block walks the sequence's keys in tiles of kKeys, staged in shared
// memory as fp32 and read by every thread (broadcast). Per tile: scores for the tile, then one rescale of the
// accumulator by exp(m_old - m_new) (FlashAttention-2's online softmax), then p . V.
//
// Cost: per query, length x D multiply-adds for QK and again for PV, on the SIMT cores; this is the correct,
// simple version the tensor-core kernel will be checked against.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cfloat>

#include "common/cuda_check.h"
#include "common/errors.h"
#include "kernels/attention.cuh"

namespace trt_rerank::kernels {
namespace {

constexpr int kQueries = 128;

__device__ __forceinline__ float toFloat(__half x) { return __half2float(x); }
__device__ __forceinline__ float toFloat(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ void fromFloat(__half& y, float x) { y = __float2half(x); }
__device__ __forceinline__ void fromFloat(__nv_bfloat16& y, float x) { y = __float2bfloat16(x); }

template <typename T, int D, int kKeys>
__global__ void __launch_bounds__(kQueries)
attentionKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ out, int64_t qStride,
                int64_t kvStride, int64_t outStride, const int32_t* __restrict__ cuSeqLens, bool oneQuery, float scale) {
  __shared__ float ks[kKeys][D];
  __shared__ float vs[kKeys][D];
  const int32_t s = blockIdx.z;
  const int h = blockIdx.y;
  const int32_t begin = cuSeqLens[s];
  const int32_t length = cuSeqLens[s + 1] - begin;
  const int32_t queries = oneQuery ? 1 : length;
  if (static_cast<int32_t>(blockIdx.x) * kQueries >= queries) return;  // the whole block: uniform
  const int32_t qi = blockIdx.x * kQueries + threadIdx.x;
  const bool active = qi < queries;
  const int64_t row = oneQuery ? s : begin + qi;

  float qv[D], acc[D];
  for (int d = 0; d < D; ++d) {
    qv[d] = active ? toFloat(q[row * qStride + h * D + d]) * scale : 0.0f;
    acc[d] = 0.0f;
  }
  float maxScore = -FLT_MAX, sum = 0.0f;

  for (int32_t tile = 0; tile < length; tile += kKeys) {
    const int32_t keys = min(kKeys, length - tile);
    __syncthreads();  // the previous tile is no longer read
    for (int i = threadIdx.x; i < kKeys * D; i += kQueries) {
      const int j = i / D, d = i % D;
      const int64_t key = static_cast<int64_t>(begin + tile + j) * kvStride + h * D + d;
      ks[j][d] = j < keys ? toFloat(k[key]) : 0.0f;
      vs[j][d] = j < keys ? toFloat(v[key]) : 0.0f;
    }
    __syncthreads();
    if (!active) continue;
    float scores[kKeys];
    float tileMax = -FLT_MAX;
#pragma unroll
    for (int j = 0; j < kKeys; ++j) {
      float dot = 0.0f;
#pragma unroll
      for (int d = 0; d < D; ++d) dot += qv[d] * ks[j][d];
      scores[j] = j < keys ? dot : -FLT_MAX;
      tileMax = fmaxf(tileMax, scores[j]);
    }
    const float newMax = fmaxf(maxScore, tileMax);
    const float correction = __expf(maxScore - newMax);
    sum *= correction;
#pragma unroll
    for (int d = 0; d < D; ++d) acc[d] *= correction;
#pragma unroll
    for (int j = 0; j < kKeys; ++j) {
      const float p = j < keys ? __expf(scores[j] - newMax) : 0.0f;
      sum += p;
#pragma unroll
      for (int d = 0; d < D; ++d) acc[d] += p * vs[j][d];
    }
    maxScore = newMax;
  }
  if (!active) return;
  const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
  T* o = out + row * outStride + h * D;
  for (int d = 0; d < D; ++d) fromFloat(o[d], acc[d] * inv);
}

template <typename T, int D>
void launch(const AttentionArgs& a, cudaStream_t stream) {
  constexpr int kKeys = D <= 64 ? 32 : 16;  // shared memory: 2 x kKeys x D floats; registers: D x 2 + kKeys
  const int32_t queries = a.oneQueryPerSequence ? 1 : a.maxLength;
  const dim3 grid((queries + kQueries - 1) / kQueries, a.heads, a.count);
  attentionKernel<T, D, kKeys><<<grid, kQueries, 0, stream>>>(
      static_cast<const T*>(a.q), static_cast<const T*>(a.k), static_cast<const T*>(a.v), static_cast<T*>(a.out), a.qStride,
      a.kvStride, a.outStride, a.cuSeqLens, a.oneQueryPerSequence, rsqrtf(static_cast<float>(D)));
  TRT_RERANK_LAUNCH_CHECK("attentionKernel");
}

template <typename T>
void launchTyped(const AttentionArgs& a, cudaStream_t stream) {
  switch (a.headDim) {
    case 32: return launch<T, 32>(a, stream);
    case 64: return launch<T, 64>(a, stream);
    case 128: return launch<T, 128>(a, stream);
    default:
      throw NativeError(kErrInvalidArgument, "the CUDA backend's attention supports head sizes 32, 64 and 128, not " +
                                                 std::to_string(a.headDim));
  }
}

}  // namespace

void attention(const AttentionArgs& args, cudaStream_t stream) {
  if (args.count <= 0 || args.maxLength <= 0) return;
  if (args.type == StorageType::Half) launchTyped<__half>(args, stream);
  else launchTyped<__nv_bfloat16>(args, stream);
}

}  // namespace trt_rerank::kernels
