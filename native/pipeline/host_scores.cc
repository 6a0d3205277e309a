#include "pipeline/host_scores.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace trt_rerank {

void logitsToScores(const float* logits, int32_t count, int numLabels, ScoreActivation activation, float* scores) {
  for (int32_t i = 0; i < count; ++i) {
    const float* row = logits + static_cast<int64_t>(i) * numLabels;
    float s = numLabels == 2 ? row[1] - row[0] : row[0];
    if (activation == ScoreActivation::Sigmoid) s = 1.0f / (1.0f + std::exp(-s));
    scores[i] = s;
  }
}

void topKHost(const float* scores, int32_t n, int32_t k, std::vector<int32_t>& indices) {
  k = std::max(0, std::min(k, n));
  indices.resize(n);
  std::iota(indices.begin(), indices.end(), 0);
  // Strict weak order: numbers by value descending, NaN after all numbers, ties by index ascending.
  auto better = [scores](int32_t a, int32_t b) {
    const float x = scores[a], y = scores[b];
    const bool xn = std::isnan(x), yn = std::isnan(y);
    if (xn != yn) return yn;
    if (!xn && x != y) return x > y;
    return a < b;
  };
  std::partial_sort(indices.begin(), indices.begin() + k, indices.end(), better);
  indices.resize(k);
}

}  // namespace trt_rerank
