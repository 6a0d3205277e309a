// Compile-only check, run on a machine with the full CUDA toolkit (the GPU machine):
//   g++ -std=c++17 -fsyntax-only -I/usr/local/cuda/include -Inative tools/check-cublaslt-shim.cc
// native/backends/cuda/cublaslt.h declares the part of cuBLASLt the CUDA backend uses (so the addon builds
// without cuBLAS headers); this checks each value, struct layout and function signature against cublasLt.h.
#include <cublasLt.h>

#include <cstddef>
#include <type_traits>

#include "backends/cuda/cublaslt.h"

namespace lt = trt_rerank::cublaslt;

static_assert(int{lt::kComputeType32F} == int{CUBLAS_COMPUTE_32F});
static_assert(static_cast<int>(lt::kOpN) == static_cast<int>(CUBLAS_OP_N) && static_cast<int>(lt::kOpT) == static_cast<int>(CUBLAS_OP_T));
static_assert(static_cast<int>(lt::kDescComputeType) == static_cast<int>(CUBLASLT_MATMUL_DESC_COMPUTE_TYPE));
static_assert(static_cast<int>(lt::kDescScaleType) == static_cast<int>(CUBLASLT_MATMUL_DESC_SCALE_TYPE));
static_assert(static_cast<int>(lt::kDescTransA) == static_cast<int>(CUBLASLT_MATMUL_DESC_TRANSA) && static_cast<int>(lt::kDescTransB) == static_cast<int>(CUBLASLT_MATMUL_DESC_TRANSB));
static_assert(static_cast<int>(lt::kDescEpilogue) == static_cast<int>(CUBLASLT_MATMUL_DESC_EPILOGUE));
static_assert(static_cast<int>(lt::kDescBiasPointer) == static_cast<int>(CUBLASLT_MATMUL_DESC_BIAS_POINTER));
static_assert(static_cast<int>(lt::kEpilogueDefault) == static_cast<int>(CUBLASLT_EPILOGUE_DEFAULT) && static_cast<int>(lt::kEpilogueBias) == static_cast<int>(CUBLASLT_EPILOGUE_BIAS));
static_assert(static_cast<int>(lt::kEpilogueReluBias) == static_cast<int>(CUBLASLT_EPILOGUE_RELU_BIAS));
static_assert(static_cast<int>(lt::kPrefMaxWorkspaceBytes) == static_cast<int>(CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES));
static_assert(sizeof(lt::Status) == sizeof(cublasStatus_t) && CUBLAS_STATUS_SUCCESS == 0);
static_assert(sizeof(int32_t) == sizeof(cublasOperation_t) && sizeof(uint32_t) == sizeof(cublasLtEpilogue_t));
static_assert(sizeof(lt::MatmulAlgo) == sizeof(cublasLtMatmulAlgo_t));
static_assert(sizeof(lt::HeuristicResult) == sizeof(cublasLtMatmulHeuristicResult_t));
static_assert(offsetof(lt::HeuristicResult, workspaceSize) == offsetof(cublasLtMatmulHeuristicResult_t, workspaceSize));
static_assert(offsetof(lt::HeuristicResult, state) == offsetof(cublasLtMatmulHeuristicResult_t, state));
static_assert(offsetof(lt::HeuristicResult, wavesCount) == offsetof(cublasLtMatmulHeuristicResult_t, wavesCount));

// Same arity and parameter sizes as the real prototypes (pointers to opaque types stand for their handles).
template <typename A, typename B>
struct SameShape : std::false_type {};
template <typename RA, typename... PA, typename RB, typename... PB>
struct SameShape<RA (*)(PA...), RB (*)(PB...)>
    : std::bool_constant<sizeof...(PA) == sizeof...(PB) && sizeof(RA) == sizeof(RB) && ((sizeof(PA) == sizeof(PB)) && ...)> {};
#define SAME(field, fn) static_assert(SameShape<decltype(lt::Api::field), decltype(&fn)>::value, #fn)
SAME(create, cublasLtCreate);
SAME(destroy, cublasLtDestroy);
SAME(getVersion, cublasLtGetVersion);
SAME(getStatusString, cublasLtGetStatusString);
SAME(matmulDescCreate, cublasLtMatmulDescCreate);
SAME(matmulDescDestroy, cublasLtMatmulDescDestroy);
SAME(matmulDescSetAttribute, cublasLtMatmulDescSetAttribute);
SAME(matrixLayoutCreate, cublasLtMatrixLayoutCreate);
SAME(matrixLayoutDestroy, cublasLtMatrixLayoutDestroy);
SAME(preferenceCreate, cublasLtMatmulPreferenceCreate);
SAME(preferenceDestroy, cublasLtMatmulPreferenceDestroy);
SAME(preferenceSetAttribute, cublasLtMatmulPreferenceSetAttribute);
SAME(algoGetHeuristic, cublasLtMatmulAlgoGetHeuristic);
SAME(matmul, cublasLtMatmul);

int main() { return 0; }
