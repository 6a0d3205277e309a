#include "backends/cuda/linear_gemm.h"

#include <cuda_runtime_api.h>

#include <cstdlib>
#include <string>

#include "common/errors.h"
#include "kernels/gemm.cuh"

namespace trt_rerank::cuda {

GemmChoice gemmChoice() {
  static const GemmChoice choice = [] {
    const char* v = std::getenv("TRT_RERANK_GEMM");
    const std::string s = v ? v : "";
    if (s.empty() || s == "auto") return GemmChoice::Auto;
    if (s == "ours") return GemmChoice::Ours;
    if (s == "cublaslt") return GemmChoice::CublasLt;
    throw NativeError(kErrInvalidArgument, "TRT_RERANK_GEMM is 'auto', 'ours' or 'cublaslt', not '" + s + "'");
  }();
  return choice;
}

const char* gemmChoiceName(GemmChoice choice) {
  switch (choice) {
    case GemmChoice::Ours: return "ours";
    case GemmChoice::CublasLt: return "cublaslt";
    default: return "auto";
  }
}

LinearGemm::LinearGemm(GemmChoice choice) : choice_(choice) {
#ifdef TRT_RERANK_GEMM_SM90
  int device = 0, major = 0;
  if (cudaGetDevice(&device) == cudaSuccess && cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess) {
    hopper_ = major == 9;
  } else {
    cudaGetLastError();
  }
#endif
  if (choice == GemmChoice::Ours) return;
  const std::string why = cublaslt::unavailableReason();
  if (why.empty()) {
    cublasLt_ = std::make_unique<cublaslt::Gemm>();
  } else if (choice == GemmChoice::CublasLt) {
    throw NativeError(kErrBackendUnavailable, "TRT_RERANK_GEMM=cublaslt: " + why);
  }
}

// Auto: where cuBLASLt is loaded, it takes every product but those our sm_90 kernels ran faster, in two H200 runs of
// bench/gemm.mjs (docs/results/bench-gemm-h200.md; cuBLASLt timed with its separate activation or gate pass): at
// 1024 rows, the k = 384 layers (MiniLM's qkv, attn-out, ffn-in: ours 1.25-1.51x) and a gated product of 2n x k =
// 1152 x 768 (1.31x; that bench row has half ModernBERT's GeGLU width). Everything larger (k >= 768 plain, a gated
// 3072 x 1024, and every layer at 8192 rows and more) ran faster on cuBLASLt (0.38-0.99x), as did the mma.sync
// kernel on every layer. Where cuBLASLt is not loaded, ours takes everything.
bool LinearGemm::useOurs(const LinearCall& c) const {
  if (!cublasLt_ || choice_ == GemmChoice::Ours) return true;
  if (choice_ == GemmChoice::CublasLt || !hopper_ || c.m > 1024) return false;
  return c.k <= 384 || (c.gated && 2 * c.n * c.k <= 1152 * 768);
}

kernels::GemmArgs LinearGemm::ours(const LinearCall& c) {
  kernels::GemmArgs a;
  a.type = c.type;
  a.x = c.x;
  a.w = c.w;
  a.bias = c.bias;
  a.y = c.y;
  a.m = c.m;
  a.n = c.n;
  a.k = c.k;
  a.act = c.act;
  a.gated = c.gated;
  return a;
}

void LinearGemm::run(const LinearCall& c, cudaStream_t stream) const {
  if (c.m == 0) return;
  if (useOurs(c)) {
    const kernels::GemmArgs a = ours(c);
    const std::string why = kernels::gemmUnsupportedReason(a);
    if (!why.empty()) {
      throw NativeError(kErrBackend, "CUDA backend: a linear layer [" + std::to_string(c.m) + ", " + std::to_string(c.k) + "] x [" +
                                         std::to_string(c.n) + ", " + std::to_string(c.k) + "]^T cannot run: " + why +
                                         (cublasLt_ ? "" : ", and cuBLASLt is not loaded"));
    }
    kernels::gemm(a, stream);
    return;
  }
  const cudaDataType_t type = c.type == kernels::StorageType::BFloat16 ? CUDA_R_16BF : CUDA_R_16F;
  const bool relu = c.act == kernels::Activation::Relu && c.bias != nullptr && !c.gated;
  void* product = c.gated ? c.scratch : c.y;
  if (c.gated && product == nullptr) throw NativeError(kErrBackend, "CUDA backend: a gated linear on cuBLASLt needs its scratch buffer");
  cublasLt_->linear(type, c.x, c.w, c.bias, product, c.m, c.gated ? 2 * c.n : c.n, c.k, c.workspace, c.workspaceBytes, stream,
                    relu ? cublaslt::Epilogue::BiasRelu : cublaslt::Epilogue::Bias);
  if (c.gated) {
    kernels::gatedActivation(c.type, c.act, product, c.m, static_cast<int>(c.n), c.y, stream);
  } else if (c.act != kernels::Activation::None && !relu) {
    kernels::activate(c.type, c.act, c.y, c.m * c.n, stream);
  }
}

}  // namespace trt_rerank::cuda
