// Which GEMM runs a linear layer of the CUDA backend: ours (kernels/gemm.cuh, epilogues fused) or cuBLASLt
// (loaded at run time where it is installed), per call. The CUDA backend needs nothing but the driver: without
// cuBLASLt every linear runs on ours.
//
// TRT_RERANK_GEMM picks, read once per process:
//   auto (default)  the faster per call, by the rule in linear_gemm.cc (measured in bench/gemm.mjs)
//   ours            our kernels only; cuBLASLt is not even loaded (what a machine without it sees)
//   cublaslt        cuBLASLt for every product, our kernels for nothing (the backend before our GEMMs)
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "backends/cuda/cublaslt.h"
#include "kernels/encoder.cuh"
#include "kernels/gemm.cuh"

namespace trt_rerank::cuda {

enum class GemmChoice { Auto,
                        Ours,
                        CublasLt };

// TRT_RERANK_GEMM's value (Auto when unset); an unknown value is an InvalidArgument error naming the three.
GemmChoice gemmChoice();
const char* gemmChoiceName(GemmChoice choice);

// y = act(x . w^T + bias), or gated (gemm.cuh's forms): x [m, k], w [n, k] or [2n, k], y [m, n]. `scratch`
// ([m, 2n], storage type) holds the ungated product where cuBLASLt runs a gated call; workspace is cuBLASLt's.
struct LinearCall {
  kernels::StorageType type = kernels::StorageType::Half;
  const void* x = nullptr;
  const void* w = nullptr;
  const void* bias = nullptr;
  void* y = nullptr;
  int64_t m = 0, n = 0, k = 0;
  kernels::Activation act = kernels::Activation::None;
  bool gated = false;
  void* scratch = nullptr;
  void* workspace = nullptr;
  size_t workspaceBytes = 0;
};

class LinearGemm {
 public:
  // Loads cuBLASLt unless the choice is Ours; throws NativeError(ERR_BACKEND_UNAVAILABLE) for CublasLt when it is
  // missing.
  explicit LinearGemm(GemmChoice choice = gemmChoice());

  // Enqueues the call on stream. Thread-safe (slots call it concurrently on their own streams).
  void run(const LinearCall& call, cudaStream_t stream) const;

  bool hasCublasLt() const { return cublasLt_ != nullptr; }
  GemmChoice choice() const { return choice_; }

 private:
  bool useOurs(const LinearCall& call) const;
  static kernels::GemmArgs ours(const LinearCall& call);

  GemmChoice choice_;
  std::unique_ptr<cublaslt::Gemm> cublasLt_;
  bool hopper_ = false;  // the device runs our sm_90 kernels (Auto's table below applies)
};

}  // namespace trt_rerank::cuda
