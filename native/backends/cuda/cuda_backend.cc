// The CUDA backend: any model of native/models/ over packed tokens (padding-free), through CudaOps (our kernels and
// GEMMs, cuBLASLt's GEMMs where it is loaded: linear_gemm.h; fp16/bf16 storage, fp32 arithmetic). It loads the
// model's params onto the device, gives each execution slot its own CudaOps (buffers sized at load for the largest
// batch), and replays CUDA graphs for small batches.
//
// CUDA graphs for small batches (up to kGraphMaxSequences pairs and kGraphMaxFlops of GEMM work: a 10-document
// MiniLM call is ~60 launches of a few microseconds each, so the host, not the GPU, sets its pace). A graph
// replays fixed shapes and pointers, so such a batch is copied into the slot's graph inputs padded to a bucket
// (kernels::padGraphBatch). The buckets (graph_buckets.h has the arithmetic) are few and enumerable:
//   pairs    fixed: min(128, the slots' pairs); the padding pairs are empty sequences
//   tokens   max(tokens, pairs) + 1 up the ladder: powers of two from 64 below step, then multiples of
//            step = limit / 16 (limit: kGraphMaxFlops / gemmFlopsPerToken, the slots' tokens), so padding stays
//            under 1/16 of the largest graph's GEMM work (~31 GFLOP, ~60 us on an H200)
//   longest  the longest pair up to a power of two from 64 (it sizes the attention grid)
// With maxBatchTokens 65 536 and 512 pairs: MiniLM-L6 (limit 23 547 tokens, step 1 472, pairs to 512 tokens) 59
// buckets; BERT-base (2 943, step 192) 59; XLM-R large (827, step 64) 38; ModernBERT-base (2 266, step 192,
// pairs to 2 048 tokens: longer ones have too many tokens for a graph) 59. A slot holds 64 graphs
// (kMaxGraphsPerSlot); where the buckets would be more, the ladder coarsens (step limit / 8, then / 4), then the
// longest pair a graph takes halves, and longer batches run directly.
//
// warmup() captures them all at load, per slot: each bucket's padded forward runs once directly on dummy inputs
// (ids 0, one pair of the bucket's longest length first; lazy module loading and cuBLASLt's heuristics happen
// there), then is captured into the slot's GraphCache (common/graph_cache.h) and uploaded. Once per backend it
// also runs a few batches past the graphs directly (token counts doubling up to 65 536), which loads the kernels
// cuBLASLt picks for large GEMMs. Without warm-up, a bucket's first batch runs directly and its second is
// captured (the OnSecondBatch policy: a shape seen once costs no capture). Past the graphs, or if a
// capture failed, batches run directly; there cuBLASLt's implicit heuristic runs for each GEMM of a token count it
// has not seen (host time, mostly hidden behind the GPU work of such large batches).
#include "backends/cuda/cuda_backend.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <tuple>
#include <vector>

#include "backends/cuda/cuda_ops.h"
#include "backends/cuda/cuda_weights.h"
#include "backends/cuda/graph_buckets.h"
#include "backends/cuda/linear_gemm.h"
#include "common/cuda_check.h"
#include "common/cuda_resources.h"
#include "common/errors.h"
#include "common/graph_cache.h"
#include "kernels/encoder.cuh"

namespace trt_rerank {
namespace {

constexpr int kMaxBatch = 4096;  // sequences per batch (attention's grid.z)
constexpr int kGraphMaxSequences = 128;
// Past ~1 ms of GPU work the GPU, not the launches, sets the pace, and a graph's padded shape only risks a
// slower cuBLASLt pick (H100: XLM-R large, 100 documents, 22.3 ms with a graph, 20.7 without).
constexpr double kGraphMaxFlops = 0.5e12;
// The largest batch warmup() runs directly (past the graphs): larger GEMMs pick among the same kernels, and a
// batch that large runs long enough that a first run's kernel load is a small part of it.
constexpr int64_t kWarmupMaxDirectTokens = 65536;

// A graph bucket: (pairs, tokens, longest pair) after padding (graph_buckets.h). No per-bucket state: every bucket
// of a slot replays the same fixed buffers.
using cuda::GraphShape;
using Graphs = GraphCache<GraphShape>;

struct Slot {
  std::unique_ptr<cuda::CudaOps> ops;
  // The fixed inputs and logits of this slot's graphs, and the graphs by shape. graphContextOf (causal models only:
  // every graph reads it, so one graph serves batches with and without contexts) holds the batch's contextOf, or
  // -1 for each sequence of a batch without contexts and for the padding.
  DeviceBuffer graphIds, graphTypeIds, graphCuSeqLens, graphLogits, graphContextOf;
  Graphs::Slot graphs;
};

class CudaBackend : public DeviceBackend {
 public:
  CudaBackend(const ModelSpec& spec, const CudaBackendOptions& options)
      : model_(spec.model), options_(options), type_(options.bf16 ? kernels::StorageType::BFloat16 : kernels::StorageType::Half) {
    const models::ModelInfo& m = model_->info();
    if (m.headDim != 32 && m.headDim != 64 && m.headDim != 128) {
      throw NativeError(kErrInvalidArgument, "the CUDA backend runs attention heads of size 32, 64 or 128; this model's are " +
                                                 std::to_string(m.headDim) + " (use backend 'cpu')");
    }
    if (m.hiddenSize > 4096) throw NativeError(kErrInvalidArgument, "the CUDA backend runs hidden sizes up to 4096, not " + std::to_string(m.hiddenSize));
    if (m.numKvHeads < 0 || (m.numKvHeads > 0 && m.numHeads % m.numKvHeads != 0)) {  // grouped-query attention
      throw NativeError(kErrInvalidArgument, "the CUDA backend needs num_key_value_heads to divide num_attention_heads; this model has " +
                                                 std::to_string(m.numKvHeads) + " and " + std::to_string(m.numHeads));
    }
    if (m.hiddenSize % 8 != 0 || m.intermediateSize % 8 != 0) {  // 16-byte vector loads in every kernel
      throw NativeError(kErrInvalidArgument, "the CUDA backend needs hidden_size and intermediate_size to be multiples of 8; this model has " +
                                                 std::to_string(m.hiddenSize) + " and " + std::to_string(m.intermediateSize) + " (use backend 'cpu')");
    }
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(options.device));
    gemm_ = std::make_unique<cuda::LinearGemm>();
    cuda::Weights weights = cuda::loadWeights(spec, type_);
    weights_ = std::move(weights.arena);
    params_ = std::move(weights.params);
  }

  const char* name() const override { return "cuda"; }
  InputLayout layout() const override { return InputLayout::Packed; }
  int numLabels() const override { return model_->info().numLabels; }
  // A causal model's batches may carry contexts (shared prefixes, models/ops.h): attention and the positions read them.
  bool sharesPrefixes() const override { return model_->info().causal; }
  int maxBatchSize() const override { return kMaxBatch; }
  // The model's positions bound the pairs (BERT's and XLM-R's position tables; ModernBERT's max_position_embeddings),
  // its embedding table the ids: the pipeline refuses what would read past them.
  int maxSequenceLength() const override { return model_->info().maxSequenceLength; }
  int32_t vocabSize() const override { return model_->info().vocabSize; }
  uint64_t memoryBytes() const override {
    uint64_t bytes = weights_.bytes();
    for (const auto& s : slots_) {
      bytes += s->ops->bytes();
      for (const DeviceBuffer* b : {&s->graphIds, &s->graphTypeIds, &s->graphCuSeqLens, &s->graphLogits, &s->graphContextOf}) bytes += b->bytes();
    }
    return bytes;
  }
  // The model's per-token buffers, a position id, and with graphs a padded id and type id.
  uint64_t activationBytesPerToken() const override {
    int64_t bytes = 0;
    for (const models::BufferDecl& d : model_->buffers()) bytes += d.perToken * cuda::bufferElementBytes(d);
    return bytes + sizeof(int32_t) + (graphsEnabled() ? sizeof(int32_t) + 1 : 0);
  }

  void prepareSlots(int slots, int maxBatchSize, int64_t maxTokens) override {
    maxBatchSize_ = maxBatchSize;
    maxTokens_ = maxTokens;
    // The longest pair a batch can hold: the model's positions and the batch's tokens bound it (the pipeline's
    // maxLength, which may be shorter, is not known here).
    longestPair_ = static_cast<int32_t>(std::min<int64_t>(model_->info().maxSequenceLength, maxTokens));
    if (graphsEnabled()) {
      cuda::GraphBucketLimits limits;
      limits.maxPairs = static_cast<int32_t>(std::min<int64_t>({kGraphMaxSequences, maxBatchSize, maxTokens - 1}));
      limits.longestPair = longestPair_;
      const double flopsPerToken = model_->info().gemmFlopsPerToken;
      limits.maxTokens = flopsPerToken > 0 ? std::min<int64_t>(maxTokens, static_cast<int64_t>(kGraphMaxFlops / flopsPerToken)) : maxTokens;
      limits.capacity = kMaxGraphsPerSlot;
      buckets_ = cuda::GraphBuckets(limits);
    }
    for (int i = 0; i < slots; ++i) {
      auto s = std::make_unique<Slot>();
      s->ops = std::make_unique<cuda::CudaOps>(*model_, params_, *gemm_, type_, maxTokens, maxBatchSize);
      if (buckets_.enabled()) {
        const size_t graphTokens = static_cast<size_t>(buckets_.maxTokens());
        s->graphIds = DeviceBuffer(sizeof(int32_t) * graphTokens);
        s->graphTypeIds = DeviceBuffer(graphTokens);
        s->graphCuSeqLens = DeviceBuffer(sizeof(int32_t) * (buckets_.count() + 1));
        s->graphLogits = DeviceBuffer(sizeof(float) * buckets_.count() * numLabels());
        if (sharesPrefixes()) s->graphContextOf = DeviceBuffer(sizeof(int32_t) * buckets_.count());
      }
      slots_.push_back(std::move(s));
    }
  }

  // Every graph bucket of the slot, captured now on dummy inputs (the first call of any slot also runs the large
  // direct shapes once): see the top of this file. Blocks until done.
  void warmup(int slot, cudaStream_t stream) override {
    const auto start = std::chrono::steady_clock::now();
    Slot& s = *slots_.at(slot);
    std::call_once(directWarmed_, [&] { warmDirect(s, stream); });
    if (buckets_.enabled()) {
      // Ids and type ids 0 (inside every table) stay so; the padding's positions stay 0 (the forward writes the
      // real tokens' own). Only the offsets change per bucket.
      const size_t tokens = static_cast<size_t>(buckets_.maxTokens());
      TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(s.graphIds.get(), 0, sizeof(int32_t) * tokens, stream));
      TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(s.graphTypeIds.get(), 0, tokens, stream));
      TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(s.ops->positions(), 0, sizeof(int32_t) * tokens, stream));
      if (s.graphContextOf.get() != nullptr) {  // no contexts: every entry -1 (bytes 0xff)
        TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(s.graphContextOf.get(), 0xff, s.graphContextOf.bytes(), stream));
      }
      std::vector<int32_t> offsets;
      for (const GraphShape& shape : buckets_.all()) {
        warmupOffsets(shape, offsets);
        // From pageable memory: the copy has left `offsets` when it returns.
        TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(s.graphCuSeqLens.get(), offsets.data(), sizeof(int32_t) * offsets.size(),
                                              cudaMemcpyHostToDevice, stream));
        const DeviceBatch padded = graphBatch(s, shape);
        float* paddedLogits = s.graphLogits.get<float>();
        graphs_.prepare(
            s.graphs, shape, stream, [] { return NoBucketState{}; }, [&](NoBucketState&) { forward(padded, paddedLogits, stream, s); },
            [&](NoBucketState&) {
              forward(padded, paddedLogits, stream, s);
              return true;
            });
        TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
      }
    }
    graphs_.addWarmupTime(std::chrono::steady_clock::now() - start);
  }

  std::vector<std::pair<std::string, double>> counters() const override { return graphs_.counters(); }

  void enqueue(const DeviceBatch& batch, float* logits, cudaStream_t stream, int slot) override {
    if (batch.count == 0) return;
    Slot& s = *slots_.at(slot);
    GraphShape shape;
    if (!buckets_.shapeOf(batch.count, batch.totalTokens, batch.maxLength, shape)) return forward(batch, logits, stream, s);
    const int32_t count = std::get<0>(shape), tokens = std::get<1>(shape);
    kernels::padGraphBatch(batch.ids, batch.typeIds, batch.cuSeqLens, batch.count, count, tokens, s.graphIds.get<int32_t>(),
                           s.graphTypeIds.get<uint8_t>(), s.graphCuSeqLens.get<int32_t>(), s.ops->positions(), stream, batch.contextOf,
                           s.graphContextOf.get<int32_t>());
    const DeviceBatch padded = graphBatch(s, shape);
    float* paddedLogits = s.graphLogits.get<float>();
    const auto direct = [&] { forward(padded, paddedLogits, stream, s); };
    graphs_.run(
        s.graphs, shape, stream, [] { return NoBucketState{}; }, [&](NoBucketState&) { direct(); },
        [&](NoBucketState&) {
          direct();
          return true;
        },
        direct);
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(logits, paddedLogits, sizeof(float) * batch.count * numLabels(), cudaMemcpyDeviceToDevice, stream));
  }

 private:
  // The model's forward for `batch` on `stream`, logits into `logits`.
  void forward(const DeviceBatch& batch, float* logits, cudaStream_t stream, Slot& s) {
    cuda::DeviceTokens tokens;
    tokens.ids = batch.ids;
    tokens.typeIds = batch.typeIds;
    tokens.cuSeqLens = batch.cuSeqLens;
    tokens.contextOf = batch.contextOf;
    tokens.logits = logits;
    models::BatchShape shape;
    shape.tokens = batch.totalTokens;
    shape.sequences = batch.count;
    shape.maxLength = batch.maxLength;
    s.ops->bind(tokens, shape, stream);
    model_->forward(*s.ops, shape);
  }

  // Graph capture cannot contain the device-wide synchronization that TRT_RERANK_SYNC_CHECKS adds per launch.
  bool graphsEnabled() const {
#ifdef TRT_RERANK_SYNC_CHECKS
    return false;
#else
    return options_.cudaGraphs;
#endif
  }

  // The slot's graph inputs as a batch of bucket `shape` (what its graph replays).
  static DeviceBatch graphBatch(Slot& s, const GraphShape& shape) {
    DeviceBatch padded;
    std::tie(padded.count, padded.totalTokens, padded.maxLength) = shape;
    padded.ids = s.graphIds.get<int32_t>();
    padded.typeIds = s.graphTypeIds.get<uint8_t>();
    padded.cuSeqLens = s.graphCuSeqLens.get<int32_t>();
    padded.contextOf = s.graphContextOf.get<int32_t>();  // nullptr but for causal models
    return padded;
  }

  // A batch of bucket (count, tokens, longest) as warmup() lays it out: tokens - 1 real tokens (one padding token
  // past them, as every padded batch has), pairs filled in order up to the bucket's longest (and the model's
  // positions) each, so the first pair is the longest; pairs past the tokens are empty, tokens past count x
  // longest are padding.
  void warmupOffsets(const GraphShape& shape, std::vector<int32_t>& offsets) const {
    const auto [count, tokens, longest] = shape;
    const int32_t real = tokens - 1;
    const int32_t pair = std::min(longest, longestPair_);
    offsets.assign(static_cast<size_t>(count) + 1, 0);
    for (int32_t i = 0; i < count; ++i) offsets[i + 1] = offsets[i] + std::min(pair, real - offsets[i]);
  }

  // Batches past the graphs (more tokens, or graphs off), run directly once each at load: token counts doubling
  // from twice the largest graph (512 without graphs) up to the slots' tokens (at most kWarmupMaxDirectTokens),
  // in pairs of ~128 tokens (up to the slots' pair cap, within the model's longest pair). Their first runs load
  // the kernels cuBLASLt picks for large GEMMs and seed its heuristic cache, out of any caller's batch.
  void warmDirect(Slot& s, cudaStream_t stream) {
    const int64_t top = std::min(maxTokens_, kWarmupMaxDirectTokens);
    std::vector<int64_t> sizes;
    for (int64_t t = buckets_.enabled() ? 2 * static_cast<int64_t>(buckets_.maxTokens()) : 512; t < top; t *= 2) sizes.push_back(t);
    if (top > (buckets_.enabled() ? buckets_.maxTokens() : 0)) sizes.push_back(top);
    if (sizes.empty() || longestPair_ < 1) return;
    DeviceBuffer ids(sizeof(int32_t) * top), typeIds(top), offsets(sizeof(int32_t) * (maxBatchSize_ + 1)),
        logits(sizeof(float) * maxBatchSize_ * numLabels());
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(ids.get(), 0, ids.bytes(), stream));
    TRT_RERANK_CUDA_CHECK(cudaMemsetAsync(typeIds.get(), 0, typeIds.bytes(), stream));
    std::vector<int32_t> host;
    for (int64_t tokens : sizes) {
      int64_t pairs = std::clamp<int64_t>(tokens / 128, 1, maxBatchSize_);
      if ((tokens + pairs - 1) / pairs > longestPair_) pairs = std::min<int64_t>(maxBatchSize_, (tokens + longestPair_ - 1) / longestPair_);
      tokens = std::min(tokens, pairs * longestPair_);
      host.assign(static_cast<size_t>(pairs) + 1, 0);
      for (int64_t i = 0; i < pairs; ++i) host[i + 1] = static_cast<int32_t>(tokens * (i + 1) / pairs);  // lengths differ by at most 1
      TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(offsets.get(), host.data(), sizeof(int32_t) * host.size(), cudaMemcpyHostToDevice, stream));
      DeviceBatch batch;
      batch.count = static_cast<int32_t>(pairs);
      batch.totalTokens = static_cast<int32_t>(tokens);
      batch.maxLength = static_cast<int32_t>((tokens + pairs - 1) / pairs);
      batch.ids = ids.get<int32_t>();
      batch.typeIds = typeIds.get<uint8_t>();
      batch.cuSeqLens = offsets.get<int32_t>();
      forward(batch, logits.get<float>(), stream, s);
      TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream));
    }
  }

  std::shared_ptr<const models::Model> model_;
  CudaBackendOptions options_;
  kernels::StorageType type_;
  std::unique_ptr<cuda::LinearGemm> gemm_;
  DeviceBuffer weights_;
  std::vector<cuda::Param> params_;
  std::vector<std::unique_ptr<Slot>> slots_;
  int32_t maxBatchSize_ = 0;
  int64_t maxTokens_ = 0;
  int32_t longestPair_ = 0;
  cuda::GraphBuckets buckets_;  // none until prepareSlots, or with graphs off
  std::once_flag directWarmed_;
  Graphs graphs_{GraphCapture::OnSecondBatch};  // the slots' buckets are in Slot::graphs
};

}  // namespace

std::unique_ptr<DeviceBackend> makeCudaBackend(const ModelSpec& spec, const CudaBackendOptions& options) {
  if (!spec.model) throw NativeError(kErrInvalidArgument, "CUDA backend: the model spec has no model");
  return std::make_unique<CudaBackend>(spec, options);
}

}  // namespace trt_rerank
