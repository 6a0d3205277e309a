// Attention for one query per sequence (attention.cuh has the math): the last layer of a model whose head reads
// one row per sequence, the first ([CLS], encoders) or the last (decoders). A warp per (sequence, head); groups
// of D / 8 lanes each take one key at a time (a lane holds 8 of its D values), keep their own online softmax in
// fp32, and the groups are merged at the end. Each group's next key is loaded before the current one is scored,
// so a warp keeps two keys' loads in flight. Memory-bound: 4 D FLOPs per 4 D bytes of K and V (2 bytes a value),
// each key read once per query head (the heads of a K/V head are neighbouring warps of one block, so mostly once
// from DRAM); a context's keys are read once per sequence it precedes (from L2: a prefix of a few hundred rows).
//
// The keys, in this order: the context's rows (contexts: all of them, for either form: they precede the
// sequence), then the own rows: first token: 0 .. len - 1, or 0 .. min(len - 1, w) with a window w (position 0
// attends keys within w); last token: 0 .. len - 1 (all precede it or are it, so causal masking changes nothing).
// An empty sequence (graph padding) writes zeros; the last-token form reads nothing of q for it (its row
// cuSeqLens[s + 1] - 1 would be another sequence's, or -1).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "common/cuda_check.h"
#include "common/errors.h"
#include "kernels/attention.cuh"
#include "kernels/storage.cuh"

namespace trt_rerank::kernels {
namespace {

constexpr int kWarps = 4;
constexpr float kLog2e = 1.4426950408889634f;

template <typename T>
struct OneQueryParams {
  const T* q;
  const T* k;
  const T* v;
  T* out;
  int64_t qStride, kvStride, outStride;
  const int32_t* cuSeqLens;
  const int32_t* contextOf;  // nullptr: no contexts
  int32_t count;
  int heads, group;  // query heads, query heads per K/V head
  float scaleLog2;   // log2(e) / sqrt(D)
  int32_t window;    // kWindow only (>= 0)
};

//   First: q [count, qStride], row s;  Last: q [tokens, qStride], row cuSeqLens[s + 1] - 1.
//   k and v [tokens, kvStride] (K/V head h / group at columns (h / group) * D ..), out [count, outStride],
//   contextOf [count] or nullptr. ceil(count * heads / kWarps) blocks of kWarps warps, a warp per (sequence, head).
template <typename T, int D, bool kWindow, bool kLast>
__global__ void __launch_bounds__(kWarps * 32) oneQueryAttentionKernel(const __grid_constant__ OneQueryParams<T> p) {
  static_assert(!(kWindow && kLast), "a sliding window is an encoder's: not combined with last-token queries");
  constexpr int kLanes = D / 8;         // lanes per key
  constexpr int kGroups = 32 / kLanes;  // keys a warp takes at once
  const int64_t task = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (task >= static_cast<int64_t>(p.count) * p.heads) return;  // the whole warp: uniform
  const int s = static_cast<int>(task / p.heads), h = static_cast<int>(task % p.heads);
  const int lane = threadIdx.x % 32, group = lane / kLanes, part = lane % kLanes;
  const int64_t kvColumn = static_cast<int64_t>(h / p.group) * D + part * 8;
  T* dst = p.out + s * p.outStride + h * D + part * 8;
  const int32_t begin = p.cuSeqLens[s];
  const int32_t full = p.cuSeqLens[s + 1] - begin;
  if (kLast && full == 0) {  // graph padding: no query (uniform over the warp)
    if (group == 0) *reinterpret_cast<uint4*>(dst) = make_uint4(0, 0, 0, 0);
    return;
  }
  const int32_t own = kWindow && p.window < full ? p.window + 1 : full;  // the own keys the query attends
  int32_t contextBegin = 0, contextLength = 0;
  if (!kWindow && p.contextOf != nullptr) {
    const int32_t c = p.contextOf[s];
    if (c >= 0) {
      contextBegin = p.cuSeqLens[c];
      contextLength = p.cuSeqLens[c + 1] - contextBegin;
    }
  }
  const int32_t keys = contextLength + own;
  // Key i (0 .. keys - 1): the context's rows, then the own rows.
  const auto rowOf = [&](int32_t i) -> int64_t { return i < contextLength ? contextBegin + i : begin + (i - contextLength); };

  float qv[8], acc[8] = {};
  {
    const int64_t qRow = kLast ? static_cast<int64_t>(begin) + full - 1 : s;
    float raw[8];
    load8(p.q + qRow * p.qStride + h * D + part * 8, raw);
#pragma unroll
    for (int i = 0; i < 8; ++i) qv[i] = raw[i] * p.scaleLog2;
  }
  float m = -INFINITY, l = 0.0f;
  uint4 kr = make_uint4(0, 0, 0, 0), vr = make_uint4(0, 0, 0, 0);  // this group's next key (zeros past the end)
  const auto fetch = [&](int32_t key) {
    if (key < keys) {
      const int64_t at = rowOf(key) * p.kvStride + kvColumn;
      kr = *reinterpret_cast<const uint4*>(p.k + at);
      vr = *reinterpret_cast<const uint4*>(p.v + at);
    }
  };
  fetch(group);
  // Every lane runs every step (the group sums below are warp shuffles); a group past the end scores nothing.
  for (int32_t base = 0; base < keys; base += kGroups) {
    const int32_t key = base + group;
    const bool present = key < keys;
    const uint4 kc = kr, vc = vr;
    fetch(key + kGroups);  // in flight while this key is scored
    const T* ke = reinterpret_cast<const T*>(&kc);
    const T* ve = reinterpret_cast<const T*>(&vc);
    float score = 0.0f;
#pragma unroll
    for (int i = 0; i < 8; ++i) score += qv[i] * toFloat(ke[i]);
#pragma unroll
    for (int o = kLanes / 2; o > 0; o >>= 1) score += __shfl_xor_sync(0xffffffffu, score, o);  // within the group
    if (!present) continue;
    const float mNew = fmaxf(m, score);
    const float correction = exp2f(m - mNew), weight = exp2f(score - mNew);
    l = l * correction + weight;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] = acc[i] * correction + weight * toFloat(ve[i]);
    m = mNew;
  }
  // Merge the groups' softmax states (a group that saw no key has m = -inf and weighs nothing).
#pragma unroll
  for (int o = kLanes; o < 32; o <<= 1) {
    const float m2 = __shfl_xor_sync(0xffffffffu, m, o), l2 = __shfl_xor_sync(0xffffffffu, l, o);
    const float mNew = fmaxf(m, m2);
    const float a = m == -INFINITY ? 0.0f : exp2f(m - mNew), b = m2 == -INFINITY ? 0.0f : exp2f(m2 - mNew);
    l = l * a + l2 * b;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] = acc[i] * a + __shfl_xor_sync(0xffffffffu, acc[i], o) * b;
    m = mNew;
  }
  if (group != 0) return;
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // l >= 1 with any key; none (an empty first-token sequence) gives 0s
  float y[8];
#pragma unroll
  for (int i = 0; i < 8; ++i) y[i] = acc[i] * inv;
  store8(dst, y);
}

template <typename T, int D>
void launchOne(const AttentionArgs& a, cudaStream_t stream) {
  OneQueryParams<T> p;
  p.q = static_cast<const T*>(a.q);
  p.k = static_cast<const T*>(a.k);
  p.v = static_cast<const T*>(a.v);
  p.out = static_cast<T*>(a.out);
  p.qStride = a.qStride;
  p.kvStride = a.kvStride;
  p.outStride = a.outStride;
  p.cuSeqLens = a.cuSeqLens;
  p.contextOf = a.contextOf;
  p.count = a.count;
  p.heads = a.heads;
  p.group = a.heads / a.kvHeads;
  p.scaleLog2 = kLog2e / std::sqrt(static_cast<float>(D));
  p.window = a.window;
  const int64_t warps = static_cast<int64_t>(a.count) * a.heads;
  const unsigned blocks = static_cast<unsigned>((warps + kWarps - 1) / kWarps);
  if (a.queries == AttentionQueries::Last) {
    oneQueryAttentionKernel<T, D, false, true><<<blocks, kWarps * 32, 0, stream>>>(p);
  } else if (a.window >= 0) {
    oneQueryAttentionKernel<T, D, true, false><<<blocks, kWarps * 32, 0, stream>>>(p);
  } else {
    oneQueryAttentionKernel<T, D, false, false><<<blocks, kWarps * 32, 0, stream>>>(p);
  }
  TRT_RERANK_LAUNCH_CHECK("oneQueryAttentionKernel");
}

}  // namespace

namespace detail {

void oneQueryAttention(const AttentionArgs& a, cudaStream_t stream) {
  const bool half = a.type == StorageType::Half;
  switch (a.headDim) {
    case 32: return half ? launchOne<__half, 32>(a, stream) : launchOne<__nv_bfloat16, 32>(a, stream);
    case 64: return half ? launchOne<__half, 64>(a, stream) : launchOne<__nv_bfloat16, 64>(a, stream);
    case 128: return half ? launchOne<__half, 128>(a, stream) : launchOne<__nv_bfloat16, 128>(a, stream);
    default: throw NativeError(kErrInvalidArgument, "oneQueryAttention: no kernel for head size " + std::to_string(a.headDim));
  }
}

}  // namespace detail

}  // namespace trt_rerank::kernels
