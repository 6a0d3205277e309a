// The sm_90 (Hopper) kernels of gemm.cuh's GEMM, warpgroup MMA on swizzled shared memory: gemmSm90 (gemm_sm90.cu,
// 128 x 128 tiles fed by cp.async) and gemmSm90Tma (gemm_sm90_tma.cu, persistent 128 x 256 tiles fed by TMA, warp-
// specialized). Built only where the architectures include sm_90 (as sm_90a: wgmma is arch-specific); gemm() calls
// them on sm_90 devices for GemmTile::Auto (the TMA one where its tiles fill the GPU), GemmTile::Hopper and
// GemmTile::HopperTma. Same arguments, requirements and results as gemm().
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/gemm.cuh"

namespace trt_rerank::kernels {

void gemmSm90(const GemmArgs& args, cudaStream_t stream);

// Whether the driver gives the tensor-map encoder gemmSm90Tma needs (cuTensorMapEncodeTiled, CUDA 12+ drivers).
bool gemmSm90TmaAvailable();
// How many 128 x 256 output tiles (128 x 128 gated) gemmSm90Tma splits these arguments into.
int gemmSm90TmaTiles(const GemmArgs& args);
void gemmSm90Tma(const GemmArgs& args, cudaStream_t stream);

}  // namespace trt_rerank::kernels
