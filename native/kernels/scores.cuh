// Small kernels of the GPU pipeline around the backend: batch layout, and logits -> scores.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

#include "pipeline/host_scores.h"

namespace trt_rerank::kernels {

// logits [count, numLabels] (1 or 2) -> score = logit or logit1 - logit0, sigmoid if asked (for two labels,
// softmax[1]); written to scores[docIndices[i]] (or scores[firstIndex + i] when docIndices is null).
void finalizeScores(const float* logits, int32_t count, int numLabels, ScoreActivation activation,
                    const int32_t* docIndices, int32_t firstIndex, float* scores, cudaStream_t stream);

// scores[i] = sigmoid(scores[i]) (a call's raw scores in the score arena, once they are all in).
void sigmoidInPlace(float* scores, int32_t count, cudaStream_t stream);

// Packed [totalTokens] + cuSeqLens [count + 1] -> padded [count, paddedLength] ids, type ids and mask.
void packedToPadded(const int32_t* ids, const uint8_t* typeIds, const int32_t* cuSeqLens, int32_t count,
                    int32_t paddedLength, int32_t* paddedIds, uint8_t* paddedTypeIds, uint8_t* paddedMask,
                    cudaStream_t stream);

}  // namespace trt_rerank::kernels
