// Varlen attention over every query (all layers but the last), on tensor cores, FlashAttention-2's loop; the
// public dispatch attention() with its checks is at the end. The one-query kernel is attention_one_query.cu.
//
// A block of 4 warps takes 64 queries of one (sequence, head); each warp owns 16 query rows and keeps them in
// registers as mma A fragments. The block walks its keys in tiles of kBlockK, K and V staged in shared memory by
// cp.async, double-buffered (tile i + 1 in flight while tile i is used), rows padded by 16 bytes so ldmatrix's
// 8 row addresses hit distinct banks:
//   S = Q K^T                       mma.m16n8k16, fp16/bf16 in, fp32 accumulators   [16, kBlockK] a warp
//   m' = max(m, rowmax(S)),  P = exp2(S * scale * log2 e - m'),  l = l * exp2(m - m') + rowsum(P)
//   O = O * exp2(m - m') + P V      P re-packed from the S accumulators as A fragments (no shared memory)
// and writes O / l. Keys past a tile's sequence end score -inf; rows past it load as zeros (never NaN: 0 * a stale
// NaN in shared memory would still be NaN) and are not written. No S x S matrix exists anywhere.
// FLOPs: 4 * len * keys * D per (sequence, head); bytes: Q and O once, K and V once per query block (K/V heads
// shared by several query heads are read by each of their blocks, from L2 mostly: neighbouring blockIdx.y).
//
// The key tiles of a block, one flat loop (so the double buffering runs across the boundary):
//   contexts   ceil(len(c) / kBlockK) tiles of the context's rows (masked past len(c) only), then
//   own        tiles from kBegin to kEnd of the sequence's own rows:
//                all keys       0 .. len
//                causal         0 .. min(len, q0 + kBlockQ): a tile whose last key is at most the warp's first
//                               row takes the branch-free path; the diagonal ones are masked per (row, key) to
//                               j <= i, and a warp skips a tile whose first key is past all its rows. Every row's
//                               first tile holds a key it sees (key 0 of the context or its own), so its running
//                               max is finite from the start. FLOPs about halve: len^2 / 2 keys per head.
//                window w       floor((q0 - w) / kBlockK) * kBlockK .. min(len, q0 + kBlockQ + w): O(kBlockQ + 2w)
//                               keys a block. A tile wholly inside every row's window takes the branch-free path;
//                               any other is masked per (row, key) to |i - j| <= w. A row may see a tile, or (rows
//                               past the end) every tile, with no key in range: its running max stays -inf and the
//                               exponent's offset is 0 until a key arrives, so it never computes -inf - -inf.
// A real row always has a key (its own), so its sum is >= 1.
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
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}
__device__ __forceinline__ void mma(float (&c)[4], const uint32_t (&a)[4], uint32_t b0, uint32_t b1, __nv_bfloat16) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
      "{%0, %1, %2, %3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// 2^x by one MUFU.EX2 (flushes results below 2^-126 to 0: softmax weights that small do not count).
__device__ __forceinline__ float exp2Approx(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;\n"
      : "=f"(y)
      : "f"(x));
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
  asm volatile("cp.async.commit_group;\n" ::
                   : "memory");
}

// Waits until at most `pending` of this thread's committed copy groups are still in flight.
template <int pending>
__device__ __forceinline__ void cpAsyncWait() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(pending)
               : "memory");
}

template <typename T>
struct AllQueryParams {
  const T* q;
  const T* k;
  const T* v;
  T* out;
  int64_t qStride, kvStride, outStride;
  const int32_t* cuSeqLens;
  const int32_t* contextOf;  // nullptr: no contexts
  float scaleLog2;           // log2(e) / sqrt(D)
  int32_t window;            // kWindow only (>= 0)
  int32_t group;             // query heads per K/V head
};

//   q [tokens, qStride], k and v [tokens, kvStride], out [tokens, outStride]: query head h at columns h * D ..,
//   K/V head h / group at columns (h / group) * D ..; contextOf [count] or nullptr.
//   grid (ceil(maxLength / kBlockQ), heads, count), kWarps * 32 threads, sizeof(T) * (kBlockQ + 4 kBlockK) * (D + 8)
//   bytes of shared memory.
template <typename T, int D, int kBlockK, bool kWindow, bool kCausal>
__global__ void __launch_bounds__(kWarps * 32) allQueryAttentionKernel(const __grid_constant__ AllQueryParams<T> p) {
  static_assert(!(kWindow && kCausal), "a sliding window is not combined with causal masking (no model has both)");
  static_assert(kBlockQ % kBlockK == 0, "causal key ranges end on a tile boundary only if kBlockK divides kBlockQ");
  constexpr int kStride = D + 8;  // padded shared row, in elements
  extern __shared__ __align__(16) unsigned char sharedBytes[];
  T* qs = reinterpret_cast<T*>(sharedBytes);  // [kBlockQ][kStride], then two K/V buffers of [kBlockK][kStride] each
  T* kvBuffers = qs + kBlockQ * kStride;

  const int s = blockIdx.z, h = blockIdx.y, kvHead = h / p.group;
  const int32_t begin = p.cuSeqLens[s];
  const int32_t length = p.cuSeqLens[s + 1] - begin;
  const int32_t q0 = blockIdx.x * kBlockQ;
  if (q0 >= length) return;  // the whole block: uniform
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int32_t warpRow0 = q0 + warp * 16;  // the warp's first query position
  const T tag{};
  // The context's rows (none with a window: refused by the dispatch).
  int32_t contextBegin = 0, contextLength = 0;
  if (!kWindow && p.contextOf != nullptr) {
    const int32_t c = p.contextOf[s];
    if (c >= 0) {
      contextBegin = p.cuSeqLens[c];
      contextLength = p.cuSeqLens[c + 1] - contextBegin;
    }
  }
  // The own keys this block needs: all of the sequence, those up to its last query (causal), or those within w of
  // one of its queries (window). kEnd > kBegin always: the block's first query sees itself.
  int32_t kBegin = 0, kEnd = length, w = 0;
  if constexpr (kWindow) {
    w = min(p.window, length);  // a wider window reaches no further key (and q0 + kBlockQ + w cannot overflow)
    kBegin = max(0, q0 - w) / kBlockK * kBlockK;
    kEnd = min(length, q0 + kBlockQ + w);
  }
  if constexpr (kCausal) kEnd = min(length, q0 + kBlockQ);
  const int32_t contextTiles = (contextLength + kBlockK - 1) / kBlockK;
  const int32_t tiles = contextTiles + (kEnd - kBegin + kBlockK - 1) / kBlockK;
  // Tile t: its first key's row of k / v, its first key's position (within the context or the sequence), and how
  // many of its kBlockK rows exist (>= kBlockK: all).
  struct Tile {
    int64_t row;
    int32_t k0, valid;
    bool own;
  };
  const auto tileAt = [&](int32_t t) {
    Tile tile;
    tile.own = t >= contextTiles;
    tile.k0 = tile.own ? kBegin + (t - contextTiles) * kBlockK : t * kBlockK;
    tile.row = static_cast<int64_t>(tile.own ? begin : contextBegin) + tile.k0;
    tile.valid = (tile.own ? length : contextLength) - tile.k0;
    return tile;
  };
  const auto stageTile = [&](int32_t t, int buffer) {
    const Tile tile = tileAt(t);
    T* ks = kvBuffers + buffer * 2 * kBlockK * kStride;
    const int64_t at = tile.row * p.kvStride + kvHead * D;
    stageRowsAsync<T, D, kStride, kBlockK>(ks, p.k + at, p.kvStride, tile.valid);
    stageRowsAsync<T, D, kStride, kBlockK>(ks + kBlockK * kStride, p.v + at, p.kvStride, tile.valid);
  };

  // Q and the first K/V tile in flight together; each later tile is requested before the current one is used.
  stageRowsAsync<T, D, kStride, kBlockQ>(qs, p.q + (static_cast<int64_t>(begin) + q0) * p.qStride + h * D, p.qStride, length - q0);
  stageTile(0, 0);
  uint32_t qf[D / 16][4];
  float o[D / 8][4] = {};
  float rowMax[2] = {-INFINITY, -INFINITY}, rowSum[2] = {0.0f, 0.0f};  // rows lane/4 and lane/4 + 8 of the warp

  for (int32_t t = 0; t < tiles; ++t) {
    const Tile tile = tileAt(t);
    if (t + 1 < tiles) {
      stageTile(t + 1, (t + 1) % 2);  // that buffer was last read in the previous step, before its closing barrier
      cpAsyncWait<2>();               // everything but the two groups just issued has landed
    } else {
      cpAsyncWait<0>();
    }
    __syncthreads();
    if (t == 0) {
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        ldmatrixX4(qf[kk], qs + (warp * 16 + (lane % 8) + 8 * ((lane / 8) % 2)) * kStride + kk * 16 + 8 * (lane / 16));
      }
    }
    // Causal: a tile whose first key is past every row of this warp adds nothing (warp-uniform; never tile 0).
    const bool skip = kCausal && tile.own && tile.k0 > warpRow0 + 15;
    if (!skip) {
      const T* ks = kvBuffers + (t % 2) * 2 * kBlockK * kStride;
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

      // The scores stay unscaled until the exponent (one FFMA each); only a tile its sequence (or context) ends in
      // is masked past that end (uniform over the block), so whole tiles take the branch-free path. With a window,
      // also a tile not wholly inside every row's window: its first key more than w before the block's last query,
      // or its last key more than w after the block's first (uniform too). Causal: an own tile whose last key is
      // past the warp's first row (uniform over the warp).
      bool masked = tile.valid < kBlockK;
      if constexpr (kWindow) masked = masked || tile.k0 < q0 + kBlockQ - 1 - w || tile.k0 + kBlockK - 1 > q0 + w;
      if constexpr (kCausal) masked = masked || (tile.own && tile.k0 + kBlockK - 1 > warpRow0);
      if (masked) {
        // Element (n, e) holds row warp * 16 + lane / 4 + 8 * (e / 2), key n * 8 + 2 * (lane % 4) + (e & 1) of the
        // tile; d0 is its query position minus its key position at n = e = 0 (own tiles: both are positions in the
        // sequence).
        const int32_t d0 = warpRow0 + lane / 4 - tile.k0 - 2 * (lane % 4);
#pragma unroll
        for (int n = 0; n < kBlockK / 8; ++n) {
#pragma unroll
          for (int e = 0; e < 4; ++e) {
            bool outside = n * 8 + 2 * (lane % 4) + (e & 1) >= tile.valid;
            const int32_t distance = d0 + 8 * (e / 2) - n * 8 - (e & 1);
            if constexpr (kWindow) {
              outside = outside || static_cast<uint32_t>(distance + w) > static_cast<uint32_t>(2 * w);  // |distance| > w
            }
            if constexpr (kCausal) outside = outside || (tile.own && distance < 0);  // a later key
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
        const float newMax = fmaxf(rowMax[r], tileMax[r] * p.scaleLog2);  // log2 units; finite from tile 0 but with a window
        shift[r] = kWindow && newMax == -INFINITY ? 0.0f : newMax;        // window: no key yet, all weights 0
        const float correction = exp2Approx(rowMax[r] - shift[r]);        // 0 on the row's first tile (rowMax -inf)
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
          sc[n][e] = exp2Approx(fmaf(sc[n][e], p.scaleLog2, -shift[e / 2]));
          rowSum[e / 2] += sc[n][e];
        }
      }

#pragma unroll
      for (int t16 = 0; t16 < kBlockK / 16; ++t16) {
        const uint32_t a[4] = {pack(sc[2 * t16][0], sc[2 * t16][1], tag), pack(sc[2 * t16][2], sc[2 * t16][3], tag),
                               pack(sc[2 * t16 + 1][0], sc[2 * t16 + 1][1], tag), pack(sc[2 * t16 + 1][2], sc[2 * t16 + 1][3], tag)};
#pragma unroll
        for (int dj = 0; dj < D / 16; ++dj) {
          uint32_t b[4];
          ldmatrixX4Trans(b, vs + (t16 * 16 + (lane % 8) + 8 * ((lane / 8) % 2)) * kStride + dj * 16 + 8 * (lane / 16));
          mma(o[2 * dj], a, b[0], b[1], tag);
          mma(o[2 * dj + 1], a, b[2], b[3], tag);
        }
      }
    }
    __syncthreads();  // this buffer is refilled two steps on
  }

#pragma unroll
  for (int r = 0; r < 2; ++r) {
    rowSum[r] += __shfl_xor_sync(0xffffffffu, rowSum[r], 1);
    rowSum[r] += __shfl_xor_sync(0xffffffffu, rowSum[r], 2);
    const int32_t row = warpRow0 + lane / 4 + 8 * r;
    if (row >= length) continue;
    const float inv = 1.0f / rowSum[r];  // >= 1: the row's maximum contributes exp2(0) (it always sees its own key)
    T* dst = p.out + (static_cast<int64_t>(begin) + row) * p.outStride + h * D + 2 * (lane % 4);
#pragma unroll
    for (int d = 0; d < D / 8; ++d) {
      *reinterpret_cast<uint32_t*>(dst + d * 8) = pack(o[d][2 * r] * inv, o[d][2 * r + 1] * inv, tag);
    }
  }
}

template <typename T, int D>
void launchAll(const AttentionArgs& a, cudaStream_t stream) {
  constexpr int kBlockK = D <= 64 ? 64 : 32;
  constexpr size_t kShared = sizeof(T) * (kBlockQ + 4 * kBlockK) * (D + 8);  // Q, then K and V twice: 30-52 KB
  AllQueryParams<T> p;
  p.q = static_cast<const T*>(a.q);
  p.k = static_cast<const T*>(a.k);
  p.v = static_cast<const T*>(a.v);
  p.out = static_cast<T*>(a.out);
  p.qStride = a.qStride;
  p.kvStride = a.kvStride;
  p.outStride = a.outStride;
  p.cuSeqLens = a.cuSeqLens;
  p.contextOf = a.contextOf;
  p.scaleLog2 = kLog2e / std::sqrt(static_cast<float>(D));
  p.window = a.window;
  p.group = a.heads / a.kvHeads;
  const auto run = [&](auto kernel) {
    if constexpr (kShared > 48 * 1024) {  // head size 128: above the default limit (set per call: it is per device)
      TRT_RERANK_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(kShared)));
    }
    const dim3 grid((a.maxLength + kBlockQ - 1) / kBlockQ, a.heads, a.count);
    kernel<<<grid, kWarps * 32, kShared, stream>>>(p);
    TRT_RERANK_LAUNCH_CHECK("allQueryAttentionKernel");
  };
  if (a.window >= 0) run(allQueryAttentionKernel<T, D, kBlockK, true, false>);
  else if (a.causal) run(allQueryAttentionKernel<T, D, kBlockK, false, true>);
  else run(allQueryAttentionKernel<T, D, kBlockK, false, false>);
}

}  // namespace

namespace detail {

void allQueryAttention(const AttentionArgs& a, cudaStream_t stream) {
  const bool half = a.type == StorageType::Half;
  switch (a.headDim) {
    case 32: return half ? launchAll<__half, 32>(a, stream) : launchAll<__nv_bfloat16, 32>(a, stream);
    case 64: return half ? launchAll<__half, 64>(a, stream) : launchAll<__nv_bfloat16, 64>(a, stream);
    case 128: return half ? launchAll<__half, 128>(a, stream) : launchAll<__nv_bfloat16, 128>(a, stream);
    default: throw NativeError(kErrInvalidArgument, "allQueryAttention: no kernel for head size " + std::to_string(a.headDim));
  }
}

}  // namespace detail

void attention(const AttentionArgs& args, cudaStream_t stream) {
  const auto refuse = [](const std::string& what) { throw NativeError(kErrInvalidArgument, "the CUDA backend's attention: " + what); };
  if (args.headDim != 32 && args.headDim != 64 && args.headDim != 128) {
    throw NativeError(kErrInvalidArgument, "the CUDA backend's attention supports head sizes 32, 64 and 128, not " + std::to_string(args.headDim));
  }
  AttentionArgs a = args;
  if (a.kvHeads == 0) a.kvHeads = a.heads;
  if (a.heads < 1 || a.kvHeads < 1 || a.heads % a.kvHeads != 0) {
    refuse(std::to_string(a.kvHeads) + " K/V heads do not divide " + std::to_string(a.heads) + " query heads");
  }
  const bool contexts = a.contextOf != nullptr;
  if (a.window >= 0 && (a.causal || contexts || a.queries == AttentionQueries::Last)) {
    refuse("a sliding window is not combined with causal masking, contexts or last-token queries");
  }
  if (a.queries == AttentionQueries::First && (a.causal || contexts)) {
    refuse("first-token queries are not combined with causal masking or contexts (they are an encoder's)");
  }
  if (a.count <= 0) return;
  if (a.queries == AttentionQueries::All) {
    if (a.maxLength > 0) detail::allQueryAttention(a, stream);
  } else {
    detail::oneQueryAttention(a, stream);  // every out row written, zeros for empty sequences
  }
}

}  // namespace trt_rerank::kernels
