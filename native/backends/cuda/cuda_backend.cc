// The encoder over one packed batch (N tokens, S sequences, hidden H, heads of size D, FFN size I):
//
//   positions, hidden = LayerNorm(word + position + token type)                   [N, H]
//   every layer but the last:
//     qkv = hidden . Wqkv^T + bqkv            (one GEMM, Wq|Wk|Wv fused at load)  [N, 3H]
//     ctx = attention(qkv) per sequence                                           [N, H]
//     hidden = LayerNorm(ctx . Wo^T + bo + hidden)
//     ffn = act(hidden . Wi^T + bi);  hidden = LayerNorm(ffn . Wo2^T + bo2 + hidden)
//       (ReLU in the GEMM's epilogue; the GELUs and SiLU in their own pass: cuBLASLt's GELU is neither the exact
//        erf form nor the tanh form, see docs/NOTES.md)
//   the last layer, only what the classifier reads ([CLS] of each sequence):
//     kv = hidden . Wkv^T + bkv for all tokens (rows H..3H of Wqkv)               [N, 2H]
//     cls = hidden[first token of each sequence]; q = cls . Wq^T + bq             [S, H]
//     cls = LayerNorm(attention(q, kv) . Wo^T + bo + cls), then the FFN on S rows
//   head: BERT pooler tanh(cls . Wp^T + bp), RoBERTa dense + tanh; then logits in fp32.
//
// Scratch per execution slot, allocated at load for the largest batch: hidden and a residual buffer [N, H],
// and one region [N, max(4H, I)] holding qkv then ctx (3H + H), later the FFN's intermediate (I).
//
// CUDA graphs for small batches (up to kGraphMaxSequences pairs and kGraphMaxFlops of GEMM work: a 10-document
// MiniLM call is ~60 launches of a few microseconds each, so the host, not the GPU, sets its pace). A graph replays fixed shapes and pointers, so
// such a batch is copied into the slot's graph inputs padded to a bucket (kernels::padGraphBatch): pairs up to
// a multiple of 16, tokens up to 1/16 of their power of two, the longest pair (the attention grid) up to a
// power of two. A bucket's first batch runs that padded forward directly (lazy module loading and cuBLASLt's
// heuristics stay out of the capture); its second is captured, and every later one replays the graph. At most
// kMaxGraphsPerSlot buckets per slot (buckets never captured are forgotten first); past that, or if a capture
// fails, batches run directly.
#include "backends/cuda/cuda_backend.h"

#include <cuda_runtime_api.h>
#include <library_types.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <tuple>
#include <vector>

#include "backends/cuda/cublaslt.h"
#include "common/cuda_check.h"
#include "common/cuda_graph.h"
#include "common/cuda_resources.h"
#include "common/errors.h"
#include "common/mapped_file.h"
#include "kernels/attention.cuh"
#include "kernels/encoder.cuh"

namespace trt_rerank {
namespace {

constexpr size_t kGemmWorkspaceBytes = 32u << 20;
constexpr int kMaxBatch = 4096;  // sequences per batch (attention's grid.z)
constexpr int kGraphMaxSequences = 128;
// Past ~1 ms of GPU work the GPU, not the launches, sets the pace, and a graph's padded shape only risks a
// slower cuBLASLt pick (H100: XLM-R large, 100 documents, 22.3 ms with a graph, 20.7 without).
constexpr double kGraphMaxFlops = 0.5e12;
constexpr size_t kMaxGraphsPerSlot = 64;

struct LayerWeights {
  const void *qkvW, *qkvB, *oW, *oB, *ln1G, *ln1B, *iW, *iB, *o2W, *o2B, *ln2G, *ln2B;
};

// A graph bucket: (pairs, tokens, longest pair) after padding.
using GraphShape = std::tuple<int32_t, int32_t, int32_t>;

struct GraphBucket {
  std::unique_ptr<CudaGraph> graph;
  bool warm = false;    // its first batch ran directly
  bool failed = false;  // capture failed: this bucket runs directly
};

struct SlotScratch {
  DeviceBuffer positions, hidden, residual, work, workspace;
  DeviceBuffer cls, clsQ, clsCtx, clsTmp, clsFfn;
  // The fixed inputs and logits of this slot's graphs, and the graphs by shape.
  DeviceBuffer graphIds, graphTypeIds, graphCuSeqLens, graphLogits;
  std::map<GraphShape, GraphBucket> graphs;
};

// Smallest multiple of `step` >= x.
int32_t roundUp(int32_t x, int32_t step) { return (x + step - 1) / step * step; }

kernels::Activation activationOf(HiddenActivation a) {
  switch (a) {
    case HiddenActivation::GeluTanh: return kernels::Activation::GeluTanh;
    case HiddenActivation::Relu: return kernels::Activation::Relu;
    case HiddenActivation::Silu: return kernels::Activation::Silu;
    default: return kernels::Activation::GeluErf;
  }
}

class CudaBackend : public DeviceBackend {
 public:
  CudaBackend(const ModelSpec& spec, const CudaBackendOptions& options)
      : spec_(spec), options_(options), type_(options.bf16 ? kernels::StorageType::BFloat16 : kernels::StorageType::Half) {
    const int H = spec.hiddenSize;
    if (spec.numHeads <= 0 || H % spec.numHeads != 0) throw NativeError(kErrInvalidArgument, "hidden_size is not a multiple of num_attention_heads");
    headDim_ = H / spec.numHeads;
    if (headDim_ != 32 && headDim_ != 64 && headDim_ != 128) {
      throw NativeError(kErrInvalidArgument, "the CUDA backend runs attention heads of size 32, 64 or 128; this model's are " +
                                                 std::to_string(headDim_) + " (use backend 'cpu')");
    }
    if (H > 4096) throw NativeError(kErrInvalidArgument, "the CUDA backend runs hidden sizes up to 4096, not " + std::to_string(H));
    if (H % 8 != 0 || spec.intermediateSize % 8 != 0) {  // 16-byte vector loads in every kernel
      throw NativeError(kErrInvalidArgument, "the CUDA backend needs hidden_size and intermediate_size to be multiples of 8; this model has " +
                                                 std::to_string(H) + " and " + std::to_string(spec.intermediateSize) + " (use backend 'cpu')");
    }
    TRT_RERANK_CUDA_CHECK(cudaSetDevice(options.device));
    gemm_ = std::make_unique<cublaslt::Gemm>();
    ffnEpilogue_ = spec.hiddenAct == HiddenActivation::Relu ? cublaslt::Epilogue::BiasRelu : cublaslt::Epilogue::Bias;
    loadWeights();
  }

  const char* name() const override { return "cuda"; }
  InputLayout layout() const override { return InputLayout::Packed; }
  int numLabels() const override { return spec_.numLabels; }
  int maxBatchSize() const override { return kMaxBatch; }
  uint64_t memoryBytes() const override {
    uint64_t bytes = weights_.bytes();
    for (const auto& s : slots_) {
      for (const DeviceBuffer* b : {&s->positions, &s->hidden, &s->residual, &s->work, &s->workspace, &s->cls, &s->clsQ,
                                    &s->clsCtx, &s->clsTmp, &s->clsFfn, &s->graphIds, &s->graphTypeIds, &s->graphCuSeqLens,
                                    &s->graphLogits}) {
        bytes += b->bytes();
      }
    }
    return bytes;
  }
  // hidden, residual and work rows, a position id, and with graphs a padded id and type id.
  uint64_t activationBytesPerToken() const override {
    return (2 * spec_.hiddenSize + workWidth()) * elementBytes() + sizeof(int32_t) + (graphsEnabled() ? sizeof(int32_t) + 1 : 0);
  }

  void prepareSlots(int slots, int maxBatchSize, int64_t maxTokens) override {
    const size_t e = elementBytes();
    const size_t H = spec_.hiddenSize, I = spec_.intermediateSize;
    for (int i = 0; i < slots; ++i) {
      auto s = std::make_unique<SlotScratch>();
      s->positions = DeviceBuffer(sizeof(int32_t) * maxTokens);
      s->hidden = DeviceBuffer(e * maxTokens * H);
      s->residual = DeviceBuffer(e * maxTokens * H);
      s->work = DeviceBuffer(e * maxTokens * workWidth());
      s->workspace = DeviceBuffer(kGemmWorkspaceBytes);
      s->cls = DeviceBuffer(e * maxBatchSize * H);
      s->clsQ = DeviceBuffer(e * maxBatchSize * H);
      s->clsCtx = DeviceBuffer(e * maxBatchSize * H);
      s->clsTmp = DeviceBuffer(e * maxBatchSize * H);
      s->clsFfn = DeviceBuffer(e * maxBatchSize * std::max(I, H));
      if (graphsEnabled()) {
        const int64_t graphTokens = std::min<int64_t>(maxTokens, static_cast<int64_t>(kGraphMaxSequences) * maxSequenceLength(maxBatchSize, maxTokens));
        s->graphIds = DeviceBuffer(sizeof(int32_t) * graphTokens);
        s->graphTypeIds = DeviceBuffer(graphTokens);
        s->graphCuSeqLens = DeviceBuffer(sizeof(int32_t) * (kGraphMaxSequences + 1));
        s->graphLogits = DeviceBuffer(sizeof(float) * kGraphMaxSequences * spec_.numLabels);
      }
      slots_.push_back(std::move(s));
    }
    maxBatchSize_ = maxBatchSize;
    maxTokens_ = maxTokens;
  }

  std::vector<std::pair<std::string, double>> counters() const override {
    return {{"graphsCaptured", static_cast<double>(graphsCaptured_.load())},
            {"graphLaunches", static_cast<double>(graphLaunches_.load())},
            {"graphCaptureFailures", static_cast<double>(graphFailures_.load())}};
  }

  void enqueue(const DeviceBatch& batch, float* logits, cudaStream_t stream, int slot) override {
    if (batch.count == 0) return;
    SlotScratch& s = *slots_.at(slot);
    GraphShape shape;
    if (!graphShape(batch, s, shape)) return forward(batch, logits, stream, s);
    const auto [count, tokens, longest] = shape;
    kernels::padGraphBatch(batch.ids, batch.typeIds, batch.cuSeqLens, batch.count, count, tokens, s.graphIds.get<int32_t>(),
                           s.graphTypeIds.get<uint8_t>(), s.graphCuSeqLens.get<int32_t>(), s.positions.get<int32_t>(), stream);
    DeviceBatch padded;
    padded.count = count;
    padded.totalTokens = tokens;
    padded.maxLength = longest;
    padded.ids = s.graphIds.get<int32_t>();
    padded.typeIds = s.graphTypeIds.get<uint8_t>();
    padded.cuSeqLens = s.graphCuSeqLens.get<int32_t>();
    float* paddedLogits = s.graphLogits.get<float>();
    auto found = s.graphs.find(shape);
    if (found == s.graphs.end() && s.graphs.size() >= kMaxGraphsPerSlot) {
      // Full: forget the buckets seen once and never captured, so one-off shapes cannot lock out later ones.
      for (auto it = s.graphs.begin(); it != s.graphs.end();) it = it->second.graph ? std::next(it) : s.graphs.erase(it);
    }
    if (found == s.graphs.end() && s.graphs.size() >= kMaxGraphsPerSlot) {
      forward(padded, paddedLogits, stream, s);
    } else {
      GraphBucket& bucket = found != s.graphs.end() ? found->second : s.graphs[shape];
      if (!bucket.graph && !bucket.failed && bucket.warm) {
        auto graph = std::make_unique<CudaGraph>();
        if (graph->capture(stream, [&] {
              forward(padded, paddedLogits, stream, s);
              return true;
            })) {
          bucket.graph = std::move(graph);
          ++graphsCaptured_;
        } else {
          bucket.failed = true;
          ++graphFailures_;
        }
      }
      if (bucket.graph) {
        bucket.graph->launch(stream);
        ++graphLaunches_;
      } else {
        forward(padded, paddedLogits, stream, s);
        bucket.warm = true;
      }
    }
    TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(logits, paddedLogits, sizeof(float) * batch.count * spec_.numLabels, cudaMemcpyDeviceToDevice, stream));
  }

  // The whole encoder for `batch` on `stream`, logits into `logits`.
  void forward(const DeviceBatch& batch, float* logits, cudaStream_t stream, SlotScratch& s) {
    const int64_t N = batch.totalTokens;
    const int32_t S = batch.count;
    const int H = spec_.hiddenSize, I = spec_.intermediateSize;
    const float eps = spec_.layerNormEps;
    const auto act = activationOf(spec_.hiddenAct);
    auto linear = [&](const void* x, const void* w, const void* b, void* y, int64_t m, int64_t n, int64_t k,
                      cublaslt::Epilogue epilogue = cublaslt::Epilogue::Bias) {
      gemm_->linear(dataType(), x, w, b, y, m, n, k, s.workspace.get(), s.workspace.bytes(), stream, epilogue);
    };
    // The FFN's first GEMM: ReLU in cuBLASLt's epilogue; the GELUs and SiLU in our own pass after it.
    auto ffnIn = [&](const void* x, void* y, int64_t m, const LayerWeights& w) {
      linear(x, w.iW, w.iB, y, m, I, H, ffnEpilogue_);
      if (ffnEpilogue_ == cublaslt::Epilogue::Bias) kernels::activate(type_, act, y, m * I, stream);
    };
    char* work = s.work.get<char>();
    void* qkv = work;
    void* ctx = work + elementBytes() * N * 3 * H;

    kernels::positionIds(batch.ids, batch.cuSeqLens, S, spec_.padTokenId, spec_.architecture == Architecture::XlmRoberta,
                         s.positions.get<int32_t>(), stream);
    kernels::embeddingLayerNorm(type_, batch.ids, batch.typeIds, s.positions.get<int32_t>(), N, H, word_, position_, tokenType_,
                                embGamma_, embBeta_, eps, s.hidden.get(), stream);
    for (int l = 0; l < spec_.numLayers; ++l) {
      const LayerWeights& w = layers_[l];
      if (l + 1 < spec_.numLayers) {
        linear(s.hidden.get(), w.qkvW, w.qkvB, qkv, N, 3 * H, H);
        attention(qkv, 3 * H, static_cast<const char*>(qkv) + elementBytes() * H, 3 * H, ctx, H, batch, false, stream);
        linear(ctx, w.oW, w.oB, s.residual.get(), N, H, H);
        kernels::residualLayerNorm(type_, s.residual.get(), s.hidden.get(), N, H, w.ln1G, w.ln1B, eps, s.hidden.get(), stream);
        ffnIn(s.hidden.get(), work, N, w);
        linear(work, w.o2W, w.o2B, s.residual.get(), N, H, I);
        kernels::residualLayerNorm(type_, s.residual.get(), s.hidden.get(), N, H, w.ln2G, w.ln2B, eps, s.hidden.get(), stream);
        continue;
      }
      // Last layer: keys and values of every token, the rest for [CLS] only.
      const char* kvW = static_cast<const char*>(w.qkvW) + elementBytes() * H * H;
      const char* kvB = static_cast<const char*>(w.qkvB) + elementBytes() * H;
      linear(s.hidden.get(), kvW, kvB, qkv, N, 2 * H, H);
      kernels::gatherFirstTokens(type_, s.hidden.get(), batch.cuSeqLens, S, H, s.cls.get(), stream);
      linear(s.cls.get(), w.qkvW, w.qkvB, s.clsQ.get(), S, H, H);
      attention(s.clsQ.get(), H, qkv, 2 * H, s.clsCtx.get(), H, batch, true, stream, static_cast<const char*>(qkv) + elementBytes() * H);
      linear(s.clsCtx.get(), w.oW, w.oB, s.clsTmp.get(), S, H, H);
      kernels::residualLayerNorm(type_, s.clsTmp.get(), s.cls.get(), S, H, w.ln1G, w.ln1B, eps, s.cls.get(), stream);
      ffnIn(s.cls.get(), s.clsFfn.get(), S, w);
      linear(s.clsFfn.get(), w.o2W, w.o2B, s.clsTmp.get(), S, H, I);
      kernels::residualLayerNorm(type_, s.clsTmp.get(), s.cls.get(), S, H, w.ln2G, w.ln2B, eps, s.cls.get(), stream);
    }
    // Head: BERT pooler (dense + tanh) or RoBERTa's classification head (dense + tanh), then out_proj/classifier.
    linear(s.cls.get(), headDenseW_, headDenseB_, s.clsTmp.get(), S, H, H);
    kernels::activate(type_, kernels::Activation::Tanh, s.clsTmp.get(), static_cast<int64_t>(S) * H, stream);
    kernels::classifierOutput(type_, s.clsTmp.get(), headOutW_, headOutB_, S, H, spec_.numLabels, logits, stream);
  }

 private:
  size_t elementBytes() const { return 2; }
  cudaDataType_t dataType() const { return options_.bf16 ? CUDA_R_16BF : CUDA_R_16F; }
  size_t workWidth() const { return std::max<size_t>(4 * spec_.hiddenSize, spec_.intermediateSize); }

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
  bool graphShape(const DeviceBatch& batch, const SlotScratch& s, GraphShape& shape) const {
    if (!graphsEnabled() || batch.count > kGraphMaxSequences) return false;
    const double H = spec_.hiddenSize, I = spec_.intermediateSize;
    if (2.0 * batch.totalTokens * spec_.numLayers * (4 * H * H + 2 * H * I) > kGraphMaxFlops) return false;
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

  // q: its rows and stride; k (v = k + H columns unless given): the packed key/value rows.
  void attention(const void* q, int64_t qStride, const void* k, int64_t kvStride, void* out, int64_t outStride, const DeviceBatch& batch,
                 bool oneQuery, cudaStream_t stream, const void* v = nullptr) {
    kernels::AttentionArgs a;
    a.type = type_;
    a.q = q;
    a.k = k;
    a.v = v ? v : static_cast<const char*>(k) + elementBytes() * spec_.hiddenSize;
    a.out = out;
    a.qStride = qStride;
    a.kvStride = kvStride;
    a.outStride = outStride;
    a.cuSeqLens = batch.cuSeqLens;
    a.count = batch.count;
    a.maxLength = batch.maxLength;
    a.heads = spec_.numHeads;
    a.headDim = headDim_;
    a.oneQueryPerSequence = oneQuery;
    kernels::attention(a, stream);
  }

  const TensorRef& tensor(const std::string& name) const {
    auto found = spec_.tensors.find(name);
    if (found == spec_.tensors.end()) throw NativeError(kErrInvalidArgument, "the model has no tensor " + name);
    return found->second;
  }

  static int64_t elements(const TensorRef& t) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    return n;
  }

  // Every tensor the forward reads, in groups placed back to back in the arena (each group 256-byte aligned):
  // a layer's Wq, Wk, Wv form one [3H, H] weight and their biases one [3H] bias, for the fused QKV GEMM.
  std::vector<std::vector<std::string>> tensorGroups() const {
    std::vector<std::vector<std::string>> groups = {{"embeddings.word_embeddings.weight"}, {"embeddings.position_embeddings.weight"},
                                                    {"embeddings.token_type_embeddings.weight"}, {"embeddings.LayerNorm.weight"},
                                                    {"embeddings.LayerNorm.bias"}};
    for (int l = 0; l < spec_.numLayers; ++l) {
      const std::string p = "encoder.layer." + std::to_string(l) + ".";
      groups.push_back({p + "attention.self.query.weight", p + "attention.self.key.weight", p + "attention.self.value.weight"});
      groups.push_back({p + "attention.self.query.bias", p + "attention.self.key.bias", p + "attention.self.value.bias"});
      for (const char* n : {"attention.output.dense.weight", "attention.output.dense.bias", "attention.output.LayerNorm.weight",
                            "attention.output.LayerNorm.bias", "intermediate.dense.weight", "intermediate.dense.bias",
                            "output.dense.weight", "output.dense.bias", "output.LayerNorm.weight", "output.LayerNorm.bias"}) {
        groups.push_back({p + n});
      }
    }
    const std::vector<std::string> head =
        spec_.architecture == Architecture::Bert
            ? std::vector<std::string>{"pooler.dense.weight", "pooler.dense.bias", "classifier.weight", "classifier.bias"}
            : std::vector<std::string>{"classifier.dense.weight", "classifier.dense.bias", "classifier.out_proj.weight", "classifier.out_proj.bias"};
    for (const auto& n : head) groups.push_back({n});
    return groups;
  }

  void loadWeights() {
    const auto groups = tensorGroups();
    int64_t total = 0;
    uint64_t largest = 0;
    for (const auto& group : groups) {
      int64_t e = 0;
      for (const auto& n : group) {
        e += elements(tensor(n));
        largest = std::max(largest, tensor(n).nbytes);
      }
      total += (e + 127) / 128 * 128;
    }
    weights_ = DeviceBuffer(elementBytes() * total);
    DeviceBuffer staging(largest);
    MappedFile file(spec_.weightsPath);
    CudaStream stream;
    std::map<std::string, void*> where;
    char* next = weights_.get<char>();
    for (const auto& group : groups) {
      char* start = next;
      for (const auto& n : group) {
        const TensorRef& t = tensor(n);
        if (t.offset + t.nbytes > file.size()) throw NativeError(kErrInvalidArgument, "tensor " + n + " lies past the end of " + spec_.weightsPath);
        TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(staging.get(), file.data() + t.offset, t.nbytes, cudaMemcpyHostToDevice, stream.get()));
        kernels::convertWeights(staging.get(), t.dtype == WeightDType::F32 ? 0 : t.dtype == WeightDType::F16 ? 1 : 2, type_, next,
                                elements(t), stream.get());
        TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream.get()));  // staging is reused by the next tensor
        where[n] = next;
        next += elementBytes() * elements(t);
      }
      const int64_t used = (next - start) / static_cast<int64_t>(elementBytes());
      next = start + elementBytes() * ((used + 127) / 128 * 128);
    }
    word_ = where.at("embeddings.word_embeddings.weight");
    position_ = where.at("embeddings.position_embeddings.weight");
    tokenType_ = where.at("embeddings.token_type_embeddings.weight");
    embGamma_ = where.at("embeddings.LayerNorm.weight");
    embBeta_ = where.at("embeddings.LayerNorm.bias");
    for (int l = 0; l < spec_.numLayers; ++l) {
      const std::string p = "encoder.layer." + std::to_string(l) + ".";
      auto at = [&](const char* n) { return where.at(p + n); };
      layers_.push_back({at("attention.self.query.weight"), at("attention.self.query.bias"), at("attention.output.dense.weight"),
                         at("attention.output.dense.bias"), at("attention.output.LayerNorm.weight"),
                         at("attention.output.LayerNorm.bias"), at("intermediate.dense.weight"), at("intermediate.dense.bias"),
                         at("output.dense.weight"), at("output.dense.bias"), at("output.LayerNorm.weight"),
                         at("output.LayerNorm.bias")});
    }
    const bool bert = spec_.architecture == Architecture::Bert;
    headDenseW_ = where.at(bert ? "pooler.dense.weight" : "classifier.dense.weight");
    headDenseB_ = where.at(bert ? "pooler.dense.bias" : "classifier.dense.bias");
    headOutW_ = where.at(bert ? "classifier.weight" : "classifier.out_proj.weight");
    headOutB_ = where.at(bert ? "classifier.bias" : "classifier.out_proj.bias");
  }

  ModelSpec spec_;
  CudaBackendOptions options_;
  kernels::StorageType type_;
  int headDim_ = 0;
  std::unique_ptr<cublaslt::Gemm> gemm_;
  cublaslt::Epilogue ffnEpilogue_ = cublaslt::Epilogue::Bias;
  DeviceBuffer weights_;
  const void *word_ = nullptr, *position_ = nullptr, *tokenType_ = nullptr, *embGamma_ = nullptr, *embBeta_ = nullptr;
  std::vector<LayerWeights> layers_;
  const void *headDenseW_ = nullptr, *headDenseB_ = nullptr, *headOutW_ = nullptr, *headOutB_ = nullptr;
  std::vector<std::unique_ptr<SlotScratch>> slots_;
  int32_t maxBatchSize_ = 0;
  int64_t maxTokens_ = 0;
  std::atomic<uint64_t> graphsCaptured_{0}, graphLaunches_{0}, graphFailures_{0};
};

}  // namespace

std::unique_ptr<DeviceBackend> makeCudaBackend(const ModelSpec& spec, const CudaBackendOptions& options) {
  return std::make_unique<CudaBackend>(spec, options);
}

}  // namespace trt_rerank
