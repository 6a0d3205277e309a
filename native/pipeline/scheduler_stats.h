// The scheduler's counters (Reranker.stats(), lib/stats.ts): fixed-bound histograms as Prometheus keeps them,
// and percentiles over a window of the last calls. Updated under the scheduler's lock; read as a copy.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace trt_rerank {

struct Histogram {
  std::vector<double> le;        // upper bounds, ascending; a +Inf bucket follows
  std::vector<uint64_t> counts;  // le.size() + 1, not cumulative
  double sum = 0;
  uint64_t count = 0;

  explicit Histogram(std::vector<double> bounds = {}) : le(std::move(bounds)), counts(le.size() + 1, 0) {}
  void observe(double v) {
    counts[std::lower_bound(le.begin(), le.end(), v) - le.begin()]++;
    sum += v;
    ++count;
  }
  // Bounds start, start * factor, ... (n of them).
  static Histogram exponential(double start, double factor, int n) {
    std::vector<double> b;
    for (int i = 0; i < n; ++i, start *= factor) b.push_back(start);
    return Histogram(std::move(b));
  }
  static Histogram linear(double start, double step, int n) {
    std::vector<double> b;
    for (int i = 0; i < n; ++i) b.push_back(start + step * i);
    return Histogram(std::move(b));
  }
};

// The last kSize observations; percentiles by sorting a copy (1024 values: microseconds, on the reader).
class Window {
 public:
  static constexpr size_t kSize = 1024;
  void observe(double v) {
    values_[next_ % kSize] = v;
    ++next_;
  }
  struct Percentiles {
    double p50 = 0, p90 = 0, p99 = 0, max = 0;
  };
  Percentiles percentiles() const {
    const size_t n = std::min<size_t>(next_, kSize);
    if (n == 0) return {};
    std::vector<double> v(values_.begin(), values_.begin() + n);
    std::sort(v.begin(), v.end());
    // Nearest rank: the smallest value with at least a fraction p of the observations at or below it.
    const auto at = [&](double p) { return v[std::min(n, static_cast<size_t>(std::ceil(p * static_cast<double>(n)))) - 1]; };
    return {at(0.50), at(0.90), at(0.99), v.back()};
  }

 private:
  std::array<double, kSize> values_{};
  size_t next_ = 0;
};

struct SchedulerStats {
  uint64_t calls = 0, failedCalls = 0, rejectedCalls = 0;
  uint64_t pairs = 0, tokens = 0, batches = 0;
  // Shared prefixes (contexts): sequences run once for several pairs, and the pair tokens they saved computing.
  uint64_t contexts = 0, sharedTokens = 0;
  uint64_t activeCalls = 0, queuedPairs = 0;
  int64_t maxBatchTokens = 0, maxQueuedPairs = 0;
  int maxBatchPairs = 0;
  Histogram batchFill = Histogram::linear(0.1, 0.1, 10);           // tokens / maxBatchTokens
  Histogram batchPairs = Histogram::exponential(1, 2, 13);         // 1 .. 4096
  Histogram batchTokens = Histogram::exponential(64, 2, 15);       // 64 .. 1 048 576
  Histogram queueSeconds = Histogram::exponential(0.0001, 2, 18);  // 100 us .. 13 s
  Histogram runSeconds = Histogram::exponential(0.0001, 2, 18);
  Window queueMs, runMs;
};

}  // namespace trt_rerank
