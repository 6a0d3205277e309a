#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "common/cuda_check.h"
#include "kernels/engine_io.cuh"
#include "kernels/storage.cuh"

namespace trt_rerank::kernels {
namespace {

constexpr int kPackThreads = 128;
constexpr int kLogitThreads = 256;

// One block per row; threads stride over the row's seqLen positions.
template <typename Int>
__global__ void __launch_bounds__(kPackThreads)
    packEngineInputsKernel(const int32_t* __restrict__ ids, const uint8_t* __restrict__ typeIds,
                           const int32_t* __restrict__ cuSeqLens, int32_t count, int32_t seqLen, Int* __restrict__ outIds,
                           Int* __restrict__ outMask, Int* __restrict__ outTypeIds) {
  const int32_t row = blockIdx.x;
  const bool real = row < count;
  const int32_t begin = real ? cuSeqLens[row] : 0;
  const int32_t length = real ? cuSeqLens[row + 1] - begin : 1;
  const int64_t base = static_cast<int64_t>(row) * seqLen;
  for (int32_t t = threadIdx.x; t < seqLen; t += blockDim.x) {
    const bool token = t < length;
    outIds[base + t] = token && real ? static_cast<Int>(ids[begin + t]) : Int(0);
    outMask[base + t] = token ? Int(1) : Int(0);
    if (outTypeIds) outTypeIds[base + t] = token && real ? static_cast<Int>(typeIds[begin + t]) : Int(0);
  }
}

template <typename T>
__global__ void __launch_bounds__(kLogitThreads)
    engineLogitsToFloatKernel(const T* __restrict__ logits, int32_t n, float* __restrict__ out) {
  const int32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = toFloat(logits[i]);
}

}  // namespace

void packEngineInputs(const int32_t* ids, const uint8_t* typeIds, const int32_t* cuSeqLens, int32_t count,
                      int32_t rows, int32_t seqLen, EngineIntType type, void* outIds, void* outMask,
                      void* outTypeIds, cudaStream_t stream) {
  if (rows <= 0 || seqLen <= 0) return;
  if (type == EngineIntType::Int64) {
    packEngineInputsKernel<int64_t><<<rows, kPackThreads, 0, stream>>>(
        ids, typeIds, cuSeqLens, count, seqLen, static_cast<int64_t*>(outIds), static_cast<int64_t*>(outMask),
        static_cast<int64_t*>(outTypeIds));
  } else {
    packEngineInputsKernel<int32_t><<<rows, kPackThreads, 0, stream>>>(
        ids, typeIds, cuSeqLens, count, seqLen, static_cast<int32_t*>(outIds), static_cast<int32_t*>(outMask),
        static_cast<int32_t*>(outTypeIds));
  }
  TRT_RERANK_LAUNCH_CHECK("packEngineInputsKernel");
}

// Rows are contiguous in both buffers, so the first count * labels values are exactly the real rows.
void engineLogitsToFloat(const void* logits, EngineFloatType type, int32_t count, int labels, float* out,
                         cudaStream_t stream) {
  const int32_t n = count * labels;
  if (n <= 0) return;
  const int blocks = (n + kLogitThreads - 1) / kLogitThreads;
  switch (type) {
    case EngineFloatType::Float:
      engineLogitsToFloatKernel<<<blocks, kLogitThreads, 0, stream>>>(static_cast<const float*>(logits), n, out);
      break;
    case EngineFloatType::Half:
      engineLogitsToFloatKernel<<<blocks, kLogitThreads, 0, stream>>>(static_cast<const __half*>(logits), n, out);
      break;
    case EngineFloatType::BFloat16:
      engineLogitsToFloatKernel<<<blocks, kLogitThreads, 0, stream>>>(static_cast<const __nv_bfloat16*>(logits), n, out);
      break;
  }
  TRT_RERANK_LAUNCH_CHECK("engineLogitsToFloatKernel");
}

}  // namespace trt_rerank::kernels
