#include "backends/cuda/cublaslt.h"

#include <memory>
#include <mutex>

#include "common/dynamic_library.h"
#include "common/errors.h"

namespace trt_rerank::cublaslt {
namespace {

constexpr int kCudaMajor = CUDART_VERSION / 1000;
constexpr int kCudaMinor = CUDART_VERSION % 1000 / 10;

// Where libcublasLt of this build's CUDA major comes from, for the message when it is not found (the
// prebuilt packages, built with CUDA 12.4 and 13.0, do not ship it).
std::string whereToGetCublasLt() {
  const std::string major = std::to_string(kCudaMajor);
  const std::string version = major + "." + std::to_string(kCudaMinor);
  const std::string dashed = major + "-" + std::to_string(kCudaMinor);
  const std::string apt = (kCudaMajor == 12 ? "libcublaslt12 (the distribution's archive) or " : "") + std::string("libcublas-") +
                          dashed + " (NVIDIA's CUDA repository; cuda-libraries-" + dashed + " includes it)";
  const std::string pip = kCudaMajor == 12 ? "pip install nvidia-cublas-cu12, then LD_LIBRARY_PATH=<site-packages>/nvidia/cublas/lib"
                                           : "pip install nvidia-cublas, then LD_LIBRARY_PATH=<site-packages>/nvidia/cu" + major + "/lib";
  return "the CUDA backend of this CUDA " + version + " build needs libcublasLt.so." + major + " at run time: Debian/Ubuntu: apt-get install " +
         apt + "; or " + pip + "; or a CUDA " + major + " toolkit: LD_LIBRARY_PATH=/usr/local/cuda-" + version + "/lib64";
}

struct Loaded {
  DynamicLibrary library;
  Api api{};
};

// Opened once, kept for the life of the process.
const Loaded& load() {
  static std::once_flag once;
  static Loaded* loaded = nullptr;
  static std::string failure;
  static const char* failureCode = kErrBackend;
  std::call_once(once, [] {
    auto l = std::make_unique<Loaded>();
    // This build's CUDA major only: the prebuilt packages are per major, and a cuBLASLt of another major would mix
    // two CUDA runtimes in one process (the loader picks the package that matches the driver instead).
    l->library = kCudaMajor == 12 ? DynamicLibrary::openFirst("libcublasLt.so.12") : DynamicLibrary::openFirst("libcublasLt.so.13");
    if (!l->library.loaded()) {
      failure = "cuBLASLt not found (" + l->library.error() + "): " + whereToGetCublasLt();
      failureCode = kErrBackendUnavailable;
      return;
    }
    Api& a = l->api;
    auto bind = [&](auto& fn, const char* name) {
      fn = l->library.symbol<std::remove_reference_t<decltype(fn)>>(name);
      if (!fn && failure.empty()) failure = l->library.name() + " lacks " + name;
    };
    bind(a.create, "cublasLtCreate");
    bind(a.destroy, "cublasLtDestroy");
    bind(a.getVersion, "cublasLtGetVersion");
    bind(a.getStatusString, "cublasLtGetStatusString");
    bind(a.matmulDescCreate, "cublasLtMatmulDescCreate");
    bind(a.matmulDescDestroy, "cublasLtMatmulDescDestroy");
    bind(a.matmulDescSetAttribute, "cublasLtMatmulDescSetAttribute");
    bind(a.matrixLayoutCreate, "cublasLtMatrixLayoutCreate");
    bind(a.matrixLayoutDestroy, "cublasLtMatrixLayoutDestroy");
    bind(a.preferenceCreate, "cublasLtMatmulPreferenceCreate");
    bind(a.preferenceDestroy, "cublasLtMatmulPreferenceDestroy");
    bind(a.preferenceSetAttribute, "cublasLtMatmulPreferenceSetAttribute");
    bind(a.algoGetHeuristic, "cublasLtMatmulAlgoGetHeuristic");
    bind(a.matmul, "cublasLtMatmul");
    if (!failure.empty()) return;
    a.library = l->library.name();
    loaded = l.release();
  });
  if (!loaded) throw NativeError(failureCode, failure);
  return *loaded;
}

void check(Status status, const char* what) {
  if (status != 0) {
    const Api& a = load().api;
    throw NativeError(kErrBackend, std::string("cuBLASLt ") + what + " failed: " + (a.getStatusString ? a.getStatusString(status) : "") +
                                       " (status " + std::to_string(status) + ")");
  }
}

// Owners of cuBLASLt descriptors for one call.
struct Desc {
  MatmulDesc d = nullptr;
  ~Desc() {
    if (d) api().matmulDescDestroy(d);
  }
};
struct Layout {
  MatrixLayout l = nullptr;
  ~Layout() {
    if (l) api().matrixLayoutDestroy(l);
  }
};

}  // namespace

const Api& api() { return load().api; }

std::string unavailableReason() {
  try {
    load();
    return "";
  } catch (const NativeError& e) {
    return e.what();
  }
}

Gemm::Gemm() { check(api().create(&handle_), "create"); }

Gemm::~Gemm() {
  if (handle_) api().destroy(handle_);
}

void Gemm::linear(cudaDataType_t type, const void* x, const void* w, const void* bias, void* y, int64_t m, int64_t n,
                  int64_t k, void* workspace, size_t workspaceBytes, cudaStream_t stream, Epilogue epilogue) const {
  if (m == 0) return;
  if (epilogue != Epilogue::Bias && !bias) throw NativeError(kErrInvalidArgument, "cuBLASLt: a ReLU epilogue is used with a bias only");
  const Api& a = api();
  Desc desc;
  check(a.matmulDescCreate(&desc.d, kComputeType32F, CUDA_R_32F), "matmulDescCreate");
  const int32_t transA = kOpT, transB = kOpN;
  check(a.matmulDescSetAttribute(desc.d, kDescTransA, &transA, sizeof(transA)), "set TRANSA");
  check(a.matmulDescSetAttribute(desc.d, kDescTransB, &transB, sizeof(transB)), "set TRANSB");
  if (bias) {
    const uint32_t value = epilogue == Epilogue::BiasRelu ? kEpilogueReluBias : kEpilogueBias;
    check(a.matmulDescSetAttribute(desc.d, kDescEpilogue, &value, sizeof(value)), "set EPILOGUE");
    check(a.matmulDescSetAttribute(desc.d, kDescBiasPointer, &bias, sizeof(bias)), "set BIAS_POINTER");
  }
  // Column-major views: A = W as k x n (ld k), transposed; B = X as k x m (ld k); D = Y as n x m (ld n).
  Layout la, lb, ld;
  check(a.matrixLayoutCreate(&la.l, type, static_cast<uint64_t>(k), static_cast<uint64_t>(n), k), "layout A");
  check(a.matrixLayoutCreate(&lb.l, type, static_cast<uint64_t>(k), static_cast<uint64_t>(m), k), "layout B");
  check(a.matrixLayoutCreate(&ld.l, type, static_cast<uint64_t>(n), static_cast<uint64_t>(m), n), "layout D");
  const float one = 1.0f, zero = 0.0f;
  check(a.matmul(handle_, desc.d, &one, w, la.l, x, lb.l, &zero, y, ld.l, y, ld.l, nullptr, workspace, workspaceBytes, stream),
        "matmul");
}

}  // namespace trt_rerank::cublaslt
