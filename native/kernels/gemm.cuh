// Our tensor-core GEMM for the models' linear layers (nn.Linear, row-major), with the epilogue fused:
//
//   plain:  y[r, c] = act(x[r, :] . w[c, :] + bias[c])                         x [m, k], w [n, k], y [m, n]
//   gated:  y[r, c] = act(x[r, :] . w[c, :] + bias[c]) * (x[r, :] . w[n + c, :] + bias[n + c])
//                                                                              w [2n, k] (act half first), y [m, n]
//
// fp16 or bf16 in and out, fp32 accumulation and epilogue math, rounded once on store. The gated form is GeGLU /
// SwiGLU (ModernBERT's Wi, Qwen3's gate|up) without its [m, 2n] intermediate; act is any kernels::Activation, None
// for a plain product. bias may be nullptr.
//
// Requirements (gemmUnsupportedReason says which fails): k % 8 == 0 and x, w 16-byte aligned (rows are read as
// 16-byte chunks); m, n, k otherwise free (tails of every tile are zero-filled on load and masked on store).
// Runs on sm_80 and newer (mma.sync m16n8k16, ldmatrix, cp.async; gemm.cu says how), and on sm_90 with warpgroup
// MMA where the build includes sm_90 (gemm_sm90.cu).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>

#include "kernels/encoder.cuh"

namespace trt_rerank::kernels {

// The block tile shapes, for the benchmark's and the tests' choice; Auto picks by shape (gemm.cu: gemmTileFor).
enum class GemmTile { Auto,
                      Large,        // 128 x 128, 8 warps
                      Medium,       // 128 x 64, 4 warps
                      Small,        // 64 x 64, 4 warps
                      Hopper,       // sm_90: 128 x 128, 2 warpgroups of wgmma fed by cp.async (gemm_sm90.cuh), where built
                      HopperTma };  // sm_90: persistent 128 x 256, TMA producer + 2 wgmma warpgroups, where built

struct GemmArgs {
  StorageType type = StorageType::Half;
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;
  void* y = nullptr;
  int64_t m = 0;
  int64_t n = 0;
  int64_t k = 0;
  Activation act = Activation::None;
  bool gated = false;
  GemmTile tile = GemmTile::Auto;
};

// "" when gemm() runs these arguments on this device, else why not (alignment, k, the device's architecture, a
// Hopper tile asked for where it was not built or is not this device's, or
// the TMA one where the driver lacks its tensor-map encoder).
std::string gemmUnsupportedReason(const GemmArgs& args);

// Enqueues y on stream; allocates nothing. Throws NativeError(ERR_BACKEND) where gemmUnsupportedReason is not "".
void gemm(const GemmArgs& args, cudaStream_t stream);

}  // namespace trt_rerank::kernels
