// The pipeline's test backend: logit = (sum over tokens t of hash(id, typeId, t) mod 2^16) / 4096 - 8, a value
// JS can recompute exactly (test/gpu/pipeline.test.ts), computed from either input layout. With
// spinPerToken > 0 each token also costs that many dependent multiply-adds, whose result is discarded, so a
// benchmark can give the backend a known cost.
#include "backends/device_backend.h"
#include "common/cuda_check.h"

namespace trt_rerank {
namespace {

constexpr int kThreads = 128;

__device__ __forceinline__ uint32_t tokenHash(int32_t id, uint32_t typeId, int32_t position) {
  uint32_t h = static_cast<uint32_t>(id) * 2654435761u ^ (typeId * 40503u) ^ (static_cast<uint32_t>(position) * 97u);
  return (h ^ (h >> 15)) & 0xffffu;
}

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
  __shared__ uint32_t partial[kThreads];
  const int32_t s = blockIdx.x;
  const bool padded = mask != nullptr;
  const int64_t begin = padded ? static_cast<int64_t>(s) * paddedLength : cuSeqLens[s];
  const int32_t length = padded ? paddedLength : cuSeqLens[s + 1] - cuSeqLens[s];
  uint32_t sum = 0;
  float work = 0.0f;
  for (int32_t t = threadIdx.x; t < length; t += blockDim.x) {
    if (padded && !mask[begin + t]) continue;
    sum += tokenHash(ids[begin + t], typeIds[begin + t], t);
    if (spinPerToken) work += spin(spinPerToken, static_cast<float>(t));
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int stride = kThreads / 2; stride > 0; stride >>= 1) {
    if (threadIdx.x < stride) partial[threadIdx.x] += partial[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    const float logit = static_cast<float>(partial[0] & 0xffffu) / 4096.0f - 8.0f;
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
