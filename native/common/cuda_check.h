// Every CUDA call checked, naming the call and file:line (FasterTransformer's check_cuda_error habit).
// TRT_RERANK_SYNC_CHECKS=1 at build time also synchronizes after each launch check, to pin an async error
// on the kernel that caused it.
#pragma once

#include <cuda_runtime_api.h>

#include <stdexcept>
#include <string>

namespace trt_rerank {

class CudaError : public std::runtime_error {
 public:
  CudaError(cudaError_t status, const char* call, const char* file, int line)
      : std::runtime_error(std::string("CUDA error ") + cudaGetErrorName(status) + " (" + cudaGetErrorString(status) +
                           ") in " + call + " at " + file + ":" + std::to_string(line)),
        status_(status) {}
  cudaError_t status() const noexcept { return status_; }

 private:
  cudaError_t status_;
};

inline void checkCuda(cudaError_t status, const char* call, const char* file, int line) {
  if (status != cudaSuccess) throw CudaError(status, call, file, line);
}

}  // namespace trt_rerank

#define TRT_RERANK_CUDA_CHECK(call) ::trt_rerank::checkCuda((call), #call, __FILE__, __LINE__)

#ifdef TRT_RERANK_SYNC_CHECKS
#define TRT_RERANK_LAUNCH_CHECK(what)                                           \
  do {                                                                          \
    ::trt_rerank::checkCuda(cudaGetLastError(), what, __FILE__, __LINE__);      \
    ::trt_rerank::checkCuda(cudaDeviceSynchronize(), what, __FILE__, __LINE__); \
  } while (0)
#else
#define TRT_RERANK_LAUNCH_CHECK(what) ::trt_rerank::checkCuda(cudaGetLastError(), what, __FILE__, __LINE__)
#endif
