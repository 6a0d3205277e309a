#include "backends/cpu/cpu_backend.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <new>
#include <numeric>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "backends/cpu/gemm.h"
#include "common/half.h"
#include "common/mapped_file.h"
#include "common/thread_pool.h"

namespace trt_rerank {
namespace {

using cpu::Activation;
using cpu::PackedLinear;

// ---- spec and tensor checks ------------------------------------------------------------------------

[[noreturn]] void specError(const std::string& what) {
  throw std::runtime_error("CPU backend: invalid model spec: " + what);
}

void checkSpec(const ModelSpec& spec) {
  const auto positive = [](int value, const char* name) {
    if (value <= 0) specError(std::string(name) + " must be positive, got " + std::to_string(value));
  };
  positive(spec.vocabSize, "vocabSize");
  positive(spec.hiddenSize, "hiddenSize");
  positive(spec.numLayers, "numLayers");
  positive(spec.numHeads, "numHeads");
  positive(spec.intermediateSize, "intermediateSize");
  positive(spec.maxPositions, "maxPositions");
  positive(spec.typeVocabSize, "typeVocabSize");
  positive(spec.numLabels, "numLabels");
  if (spec.hiddenSize % spec.numHeads != 0) {
    specError("hiddenSize " + std::to_string(spec.hiddenSize) + " is not a multiple of numHeads " +
              std::to_string(spec.numHeads));
  }
  if (!(spec.layerNormEps > 0.0f) || !std::isfinite(spec.layerNormEps)) {
    specError("layerNormEps must be a positive number, got " + std::to_string(spec.layerNormEps));
  }
  // XLM-R numbers positions from padTokenId + 1, and gives pad tokens position padTokenId.
  if (spec.architecture == Architecture::XlmRoberta && (spec.padTokenId < 0 || spec.padTokenId >= spec.maxPositions)) {
    specError("padTokenId " + std::to_string(spec.padTokenId) + " is not a row of the " +
              std::to_string(spec.maxPositions) + "-row position table");
  }
  switch (spec.hiddenAct) {
    case HiddenActivation::GeluErf:
    case HiddenActivation::GeluTanh:
    case HiddenActivation::Relu:
    case HiddenActivation::Silu: break;
    default: specError("unknown hiddenAct " + std::to_string(static_cast<int>(spec.hiddenAct)));
  }
}

const char* dtypeName(WeightDType dtype) {
  switch (dtype) {
    case WeightDType::F32: return "F32";
    case WeightDType::F16: return "F16";
    case WeightDType::BF16: return "BF16";
  }
  return "an unknown dtype";
}

std::string shapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Reads named tensors out of the mapped weights file as fp32, after checking that each one is listed,
// has the shape the model needs, a byte count that matches that shape and its dtype, and bytes that lie
// inside the file. Nothing is read before all of that holds.
class TensorReader {
 public:
  TensorReader(const ModelSpec& spec, const MappedFile& file) : spec_(spec), file_(file) {}

  // -> fp32 values of tensor `name`, row-major, shape `expected`.
  std::vector<float> read(const std::string& name, const std::vector<int64_t>& expected) const {
    const auto it = spec_.tensors.find(name);
    if (it == spec_.tensors.end()) {
      throw std::runtime_error("CPU backend: tensor '" + name + "' (shape " + shapeString(expected) +
                               ") is missing from the model");
    }
    const TensorRef& t = it->second;
    if (t.shape != expected) {
      throw std::runtime_error("CPU backend: tensor '" + name + "' has shape " + shapeString(t.shape) +
                               ", expected " + shapeString(expected));
    }
    size_t elementSize = 0;
    switch (t.dtype) {
      case WeightDType::F32: elementSize = 4; break;
      case WeightDType::F16:
      case WeightDType::BF16: elementSize = 2; break;
      default:
        throw std::runtime_error("CPU backend: tensor '" + name + "' has an unknown dtype (" +
                                 std::to_string(static_cast<int>(t.dtype)) + ")");
    }
    // The expected dims come from checked, positive ints; their product fits in 64 bits for any model
    // whose bytes fit in a file.
    uint64_t count = 1;
    for (int64_t d : expected) count *= static_cast<uint64_t>(d);
    if (t.nbytes != count * elementSize) {
      throw std::runtime_error("CPU backend: tensor '" + name + "' spans " + std::to_string(t.nbytes) +
                               " bytes, but shape " + shapeString(t.shape) + " of " + dtypeName(t.dtype) + " needs " +
                               std::to_string(count * elementSize));
    }
    const uint64_t fileSize = file_.size();
    if (t.offset > fileSize || t.nbytes > fileSize - t.offset) {  // written so that it cannot overflow
      throw std::runtime_error("CPU backend: tensor '" + name + "' (" + std::to_string(t.nbytes) +
                               " bytes at offset " + std::to_string(t.offset) + ") lies past the end of '" +
                               file_.path() + "' (" + std::to_string(fileSize) + " bytes)");
    }

    std::vector<float> out(static_cast<size_t>(count));
    const uint8_t* src = file_.data() + t.offset;
    switch (t.dtype) {
      case WeightDType::F32:
#if (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) || defined(_WIN32)
        std::memcpy(out.data(), src, t.nbytes);  // the file's byte order is the host's
#else
        for (size_t i = 0; i < out.size(); ++i) out[i] = bitsToFloat(loadLe32(src + 4 * i));
#endif
        break;
      case WeightDType::F16:
        for (size_t i = 0; i < out.size(); ++i) out[i] = halfToFloat(loadLe16(src + 2 * i));
        break;
      case WeightDType::BF16:
        for (size_t i = 0; i < out.size(); ++i) out[i] = bf16ToFloat(loadLe16(src + 2 * i));
        break;
    }
    return out;
  }

  // -> an nn.Linear: weight [n, k], bias [n].
  PackedLinear linear(const std::string& prefix, int n, int k) const {
    const std::vector<float> w = read(prefix + ".weight", {n, k});
    const std::vector<float> b = read(prefix + ".bias", {n});
    return PackedLinear(w.data(), b.data(), n, k);
  }

 private:
  const ModelSpec& spec_;
  const MappedFile& file_;
};

// ---- weights -----------------------------------------------------------------------------------------

struct LayerNormWeights {
  std::vector<float> gamma;  // [hidden]
  std::vector<float> beta;   // [hidden]
};

struct LayerWeights {
  PackedLinear qkv;  // query, key, value fused: [3 hidden, hidden], one product instead of three
  PackedLinear attentionOut;  // [hidden, hidden]
  LayerNormWeights attentionNorm;
  PackedLinear intermediate;  // [intermediate, hidden]
  PackedLinear output;        // [hidden, intermediate]
  LayerNormWeights outputNorm;
};

struct ModelWeights {
  std::vector<float> wordEmbeddings;      // [vocab, hidden]
  std::vector<float> positionEmbeddings;  // [maxPositions, hidden]
  std::vector<float> typeEmbeddings;      // [typeVocab, hidden]
  LayerNormWeights embeddingNorm;
  std::vector<LayerWeights> layers;
  PackedLinear headDense;  // Bert pooler.dense / XLM-R classifier.dense: [hidden, hidden], then tanh
  PackedLinear headOut;    // Bert classifier / XLM-R classifier.out_proj: [numLabels, hidden]

  uint64_t bytes() const {
    const auto vec = [](const std::vector<float>& v) { return static_cast<uint64_t>(v.size()) * sizeof(float); };
    const auto norm = [&](const LayerNormWeights& n) { return vec(n.gamma) + vec(n.beta); };
    uint64_t total = vec(wordEmbeddings) + vec(positionEmbeddings) + vec(typeEmbeddings) + norm(embeddingNorm) +
                     headDense.bytes() + headOut.bytes();
    for (const LayerWeights& l : layers) {
      total += l.qkv.bytes() + l.attentionOut.bytes() + norm(l.attentionNorm) + l.intermediate.bytes() +
               l.output.bytes() + norm(l.outputNorm);
    }
    return total;
  }
};

LayerNormWeights readLayerNorm(const TensorReader& reader, const std::string& prefix, int hidden) {
  return {reader.read(prefix + ".weight", {hidden}), reader.read(prefix + ".bias", {hidden})};
}

ModelWeights loadWeights(const ModelSpec& spec) {
  const MappedFile file(spec.weightsPath);  // unmapped when this returns: everything is copied to fp32
  const TensorReader reader(spec, file);
  const int h = spec.hiddenSize;
  ModelWeights w;
  w.wordEmbeddings = reader.read("embeddings.word_embeddings.weight", {spec.vocabSize, h});
  w.positionEmbeddings = reader.read("embeddings.position_embeddings.weight", {spec.maxPositions, h});
  w.typeEmbeddings = reader.read("embeddings.token_type_embeddings.weight", {spec.typeVocabSize, h});
  w.embeddingNorm = readLayerNorm(reader, "embeddings.LayerNorm", h);

  w.layers.reserve(static_cast<size_t>(spec.numLayers));
  for (int n = 0; n < spec.numLayers; ++n) {
    const std::string p = "encoder.layer." + std::to_string(n) + ".";
    LayerWeights layer;
    {
      // [3h, h] = query rows, then key rows, then value rows; the bias likewise.
      std::vector<float> weight;
      std::vector<float> bias;
      weight.reserve(static_cast<size_t>(3) * h * h);
      bias.reserve(static_cast<size_t>(3) * h);
      for (const char* part : {"query", "key", "value"}) {
        const std::vector<float> pw = reader.read(p + "attention.self." + part + ".weight", {h, h});
        const std::vector<float> pb = reader.read(p + "attention.self." + part + ".bias", {h});
        weight.insert(weight.end(), pw.begin(), pw.end());
        bias.insert(bias.end(), pb.begin(), pb.end());
      }
      layer.qkv = PackedLinear(weight.data(), bias.data(), 3 * h, h);
    }
    layer.attentionOut = reader.linear(p + "attention.output.dense", h, h);
    layer.attentionNorm = readLayerNorm(reader, p + "attention.output.LayerNorm", h);
    layer.intermediate = reader.linear(p + "intermediate.dense", spec.intermediateSize, h);
    layer.output = reader.linear(p + "output.dense", h, spec.intermediateSize);
    layer.outputNorm = readLayerNorm(reader, p + "output.LayerNorm", h);
    w.layers.push_back(std::move(layer));
  }

  if (spec.architecture == Architecture::Bert) {
    w.headDense = reader.linear("pooler.dense", h, h);
    w.headOut = reader.linear("classifier", spec.numLabels, h);
  } else {
    w.headDense = reader.linear("classifier.dense", h, h);
    w.headOut = reader.linear("classifier.out_proj", spec.numLabels, h);
  }
  return w;
}

Activation toActivation(HiddenActivation act) {
  switch (act) {
    case HiddenActivation::GeluErf: return Activation::GeluErf;
    case HiddenActivation::GeluTanh: return Activation::GeluTanh;
    case HiddenActivation::Relu: return Activation::Relu;
    case HiddenActivation::Silu: return Activation::Silu;
  }
  return Activation::GeluErf;  // unreachable: checkSpec rejected anything else
}

// ---- per-worker scratch ------------------------------------------------------------------------------

// Buffers one worker needs for one sequence, sized for a capacity in tokens and grown (never shrunk) when
// a longer sequence comes: in steady state a forward pass allocates nothing.
class Scratch {
 public:
  // The encoder's activations, rows of `capacity` tokens.
  std::vector<int32_t> positions;  // [L]
  std::vector<float> x;            // [L, hidden]: layer input, then output
  std::vector<float> qkv;          // [L, 3 hidden]
  std::vector<float> context;      // [L, hidden]: attention output, heads concatenated
  std::vector<float> projected;    // [L, hidden]: a dense output before its residual LayerNorm
  std::vector<float> attended;     // [L, hidden]: after the attention block's LayerNorm
  std::vector<float> inner;        // [L, intermediate]
  // One attention head's working set (a worker may run heads of another worker's sequence).
  std::vector<float> keysT;   // [headDim, L]: one head's keys, transposed
  std::vector<float> scores;  // [L, L]

  // Grows the sequence buffers to hold `length` tokens.
  void reserveSequence(const ModelSpec& spec, int length) {
    if (length <= sequenceCapacity_) return;
    const int capacity = roundUp(length);
    const size_t c = static_cast<size_t>(capacity);
    const size_t h = static_cast<size_t>(spec.hiddenSize);
    grow(positions, c, length);
    grow(x, c * h, length);
    grow(qkv, c * 3 * h, length);
    grow(context, c * h, length);
    grow(projected, c * h, length);
    grow(attended, c * h, length);
    grow(inner, c * static_cast<size_t>(spec.intermediateSize), length);
    sequenceCapacity_ = capacity;
  }

  // Grows the attention buffers to hold a head of a `length`-token sequence.
  void reserveAttention(const ModelSpec& spec, int length) {
    if (length <= attentionCapacity_) return;
    const int capacity = roundUp(length);
    const size_t c = static_cast<size_t>(capacity);
    grow(keysT, static_cast<size_t>(spec.hiddenSize / spec.numHeads) * c, length);
    grow(scores, c * c, length);
    attentionCapacity_ = capacity;
  }

  uint64_t bytes() const {
    return bytesOf(positions) + bytesOf(x) + bytesOf(qkv) + bytesOf(context) + bytesOf(projected) +
           bytesOf(attended) + bytesOf(inner) + bytesOf(keysT) + bytesOf(scores);
  }

 private:
  // Rounding lengths up to a multiple of 32 tokens spares a reallocation for every token of growth.
  static int roundUp(int length) { return length > (1 << 30) ? length : (length + 31) / 32 * 32; }

  // resize, not free-then-allocate: if it throws, every buffer still has at least the size that the
  // recorded capacity promises.
  template <class T>
  static void grow(std::vector<T>& v, size_t n, int length) {
    try {
      v.resize(n);
    } catch (const std::bad_alloc&) {
      throw std::runtime_error("CPU backend: out of memory allocating " + std::to_string(n * sizeof(T) >> 20) +
                               " MiB of scratch for a sequence of " + std::to_string(length) + " tokens");
    }
  }

  template <class T>
  static uint64_t bytesOf(const std::vector<T>& v) {
    return static_cast<uint64_t>(v.size()) * sizeof(T);
  }

  int sequenceCapacity_ = 0;
  int attentionCapacity_ = 0;
};

// ---- math outside the products -------------------------------------------------------------------------

// out [rows, n] = LayerNorm(y + residual) with gamma, beta [n]; mean and biased variance in double, two
// passes. out may alias y or residual.
void addLayerNorm(const float* y, const float* residual, int rows, int n, const LayerNormWeights& norm, float eps,
                  float* out) {
  for (int i = 0; i < rows; ++i) {
    const size_t row = static_cast<size_t>(i) * n;
    float* o = out + row;
    double sum = 0.0;
    for (int j = 0; j < n; ++j) {
      const float v = y[row + j] + residual[row + j];  // the fp32 sum transformers normalises
      o[j] = v;
      sum += v;
    }
    const double mean = sum / n;
    double squares = 0.0;
    for (int j = 0; j < n; ++j) {
      const double d = o[j] - mean;
      squares += d * d;
    }
    const double rstd = 1.0 / std::sqrt(squares / n + static_cast<double>(eps));
    for (int j = 0; j < n; ++j) {
      o[j] = static_cast<float>((o[j] - mean) * rstd) * norm.gamma[j] + norm.beta[j];
    }
  }
}

// row [n] = softmax(row / divisor), in fp32 with the maximum subtracted first.
void scaledSoftmax(float* row, int n, float divisor) {
  float maxValue = -INFINITY;
  for (int j = 0; j < n; ++j) {
    row[j] /= divisor;
    maxValue = std::max(maxValue, row[j]);
  }
  float sum = 0.0f;
  for (int j = 0; j < n; ++j) {
    row[j] = std::exp(row[j] - maxValue);
    sum += row[j];
  }
  const float inverse = 1.0f / sum;
  for (int j = 0; j < n; ++j) row[j] *= inverse;
}

// ---- the backend ---------------------------------------------------------------------------------------

class CpuBackend final : public Backend {
 public:
  CpuBackend(const ModelSpec& spec, ModelWeights weights, int numThreads)
      : spec_(spec),
        weights_(std::move(weights)),
        weightBytes_(weights_.bytes()),
        activation_(toActivation(spec.hiddenAct)),
        pool_(numThreads),
        scratch_(static_cast<size_t>(pool_.size())) {
    spec_.tensors.clear();  // offsets into a file we no longer read
  }

  const char* name() const override { return "cpu"; }
  int numLabels() const override { return spec_.numLabels; }
  uint64_t memoryBytes() const override { return weightBytes_ + scratchBytes_.load(std::memory_order_relaxed); }

  bool forward(const TokenBatch& batch, float* logits, const CancelFlag& cancel) override {
    checkBatch(batch, logits);
    if (batch.count == 0) return true;
    std::lock_guard<std::mutex> lock(forwardMutex_);  // scratch_ and order_ belong to one call at a time

    const int threads = pool_.size();
    const bool acrossSequences = batch.count >= threads;
    reserveScratch(batch, acrossSequences);
    if (!acrossSequences) {
      // Too few sequences to keep every thread busy (one long document, say): one sequence at a time,
      // each split inside (product columns, attention heads) over the whole pool.
      for (int32_t s = 0; s < batch.count; ++s) {
        if (cancel.isSet() || !runSequence(batch, s, 0, &pool_, cancel, logits)) return false;
      }
      return true;
    }

    // One sequence per participant at a time, longest first so that the last ones to start are short.
    order_.resize(static_cast<size_t>(batch.count));
    std::iota(order_.begin(), order_.end(), 0);
    std::stable_sort(order_.begin(), order_.end(), [&](int32_t a, int32_t b) {
      return batch.offsets[a + 1] - batch.offsets[a] > batch.offsets[b + 1] - batch.offsets[b];
    });
    std::atomic<bool> stopped{false};
    pool_.parallelFor(batch.count, [&](int64_t i, int worker) {
      if (stopped.load(std::memory_order_relaxed)) return;
      if (cancel.isSet() || !runSequence(batch, order_[static_cast<size_t>(i)], worker, nullptr, cancel, logits)) {
        stopped.store(true, std::memory_order_relaxed);
      }
    });
    return !stopped.load();
  }

 private:
  // Every check happens before any work, so a bad batch throws without touching the logits.
  void checkBatch(const TokenBatch& batch, const float* logits) const {
    if (batch.count < 0) throw std::runtime_error("batch count must be >= 0, got " + std::to_string(batch.count));
    if (batch.count == 0) return;
    if (!batch.ids || !batch.typeIds || !batch.offsets || !logits) {
      throw std::runtime_error("batch of " + std::to_string(batch.count) + " sequences has a null ids, typeIds, "
                               "offsets or logits pointer");
    }
    if (batch.offsets[0] != 0) {
      throw std::runtime_error("batch offsets must start at 0, got " + std::to_string(batch.offsets[0]));
    }
    const int usablePositions =
        spec_.architecture == Architecture::Bert ? spec_.maxPositions : spec_.maxPositions - spec_.padTokenId - 1;
    for (int32_t s = 0; s < batch.count; ++s) {
      const int32_t begin = batch.offsets[s];
      const int32_t end = batch.offsets[s + 1];
      if (end <= begin) {
        throw std::runtime_error("sequence " + std::to_string(s) + " is empty or out of order (offsets " +
                                 std::to_string(begin) + ", " + std::to_string(end) +
                                 "): every sequence needs at least 1 token");
      }
      int nonPad = 0;
      for (int32_t t = begin; t < end; ++t) {
        const int32_t id = batch.ids[t];
        if (id < 0 || id >= spec_.vocabSize) {
          throw std::runtime_error("token id " + std::to_string(id) + " at position " + std::to_string(t - begin) +
                                   " of sequence " + std::to_string(s) + " is outside the vocabulary of " +
                                   std::to_string(spec_.vocabSize));
        }
        if (batch.typeIds[t] >= spec_.typeVocabSize) {
          throw std::runtime_error("token type id " + std::to_string(batch.typeIds[t]) + " at position " +
                                   std::to_string(t - begin) + " of sequence " + std::to_string(s) +
                                   " is not below the model's type_vocab_size " +
                                   std::to_string(spec_.typeVocabSize));
        }
        if (id != spec_.padTokenId) ++nonPad;
      }
      // Largest position id computePositionIds() will produce: L - 1 (BERT), padTokenId + non-pad count (XLM-R).
      const int64_t length = static_cast<int64_t>(end) - begin;
      const int64_t lastPosition = spec_.architecture == Architecture::Bert ? length - 1 : spec_.padTokenId + nonPad;
      if (lastPosition >= spec_.maxPositions) {
        throw std::runtime_error("sequence " + std::to_string(s) + " of " + std::to_string(length) +
                                 " tokens exceeds the model's " + std::to_string(usablePositions) + " positions");
      }
    }
  }

  // Grows, before any work starts, the scratch of every participant that may run this batch's longest
  // sequence: any worker when sequences are spread over the pool, otherwise worker 0 for the sequence
  // and every worker for attention heads. Allocation failures throw here, and memoryBytes() does not
  // depend on which thread happened to pick which sequence.
  void reserveScratch(const TokenBatch& batch, bool acrossSequences) {
    int longest = 0;
    for (int32_t s = 0; s < batch.count; ++s) longest = std::max(longest, batch.offsets[s + 1] - batch.offsets[s]);
    // Recounted on the way out, also when an allocation throws halfway.
    struct Recount {
      CpuBackend& self;
      ~Recount() {
        uint64_t total = 0;
        for (const Scratch& sc : self.scratch_) total += sc.bytes();
        self.scratchBytes_.store(total, std::memory_order_relaxed);
      }
    } recount{*this};
    for (size_t w = 0; w < scratch_.size(); ++w) {
      if (acrossSequences || w == 0) scratch_[w].reserveSequence(spec_, longest);
      scratch_[w].reserveAttention(spec_, longest);
    }
  }

  // Sequence s of the batch -> logits [s, numLabels], on worker `worker`'s scratch. `inner` splits the
  // products and heads over a pool (nullptr: this thread alone). Returns false if cancelled midway.
  bool runSequence(const TokenBatch& batch, int32_t s, int worker, ThreadPool* inner, const CancelFlag& cancel,
                   float* logits) {
    const int32_t* ids = batch.ids + batch.offsets[s];
    const uint8_t* typeIds = batch.typeIds + batch.offsets[s];
    const int length = batch.offsets[s + 1] - batch.offsets[s];
    const int h = spec_.hiddenSize;
    Scratch& sc = scratch_[static_cast<size_t>(worker)];

    embed(ids, typeIds, length, sc);
    for (int n = 0; n < spec_.numLayers; ++n) {
      if (cancel.isSet()) return false;
      // After the last layer only the first token is read (the head), so that layer computes keys and
      // values for every token but everything else for token 0 alone. Rows do not mix after attention,
      // so row 0 is bit for bit what the full computation would give.
      const int rows = n + 1 == spec_.numLayers ? 1 : length;
      encoderLayer(weights_.layers[static_cast<size_t>(n)], length, rows, worker, inner);
    }

    float* out = logits + static_cast<size_t>(s) * spec_.numLabels;
    cpu::linear(sc.x.data(), h, 1, weights_.headDense, sc.projected.data(), h, Activation::Tanh, inner);
    cpu::linear(sc.projected.data(), h, 1, weights_.headOut, out, spec_.numLabels, Activation::None, inner);
    return true;
  }

  // ids, typeIds [L] -> sc.x [L, hidden] = LayerNorm(word[id] + type[typeId] + position[pos]).
  void embed(const int32_t* ids, const uint8_t* typeIds, int length, Scratch& sc) const {
    const size_t h = static_cast<size_t>(spec_.hiddenSize);
    computePositionIds(spec_, ids, length, sc.positions.data());
    for (int i = 0; i < length; ++i) {
      const float* word = weights_.wordEmbeddings.data() + static_cast<size_t>(ids[i]) * h;
      const float* type = weights_.typeEmbeddings.data() + static_cast<size_t>(typeIds[i]) * h;
      const float* position = weights_.positionEmbeddings.data() + static_cast<size_t>(sc.positions[i]) * h;
      float* x = sc.x.data() + static_cast<size_t>(i) * h;
      // transformers' order: (inputs_embeds + token_type_embeddings) + position_embeddings.
      for (size_t j = 0; j < h; ++j) x[j] = word[j] + type[j];
      addLayerNorm(x, position, 1, spec_.hiddenSize, weights_.embeddingNorm, spec_.layerNormEps, x);
    }
  }

  // One post-LN encoder layer on worker's sc.x [L, hidden], in place. Rows >= `rows` of the result are
  // left stale (only the last layer passes rows < L).
  void encoderLayer(const LayerWeights& layer, int length, int rows, int worker, ThreadPool* inner) {
    Scratch& sc = scratch_[static_cast<size_t>(worker)];
    const int h = spec_.hiddenSize;
    const int im = spec_.intermediateSize;
    const float eps = spec_.layerNormEps;
    // qkv [L, 3h] = x Wqkv^T + b
    cpu::linear(sc.x.data(), h, length, layer.qkv, sc.qkv.data(), 3 * h, Activation::None, inner);
    // context [rows, h]
    attention(sc, length, rows, worker, inner);
    // attended [rows, h] = LayerNorm(context Wo^T + bo + x)
    cpu::linear(sc.context.data(), h, rows, layer.attentionOut, sc.projected.data(), h, Activation::None, inner);
    addLayerNorm(sc.projected.data(), sc.x.data(), rows, h, layer.attentionNorm, eps, sc.attended.data());
    // inner [rows, im] = act(attended Wi^T + bi)
    cpu::linear(sc.attended.data(), h, rows, layer.intermediate, sc.inner.data(), im, activation_, inner);
    // x [rows, h] = LayerNorm(inner Wout^T + bout + attended)
    cpu::linear(sc.inner.data(), im, rows, layer.output, sc.projected.data(), h, Activation::None, inner);
    addLayerNorm(sc.projected.data(), sc.attended.data(), rows, h, layer.outputNorm, eps, sc.x.data());
  }

  // seq.qkv [L, 3h] -> seq.context [rows, h]: softmax(q k^T / sqrt(headDim)) v per head, for the first
  // `rows` queries against all L keys. Heads go over `inner` when given, each on its runner's scratch.
  void attention(Scratch& seq, int length, int rows, int worker, ThreadPool* inner) {
    if (!inner) {
      for (int head = 0; head < spec_.numHeads; ++head) attentionHead(seq, head, length, rows, worker);
      return;
    }
    inner->parallelFor(spec_.numHeads, [&](int64_t head, int runner) {
      attentionHead(seq, static_cast<int>(head), length, rows, runner);
    });
  }

  // One head: q, k, v [L, headDim] are columns of seq.qkv (row stride 3h) -> seq.context columns
  // [head * headDim, +headDim) of its first `rows` rows.
  void attentionHead(Scratch& seq, int head, int length, int rows, int runner) {
    const int h = spec_.hiddenSize;
    const int headDim = h / spec_.numHeads;
    const int64_t ld = 3 * static_cast<int64_t>(h);
    Scratch& own = scratch_[static_cast<size_t>(runner)];
    const float* q = seq.qkv.data() + static_cast<size_t>(head) * headDim;
    const float* k = q + h;
    const float* v = q + 2 * h;
    // keysT [headDim, L]: the product below then runs along contiguous rows (b in gemm.h's terms).
    float* keysT = own.keysT.data();
    for (int j = 0; j < length; ++j) {
      for (int d = 0; d < headDim; ++d) keysT[static_cast<size_t>(d) * length + j] = k[j * ld + d];
    }
    // scores [rows, L] = q keysT, then softmax(scores / sqrt(headDim)) row by row
    float* scores = own.scores.data();
    cpu::gemm(rows, length, headDim, q, ld, keysT, length, scores, length);
    const float divisor = std::sqrt(static_cast<float>(headDim));
    for (int i = 0; i < rows; ++i) scaledSoftmax(scores + static_cast<size_t>(i) * length, length, divisor);
    // context [rows, headDim] (row stride h) = scores v
    cpu::gemm(rows, headDim, length, scores, length, v, ld, seq.context.data() + static_cast<size_t>(head) * headDim,
              h);
  }

  ModelSpec spec_;
  ModelWeights weights_;
  uint64_t weightBytes_;
  Activation activation_;
  ThreadPool pool_;
  std::mutex forwardMutex_;
  std::vector<Scratch> scratch_;  // one per pool participant
  std::vector<int32_t> order_;    // sequences, longest first
  std::atomic<uint64_t> scratchBytes_{0};
};

}  // namespace

std::unique_ptr<Backend> createCpuBackend(const ModelSpec& spec, int numThreads) {
  checkSpec(spec);
  ModelWeights weights = loadWeights(spec);
  return std::make_unique<CpuBackend>(spec, std::move(weights), numThreads);
}

}  // namespace trt_rerank
