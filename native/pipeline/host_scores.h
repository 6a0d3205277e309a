// Logits -> scores, and top-k, on the host. The CPU backend's half of what pipeline/ does on the GPU.
#pragma once

#include <cstdint>
#include <vector>

namespace trt_rerank {

enum class ScoreActivation { Sigmoid,
                             None };

// logits: [count, numLabels] (numLabels 1 or 2). score = logit (1 label) or logit1 - logit0 (2 labels),
// then sigmoid if asked: for 2 labels sigmoid(l1 - l0) is exactly softmax(l)[1].
void logitsToScores(const float* logits, int32_t count, int numLabels, ScoreActivation activation, float* scores);

// The k best of scores[0, n): score descending, ties by lower index, NaN after every number.
// Writes k indices (k clamped to n) in that order.
void topKHost(const float* scores, int32_t n, int32_t k, std::vector<int32_t>& indices);

}  // namespace trt_rerank
