// cuBLASLt, loaded at run time (dlopen libcublasLt.so of the build's CUDA major, then the other), so the addon builds where only the CUDA
// runtime is installed (CI) and loads where cuBLAS is absent. The few entry points and enum values used
// are declared here from cuBLASLt's documented C API; tools/check-cublaslt-shim.cc checks every one of them
// against the real cublasLt.h on the GPU machine (npm run check:cublaslt there).
//
// The one operation the CUDA backend needs, row-major (PyTorch's nn.Linear):
//   Y[m, n] = X[m, k] . W[n, k]^T (+ bias[n]),  X, W, Y in fp16 or bf16, accumulated in fp32.
// cuBLASLt is column-major, so it computes Y^T = W . X^T: A = W (k x n column-major, transposed), B = X
// (k x m column-major), D = Y (n x m column-major).
#pragma once

#include <cuda_runtime_api.h>
#include <library_types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace trt_rerank::cublaslt {

// ---- the declared subset of cublasLt.h ----
using Status = int;  // cublasStatus_t; 0 is CUBLAS_STATUS_SUCCESS
using Handle = struct Context*;
using MatmulDesc = struct MatmulDescOpaque*;
using MatrixLayout = struct MatrixLayoutOpaque*;
using MatmulPreference = struct MatmulPreferenceOpaque*;
struct MatmulAlgo {
  uint64_t data[8];
};
struct HeuristicResult {
  MatmulAlgo algo;
  size_t workspaceSize;
  Status state;
  float wavesCount;
  int reserved[4];
};

enum : int {
  kComputeType32F = 68,        // CUBLAS_COMPUTE_32F
  kOpN = 0,                    // CUBLAS_OP_N
  kOpT = 1,                    // CUBLAS_OP_T
  kDescComputeType = 0,        // CUBLASLT_MATMUL_DESC_COMPUTE_TYPE
  kDescScaleType = 1,          // CUBLASLT_MATMUL_DESC_SCALE_TYPE
  kDescTransA = 3,             // CUBLASLT_MATMUL_DESC_TRANSA
  kDescTransB = 4,             // CUBLASLT_MATMUL_DESC_TRANSB
  kDescEpilogue = 7,           // CUBLASLT_MATMUL_DESC_EPILOGUE
  kDescBiasPointer = 8,        // CUBLASLT_MATMUL_DESC_BIAS_POINTER
  kEpilogueDefault = 1,        // CUBLASLT_EPILOGUE_DEFAULT
  kEpilogueBias = 4,           // CUBLASLT_EPILOGUE_BIAS
  kEpilogueReluBias = 6,       // CUBLASLT_EPILOGUE_RELU_BIAS
  kPrefMaxWorkspaceBytes = 1,  // CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES
};

struct Api {
  Status (*create)(Handle*);
  Status (*destroy)(Handle);
  size_t (*getVersion)();
  const char* (*getStatusString)(Status);
  Status (*matmulDescCreate)(MatmulDesc*, int computeType, cudaDataType_t scaleType);
  Status (*matmulDescDestroy)(MatmulDesc);
  Status (*matmulDescSetAttribute)(MatmulDesc, int attribute, const void* value, size_t size);
  Status (*matrixLayoutCreate)(MatrixLayout*, cudaDataType_t type, uint64_t rows, uint64_t cols, int64_t ld);
  Status (*matrixLayoutDestroy)(MatrixLayout);
  Status (*preferenceCreate)(MatmulPreference*);
  Status (*preferenceDestroy)(MatmulPreference);
  Status (*preferenceSetAttribute)(MatmulPreference, int attribute, const void* value, size_t size);
  Status (*algoGetHeuristic)(Handle, MatmulDesc, MatrixLayout A, MatrixLayout B, MatrixLayout C, MatrixLayout D,
                             MatmulPreference, int requested, HeuristicResult* results, int* returned);
  Status (*matmul)(Handle, MatmulDesc, const void* alpha, const void* A, MatrixLayout Adesc, const void* B,
                   MatrixLayout Bdesc, const void* beta, const void* C, MatrixLayout Cdesc, void* D, MatrixLayout Ddesc,
                   const MatmulAlgo* algo, void* workspace, size_t workspaceBytes, cudaStream_t stream);
  std::string library;  // the file that loaded
};

// Loads once per process; throws NativeError(ERR_BACKEND) saying which library is missing.
const Api& api();

// Whether cuBLASLt loads here, without throwing: "" when it does, else why not.
std::string unavailableReason();

// ---- the GEMM the backend uses ----
// What the epilogue applies after the product: + bias, then optionally ReLU. (cuBLASLt's GELU epilogue is not
// used: which GELU it computes is not documented, and models define theirs exactly; see docs/NOTES.md.)
enum class Epilogue { Bias,
                      BiasRelu };

class Gemm {
 public:
  Gemm();
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // Y = X . W^T (+ bias), row-major; `type` is CUDA_R_16F or CUDA_R_16BF for X, W, bias and Y. Descriptors are
  // made per call (host-side, microseconds) and the algorithm is left to cuBLASLt's own heuristic, which caches
  // per shape; `workspace` (>= 32 MiB advised on Hopper) is the caller's, used on `stream` only. Thread-safe:
  // execution slots call it concurrently on their own streams.
  void linear(cudaDataType_t type, const void* x, const void* w, const void* bias, void* y, int64_t m, int64_t n,
              int64_t k, void* workspace, size_t workspaceBytes, cudaStream_t stream, Epilogue epilogue = Epilogue::Bias) const;

 private:
  Handle handle_ = nullptr;
};

}  // namespace trt_rerank::cublaslt
