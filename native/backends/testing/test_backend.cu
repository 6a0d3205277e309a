// The pipeline's test backend: the test score (test_score.cuh), which JS recomputes exactly
// (test/gpu/pipeline.test.ts), computed from either input layout. With
// spinPerToken > 0 each token also costs that many dependent multiply-adds, whose result is discarded, so a
// benchmark can give the backend a known cost.
#include "backends/testing/test_backend.h"
#include "backends/testing/test_score.cuh"
#include "common/cuda_check.h"

namespace trt_rerank {
namespace {

constexpr int kThreads = 128;

__device__ __forceinline__ float spin(int iterations, float seed) {
  float x = seed;
  for (int i = 0; i < iterations; ++i) x = fmaf(x, 0.999f, 0.001f);
  return x;
}

// One block per sequence.
__global__ void testForwardKernel(const int32_t* __restrict__ ids, const uint8_t* __restrict__ typeIds,
                                  const int32_t* __restrict__ cuSeqLens, const uint8_t* __restrict__ mask,
                                  int32_t paddedLength, int numLabels, int spinPerToken, float* logits,
                                  float* sink) {
  const int32_t s = blockIdx.x;
  const bool padded = mask != nullptr;
  const int64_t begin = padded ? static_cast<int64_t>(s) * paddedLength : cuSeqLens[s];
  const int32_t length = padded ? paddedLength : cuSeqLens[s + 1] - cuSeqLens[s];
  uint32_t sum = 0;
  float work = 0.0f;
  for (int32_t t = threadIdx.x; t < length; t += blockDim.x) {
    if (padded && !mask[begin + t]) continue;
    sum += testing::tokenHash(static_cast<uint32_t>(ids[begin + t]), typeIds[begin + t], static_cast<uint32_t>(t));
    if (spinPerToken) work += spin(spinPerToken, static_cast<float>(t));
  }
  const float logit = testing::blockTestLogit<kThreads>(sum);
  if (threadIdx.x == 0) {
    for (int l = 0; l < numLabels; ++l) logits[s * numLabels + l] = l == numLabels - 1 ? logit : 0.0f;
  }
  if (spinPerToken && work == -1.0f) sink[0] = work;  // keeps the spin from being optimised away
}

__global__ void writeOutOfBoundsKernel(float* p) { p[int64_t{1} << 40] = 1.0f; }

class TestBackend : public DeviceBackend {
 public:
  explicit TestBackend(const TestBackendOptions& options) : options_(options) {}
  const char* name() const override { return "gpu-test"; }
  InputLayout layout() const override { return options_.layout; }
  int numLabels() const override { return options_.numLabels; }
  uint64_t memoryBytes() const override { return 0; }
  uint64_t activationBytesPerToken() const override { return 16; }
  void enqueue(const DeviceBatch& batch, float* logits, cudaStream_t stream, int) override {
    if (batch.count == 0) return;
    if (options_.fault != TestFault::None && ++enqueued_ == options_.faultAtBatch) {
      if (options_.fault == TestFault::BadLaunch) {
        testForwardKernel<<<batch.count, 4096, 0, stream>>>(nullptr, nullptr, nullptr, nullptr, 0, 1, 0, logits, logits);
        TRT_RERANK_LAUNCH_CHECK("testForwardKernel (injected bad launch)");
      } else {
        writeOutOfBoundsKernel<<<1, 1, 0, stream>>>(logits);
        TRT_RERANK_LAUNCH_CHECK("writeOutOfBoundsKernel (injected)");
      }
      return;
    }
    const bool padded = options_.layout == InputLayout::Padded;
    testForwardKernel<<<batch.count, kThreads, 0, stream>>>(
        padded ? batch.paddedIds : batch.ids, padded ? batch.paddedTypeIds : batch.typeIds, batch.cuSeqLens,
        padded ? batch.paddedMask : nullptr, batch.maxLength, options_.numLabels, options_.spinPerToken, logits, logits);
    TRT_RERANK_LAUNCH_CHECK("testForwardKernel");
  }

 private:
  TestBackendOptions options_;
  int enqueued_ = 0;
};

}  // namespace

std::unique_ptr<DeviceBackend> makeTestBackend(const TestBackendOptions& options) {
  return std::make_unique<TestBackend>(options);
}

}  // namespace trt_rerank
