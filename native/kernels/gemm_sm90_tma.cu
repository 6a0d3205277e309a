// The linear layers' GEMM on sm_90 for large products: a persistent, warp-specialized kernel whose operands the
// tensor memory accelerator (TMA) brings into shared memory, multiplied by warpgroup MMA (m64n256k16), the
// epilogues of gemm.cuh fused. Compiled for sm_90a only, like gemm_sm90.cu (the 128 x 128 cp.async kernel, which
// keeps the products too small to fill the GPU with these 128 x 256 tiles).
//
// Block: 3 warpgroups. Warpgroup 0 is the producer: one thread walks the block's tiles and their k steps, waits for
// a free stage of the 4-deep ring, announces its bytes on the stage's `full` mbarrier and issues three TMA copies
// (x: 128 rows x 64 k; w: two boxes of 128 rows x 64 k), which complete on that barrier. Warpgroups 1 and 2 are the
// consumers: each waits for `full`, runs four wgmma m64n256k16 (k 16 each) on its 64 rows of x against all 256 rows
// of w, keeps one wgmma group in flight, and releases the stage before on its `empty` mbarrier (one arrival per
// consumer warp, 8 in all). Registers move from producer to consumers with setmaxnreg (40 / 232).
//
// Tiles: y's 128 x 256 tiles (gated: 128 x 128 outputs, w's rows being 128 of the act half and the same 128 of the
// gate half) in order, column tiles fastest, block b taking tiles b, b + grid, ...: while the consumers run a tile's
// epilogue, the producer already fills the ring with the next tile's first stages. TMA zero-fills rows past m and
// the k tail; w rows past n (plain) or past the act half (gated: they are gate rows) feed only columns >= n, which the
// epilogue never stores.
//
// Shared memory: per stage x's tile [128][64] then w's [256][64], b16, rows of 128 bytes in TMA's and wgmma's
// 128-byte swizzle (gemm_sm90_device.cuh), 1024-byte aligned; then the 2 x 4 mbarriers. 4 x 48 KB + 1 KB.
#include <cuda.h>  // CUtensorMap and the encoder's signature; the function itself comes from the driver at run time
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <mutex>
#include <string>

#include "common/cuda_check.h"
#include "common/errors.h"
#include "kernels/gemm.cuh"
#include "kernels/gemm_device.cuh"
#include "kernels/gemm_sm90.cuh"
#include "kernels/gemm_sm90_device.cuh"
#include "kernels/storage.cuh"

namespace trt_rerank::kernels {
namespace {

using namespace gemm_device;
using namespace sm90_device;

constexpr int kBM = 128, kBN = 256, kBK = 64, kStages = 4;
constexpr int kThreads = 384;               // warpgroup 0 produces, 1 and 2 consume
constexpr int kConsumerWarps = 8;           // arrivals that free a stage
constexpr int kBoxRows = 128;               // one TMA box: 128 rows x 64 k (128 bytes: the swizzle's row)
constexpr int kTileXBytes = kBM * kBK * 2;  // 16 KB
constexpr int kTileWBytes = kBN * kBK * 2;  // 32 KB
constexpr int kStageBytes = kTileXBytes + kTileWBytes;
constexpr int kSmemBytes = 1024 + kStages * kStageBytes + 2 * kStages * 8;  // alignment room, ring, barriers

__device__ __forceinline__ void initBarrier(uint32_t bar, int count) { asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(bar), "r"(count)
                                                                                    : "memory"); }
// One arrival that also tells the barrier to wait for `bytes` of copies completing on it.
__device__ __forceinline__ void arriveExpecting(uint32_t bar, int bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(bar), "r"(bytes)
               : "memory");
}
__device__ __forceinline__ void arrive(uint32_t bar) { asm volatile("mbarrier.arrive.shared::cta.b64 _, [%0];\n" ::"r"(bar)
                                                                    : "memory"); }
// Until the barrier's phase of this parity has completed (a fresh barrier counts its phase of parity 1 as done).
__device__ __forceinline__ void waitPhase(uint32_t bar, uint32_t parity) {
  uint32_t done = 0;
  do {
    asm volatile("{\n.reg .pred p;\nmbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\nselp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(bar), "r"(parity)
                 : "memory");
  } while (done == 0);
}
// The box of `map` at (k0, row0) -> shared memory at dst, its bytes completing on bar.
__device__ __forceinline__ void loadBox(uint32_t dst, const CUtensorMap& map, uint32_t bar, int k0, int row0) {
  asm volatile("cp.async.bulk.tensor.2d.shared::cluster.global.tile.mbarrier::complete_tx::bytes [%0], [%1, {%3, %4}], [%2];\n" ::"r"(dst),
               "l"(reinterpret_cast<uint64_t>(&map)), "r"(bar), "r"(k0), "r"(row0)
               : "memory");
}

template <typename T, bool kGated, Activation kAct>
__global__ void __launch_bounds__(kThreads, 1)
    gemmSm90TmaKernel(const __grid_constant__ CUtensorMap mapX, const __grid_constant__ CUtensorMap mapW, Params<T> p, int tilesN, int tiles) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ unsigned char smemRaw[];
  constexpr int kOutCols = kGated ? kBN / 2 : kBN;
  const uint32_t ring = (sharedAddress(smemRaw) + 1023) & ~1023u;
  const uint32_t full = ring + kStages * kStageBytes, empty = full + kStages * 8;
  const int kTiles = static_cast<int>((p.k + kBK - 1) / kBK);
  if (threadIdx.x == 0) {
    for (int s = 0; s < kStages; ++s) initBarrier(full + 8 * s, 1), initBarrier(empty + 8 * s, kConsumerWarps);
    asm volatile("fence.mbarrier_init.release.cluster;\n" ::
                     : "memory");  // visible to the copy engine
  }
  __syncthreads();

  if (threadIdx.x / 128 == 0) {
    asm volatile("setmaxnreg.dec.sync.aligned.u32 40;\n");
    if (threadIdx.x != 0) return;
    int stage = 0;
    uint32_t phase = 0;
    for (int t = blockIdx.x; t < tiles; t += gridDim.x) {
      const int tm = t / tilesN, tn = t % tilesN;
      const int wRow0 = tn * kOutCols, wRow1 = kGated ? static_cast<int>(p.n) + wRow0 : wRow0 + kBoxRows;
      for (int kt = 0; kt < kTiles; ++kt) {
        waitPhase(empty + 8 * stage, phase ^ 1);
        const uint32_t x = ring + stage * kStageBytes, w = x + kTileXBytes, bar = full + 8 * stage;
        arriveExpecting(bar, kStageBytes);
        loadBox(x, mapX, bar, kt * kBK, tm * kBM);
        loadBox(w, mapW, bar, kt * kBK, wRow0);
        loadBox(w + kTileWBytes / 2, mapW, bar, kt * kBK, wRow1);
        if (++stage == kStages) stage = 0, phase ^= 1;
      }
    }
    return;
  }

  asm volatile("setmaxnreg.inc.sync.aligned.u32 232;\n");
  const int consumer = threadIdx.x / 128 - 1, lane = threadIdx.x % 32;
  int stage = 0;
  uint32_t phase = 0;
  float acc[kBN / 2];
  for (int t = blockIdx.x; t < tiles; t += gridDim.x) {
    const int tm = t / tilesN, tn = t % tilesN;
#pragma unroll
    for (int i = 0; i < kBN / 2; ++i) acc[i] = 0.0f;
    int previous = -1;  // the stage whose wgmma may still run
    for (int kt = 0; kt < kTiles; ++kt) {
      waitPhase(full + 8 * stage, phase);
      const uint32_t x = ring + stage * kStageBytes + consumer * 64 * 128, w = ring + stage * kStageBytes + kTileXBytes;
      fenceOperands(acc);
      wgmmaFence();
#pragma unroll
      for (int kk = 0; kk < kBK / 16; ++kk) wgmma256(acc, descriptor(x + kk * 32), descriptor(w + kk * 32), T{});
      wgmmaCommit();
      wgmmaWait<1>();  // the group of the stage before is done: free it
      fenceOperands(acc);
      if (previous >= 0 && lane == 0) arrive(empty + 8 * previous);
      previous = stage;
      if (++stage == kStages) stage = 0, phase ^= 1;
    }
    wgmmaWait<0>();
    fenceOperands(acc);
    if (lane == 0) arrive(empty + 8 * previous);

    storeTile<kAct, kGated>(p, acc, static_cast<int64_t>(tm) * kBM + consumer * 64, static_cast<int64_t>(tn) * kOutCols);
  }
#endif
}

using EncodeTiled = CUresult (*)(CUtensorMap*, CUtensorMapDataType, cuuint32_t, void*, const cuuint64_t*, const cuuint64_t*, const cuuint32_t*,
                                 const cuuint32_t*, CUtensorMapInterleave, CUtensorMapSwizzle, CUtensorMapL2promotion, CUtensorMapFloatOOBfill);

// cuTensorMapEncodeTiled from the driver already loaded by the runtime (so the addon links no libcuda); nullptr
// where the driver has none.
EncodeTiled encoder() {
  static const EncodeTiled fn = [] {
    void* f = nullptr;
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
#if CUDART_VERSION >= 12050
    const cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &f, 12000, cudaEnableDefault, &found);
#else
    const cudaError_t e = cudaGetDriverEntryPoint("cuTensorMapEncodeTiled", &f, cudaEnableDefault, &found);
#endif
    if (e != cudaSuccess) (void)cudaGetLastError();
    return e == cudaSuccess && found == cudaDriverEntryPointSuccess ? reinterpret_cast<EncodeTiled>(f) : nullptr;
  }();
  return fn;
}

// A row-major [rows, k] b16 matrix as TMA sees it: boxes of 128 rows x 64 k, 128-byte swizzle, zeros outside.
CUtensorMap mapOf(const void* base, int64_t rows, int64_t k, StorageType type) {
  CUtensorMap map;
  const cuuint64_t dims[2] = {static_cast<cuuint64_t>(k), static_cast<cuuint64_t>(rows)};
  const cuuint64_t strides[1] = {static_cast<cuuint64_t>(k) * 2};
  const cuuint32_t box[2] = {kBK, kBoxRows}, elementStrides[2] = {1, 1};
  const CUresult r = encoder()(&map, type == StorageType::BFloat16 ? CU_TENSOR_MAP_DATA_TYPE_BFLOAT16 : CU_TENSOR_MAP_DATA_TYPE_FLOAT16, 2, const_cast<void*>(base),
                               dims, strides, box, elementStrides, CU_TENSOR_MAP_INTERLEAVE_NONE, CU_TENSOR_MAP_SWIZZLE_128B,
                               CU_TENSOR_MAP_L2_PROMOTION_L2_256B, CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
  if (r != CUDA_SUCCESS) throw NativeError(kErrBackend, "our Hopper GEMM: cuTensorMapEncodeTiled failed (CUresult " + std::to_string(static_cast<int>(r)) + ")");
  return map;
}

std::mutex launchMutex;
int multiprocessors[64] = {};  // per device, read once

template <typename T, bool kGated, Activation kAct>
void launch(const GemmArgs& a, cudaStream_t stream) {
  static bool configured[64] = {};  // per device: this instantiation's shared memory opted in
  int device = 0, sms = 0;
  TRT_RERANK_CUDA_CHECK(cudaGetDevice(&device));
  if (device < 0 || device >= 64) throw NativeError(kErrBackend, "our Hopper GEMM: device index out of range");
  {
    std::lock_guard<std::mutex> lock(launchMutex);
    if (multiprocessors[device] == 0) TRT_RERANK_CUDA_CHECK(cudaDeviceGetAttribute(&multiprocessors[device], cudaDevAttrMultiProcessorCount, device));
    if (!configured[device]) {
      TRT_RERANK_CUDA_CHECK(cudaFuncSetAttribute(gemmSm90TmaKernel<T, kGated, kAct>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
      configured[device] = true;
    }
    sms = multiprocessors[device];
  }
  constexpr int kOutCols = kGated ? kBN / 2 : kBN;
  const int tiles = gemmSm90TmaTiles(a);
  const int tilesN = static_cast<int>((a.n + kOutCols - 1) / kOutCols);
  const CUtensorMap mapX = mapOf(a.x, a.m, a.k, a.type), mapW = mapOf(a.w, a.gated ? 2 * a.n : a.n, a.k, a.type);
  gemmSm90TmaKernel<T, kGated, kAct><<<std::min(tiles, sms), kThreads, kSmemBytes, stream>>>(mapX, mapW, paramsOf<T>(a), tilesN, tiles);
  TRT_RERANK_LAUNCH_CHECK("gemmSm90TmaKernel");
}

template <typename T, bool kGated>
void launchFor(const GemmArgs& a, cudaStream_t stream) {
  withActivation(a.act, [&](auto act) { launch<T, kGated, decltype(act)::value>(a, stream); });
}

}  // namespace

bool gemmSm90TmaAvailable() { return encoder() != nullptr; }

int gemmSm90TmaTiles(const GemmArgs& a) {
  const int64_t outCols = a.gated ? kBN / 2 : kBN;
  return static_cast<int>(((a.m + kBM - 1) / kBM) * ((a.n + outCols - 1) / outCols));
}

void gemmSm90Tma(const GemmArgs& a, cudaStream_t stream) {
  if (a.type == StorageType::BFloat16) {
    a.gated ? launchFor<__nv_bfloat16, true>(a, stream) : launchFor<__nv_bfloat16, false>(a, stream);
  } else {
    a.gated ? launchFor<__half, true>(a, stream) : launchFor<__half, false>(a, stream);
  }
}

}  // namespace trt_rerank::kernels
