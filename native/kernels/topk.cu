// Top-k kernels; the algorithm and the key are described in topk.cuh.
#include "kernels/topk.cuh"

#include <cub/device/device_radix_sort.cuh>

#include <algorithm>

#include "common/cuda_check.h"

namespace trt_rerank::kernels {
namespace {

constexpr int kSortThreads = 1024;
constexpr int kRadixThreads = 256;
constexpr int kRadixBins = 256;
constexpr size_t kAlign = 256;

struct SelectState {
  unsigned long long prefix;  // the digits chosen so far, lower digits zero
  unsigned int needed;        // keys still to take from the group matching `prefix`
  unsigned int done;          // 1 once every key >= prefix is in the top k (and only those)
  unsigned int gathered;      // keys written by gatherKernel
};

// Floats -> uint32, monotone (-inf lowest, +inf highest), -0 == +0, every NaN below -inf.
__device__ __forceinline__ unsigned int orderedBits(float f) {
  if (f != f) return 0u;
  unsigned int bits = __float_as_uint(f == 0.0f ? 0.0f : f);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ __forceinline__ unsigned long long makeKey(float score, int32_t index) {
  return (static_cast<unsigned long long>(orderedBits(score)) << 32) | static_cast<unsigned int>(~index);
}

__device__ __forceinline__ int32_t keyIndex(unsigned long long key) {
  return static_cast<int32_t>(~static_cast<unsigned int>(key));
}

// One block: keys (from `candidates`, or made from scores[0, count)) sorted descending in shared memory
// by a bitonic network of `size` (a power of two >= count, <= kTopKBlockSortMax); writes the first k.
__global__ void __launch_bounds__(kSortThreads) blockSortKernel(const float* __restrict__ scores,
                                                                const unsigned long long* __restrict__ candidates,
                                                                int count, int size, int k,
                                                                int32_t* __restrict__ outIndices,
                                                                float* __restrict__ outScores) {
  __shared__ unsigned long long keys[kTopKBlockSortMax];
  for (int i = threadIdx.x; i < size; i += blockDim.x) {
    keys[i] = i < count ? (candidates ? candidates[i] : makeKey(scores[i], i)) : 0ull;  // 0 is below every key
  }
  __syncthreads();
  for (int width = 2; width <= size; width <<= 1) {
    for (int stride = width >> 1; stride > 0; stride >>= 1) {
      for (int i = threadIdx.x; i < size; i += blockDim.x) {
        const int j = i ^ stride;
        if (j > i) {
          const unsigned long long a = keys[i], b = keys[j];
          const bool descending = (i & width) == 0;
          if (descending ? a < b : a > b) {
            keys[i] = b;
            keys[j] = a;
          }
        }
      }
      __syncthreads();
    }
  }
  for (int r = threadIdx.x; r < k; r += blockDim.x) {
    const int32_t index = keyIndex(keys[r]);
    outIndices[r] = index;
    outScores[r] = scores[index];
  }
}

// Up to 1024 keys, one per thread, sorted descending by the same bitonic network with the keys in registers:
// strides below 32 exchange by warp shuffle (no barrier), larger ones through shared memory, double-buffered
// so each of those stages needs one barrier (15 for 1024 keys, against 55 in blockSortKernel).
// Launched with blockDim.x = size, a power of two in [32, 1024].
__global__ void __launch_bounds__(kSortThreads) registerSortKernel(const float* __restrict__ scores,
                                                                   const unsigned long long* __restrict__ candidates,
                                                                   int count, int k, int32_t* __restrict__ outIndices,
                                                                   float* __restrict__ outScores) {
  __shared__ unsigned long long exchange[2][kSortThreads];
  const int i = threadIdx.x;
  const int size = blockDim.x;
  unsigned long long key = i < count ? (candidates ? candidates[i] : makeKey(scores[i], i)) : 0ull;
  int buffer = 0;
  for (int width = 2; width <= size; width <<= 1) {
    const bool descending = (i & width) == 0;
    for (int stride = width >> 1; stride > 0; stride >>= 1) {
      unsigned long long other;
      if (stride >= 32) {
        exchange[buffer][i] = key;
        __syncthreads();
        other = exchange[buffer][i ^ stride];
        buffer ^= 1;  // the next stage writes the other buffer, so nobody overwrites a value still being read
      } else {
        other = __shfl_xor_sync(0xffffffffu, key, stride);
      }
      // The lower index of a pair keeps the larger key in a descending run, the smaller in an ascending one.
      const bool keepLarger = ((i & stride) == 0) == descending;
      key = keepLarger ? (key > other ? key : other) : (key < other ? key : other);
    }
  }
  if (i < k) {
    const int32_t index = keyIndex(key);
    outIndices[i] = index;
    outScores[i] = scores[index];
  }
}

__global__ void selectInitKernel(SelectState* state, unsigned int* histogram, unsigned int k) {
  histogram[threadIdx.x] = 0;
  if (threadIdx.x == 0) *state = SelectState{0ull, k, 0u, 0u};
}

// Counts, by the 8-bit digit at `shift`, the keys whose higher digits equal the chosen prefix.
__global__ void __launch_bounds__(kRadixThreads) selectHistogramKernel(const float* __restrict__ scores, int32_t n,
                                                                       const SelectState* __restrict__ state,
                                                                       unsigned int* __restrict__ histogram, int shift) {
  if (state->done) return;
  __shared__ unsigned int local[kRadixBins];
  local[threadIdx.x] = 0;
  __syncthreads();
  const unsigned long long highMask = shift == 56 ? 0ull : (~0ull << (shift + 8));
  const unsigned long long prefix = state->prefix & highMask;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const unsigned long long key = makeKey(scores[i], static_cast<int32_t>(i));
    if ((key & highMask) == prefix) atomicAdd(&local[(key >> shift) & 0xff], 1u);
  }
  __syncthreads();
  if (local[threadIdx.x]) atomicAdd(&histogram[threadIdx.x], local[threadIdx.x]);
}

// Picks the digit at `shift` that holds the k-th key, and clears the histogram for the next pass.
__global__ void __launch_bounds__(kRadixBins) selectChooseKernel(SelectState* state, unsigned int* histogram, int shift) {
  __shared__ unsigned int fromTop[kRadixBins];  // fromTop[r]: keys in digits 255 - r .. 255
  const int t = threadIdx.x;
  const unsigned int mine = histogram[kRadixBins - 1 - t];
  fromTop[t] = mine;
  __syncthreads();
  for (int offset = 1; offset < kRadixBins; offset <<= 1) {
    const unsigned int add = t >= offset ? fromTop[t - offset] : 0;
    __syncthreads();
    fromTop[t] += add;
    __syncthreads();
  }
  // Every thread reads the state before the one thread that matches writes it.
  const unsigned int done = state->done;
  const unsigned int needed = state->needed;
  __syncthreads();
  if (!done) {
    const unsigned int above = t > 0 ? fromTop[t - 1] : 0;
    if (fromTop[t] >= needed && above < needed) {
      const unsigned int digit = kRadixBins - 1 - t;
      state->prefix |= static_cast<unsigned long long>(digit) << shift;
      state->needed = needed - above;
      if (mine == needed - above) state->done = 1;  // the whole bucket is in: every key >= prefix
    }
  }
  __syncthreads();
  histogram[t] = 0;
}

// Writes every key >= the selected prefix (exactly k of them), in no particular order.
__global__ void __launch_bounds__(kRadixThreads) selectGatherKernel(const float* __restrict__ scores, int32_t n,
                                                                    SelectState* __restrict__ state,
                                                                    unsigned long long* __restrict__ candidates) {
  const unsigned long long threshold = state->prefix;
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) {
    const unsigned long long key = makeKey(scores[i], static_cast<int32_t>(i));
    if (key >= threshold) candidates[atomicAdd(&state->gathered, 1u)] = key;
  }
}

__global__ void makeKeysKernel(const float* __restrict__ scores, int32_t n, unsigned long long* __restrict__ keys) {
  for (int64_t i = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; i < n; i += int64_t{gridDim.x} * blockDim.x) keys[i] = makeKey(scores[i], static_cast<int32_t>(i));
}

__global__ void writeSortedKernel(const float* __restrict__ scores, const unsigned long long* __restrict__ keys, int32_t k,
                                  int32_t* __restrict__ outIndices, float* __restrict__ outScores) {
  for (int64_t r = int64_t{blockIdx.x} * blockDim.x + threadIdx.x; r < k; r += int64_t{gridDim.x} * blockDim.x) {
    const int32_t index = keyIndex(keys[r]);
    outIndices[r] = index;
    outScores[r] = scores[index];
  }
}

size_t alignUp(size_t bytes) { return (bytes + kAlign - 1) / kAlign * kAlign; }

// One block sorts `count` keys (from candidates, or scores[0, count)) and writes the first k.
void launchBlockSort(const float* scores, const unsigned long long* candidates, int count, int k, int32_t* outIndices,
                     float* outScores, cudaStream_t stream);

int nextPowerOfTwo(int x) {
  int p = 2;
  while (p < x) p <<= 1;
  return p;
}

int gridFor(int32_t n, int perThread) {
  const int64_t blocks = (static_cast<int64_t>(n) + int64_t{kRadixThreads} * perThread - 1) / (int64_t{kRadixThreads} * perThread);
  return static_cast<int>(std::clamp<int64_t>(blocks, 1, 2048));
}

// Workspace layout: [state][histogram][candidates: kTopKBlockSortMax keys] then, for k > kTopKBlockSortMax,
// [keys: n][sorted keys: n][CUB temporary storage].
struct Layout {
  size_t state = 0, histogram, candidates, keys, sorted, cubTemp, cubTempBytes = 0, total;
};

Layout layoutFor(int32_t n, int32_t k) {
  Layout l;
  l.histogram = alignUp(sizeof(SelectState));
  l.candidates = l.histogram + alignUp(kRadixBins * sizeof(unsigned int));
  l.keys = l.candidates + alignUp(kTopKBlockSortMax * sizeof(unsigned long long));
  l.sorted = l.cubTemp = l.total = l.keys;
  if (k > kTopKBlockSortMax) {
    l.sorted = l.keys + alignUp(static_cast<size_t>(n) * sizeof(unsigned long long));
    l.cubTemp = l.sorted + alignUp(static_cast<size_t>(n) * sizeof(unsigned long long));
    TRT_RERANK_CUDA_CHECK(cub::DeviceRadixSort::SortKeysDescending(
        nullptr, l.cubTempBytes, static_cast<const unsigned long long*>(nullptr), static_cast<unsigned long long*>(nullptr), n));
    l.total = l.cubTemp + alignUp(l.cubTempBytes);
  }
  return l;
}

void launchBlockSort(const float* scores, const unsigned long long* candidates, int count, int k, int32_t* outIndices,
                     float* outScores, cudaStream_t stream) {
  if (count <= kSortThreads) {
    registerSortKernel<<<1, std::max(32, nextPowerOfTwo(count)), 0, stream>>>(scores, candidates, count, k, outIndices, outScores);
    TRT_RERANK_LAUNCH_CHECK("registerSortKernel");
  } else {
    blockSortKernel<<<1, kSortThreads, 0, stream>>>(scores, candidates, count, nextPowerOfTwo(count), k, outIndices, outScores);
    TRT_RERANK_LAUNCH_CHECK("blockSortKernel");
  }
}

}  // namespace

size_t topKWorkspaceBytes(int32_t n, int32_t k) { return layoutFor(n, std::min(k, n)).total; }

void topK(const float* scores, int32_t n, int32_t k, int32_t* outIndices, float* outScores, void* workspace,
          size_t workspaceBytes, cudaStream_t stream) {
  if (n <= 0 || k <= 0) return;
  k = std::min(k, n);
  const Layout l = layoutFor(n, k);
  if (workspaceBytes < l.total) {
    throw std::invalid_argument("topK: workspace of " + std::to_string(workspaceBytes) + " bytes, " +
                                std::to_string(l.total) + " needed");
  }
  auto* base = static_cast<unsigned char*>(workspace);
  if (n <= kTopKBlockSortMax) {
    launchBlockSort(scores, nullptr, n, k, outIndices, outScores, stream);
    return;
  }
  if (k <= kTopKBlockSortMax) {
    auto* state = reinterpret_cast<SelectState*>(base + l.state);
    auto* histogram = reinterpret_cast<unsigned int*>(base + l.histogram);
    auto* candidates = reinterpret_cast<unsigned long long*>(base + l.candidates);
    selectInitKernel<<<1, kRadixBins, 0, stream>>>(state, histogram, static_cast<unsigned int>(k));
    TRT_RERANK_LAUNCH_CHECK("selectInitKernel");
    const int grid = gridFor(n, 16);
    for (int shift = 56; shift >= 0; shift -= 8) {
      selectHistogramKernel<<<grid, kRadixThreads, 0, stream>>>(scores, n, state, histogram, shift);
      TRT_RERANK_LAUNCH_CHECK("selectHistogramKernel");
      selectChooseKernel<<<1, kRadixBins, 0, stream>>>(state, histogram, shift);
      TRT_RERANK_LAUNCH_CHECK("selectChooseKernel");
    }
    selectGatherKernel<<<grid, kRadixThreads, 0, stream>>>(scores, n, state, candidates);
    TRT_RERANK_LAUNCH_CHECK("selectGatherKernel");
    launchBlockSort(scores, candidates, k, k, outIndices, outScores, stream);
    return;
  }
  auto* keys = reinterpret_cast<unsigned long long*>(base + l.keys);
  auto* sorted = reinterpret_cast<unsigned long long*>(base + l.sorted);
  makeKeysKernel<<<gridFor(n, 4), kRadixThreads, 0, stream>>>(scores, n, keys);
  TRT_RERANK_LAUNCH_CHECK("makeKeysKernel");
  size_t tempBytes = l.cubTempBytes;
  TRT_RERANK_CUDA_CHECK(cub::DeviceRadixSort::SortKeysDescending(base + l.cubTemp, tempBytes, keys, sorted, n, 0, 64, stream));
  writeSortedKernel<<<gridFor(k, 4), kRadixThreads, 0, stream>>>(scores, sorted, k, outIndices, outScores);
  TRT_RERANK_LAUNCH_CHECK("writeSortedKernel");
}

}  // namespace trt_rerank::kernels
