// Varlen attention, two kernels:
//
// 1. Every query of every sequence (all layers but the last), on tensor cores, FlashAttention-2's loop:
//    a block of 4 warps takes 64 queries of one (sequence, head); each warp owns 16 query rows and keeps them
//    in registers as mma A fragments. The block walks the sequence's keys in tiles of kBlockK, K and V staged
//    in shared memory by cp.async, double-buffered (tile i + 1 in flight while tile i is used), rows padded by
//    16 bytes so ldmatrix's 8 row addresses hit distinct banks:
//      S = Q K^T                       mma.m16n8k16, fp16/bf16 in, fp32 accumulators   [16, kBlockK] a warp
//      m' = max(m, rowmax(S)),  P = exp2(S * scale * log2 e - m'),  l = l * exp2(m - m') + rowsum(P)
//      O = O * exp2(m - m') + P V      P re-packed from the S accumulators as A fragments (no shared memory)
//    and writes O / l. Keys past the sequence's end score -inf; rows past it load as zeros (never NaN: 0 * a
//    stale NaN in shared memory would still be NaN) and are not written. No S x S matrix exists anywhere.
//    FLOPs: 4 * len^2 * D per (sequence, head); bytes: Q, K, V, O once each per query block.
//    Sliding window w (a second instance, kWindow; window < 0 runs the one above unchanged): the block of
//    queries [q0, q0 + kBlockQ) needs keys [q0 - w, q0 + kBlockQ - 1 + w] only, so its key loop runs over the
//    tiles from floor((q0 - w) / kBlockK) * kBlockK to min(len, q0 + kBlockQ + w): O(kBlockQ + 2w) keys a
//    block, O(len * w) a sequence. A tile wholly inside every row's window takes the branch-free path; any
//    other is masked per (row, key) to |i - j| <= w. A row may see a tile, or (rows past the end) every tile,
//    with no key in range: its running max stays -inf and the exponent's offset is 0 until a key arrives, so
//    it never computes -inf - -inf. A real row always has its own key, so its sum is >= 1.
//
// 2. One query per sequence (the last layer, whose [CLS] row is all the classifier reads): a warp per
//    (sequence, head); groups of D / 8 lanes each take one key at a time (a lane holds 8 of its D values),
//    keep their own online softmax, and the groups are merged at the end. Memory-bound: K and V read once.
//    With a window w the query (position 0) sees keys 0 .. min(len - 1, w): the loop simply stops there.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>

#include "common/cuda_check.h"
#include "common/errors.h"
#include "kernels/attention.cuh"
#include "kernels/storage.cuh"

namespace trt_rerank::kernels {
namespace {

constexpr int kWarps = 4;
constexpr int kBlockQ = 16 * kWarps;  // query rows per block
constexpr float kLog2e = 1.4426950408889634f;

// ---- mma / ldmatrix wrappers (sm_80+) ----

__device__ __forceinline__ uint32_t sharedAddress(const void* p) { return static_cast<uint32_t>(__cvta_generic_to_shared(p)); }

__device__ __forceinline__ void ldmatrixX4(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(sharedAddress(p))
               : "memory");  // reads shared memory: never hoisted above the barrier that publishes it
}

__device__ __forceinline__ void ldmatrixX4Trans(uint32_t (&r)[4], const void* p) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(sharedAddress(p))
               : "memory");
}

// c += a (16x16, row) . b (16x8, col), fp32 accumulators.
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1, __half) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1, __nv_bfloat16) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
               "{%0, %1, %2, %3};\n"
               : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 2^x by one MUFU.EX2 (flushes results below 2^-126 to 0: softmax weights that small do not count).
__device__ __forceinline__ float exp2Approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n" : "=f"(y) : "f"(x));
  return y;
}

// Starts copying kRows rows of D values (row r at src + r * stride) into shared rows of kStride, 16 bytes per
// cp.async (sm_80+: global -> shared without registers); rows at or past `valid` are zero-filled (source size 0).
// Every thread of the block takes part; the copies land after cpAsyncWait + __syncthreads.
template <typename T, int D, int kStride, int kRows>
__device__ __forceinline__ void stageRowsAsync(T* dst, const T* __restrict__ src, int64_t stride, int valid) {
  constexpr int kChunks = D / 8;
#pragma unroll
  for (int i = threadIdx.x; i < kRows * kChunks; i += kWarps * 32) {
    const int r = i / kChunks, c = i % kChunks;
    const bool present = r < valid;
    const T* from = present ? src + r * stride + c * 8 : src;  // any valid address when nothing is read
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(sharedAddress(dst + r * kStride + c * 8)), "l"(from),
                 "r"(present ? 16 : 0)
                 : "memory");
  }
  asm volatile("cp.async.commit_group;\n" ::: "memory");
}

// Waits until at most `pending` of this thread's committed copy groups are still in flight.
template <int pending>
__device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(pending) : "memory");
}

//   q [tokens, qStride], k and v [tokens, kvStride], out [tokens, outStride]: head h at columns h * D ..
//   grid (ceil(maxLength / kBlockQ), heads, count), kWarps * 32 threads, sizeof(T) * (kBlockQ + 4 kBlockK) * (D + 8)
//   bytes of shared memory. window: used by the kWindow instance only (>= 0).
template <typename T, int D, int kBlockK, bool kWindow>
__global__ void __launch_bounds__(kWarps * 32)
varlenAttentionKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ out, int64_t qStride,
                      int64_t kvStride, int64_t outStride, const int32_t* __restrict__ cuSeqLens, float scaleLog2, int32_t window) {
  constexpr int kStride = D + 8;  // padded shared row, in elements
  extern __shared__ __align__(16) unsigned char sharedBytes[];
  T* qs = reinterpret_cast<T*>(sharedBytes);  // [kBlockQ][kStride], then two K/V buffers of [kBlockK][kStride] each
  T* kvBuffers = qs + kBlockQ * kStride;

  const int s = blockIdx.z, h = blockIdx.y;
  const int32_t begin = cuSeqLens[s];
  const int32_t length = cuSeqLens[s + 1] - begin;
  const int32_t q0 = blockIdx.x * kBlockQ;
  if (q0 >= length) return;  // the whole block: uniform
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const T tag{};
  // The keys this block needs: all of the sequence, or (window) those within w of one of its queries.
  int32_t kBegin = 0, kEnd = length, w = 0;
  if constexpr (kWindow) {
    w = min(window, length);  // a wider window reaches no further key (and q0 + kBlockQ + w cannot overflow)
    kBegin = max(0, q0 - w) / kBlockK * kBlockK;
    kEnd = min(length, q0 + kBlockQ + w);
  }
  auto stageTile = [&](int32_t k0, int buffer) {
    T* ks = kvBuffers + buffer * 2 * kBlockK * kStride;
    stageRowsAsync<T, D, kStride, kBlockK>(ks, k + (begin + k0) * kvStride + h * D, kvStride, length - k0);
    stageRowsAsync<T, D, kStride, kBlockK>(ks + kBlockK * kStride, v + (begin + k0) * kvStride + h * D, kvStride, length - k0);
  };

  // Q and the first K/V tile in flight together; each later tile is requested before the current one is used.
  stageRowsAsync<T, D, kStride, kBlockQ>(qs, q + (begin + q0) * qStride + h * D, qStride, length - q0);
  stageTile(kBegin, 0);
  uint32_t qf[D / 16][4];
  float o[D / 8][4] = {};
  float rowMax[2] = {-INFINITY, -INFINITY}, rowSum[2] = {0.0f, 0.0f};  // rows lane/4 and lane/4 + 8 of the warp

  for (int32_t k0 = kBegin, tile = 0; k0 < kEnd; k0 += kBlockK, ++tile) {
    const int valid = length - k0;
    if (k0 + kBlockK < kEnd) {
      stageTile(k0 + kBlockK, (tile + 1) % 2);  // that buffer was last read in the previous step, before its closing barrier
      cpAsyncWait<2>();                          // everything but the two groups just issued has landed
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    if (tile == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        ldmatrixX4(qf[kk], qs + (warp * 16 + (lane % 8) + 8 * ((lane / 8) % 2)) * kStride + kk * 16 + 8 * (lane / 16));
      }
    }
    const T* ks = kvBuffers + (tile % 2) * 2 * kBlockK * kStride;
    const T* vs = ks + kBlockK * kStride;

    float sc[kBlockK / 8][4] = {};
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
#pragma unroll
      for (int j = 0; j < kBlockK / 16; ++j) {
        uint32_t b[4];
        ldmatrixX4(b, ks + (j * 16 + (lane % 8) + 8 * (lane / 16)) * kStride + kk * 16 + 8 * ((lane / 8) % 2));
        mma(sc[2 * j], qf[kk], b[0], b[1], tag);
        mma(sc[2 * j + 1], qf[kk], b[2], b[3], tag);
      }
    }

    // The scores stay unscaled until the exponent (one FFMA each); only a tile the sequence ends in is masked
    // (valid is uniform over the block, so whole tiles take the branch-free path). With a window, also a tile
    // not wholly inside every row's window: its first key more than w before the block's last query, or its
    // last key more than w after the block's first (uniform too).
    bool masked = valid < kBlockK;
    if constexpr (kWindow) masked = masked || k0 < q0 + kBlockQ - 1 - w || k0 + kBlockK - 1 > q0 + w;
    if (masked) {
      // Element (n, e) holds row warp * 16 + lane / 4 + 8 * (e / 2), key n * 8 + 2 * (lane % 4) + (e & 1) of the tile;
      // d0 is its query position minus its key position at n = e = 0 (window only).
      const int32_t d0 = kWindow ? q0 + warp * 16 + lane / 4 - k0 - 2 * (lane % 4) : 0;
#pragma unroll
      for (int n = 0; n < kBlockK / 8; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          bool outside = n * 8 + 2 * (lane % 4) + (e & 1) >= valid;
          if constexpr (kWindow) {
            const int32_t distance = d0 + 8 * (e / 2) - n * 8 - (e & 1);
            outside = outside || static_cast<uint32_t>(distance + w) > static_cast<uint32_t>(2 * w);  // |distance| > w
          }
          if (outside) sc[n][e] = -INFINITY;
        }
      }
    }
    float tileMax[2] = {-INFINITY, -INFINITY}, shift[2];  // shift: the exponent's offset, rowMax where finite
#pragma unroll
    for (int n = 0; n < kBlockK / 8; ++n) {
      tileMax[0] = fmaxf(tileMax[0], fmaxf(sc[n][0], sc[n][1]));
      tileMax[1] = fmaxf(tileMax[1], fmaxf(sc[n][2], sc[n][3]));
    }
#pragma unroll
    for (int r = 0; r < 2; ++r) {  // the 4 lanes of a quad share rows
      tileMax[r] = fmaxf(tileMax[r], __shfl_xor_sync(0xffffffffu, tileMax[r], 1));
      tileMax[r] = fmaxf(tileMax[r], __shfl_xor_sync(0xffffffffu, tileMax[r], 2));
      const float newMax = fmaxf(rowMax[r], tileMax[r] * scaleLog2);  // in log2 units; finite (key 0 is real) but with a window
      shift[r] = kWindow && newMax == -INFINITY ? 0.0f : newMax;      // window: no key yet, all weights 0
      const float correction = exp2Approx(rowMax[r] - shift[r]);      // 0 on the row's first tile (rowMax -inf)
      rowMax[r] = newMax;
      rowSum[r] *= correction;
#pragma unroll
      for (int d = 0; d < D / 8; ++d) {
        o[d][2 * r] *= correction;
        o[d][2 * r + 1] *= correction;
      }
    }
#pragma unroll
    for (int n = 0; n < kBlockK / 8; ++n) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        sc[n][e] = exp2Approx(fmaf(sc[n][e], scaleLog2, -shift[e / 2]));
        rowSum[e / 2] += sc[n][e];
      }
    }

#pragma unroll
    for (int t = 0; t < kBlockK / 16; ++t) {
      const uint32_t a[4] = {pack(sc[2 * t][0], sc[2 * t][1], tag), pack(sc[2 * t][2], sc[2 * t][3], tag),
                             pack(sc[2 * t + 1][0], sc[2 * t + 1][1], tag), pack(sc[2 * t + 1][2], sc[2 * t + 1][3], tag)};
#pragma unroll
      for (int dj = 0; dj < D / 16; ++dj) {
        uint32_t b[4];
        ldmatrixX4Trans(b, vs + (t * 16 + (lane % 8) + 8 * ((lane / 8) % 2)) * kStride + dj * 16 + 8 * (lane / 16));
        mma(o[2 * dj], a, b[0], b[1], tag);
        mma(o[2 * dj + 1], a, b[2], b[3], tag);
      }
    }
    __syncthreads();  // this buffer is refilled two steps on
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    rowSum[r] += __shfl_xor_sync(0xffffffffu, rowSum[r], 1);
    rowSum[r] += __shfl_xor_sync(0xffffffffu, rowSum[r], 2);
    const int32_t row = q0 + warp * 16 + lane / 4 + 8 * r;
    if (row >= length) continue;
    const float inv = 1.0f / rowSum[r];  // >= 1: the row's maximum contributes exp2(0) (its own key is in any window)
    T* dst = out + (begin + row) * outStride + h * D + 2 * (lane % 4);
#pragma unroll
    for (int d = 0; d < D / 8; ++d) {
      *reinterpret_cast<uint32_t*>(dst + d * 8) = pack(o[d][2 * r] * inv, o[d][2 * r + 1] * inv, tag);
    }
  }
}

//   q [count, qStride] (row s: sequence s's first query), k and v [tokens, kvStride], out [count, outStride]
//   ceil(count * heads / kWarps) blocks of kWarps warps, a warp per (sequence, head). window: used by the kWindow
//   instance only (>= 0).
template <typename T, int D, bool kWindow>
__global__ void __launch_bounds__(kWarps * 32)
firstQueryAttentionKernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v, T* __restrict__ out,
                          int64_t qStride, int64_t kvStride, int64_t outStride, const int32_t* __restrict__ cuSeqLens, int32_t count,
                          int heads, float scaleLog2, int32_t window) {
  constexpr int kLanes = D / 8;          // lanes per key
  constexpr int kGroups = 32 / kLanes;   // keys a warp takes at once
  const int64_t task = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (task >= static_cast<int64_t>(count) * heads) return;  // the whole warp: uniform
  const int s = static_cast<int>(task / heads), h = static_cast<int>(task % heads);
  const int lane = threadIdx.x % 32, group = lane / kLanes, part = lane % kLanes;
  const int32_t begin = cuSeqLens[s];
  const int32_t full = cuSeqLens[s + 1] - begin;
  const int32_t length = kWindow && window < full ? window + 1 : full;  // the keys position 0 attends

  float qv[8], acc[8] = {};
  {
    const uint4 raw = *reinterpret_cast<const uint4*>(q + s * qStride + h * D + part * 8);
    const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int i = 0; i < 8; ++i) qv[i] = toFloat(e[i]) * scaleLog2;
  }
  float m = -INFINITY, l = 0.0f;
  // Every lane runs every step (the group sums below are warp shuffles); a group past the end scores nothing.
  for (int32_t base = 0; base < length; base += kGroups) {
    const int32_t key = base + group;
    const bool present = key < length;
    uint4 kr = make_uint4(0, 0, 0, 0), vr = make_uint4(0, 0, 0, 0);
    if (present) {
      const int64_t at = (begin + key) * kvStride + h * D + part * 8;
      kr = *reinterpret_cast<const uint4*>(k + at);
      vr = *reinterpret_cast<const uint4*>(v + at);
    }
    const T* ke = reinterpret_cast<const T*>(&kr);
    const T* ve = reinterpret_cast<const T*>(&vr);
    float score = 0.0f;
#pragma unroll
    for (int i = 0; i < 8; ++i) score += qv[i] * toFloat(ke[i]);
#pragma unroll
    for (int o = kLanes / 2; o > 0; o >>= 1) score += __shfl_xor_sync(0xffffffffu, score, o);  // within the group
    if (!present) continue;
    const float mNew = fmaxf(m, score);
    const float correction = exp2f(m - mNew), p = exp2f(score - mNew);
    l = l * correction + p;
#pragma unroll
    for (int i = 0; i < 8; ++i) acc[i] = acc[i] * correction + p * toFloat(ve[i]);
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
  const float inv = l > 0.0f ? 1.0f / l : 0.0f;  // l >= 1 for a real sequence; an empty one (graph padding) gives 0s
  const T tag{};
  *reinterpret_cast<uint4*>(out + s * outStride + h * D + part * 8) =
      make_uint4(pack(acc[0] * inv, acc[1] * inv, tag), pack(acc[2] * inv, acc[3] * inv, tag), pack(acc[4] * inv, acc[5] * inv, tag),
                 pack(acc[6] * inv, acc[7] * inv, tag));
}

template <typename T, int D>
void launch(const AttentionArgs& a, cudaStream_t stream) {
  const float scaleLog2 = kLog2e / std::sqrt(static_cast<float>(D));
  const T* q = static_cast<const T*>(a.q);
  const T* k = static_cast<const T*>(a.k);
  const T* v = static_cast<const T*>(a.v);
  T* out = static_cast<T*>(a.out);
  if (a.oneQueryPerSequence) {
    const int64_t warps = static_cast<int64_t>(a.count) * a.heads;
    const unsigned blocks = static_cast<unsigned>((warps + kWarps - 1) / kWarps);
    if (a.window >= 0) {
      firstQueryAttentionKernel<T, D, true><<<blocks, kWarps * 32, 0, stream>>>(q, k, v, out, a.qStride, a.kvStride, a.outStride,
                                                                                 a.cuSeqLens, a.count, a.heads, scaleLog2, a.window);
    } else {
      firstQueryAttentionKernel<T, D, false><<<blocks, kWarps * 32, 0, stream>>>(q, k, v, out, a.qStride, a.kvStride, a.outStride,
                                                                                  a.cuSeqLens, a.count, a.heads, scaleLog2, a.window);
    }
    TRT_RERANK_LAUNCH_CHECK("firstQueryAttentionKernel");
    return;
  }
  constexpr int kBlockK = D <= 64 ? 64 : 32;
  constexpr size_t kShared = sizeof(T) * (kBlockQ + 4 * kBlockK) * (D + 8);  // Q, then K and V twice: 30-52 KB
  const auto run = [&](auto kernel) {
    if constexpr (kShared > 48 * 1024) {  // head size 128: above the default limit (set per call: it is per device)
      TRT_RERANK_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kShared)));
    }
    const dim3 grid((a.maxLength + kBlockQ - 1) / kBlockQ, a.heads, a.count);
    kernel<<<grid, kWarps * 32, kShared, stream>>>(q, k, v, out, a.qStride, a.kvStride, a.outStride, a.cuSeqLens, scaleLog2, a.window);
    TRT_RERANK_LAUNCH_CHECK("varlenAttentionKernel");
  };
  if (a.window >= 0) run(varlenAttentionKernel<T, D, kBlockK, true>);
  else run(varlenAttentionKernel<T, D, kBlockK, false>);
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
