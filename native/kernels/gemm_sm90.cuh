// The sm_90 (Hopper) kernel of gemm.cuh's GEMM: warpgroup MMA on swizzled shared memory (gemm_sm90.cu). Built
// only where the architectures include sm_90 (as sm_90a: wgmma is arch-specific); gemm() calls it on sm_90 devices
// for GemmTile::Auto and GemmTile::Hopper. Same arguments, requirements and results as gemm().
#pragma once

#include <cuda_runtime_api.h>

#include "kernels/gemm.cuh"

namespace trt_rerank::kernels {

void gemmSm90(const GemmArgs& args, cudaStream_t stream);

}  // namespace trt_rerank::kernels
