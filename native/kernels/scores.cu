#include "common/cuda_check.h"
#include "kernels/scores.cuh"

namespace trt_rerank::kernels {
namespace {

constexpr int kThreads = 256;

__global__ void finalizeScoresKernel(const float* __restrict__ logits, int32_t count, int numLabels, bool sigmoid,
                                     const int32_t* __restrict__ docIndices, int32_t firstIndex, float* __restrict__ scores) {
  const int32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const float* row = logits + static_cast<int64_t>(i) * numLabels;
  float s = numLabels == 2 ? row[1] - row[0] : row[0];
  if (sigmoid) s = 1.0f / (1.0f + expf(-s));
  scores[docIndices ? docIndices[i] : firstIndex + i] = s;
}

__global__ void sigmoidInPlaceKernel(float* scores, int32_t count) {
  const int32_t i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) scores[i] = 1.0f / (1.0f + expf(-scores[i]));
}

// One block per sequence: its tokens, then zeros to paddedLength.
__global__ void packedToPaddedKernel(const int32_t* __restrict__ ids, const uint8_t* __restrict__ typeIds,
                                     const int32_t* __restrict__ cuSeqLens, int32_t paddedLength,
                                     int32_t* __restrict__ paddedIds, uint8_t* __restrict__ paddedTypeIds,
                                     uint8_t* __restrict__ paddedMask) {
  const int32_t s = blockIdx.x;
  const int32_t begin = cuSeqLens[s];
  const int32_t length = cuSeqLens[s + 1] - begin;
  const int64_t row = static_cast<int64_t>(s) * paddedLength;
  for (int32_t t = threadIdx.x; t < paddedLength; t += blockDim.x) {
    const bool real = t < length;
    paddedIds[row + t] = real ? ids[begin + t] : 0;
    paddedTypeIds[row + t] = real ? typeIds[begin + t] : 0;
    paddedMask[row + t] = real ? 1 : 0;
  }
}

}  // namespace

void finalizeScores(const float* logits, int32_t count, int numLabels, ScoreActivation activation,
                    const int32_t* docIndices, int32_t firstIndex, float* scores, cudaStream_t stream) {
  if (count <= 0) return;
  finalizeScoresKernel<<<(count + kThreads - 1) / kThreads, kThreads, 0, stream>>>(
      logits, count, numLabels, activation == ScoreActivation::Sigmoid, docIndices, firstIndex, scores);
  TRT_RERANK_LAUNCH_CHECK("finalizeScoresKernel");
}

void sigmoidInPlace(float* scores, int32_t count, cudaStream_t stream) {
  if (count <= 0) return;
  sigmoidInPlaceKernel<<<(count + kThreads - 1) / kThreads, kThreads, 0, stream>>>(scores, count);
  TRT_RERANK_LAUNCH_CHECK("sigmoidInPlaceKernel");
}

void packedToPadded(const int32_t* ids, const uint8_t* typeIds, const int32_t* cuSeqLens, int32_t count,
                    int32_t paddedLength, int32_t* paddedIds, uint8_t* paddedTypeIds, uint8_t* paddedMask,
                    cudaStream_t stream) {
  if (count <= 0) return;
  packedToPaddedKernel<<<count, 128, 0, stream>>>(ids, typeIds, cuSeqLens, paddedLength, paddedIds, paddedTypeIds, paddedMask);
  TRT_RERANK_LAUNCH_CHECK("packedToPaddedKernel");
}

}  // namespace trt_rerank::kernels
