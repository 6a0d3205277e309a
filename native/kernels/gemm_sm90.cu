// The linear layers' GEMM on sm_90 (Hopper): warpgroup MMA (wgmma.mma_async m64n128k16, fp16 / bf16 in, fp32
// accumulators) on operands in shared memory, the epilogues of gemm.cuh fused. Compiled for sm_90a only (wgmma
// is an arch-specific feature); gemm.cu sends sm_90 devices here and everything else to the mma.sync kernel.
//
// One block: 2 warpgroups (256 threads) compute a 128 x 128 tile of [x . w^T] (warpgroup g: rows 64 g .. 64 g + 63,
// all 128 columns; gated: columns 0..63 the act half's and 64..127 the gate half's for the same 64 outputs). k runs
// in steps of 64 through a 4-stage ring filled by cp.async (16-byte chunks, zero-filled past m, n and k), two stages
// ahead: at step kt the block waits for stage kt, fences it for the async proxy that wgmma reads through, then
// issues the copies of step kt + 2 into the stage step kt - 2 used (finished: every warpgroup waited for all but its
// newest wgmma group at the end of step kt - 1, before this step's barrier) and four wgmma on stage kt.
//
// Shared memory: each operand tile is [rows][64] b16 = rows of 128 bytes in the 128-byte swizzle wgmma's
// descriptors name: chunk c (16 bytes) of row r at r * 128 + ((c ^ (r % 8)) * 16), tiles 1024-byte aligned; a
// descriptor gives the start (advanced by 32 bytes per k16 step within the row), 1024 bytes between 8-row groups,
// and the swizzle mode.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

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

constexpr int kBM = 128, kBN = 128, kBK = 64, kStages = 4, kThreads = 256;
constexpr int kTileBytes = 128 * kBK * 2;  // 16 KB: x's or w's tile of one stage
constexpr int kStageBytes = 2 * kTileBytes;
constexpr int kSmemBytes = kStages * kStageBytes + 1024;  // + room to align the ring to 1024 bytes

__device__ __forceinline__ uint32_t swizzled(int row, int chunk) { return static_cast<uint32_t>(row * 128 + ((chunk ^ (row & 7)) << 4)); }

template <typename T, bool kGated, Activation kAct>
__global__ void __launch_bounds__(kThreads, 1) gemmSm90Kernel(Params<T> p) {
#if defined(__CUDA_ARCH__) && defined(__CUDA_ARCH_FEAT_SM90_ALL)
  extern __shared__ unsigned char smemRaw[];
  constexpr int kOutCols = kGated ? kBN / 2 : kBN;
  const uint32_t base = (sharedAddress(smemRaw) + 1023) & ~1023u;
  const int warpgroup = threadIdx.x / 128;
  const int64_t row0 = static_cast<int64_t>(blockIdx.y) * kBM;
  const int64_t col0 = static_cast<int64_t>(blockIdx.x) * kOutCols;
  const int kTiles = static_cast<int>((p.k + kBK - 1) / kBK);

  auto loadStage = [&](int stage, int kt) {
    const uint32_t a = base + stage * kStageBytes, b = a + kTileBytes;
    const int64_t k0 = static_cast<int64_t>(kt) * kBK;
#pragma unroll
    for (int i = 0; i < 128 * 8 / kThreads; ++i) {
      const int c = threadIdx.x + i * kThreads, r = c / 8, chunk = c % 8;
      const int64_t gr = row0 + r, gk = k0 + chunk * 8;
      const bool ok = gr < p.m && gk < p.k;
      copyAsync16(a + swizzled(r, chunk), ok ? p.x + gr * p.k + gk : p.x, ok);
    }
#pragma unroll
    for (int i = 0; i < 128 * 8 / kThreads; ++i) {
      const int c = threadIdx.x + i * kThreads, r = c / 8, chunk = c % 8;
      const int64_t gk = k0 + chunk * 8;
      int64_t wr;
      bool ok;
      if constexpr (kGated) {  // rows 0..63: the act half's outputs col0 ..; rows 64..127: the gate half's same ones
        const int64_t out = col0 + r % (kBN / 2);
        ok = out < p.n;
        wr = (r < kBN / 2 ? 0 : p.n) + out;
      } else {
        wr = col0 + r;
        ok = wr < p.n;
      }
      ok = ok && gk < p.k;
      copyAsync16(b + swizzled(r, chunk), ok ? p.w + wr * p.k + gk : p.w, ok);
    }
  };

  float acc[64];
#pragma unroll
  for (int i = 0; i < 64; ++i) acc[i] = 0.0f;

  if (0 < kTiles) loadStage(0, 0);
  commitCopies();
  if (1 < kTiles) loadStage(1, 1);
  commitCopies();
  for (int kt = 0; kt < kTiles; ++kt) {
    waitCopies<1>();  // this thread's copies of step kt are in
    fenceForAsyncProxy();
    __syncthreads();  // everyone's are; and every warpgroup finished the wgmma of step kt - 2
    if (kt + 2 < kTiles) loadStage((kt + 2) % kStages, kt + 2);
    commitCopies();
    const uint32_t a = base + (kt % kStages) * kStageBytes + warpgroup * 64 * 128, b = base + (kt % kStages) * kStageBytes + kTileBytes;
    fenceOperands(acc);
    wgmmaFence();
#pragma unroll
    for (int kk = 0; kk < kBK / 16; ++kk) wgmma128(acc, descriptor(a + kk * 32), descriptor(b + kk * 32), T{});
    wgmmaCommit();
    wgmmaWait<1>();
    fenceOperands(acc);
  }
  wgmmaWait<0>();
  fenceOperands(acc);
  waitCopies<0>();

  storeTile<kAct, kGated>(p, acc, row0 + warpgroup * 64, col0);
#endif
}

template <typename T, bool kGated, Activation kAct>
void launch(const GemmArgs& a, cudaStream_t stream) {
  static std::mutex mutex;
  static bool configured[64] = {};  // per device: the shared memory opted in
  int device = 0;
  TRT_RERANK_CUDA_CHECK(cudaGetDevice(&device));
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (device >= 0 && device < 64 && !configured[device]) {
      TRT_RERANK_CUDA_CHECK(cudaFuncSetAttribute(gemmSm90Kernel<T, kGated, kAct>, cudaFuncAttributeMaxDynamicSharedMemorySize, kSmemBytes));
      configured[device] = true;
    }
  }
  const Params<T> p = paramsOf<T>(a);
  constexpr int kOutCols = kGated ? kBN / 2 : kBN;
  const dim3 grid(static_cast<unsigned>((a.n + kOutCols - 1) / kOutCols), static_cast<unsigned>((a.m + kBM - 1) / kBM));
  gemmSm90Kernel<T, kGated, kAct><<<grid, kThreads, kSmemBytes, stream>>>(p);
  TRT_RERANK_LAUNCH_CHECK("gemmSm90Kernel");
}

template <typename T, bool kGated>
void launchFor(const GemmArgs& a, cudaStream_t stream) {
  withActivation(a.act, [&](auto act) { launch<T, kGated, decltype(act)::value>(a, stream); });
}

}  // namespace

void gemmSm90(const GemmArgs& a, cudaStream_t stream) {
  if (a.type == StorageType::BFloat16) {
    a.gated ? launchFor<__nv_bfloat16, true>(a, stream) : launchFor<__nv_bfloat16, false>(a, stream);
  } else {
    a.gated ? launchFor<__half, true>(a, stream) : launchFor<__half, false>(a, stream);
  }
}

}  // namespace trt_rerank::kernels
