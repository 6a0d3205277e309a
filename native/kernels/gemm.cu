// The linear layers' GEMM with fused epilogues (gemm.cuh says what it computes), for sm_80 and newer.
//
// One block computes a BM x BN' tile of y (BN' = BN, or BN / 2 for the gated form, whose block loads BN / 2 rows
// of w's act half and the same BN / 2 rows of its gate half, so every thread holds both factors of its outputs).
// k runs in steps of kBlockK = 32 through a kStages-deep ring of shared-memory stages filled by cp.async (16-byte
// chunks, zero-filled past m, n and k): while the warps multiply stage s, the loads of the next kStages - 1 are in
// flight. Each warp owns a (BM / warpsM) x (BN / warpsN) sub-tile: MI x NI mma.sync.m16n8k16 tiles (fp16 or bf16
// in, fp32 accumulators), operands read from shared memory by ldmatrix.x4.
//
// Shared memory: a stage holds x's tile [BM][32] then w's [BN][32], each row 64 bytes = four 16-byte chunks; chunk c
// of row r sits at chunk c ^ ((r >> 1) & 3), so the eight rows one ldmatrix phase reads (r .. r + 7, one chunk
// column) fall on eight distinct 16-byte bank groups: no bank conflicts on load or store.
//
// The grid runs column tiles fastest: the blocks resident at once share x's rows, so x streams from HBM about once
// while w (at most a few MB for these models) stays in L2.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <limits>
#include <mutex>
#include <string>
#include <type_traits>

#include "common/cuda_check.h"
#include "common/errors.h"
#include "kernels/gemm.cuh"
#include "kernels/gemm_device.cuh"
#include "kernels/gemm_sm90.cuh"
#include "kernels/storage.cuh"

namespace trt_rerank::kernels {
namespace {

using namespace gemm_device;

constexpr int kBlockK = 32;  // k of one stage
constexpr int kStages = 4;
constexpr int kMaxDevices = 64;
constexpr int64_t kTmaMaxRows = 0x7FFFFFFF - 256;  // w rows the TMA kernel's int32 box coordinates (+ a tile) reach
#ifdef TRT_RERANK_GEMM_SM90
constexpr bool kHopperBuilt = true;
#else
constexpr bool kHopperBuilt = false;
#endif

template <int kBM, int kBN, int kWarpsM, int kWarpsN>
struct Tile {
  static constexpr int BM = kBM, BN = kBN, warpsN = kWarpsN;
  static constexpr int threads = 32 * kWarpsM * kWarpsN;
  static constexpr int warpRows = kBM / kWarpsM, warpCols = kBN / kWarpsN;
  static constexpr int MI = warpRows / 16, NI = warpCols / 8;
  static constexpr int stageBytes = (kBM + kBN) * kBlockK * 2;
  static constexpr int smemBytes = kStages * stageBytes;
  static_assert(warpRows % 16 == 0 && NI % 4 == 0, "a warp's n8 tiles come in pairs, in each half when gated");
};
using LargeTile = Tile<128, 128, 2, 4>;  // warp 64 x 32, 8 warps, 64 KB
using MediumTile = Tile<128, 64, 2, 2>;  // warp 64 x 32, 4 warps, 48 KB
using SmallTile = Tile<64, 64, 2, 2>;    // warp 32 x 32, 4 warps, 32 KB

// Byte offset of 16-byte chunk `chunk` (0..3) of row `row` in a [rows][32] tile, swizzled (see the top).
__device__ __forceinline__ uint32_t swizzled(int row, int chunk) { return static_cast<uint32_t>(row * 64 + ((chunk ^ ((row >> 1) & 3)) << 4)); }

// Four 8x8 b16 matrices; lanes 8i .. 8i + 7 give the row addresses of matrix i, register i holds it.
__device__ __forceinline__ void loadMatrices(uint32_t (&r)[4], uint32_t address) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(address));
}

// d += a (16 x 16, row-major) . b (16 x 8, column-major), fp32 accumulators.
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], __half) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
__device__ __forceinline__ void mma(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2], __nv_bfloat16) {
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
               : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

template <typename T, typename C, bool kGated, Activation kAct>
__global__ void __launch_bounds__(C::threads) gemmKernel(Params<T> p) {
  extern __shared__ __align__(128) unsigned char smem[];
  constexpr int kOutCols = kGated ? C::BN / 2 : C::BN;  // y columns per block
  constexpr int kTileABytes = C::BM * kBlockK * 2;
  constexpr int kHalfNI = C::NI / 2;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int wm = warp / C::warpsN, wn = warp % C::warpsN;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * C::BM;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kOutCols;
  const uint32_t base = sharedAddress(smem);
  const int kTiles = static_cast<int>((p.k + kBlockK - 1) / kBlockK);

  auto loadStage = [&](int stage, int kt) {
    const uint32_t a = base + stage * C::stageBytes, b = a + kTileABytes;
    const int64_t k0 = static_cast<int64_t>(kt) * kBlockK;
#pragma unroll
    for (int c = threadIdx.x; c < C::BM * 4; c += C::threads) {
      const int r = c / 4, chunk = c % 4;
      const int64_t gr = row0 + r, gk = k0 + chunk * 8;
      const bool ok = gr < p.m && gk < p.k;
      copyAsync16(a + swizzled(r, chunk), ok ? p.x + gr * p.k + gk : p.x, ok);
    }
#pragma unroll
    for (int c = threadIdx.x; c < C::BN * 4; c += C::threads) {
      const int r = c / 4, chunk = c % 4;
      const int64_t gk = k0 + chunk * 8;
      int64_t wr;
      bool ok;
      if constexpr (kGated) {  // rows 0 .. BN/2 - 1: the act half's; the rest: the gate half's same outputs
        const int64_t out = col0 + r % (C::BN / 2);
        ok = out < p.n;
        wr = (r < C::BN / 2 ? 0 : p.n) + out;
      } else {
        wr = col0 + r;
        ok = wr < p.n;
      }
      ok = ok && gk < p.k;
      copyAsync16(b + swizzled(r, chunk), ok ? p.w + wr * p.k + gk : p.w, ok);
    }
  };
  // The w-tile row of this warp's n8 tile j (pairs 2i, 2i + 1 adjacent): gated, the first half of the tiles
  // covers the act rows and the second the gate rows of the same outputs.
  auto wRow = [&](int j) {
    if constexpr (kGated) return (j < kHalfNI ? 0 : C::BN / 2) + wn * (C::warpCols / 2) + (j % kHalfNI) * 8;
    else return wn * C::warpCols + j * 8;
  };

  float acc[C::MI][C::NI][4];
#pragma unroll
  for (int i = 0; i < C::MI; ++i)
#pragma unroll
    for (int j = 0; j < C::NI; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0.0f;

#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < kTiles) loadStage(s, s);
    commitCopies();
  }
  for (int kt = 0; kt < kTiles; ++kt) {
    waitCopies<kStages - 2>();  // stage kt's copies are done (this thread's); the barrier makes it everyone's
    __syncthreads();            // ... and every warp is done with the stage refilled next (kt - 1's)
    if (kt + kStages - 1 < kTiles) loadStage((kt + kStages - 1) % kStages, kt + kStages - 1);
    commitCopies();
    const uint32_t a = base + (kt % kStages) * C::stageBytes, b = a + kTileABytes;
#pragma unroll
    for (int kk = 0; kk < kBlockK / 16; ++kk) {
      uint32_t af[C::MI][4], bf[C::NI][2];
#pragma unroll
      for (int i = 0; i < C::MI; ++i) loadMatrices(af[i], a + swizzled(wm * C::warpRows + i * 16 + lane % 16, kk * 2 + lane / 16));
#pragma unroll
      for (int j = 0; j < C::NI; j += 2) {
        uint32_t t[4];
        loadMatrices(t, b + swizzled(wRow(j) + (lane / 16) * 8 + lane % 8, kk * 2 + (lane / 8) % 2));
        bf[j][0] = t[0], bf[j][1] = t[1], bf[j + 1][0] = t[2], bf[j + 1][1] = t[3];
      }
#pragma unroll
      for (int i = 0; i < C::MI; ++i)
#pragma unroll
        for (int j = 0; j < C::NI; ++j) mma(acc[i][j], af[i], bf[j], T{});
    }
  }
  waitCopies<0>();

  // Accumulator e of tile (i, j) is row lane / 4 + 8 (e / 2), column 2 (lane % 4) + e % 2 of that 16 x 8 tile. The
  // activation is a template argument (a run-time switch inlined per accumulator overflowed the instruction cache:
  // gemm_sm90_device.cuh), bias is read once per column pair for every row of the warp's tiles.
  const bool wide = p.n % 8 == 0 && (reinterpret_cast<uintptr_t>(p.y) & 15) == 0;
  constexpr int kOutNI = kGated ? kHalfNI : C::NI;  // n8 output tiles of the warp
  const int64_t warpCol0 = col0 + wn * (kGated ? C::warpCols / 2 : C::warpCols);
  float2 bu[kOutNI], bg[kOutNI];
#pragma unroll
  for (int j = 0; j < kOutNI; ++j) {
    const int64_t c = warpCol0 + j * 8 + 2 * (lane % 4);
    bu[j] = biasPair(p, c, 0);
    if constexpr (kGated) bg[j] = biasPair(p, c, p.n);
  }
#pragma unroll
  for (int i = 0; i < C::MI; ++i) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const int64_t r = row0 + wm * C::warpRows + i * 16 + lane / 4 + 8 * h;
      T* yRow = p.y + (r < p.m ? r : 0) * p.n;
      if constexpr (kGated) {
        if (r >= p.m) continue;
#pragma unroll
        for (int j = 0; j < kHalfNI; ++j) {
          const int64_t c = warpCol0 + j * 8 + 2 * (lane % 4);
          const float(&u)[4] = acc[i][j], (&g)[4] = acc[i][j + kHalfNI];
          storePair(yRow, c, p.n, activation(kAct, u[2 * h] + bu[j].x) * (g[2 * h] + bg[j].x),
                    activation(kAct, u[2 * h + 1] + bu[j].y) * (g[2 * h + 1] + bg[j].y));
        }
      } else {
#pragma unroll
        for (int j4 = 0; j4 < C::NI / 4; ++j4) {
          uint32_t pair[4];
#pragma unroll
          for (int jj = 0; jj < 4; ++jj) {
            const int j = 4 * j4 + jj;
            pair[jj] = pack(activation(kAct, acc[i][j][2 * h] + bu[j].x), activation(kAct, acc[i][j][2 * h + 1] + bu[j].y), T{});
          }
          storeQuad(yRow, r < p.m, warpCol0 + 32 * j4, p.n, wide, pair);  // every lane: its shuffles
        }
      }
    }
  }
}

// Per device, read once (cheap, and legal during graph capture): the architecture, the SM count and, per storage
// type, each kernel's shared memory opted in and its resident blocks per SM.
struct DeviceState {
  int major = 0, sms = 0;
  bool prepared[2] = {};
  int resident[2][3][2] = {};  // [bf16][Large, Medium, Small][gated]
};

// Opts every activation's kernel of this tile into its shared memory; returns the blocks resident per SM (of the
// plain product's kernel: the activations differ by a few registers, not enough to change the tile rule).
template <typename T, typename C, bool kGated>
int prepareKernel() {
  for (const Activation act : {Activation::None, Activation::GeluErf, Activation::GeluTanh, Activation::Relu, Activation::Silu, Activation::Tanh}) {
    withActivation(act, [](auto a) {
      TRT_RERANK_CUDA_CHECK(cudaFuncSetAttribute(gemmKernel<T, C, kGated, decltype(a)::value>, cudaFuncAttributeMaxDynamicSharedMemorySize, C::smemBytes));
    });
  }
  int blocks = 0;
  TRT_RERANK_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(&blocks, gemmKernel<T, C, kGated, Activation::None>, C::threads, C::smemBytes));
  return blocks > 0 ? blocks : 1;
}

template <typename T>
const DeviceState& deviceState() {
  static std::mutex mutex;
  static DeviceState states[kMaxDevices];
  int device = 0;
  TRT_RERANK_CUDA_CHECK(cudaGetDevice(&device));
  if (device < 0 || device >= kMaxDevices) throw NativeError(kErrBackend, "GEMM: device " + std::to_string(device) + " out of range");
  std::lock_guard<std::mutex> lock(mutex);
  DeviceState& d = states[device];
  if (d.sms == 0) {
    TRT_RERANK_CUDA_CHECK(cudaDeviceGetAttribute(&d.major, cudaDevAttrComputeCapabilityMajor, device));
    TRT_RERANK_CUDA_CHECK(cudaDeviceGetAttribute(&d.sms, cudaDevAttrMultiProcessorCount, device));
  }
  constexpr int t = std::is_same_v<T, __nv_bfloat16> ? 1 : 0;
  if (d.major >= 8 && !d.prepared[t]) {
    d.resident[t][0][0] = prepareKernel<T, LargeTile, false>(), d.resident[t][0][1] = prepareKernel<T, LargeTile, true>();
    d.resident[t][1][0] = prepareKernel<T, MediumTile, false>(), d.resident[t][1][1] = prepareKernel<T, MediumTile, true>();
    d.resident[t][2][0] = prepareKernel<T, SmallTile, false>(), d.resident[t][2][1] = prepareKernel<T, SmallTile, true>();
    d.prepared[t] = true;
  }
  return d;
}

template <typename T, typename C, bool kGated>
void launch(const Params<T>& p, cudaStream_t stream) {
  constexpr int kOutCols = kGated ? C::BN / 2 : C::BN;
  const dim3 grid(static_cast<unsigned>((p.n + kOutCols - 1) / kOutCols), static_cast<unsigned>((p.m + C::BM - 1) / C::BM));
  withActivation(p.act, [&](auto act) { gemmKernel<T, C, kGated, decltype(act)::value><<<grid, C::threads, C::smemBytes, stream>>>(p); });
  TRT_RERANK_LAUNCH_CHECK("gemmKernel");
}

template <typename C>
int64_t blocksFor(int64_t m, int64_t n, bool gated) {
  const int64_t cols = gated ? C::BN / 2 : C::BN;
  return ((m + C::BM - 1) / C::BM) * ((n + cols - 1) / cols);
}

// The tile with the least estimated time: waves of blocks (sms x resident at once), each wave as long as an SM's
// resident tiles' work over the tile's relative rate (smaller tiles reload more operand bytes per FLOP).
template <typename T>
GemmTile tileFor(int64_t m, int64_t n, bool gated, const DeviceState& d) {
  constexpr int t = std::is_same_v<T, __nv_bfloat16> ? 1 : 0;
  const int g = gated ? 1 : 0;
  struct Candidate {
    GemmTile tile;
    int64_t blocks, work;
    double rate;
    int resident;
  };
  const Candidate candidates[] = {
      {GemmTile::Large, blocksFor<LargeTile>(m, n, gated), 128 * 128, 1.0, d.resident[t][0][g]},
      {GemmTile::Medium, blocksFor<MediumTile>(m, n, gated), 128 * 64, 0.85, d.resident[t][1][g]},
      {GemmTile::Small, blocksFor<SmallTile>(m, n, gated), 64 * 64, 0.7, d.resident[t][2][g]},
  };
  GemmTile best = GemmTile::Large;
  double bestCost = std::numeric_limits<double>::infinity();
  for (const Candidate& c : candidates) {
    const int64_t slots = static_cast<int64_t>(d.sms) * c.resident;
    const int64_t waves = (c.blocks + slots - 1) / slots;
    const double cost = static_cast<double>(waves * c.resident * c.work) / c.rate;
    if (cost < bestCost) best = c.tile, bestCost = cost;
  }
  return best;
}

template <typename T>
void run(const GemmArgs& a, cudaStream_t stream) {
  const DeviceState& device = deviceState<T>();  // also opts this type's kernels into their shared memory
#ifdef TRT_RERANK_GEMM_SM90
  // Auto on sm_90: the TMA kernel where its 128 x 256 tiles fill every multiprocessor once, else the 128 x 128 one.
  // (TMA coordinates are int32: w's rows must fit, else the cp.async kernel.)
  const bool tmaRowsFit = (a.gated ? 2 * a.n : a.n) <= kTmaMaxRows;
  if (a.tile == GemmTile::HopperTma ||
      (a.tile == GemmTile::Auto && device.major == 9 && tmaRowsFit && gemmSm90TmaAvailable() && gemmSm90TmaTiles(a) >= device.sms)) {
    return gemmSm90Tma(a, stream);
  }
  if (a.tile == GemmTile::Hopper || (a.tile == GemmTile::Auto && device.major == 9)) return gemmSm90(a, stream);
#endif
  const GemmTile tile = a.tile == GemmTile::Auto ? tileFor<T>(a.m, a.n, a.gated, device) : a.tile;
  const Params<T> p = paramsOf<T>(a);
  switch (tile) {
    case GemmTile::Medium: return a.gated ? launch<T, MediumTile, true>(p, stream) : launch<T, MediumTile, false>(p, stream);
    case GemmTile::Small: return a.gated ? launch<T, SmallTile, true>(p, stream) : launch<T, SmallTile, false>(p, stream);
    default: return a.gated ? launch<T, LargeTile, true>(p, stream) : launch<T, LargeTile, false>(p, stream);
  }
}

bool aligned(const void* p, uintptr_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

}  // namespace

std::string gemmUnsupportedReason(const GemmArgs& a) {
  if (a.m < 0 || a.n < 0 || a.k < 1) return "our GEMM needs m, n >= 0 and k >= 1";
  if (a.k % 8 != 0) return "our GEMM reads rows in 16-byte chunks: k (" + std::to_string(a.k) + ") must be a multiple of 8";
  if (!aligned(a.x, 16) || !aligned(a.w, 16)) return "our GEMM needs x and w 16-byte aligned";
  if (!aligned(a.y, 4)) return "our GEMM needs y 4-byte aligned";
  if ((a.m + SmallTile::BM - 1) / SmallTile::BM > 65535) return "our GEMM takes at most 4 194 240 rows";
  const int major = deviceState<__half>().major;
  if (major < 8) return "our GEMM needs an sm_80 or newer GPU (mma.sync m16n8k16, cp.async)";
  const bool hopperTile = a.tile == GemmTile::Hopper || a.tile == GemmTile::HopperTma;
  if (hopperTile && !(kHopperBuilt && major == 9)) return "our GEMM's Hopper tiles need an sm_90 device and a build for sm_90";
#ifdef TRT_RERANK_GEMM_SM90
  if (a.tile == GemmTile::HopperTma && !gemmSm90TmaAvailable()) return "our GEMM's TMA tile needs cuTensorMapEncodeTiled, which this driver lacks";
  if (a.tile == GemmTile::HopperTma && (a.gated ? 2 * a.n : a.n) > kTmaMaxRows) return "our GEMM's TMA tile takes at most 2^31 - 257 rows of w";
#endif
  return "";
}

void gemm(const GemmArgs& a, cudaStream_t stream) {
  const std::string why = gemmUnsupportedReason(a);
  if (!why.empty()) throw NativeError(kErrBackend, why);
  if (a.m == 0 || a.n == 0) return;
  if (a.type == StorageType::BFloat16) run<__nv_bfloat16>(a, stream);
  else run<__half>(a, stream);
}

}  // namespace trt_rerank::kernels
