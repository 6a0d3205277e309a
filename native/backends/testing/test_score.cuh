// The test score, shared by the pipeline's test backend (test_backend.cu) and the fake TensorRT's network
// (test/fake-tensorrt/fake_nvinfer.cu), and recomputed exactly by the tests in JS:
//   logit = (sum over real tokens t of tokenHash(id, typeId, t)) mod 2^16 / 4096 - 8
// Every value is a multiple of 1/4096 in [-8, 8), exact in fp32.
#pragma once

#include <cstdint>

namespace trt_rerank::testing {

__device__ __forceinline__ uint32_t tokenHash(uint32_t id, uint32_t typeId, uint32_t position) {
  const uint32_t h = id * 2654435761u ^ (typeId * 40503u) ^ (position * 97u);
  return (h ^ (h >> 15)) & 0xffffu;
}

// A block's per-thread partial sums -> the logit, valid in thread 0. kThreads: a power of two, blockDim.x.
template <int kThreads>
__device__ __forceinline__ float blockTestLogit(uint32_t partialSum) {
  __shared__ uint32_t partial[kThreads];
  partial[threadIdx.x] = partialSum;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  return static_cast<float>(partial[0] & 0xffffu) / 4096.0f - 8.0f;
}

}  // namespace trt_rerank::testing
