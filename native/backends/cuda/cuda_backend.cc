// The CUDA backend: any model of native/models/ over packed tokens (padding-free), through CudaOps (our kernels
// and cuBLASLt, fp16/bf16 storage, fp32 arithmetic). It loads the model's params onto the device, gives each
// execution slot its own CudaOps (buffers sized at load for the largest batch), and replays CUDA graphs for small
// batches.
//
// CUDA graphs for small batches (up to kGraphMaxSequences pairs and kGraphMaxFlops of GEMM work: a 10-document
// MiniLM call is ~60 launches of a few microseconds each, so the host, not the GPU, sets its pace). A graph replays fixed shapes and pointers, so
// such a batch is copied into the slot's graph inputs padded to a bucket (kernels::padGraphBatch): pairs up to
// a multiple of 16, tokens up to 1/16 of their power of two, the longest pair (the attention grid) up to a
// power of two. The buckets live in a GraphCache (common/graph_cache.h) with the OnSecondBatch policy: a
// bucket's first batch runs that padded forward directly (lazy module loading and cuBLASLt's heuristics stay out
// of the capture), its second is captured, and every later one replays the graph, so shapes seen once are never
// captured. A full slot forgets its buckets without a graph first; past that, or if a capture fails, batches run
// directly.
#include "backends/cuda/cuda_backend.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <tuple>
#include <vector>

#include "backends/cuda/cublaslt.h"
#include "backends/cuda/cuda_ops.h"
#include "common/cuda_check.h"
#include "common/cuda_resources.h"
#include "common/errors.h"
#include "common/graph_cache.h"
#include "common/mapped_file.h"
#include "kernels/encoder.cuh"

namespace trt_rerank {
namespace {

constexpr int kMaxBatch = 4096;  // sequences per batch (attention's grid.z)
constexpr int kGraphMaxSequences = 128;
// Past ~1 ms of GPU work the GPU, not the launches, sets the pace, and a graph's padded shape only risks a
// slower cuBLASLt pick (H100: XLM-R large, 100 documents, 22.3 ms with a graph, 20.7 without).
constexpr double kGraphMaxFlops = 0.5e12;
constexpr int64_t kElementBytes = cuda::kStorageBytes;

// A graph bucket: (pairs, tokens, longest pair) after padding. No per-bucket state: every bucket of a slot
// replays the same fixed buffers.
using GraphShape = std::tuple<int32_t, int32_t, int32_t>;
using Graphs = GraphCache<GraphShape>;

struct Slot {
  std::unique_ptr<cuda::CudaOps> ops;
  // The fixed inputs and logits of this slot's graphs, and the graphs by shape.
  DeviceBuffer graphIds, graphTypeIds, graphCuSeqLens, graphLogits;
  Graphs::Slot graphs;
};

// Smallest multiple of `step` >= x.
int32_t roundUp(int32_t x, int32_t step) { return (x + step - 1) / step * step; }

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

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
    if (m.hiddenSize % 8 != 0 || m.intermediateSize % 8 != 0) {  // 16-byte vector loads in every kernel
      throw NativeError(kErrInvalidArgument, "the CUDA backend needs hidden_size and intermediate_size to be multiples of 8; this model has " +
                                                 std::to_string(m.hiddenSize) + " and " + std::to_string(m.intermediateSize) + " (use backend 'cpu')");
    }
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(options.device));
    gemm_ = std::make_unique<cublaslt::Gemm>();
    loadParams(spec);
  }

  const char* name() const override { return "cuda"; }
  InputLayout layout() const override { return InputLayout::Packed; }
  int numLabels() const override { return model_->info().numLabels; }
  int maxBatchSize() const override { return kMaxBatch; }
  // The model's positions bound the pairs (BERT's and XLM-R's position tables; ModernBERT's max_position_embeddings),
  // its embedding table the ids: the pipeline refuses what would read past them.
  int maxSequenceLength() const override { return model_->info().maxSequenceLength; }
  int32_t vocabSize() const override { return model_->info().vocabSize; }
  uint64_t memoryBytes() const override {
    uint64_t bytes = weights_.bytes();
    for (const auto& s : slots_) {
      bytes += s->ops->bytes();
      for (const DeviceBuffer* b : {&s->graphIds, &s->graphTypeIds, &s->graphCuSeqLens, &s->graphLogits}) bytes += b->bytes();
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
    for (int i = 0; i < slots; ++i) {
      auto s = std::make_unique<Slot>();
      s->ops = std::make_unique<cuda::CudaOps>(*model_, params_, *gemm_, type_, maxTokens, maxBatchSize);
      if (graphsEnabled()) {
        const int64_t graphTokens = std::min<int64_t>(maxTokens, static_cast<int64_t>(kGraphMaxSequences) * maxSequenceLength(maxBatchSize, maxTokens));
        s->graphIds = DeviceBuffer(sizeof(int32_t) * graphTokens);
        s->graphTypeIds = DeviceBuffer(graphTokens);
        s->graphCuSeqLens = DeviceBuffer(sizeof(int32_t) * (kGraphMaxSequences + 1));
        s->graphLogits = DeviceBuffer(sizeof(float) * kGraphMaxSequences * numLabels());
      }
      slots_.push_back(std::move(s));
    }
    maxBatchSize_ = maxBatchSize;
    maxTokens_ = maxTokens;
  }

  std::vector<std::pair<std::string, double>> counters() const override { return graphs_.counters(); }

  void enqueue(const DeviceBatch& batch, float* logits, cudaStream_t stream, int slot) override {
    if (batch.count == 0) return;
    Slot& s = *slots_.at(slot);
    GraphShape shape;
    if (!graphShape(batch, s, shape)) return forward(batch, logits, stream, s);
    const auto [count, tokens, longest] = shape;
    kernels::padGraphBatch(batch.ids, batch.typeIds, batch.cuSeqLens, batch.count, count, tokens, s.graphIds.get<int32_t>(),
                           s.graphTypeIds.get<uint8_t>(), s.graphCuSeqLens.get<int32_t>(), s.ops->positions(), stream);
    DeviceBatch padded;
    padded.count = count;
    padded.totalTokens = tokens;
    padded.maxLength = longest;
    padded.ids = s.graphIds.get<int32_t>();
    padded.typeIds = s.graphTypeIds.get<uint8_t>();
    padded.cuSeqLens = s.graphCuSeqLens.get<int32_t>();
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

  // The longest pair the slots were sized for (maxTokens = maxBatchSize x maxLength).
  static int64_t maxSequenceLength(int maxBatchSize, int64_t maxTokens) { return maxTokens / std::max(1, maxBatchSize); }

  // The padded shape a small batch replays as a graph; false when graphs are off or the batch is not small.
  bool graphShape(const DeviceBatch& batch, const Slot& s, GraphShape& shape) const {
    if (!graphsEnabled() || batch.count > kGraphMaxSequences) return false;
    if (model_->info().gemmFlopsPerToken * batch.totalTokens > kGraphMaxFlops) return false;
    const int32_t count = std::min(roundUp(batch.count, 16), std::min(maxBatchSize_, kGraphMaxSequences));
    int32_t power = 1;
    while (power * 2 <= batch.totalTokens) power *= 2;
    // At least one padding token past the real ones (an empty sequence's first row is read by the last layer's
    // gather), and more tokens than sequences (padGraphBatch fills cuSeqLens in the same pass).
    const int32_t tokens = roundUp(std::max(batch.totalTokens, count) + 1, std::max(64, power / 16));
    if (static_cast<size_t>(tokens) * sizeof(int32_t) > s.graphIds.bytes() || tokens > maxTokens_) return false;
    // The longest pair only sizes the attention grid (query blocks past a sequence's end exit at once): a power
    // of two from 64 keeps buckets few and the empty blocks under half the grid.
    int32_t longest = 64;
    while (longest < batch.maxLength) longest *= 2;
    shape = {count, tokens, longest};
    return true;
  }

  // Every param in one arena, each 256-byte aligned: a Linear's weight parts back to back ([sum rows, cols]),
  // then its bias parts; weights converted to the storage type on the device.
  void loadParams(const ModelSpec& spec) {
    const auto& decls = model_->params();
    MappedFile file(spec.weightsPath);
    // Check every tensor (name, shape, bytes, bounds) before anything is allocated.
    int64_t total = 0;
    uint64_t largest = 0;
    const auto aligned = [](int64_t n) { return (n + 127) / 128 * 128; };
    for (const models::ParamDecl& d : decls) {
      int64_t weights = 0, biases = 0;
      for (size_t i = 0; i < d.parts.size(); ++i) {
        const TensorRef& t = checkedTensor(spec, d.parts[i], partShape(d, i), file.size());
        weights += elements(t.shape);
        largest = std::max(largest, t.nbytes);
      }
      for (size_t i = 0; i < d.biasParts.size(); ++i) {
        const TensorRef& t = checkedTensor(spec, d.biasParts[i], biasShape(d, i), file.size());
        biases += elements(t.shape);
        largest = std::max(largest, t.nbytes);
      }
      total += aligned(weights) + aligned(biases);
    }
    weights_ = DeviceBuffer(kElementBytes * total);
    DeviceBuffer staging(largest);
    CudaStream stream;
    char* next = weights_.get<char>();
    const auto upload = [&](const std::vector<std::string>& names, const std::vector<std::vector<int64_t>>& shapes) -> const void* {
      char* start = next;
      for (size_t i = 0; i < names.size(); ++i) {
        const TensorRef& t = checkedTensor(spec, names[i], shapes[i], file.size());
        TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(staging.get(), file.data() + t.offset, t.nbytes, cudaMemcpyHostToDevice, stream.get()));
        kernels::convertWeights(staging.get(), t.dtype == WeightDType::F32 ? 0 : t.dtype == WeightDType::F16 ? 1 : 2, type_, next, elements(t.shape),
                                stream.get());
        TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream.get()));  // staging is reused by the next tensor
        next += kElementBytes * elements(t.shape);
      }
      next = start + kElementBytes * aligned((next - start) / kElementBytes);
      return start;
    };
    for (const models::ParamDecl& d : decls) {
      cuda::Param p;
      p.kind = d.kind;
      p.partRows = d.partRows;
      p.cols = d.cols;
      std::vector<std::vector<int64_t>> shapes, biasShapes;
      for (size_t i = 0; i < d.parts.size(); ++i) shapes.push_back(partShape(d, i));
      for (size_t i = 0; i < d.biasParts.size(); ++i) biasShapes.push_back(biasShape(d, i));
      p.data = upload(d.parts, shapes);
      p.bias = d.biasParts.empty() ? nullptr : upload(d.biasParts, biasShapes);
      params_.push_back(p);
    }
  }

  std::shared_ptr<const models::Model> model_;
  CudaBackendOptions options_;
  kernels::StorageType type_;
  std::unique_ptr<cublaslt::Gemm> gemm_;
  DeviceBuffer weights_;
  std::vector<cuda::Param> params_;
  std::vector<std::unique_ptr<Slot>> slots_;
  int32_t maxBatchSize_ = 0;
  int64_t maxTokens_ = 0;
  Graphs graphs_{GraphCapture::OnSecondBatch};  // the slots' buckets are in Slot::graphs
};

}  // namespace

std::unique_ptr<DeviceBackend> makeCudaBackend(const ModelSpec& spec, const CudaBackendOptions& options) {
  if (!spec.model) throw NativeError(kErrInvalidArgument, "CUDA backend: the model spec has no model");
  return std::make_unique<CudaBackend>(spec, options);
}

}  // namespace trt_rerank
