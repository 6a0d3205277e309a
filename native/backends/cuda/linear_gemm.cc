#include "backends/cuda/linear_gemm.h"

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
  if (choice == GemmChoice::Ours) return;
  const std::string why = cublaslt::unavailableReason();
  if (why.empty()) {
    cublasLt_ = std::make_unique<cublaslt::Gemm>();
  } else if (choice == GemmChoice::CublasLt) {
    throw NativeError(kErrBackendUnavailable, "TRT_RERANK_GEMM=cublaslt: " + why);
  }
}

// Auto: cuBLASLt wherever it is loaded, ours where it is not. Measured on the H200 (bench/gemm.mjs,
// docs/results/bench-gemm-h200.md): ours (the sm_90 wgmma kernel there; 361 TFLOP/s at 8192^3 against cuBLASLt's
// 912) is slower on every layer of the five models at 1024-65536 rows, the fused GELU / gate included (cuBLASLt
// plus our separate pass is still faster), so cuBLASLt takes every product where it exists.
bool LinearGemm::useOurs(const LinearCall&) const { return !cublasLt_ || choice_ == GemmChoice::Ours; }

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
