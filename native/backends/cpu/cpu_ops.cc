#include "backends/cpu/cpu_ops.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>

namespace trt_rerank::cpu {
namespace {

using models::View;

float* rowOf(const View& v, int64_t r) { return static_cast<float*>(v.data) + r * v.ld; }

// row [n] = softmax(row / divisor), in fp32 with the maximum subtracted first (masked entries are -inf).
void scaledSoftmax(float* row, int64_t n, float divisor) {
  float maxValue = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    row[j] /= divisor;
    maxValue = std::max(maxValue, row[j]);
  }
  float sum = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    row[j] = std::exp(row[j] - maxValue);
    sum += row[j];
  }
  const float inverse = 1.0f / sum;
  for (int64_t j = 0; j < n; ++j) row[j] *= inverse;
}

cpu::Activation toGemm(models::Activation act) {
  using A = models::Activation;
  switch (act) {
    case A::None: return cpu::Activation::None;
    case A::GeluErf: return cpu::Activation::GeluErf;
    case A::GeluTanh: return cpu::Activation::GeluTanh;
    case A::Relu: return cpu::Activation::Relu;
    case A::Silu: return cpu::Activation::Silu;
    case A::Tanh: return cpu::Activation::Tanh;
  }
  return cpu::Activation::None;
}

// resize, not free-then-allocate: on failure the buffer keeps the size it had.
template <class T>
void grow(std::vector<T>& v, size_t n) {
  if (v.size() >= n) return;
  try {
    v.resize(n);
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("CPU backend: out of memory allocating " + std::to_string(n * sizeof(T) >> 20) + " MiB of scratch");
  }
}

[[noreturn]] void shapeError(const std::string& what) { throw std::logic_error("CPU backend: model forward: " + what); }

}  // namespace

uint64_t Param::bytes() const {
  uint64_t total = values.size() * sizeof(float);
  for (const PackedLinear& p : parts) total += p.bytes();
  return total;
}

CpuOps::CpuOps(const models::Model& model, const std::vector<Param>& params, ThreadPool& pool)
    : model_(model), params_(params), pool_(pool), buffers_(model.buffers().size()), attention_(static_cast<size_t>(pool.size())) {}

void CpuOps::bind(const HostBatch& batch, const CancelFlag* cancel) {
  batch_ = batch;
  cancel_ = cancel;
  const models::BatchShape& b = batch.shape;
  const auto& decls = model_.buffers();
  for (size_t i = 0; i < decls.size(); ++i) {
    grow(buffers_[i], static_cast<size_t>(decls[i].perToken * b.tokens + decls[i].perSequence * b.sequences));
  }
  grow(positions_, static_cast<size_t>(b.tokens));
  const models::ModelInfo& info = model_.info();
  int64_t keys = std::max(b.maxLength, 1);  // a sequence's keys: its own, and its context's before them
  for (int32_t s = 0; s < b.sequences; ++s) {
    const int32_t begin = batch.cuSeqLens[s];
    computePositionIds(info.positions, info.padTokenId, batch.ids + begin, batch.cuSeqLens[s + 1] - begin, positions_.data() + begin);
    const int32_t c = contextOf(s);
    if (c < 0) continue;
    const int32_t offset = batch.cuSeqLens[c + 1] - batch.cuSeqLens[c];  // sequential positions continue the context's
    for (int32_t t = begin; t < batch.cuSeqLens[s + 1]; ++t) positions_[t] += offset;
    keys = std::max<int64_t>(keys, offset + batch.cuSeqLens[s + 1] - begin);
  }
  for (AttentionScratch& sc : attention_) {
    grow(sc.keysT, static_cast<size_t>(info.headDim) * keys);
    if (batch.contextOf) grow(sc.values, static_cast<size_t>(info.headDim) * keys);
    grow(sc.scores, static_cast<size_t>(kQueryBlock) * keys);
  }
  grow(inverseFrequencies_, static_cast<size_t>(info.headDim / 2 + 1));
}

uint64_t CpuOps::scratchBytes() const {
  uint64_t total = positions_.size() * sizeof(int32_t);
  for (const auto& b : buffers_) total += b.size() * sizeof(float);
  for (const AttentionScratch& sc : attention_) total += (sc.keysT.size() + sc.values.size() + sc.scores.size()) * sizeof(float);
  total += inverseFrequencies_.size() * sizeof(float);
  return total;
}

const Param& CpuOps::param(models::ParamId id) const {
  if (id < 0 || static_cast<size_t>(id) >= params_.size()) shapeError("no param " + std::to_string(id));
  return params_[static_cast<size_t>(id)];
}

View CpuOps::buffer(int id, int64_t rows, int64_t cols, int64_t offset) {
  if (id < 0 || static_cast<size_t>(id) >= buffers_.size()) shapeError("no buffer " + std::to_string(id));
  std::vector<float>& b = buffers_[static_cast<size_t>(id)];
  if (rows < 0 || cols < 0 || offset < 0 || static_cast<uint64_t>(offset + rows * cols) > b.size()) {
    shapeError("buffer " + std::to_string(id) + " holds " + std::to_string(b.size()) + " values, not " + std::to_string(rows) + " x " +
               std::to_string(cols) + " at " + std::to_string(offset));
  }
  return {b.data() + offset, rows, cols, cols, static_cast<int>(sizeof(float))};
}

void CpuOps::embed(const models::EmbedArgs& a) {
  const Param& words = param(a.words);
  const Param* types = a.types == models::kNoParam ? nullptr : &param(a.types);
  const Param* positions = a.positions == models::kNoParam ? nullptr : &param(a.positions);
  const int64_t h = a.out.cols;
  pool_.parallelFor((batch_.shape.tokens + 63) / 64, [&](int64_t block, int) {
    const int64_t end = std::min<int64_t>(batch_.shape.tokens, (block + 1) * 64);
    for (int64_t t = block * 64; t < end; ++t) {
      float* x = rowOf(a.out, t);
      const float* word = words.values.data() + static_cast<size_t>(batch_.ids[t]) * h;
      // transformers' order: (inputs_embeds + token_type_embeddings) + position_embeddings.
      if (types) {
        const float* type = types->values.data() + static_cast<size_t>(batch_.typeIds[t]) * h;
        for (int64_t j = 0; j < h; ++j) x[j] = word[j] + type[j];
      } else {
        std::memcpy(x, word, sizeof(float) * h);
      }
      if (positions) {
        const float* position = positions->values.data() + static_cast<size_t>(positions_[t]) * h;
        for (int64_t j = 0; j < h; ++j) x[j] += position[j];
      }
    }
  });
  if (a.gamma == models::kNoParam) return;  // decoders: the embeddings as they are
  models::NormArgs n;
  n.x = a.out;
  n.gamma = a.gamma;
  n.beta = a.beta;
  n.eps = a.eps;
  n.out = a.out;
  norm(n);
}

void CpuOps::linear(const View& x, models::ParamId w, const View& y, models::Activation act, int firstPart, int parts) {
  const Param& p = param(w);
  const int count = parts < 0 ? static_cast<int>(p.parts.size()) - firstPart : parts;
  if (p.kind != models::ParamDecl::Kind::Linear || firstPart < 0 || count <= 0 || firstPart + count > static_cast<int>(p.parts.size())) {
    shapeError("linear over parts " + std::to_string(firstPart) + " +" + std::to_string(count) + " of param " + std::to_string(w));
  }
  int64_t columns = 0;
  for (int i = firstPart; i < firstPart + count; ++i) columns += p.parts[static_cast<size_t>(i)].outFeatures();
  if (x.cols != p.cols || y.rows != x.rows || y.cols != columns) {
    shapeError("linear [" + std::to_string(x.rows) + ", " + std::to_string(x.cols) + "] -> [" + std::to_string(y.rows) + ", " +
               std::to_string(y.cols) + "] with a [" + std::to_string(columns) + ", " + std::to_string(p.cols) + "] weight");
  }
  // Many rows (a chunk's tokens): blocks of rows over the pool, each block's A rows staying in cache across every
  // output column. Few rows (first tokens only): the columns over the pool. Either way each value is accumulated
  // in the same order (gemm.h), so the split does not change results.
  const int64_t rowsPerTask = std::clamp<int64_t>((x.rows + 4 * pool_.size() - 1) / (4 * pool_.size()), 32, 256);
  const int64_t rowTasks = (x.rows + rowsPerTask - 1) / rowsPerTask;
  const auto run = [&](int64_t r0, int64_t rows, ThreadPool* pool) {
    int64_t column = 0;
    for (int i = firstPart; i < firstPart + count; ++i) {
      const PackedLinear& part = p.parts[static_cast<size_t>(i)];
      cpu::linear(static_cast<const float*>(x.data) + r0 * x.ld, x.ld, static_cast<int>(rows), part,
                  static_cast<float*>(y.data) + r0 * y.ld + column, y.ld, toGemm(act), pool);
      column += part.outFeatures();
    }
  };
  if (rowTasks < 2 * pool_.size()) return run(0, x.rows, &pool_);
  pool_.parallelFor(rowTasks, [&](int64_t task, int) {
    const int64_t r0 = task * rowsPerTask;
    run(r0, std::min(rowsPerTask, x.rows - r0), nullptr);
  });
}

void CpuOps::norm(const models::NormArgs& a) {
  const Param& gamma = param(a.gamma);
  const Param* beta = a.beta == models::kNoParam ? nullptr : &param(a.beta);
  if (beta && a.kind == models::NormKind::RmsNorm) shapeError("RMSNorm has no bias");
  const int64_t n = a.x.cols;
  pool_.parallelFor((a.x.rows + 15) / 16, [&](int64_t block, int) {
    const int64_t end = std::min<int64_t>(a.x.rows, (block + 1) * 16);
    for (int64_t r = block * 16; r < end; ++r) {
      const float* x = rowOf(a.x, r);
      const float* residual = a.residual ? rowOf(*a.residual, r) : nullptr;
      // s = x + residual lands in the sum (or the output) row, then is normalised from there; each element is
      // read before it is written, so out, sum, x and residual may alias.
      float* s = a.sum ? rowOf(*a.sum, r) : rowOf(a.out, r);
      float* o = rowOf(a.out, r);
      double total = 0.0, squares = 0.0;
      for (int64_t j = 0; j < n; ++j) {
        const float v = residual ? x[j] + residual[j] : x[j];  // the fp32 sum transformers normalises
        s[j] = v;
        total += v;
        squares += static_cast<double>(v) * v;
      }
      if (a.kind == models::NormKind::RmsNorm) {  // Qwen3RMSNorm: weight * (s * rsqrt(mean(s^2) + eps))
        const double rstd = 1.0 / std::sqrt(squares / n + static_cast<double>(a.eps));
        for (int64_t j = 0; j < n; ++j) o[j] = static_cast<float>(s[j] * rstd) * gamma.values[j];
        continue;
      }
      const double mean = total / n;
      squares = 0.0;
      for (int64_t j = 0; j < n; ++j) {
        const double d = s[j] - mean;
        squares += d * d;
      }
      const double rstd = 1.0 / std::sqrt(squares / n + static_cast<double>(a.eps));
      for (int64_t j = 0; j < n; ++j) {
        const float v = static_cast<float>((s[j] - mean) * rstd) * gamma.values[j];
        o[j] = beta ? v + beta->values[j] : v;
      }
    }
  });
}

void CpuOps::gated(const View& x, models::Activation act, const View& out) {
  if (x.cols != 2 * out.cols || x.rows != out.rows) shapeError("gated input must be twice as wide as its output");
  const cpu::Activation f = toGemm(act);
  pool_.parallelFor((x.rows + 15) / 16, [&](int64_t block, int) {
    const int64_t end = std::min<int64_t>(x.rows, (block + 1) * 16);
    for (int64_t r = block * 16; r < end; ++r) {
      const float* in = rowOf(x, r);
      float* o = rowOf(out, r);
      for (int64_t j = 0; j < out.cols; ++j) o[j] = cpu::activation(in[j], f) * in[out.cols + j];
    }
  });
}

// Before attention, in place: each head of q and k RMS-normalised (Qwen3's q_norm / k_norm, when given), then
// rotated (rotate_half form, when ropeTheta > 0). inv_freq and the angles in fp32, as transformers computes them
// even for a float64 model. Query rows: every token's (All, Last) or each sequence's first (First).
void CpuOps::normaliseAndRotate(const models::AttentionArgs& a) {
  const int d = a.headDim, half = d / 2;
  const bool firstOnly = a.queries == models::QueryRows::First;
  const int kvHeads = a.kvHeads > 0 ? a.kvHeads : a.heads;
  const bool rope = a.ropeTheta > 0.0f;
  const Param* qNorm = a.qNorm == models::kNoParam ? nullptr : &param(a.qNorm);
  const Param* kNorm = a.kNorm == models::kNoParam ? nullptr : &param(a.kNorm);
  if ((qNorm && static_cast<int64_t>(qNorm->values.size()) != d) || (kNorm && static_cast<int64_t>(kNorm->values.size()) != d)) {
    shapeError("q_norm / k_norm weights must have headDim values");
  }
  if (!rope && !qNorm && !kNorm) return;
  for (int i = 0; i < half && rope; ++i) {
    inverseFrequencies_[i] = 1.0f / std::pow(a.ropeTheta, static_cast<float>(2 * i) / static_cast<float>(d));
  }
  const auto apply = [&](float* x, int32_t position, const Param* weight) {
    if (weight) {
      double squares = 0.0;
      for (int i = 0; i < d; ++i) squares += static_cast<double>(x[i]) * x[i];
      const double rstd = 1.0 / std::sqrt(squares / d + static_cast<double>(a.normEps));
      for (int i = 0; i < d; ++i) x[i] = static_cast<float>(x[i] * rstd) * weight->values[i];
    }
    if (!rope) return;
    for (int i = 0; i < half; ++i) {
      const float angle = inverseFrequencies_[i] * static_cast<float>(position);
      const float c = std::cos(angle), s = std::sin(angle);
      const float x1 = x[i], x2 = x[i + half];
      x[i] = x1 * c - x2 * s;
      x[i + half] = x2 * c + x1 * s;
    }
  };
  const int64_t tokens = batch_.shape.tokens;
  pool_.parallelFor((tokens + 63) / 64, [&](int64_t block, int) {
    const int64_t end = std::min<int64_t>(tokens, (block + 1) * 64);
    for (int64_t t = block * 64; t < end; ++t) {
      for (int h = 0; h < kvHeads; ++h) apply(rowOf(a.k, t) + h * d, positions_[t], kNorm);
      if (!firstOnly) {
        for (int h = 0; h < a.heads; ++h) apply(rowOf(a.q, t) + h * d, positions_[t], qNorm);
      }
    }
  });
  if (firstOnly) {
    for (int32_t s = 0; s < batch_.shape.sequences; ++s) {
      for (int h = 0; h < a.heads; ++h) apply(rowOf(a.q, s) + h * d, positions_[batch_.cuSeqLens[s]], qNorm);
    }
  }
}

void CpuOps::attention(const models::AttentionArgs& a) {
  const int kvHeads = a.kvHeads > 0 ? a.kvHeads : a.heads;
  if (kvHeads <= 0 || a.heads % kvHeads != 0) shapeError("kvHeads must divide heads");
  if (a.window >= 0 && (a.causal || batch_.contextOf)) shapeError("a sliding window with causal attention or contexts is not implemented");
  if (batch_.contextOf && !a.causal) shapeError("contexts need causal attention");
  normaliseAndRotate(a);
  const bool oneQuery = a.queries != models::QueryRows::All;
  // Tasks: (sequence, head, block of queries), enumerated by index so that nothing is allocated per call.
  const int32_t S = batch_.shape.sequences;
  int64_t blocksPerHead = 1;
  if (!oneQuery) blocksPerHead = (batch_.shape.maxLength + kQueryBlock - 1) / kQueryBlock;
  const int64_t tasks = static_cast<int64_t>(S) * a.heads * blocksPerHead;
  pool_.parallelFor(tasks, [&](int64_t task, int worker) {
    const int64_t block = task % blocksPerHead;
    const int head = static_cast<int>((task / blocksPerHead) % a.heads);
    const int32_t s = static_cast<int32_t>(task / (blocksPerHead * a.heads));
    const int64_t length = batch_.cuSeqLens[s + 1] - batch_.cuSeqLens[s];
    int64_t q0 = block * kQueryBlock, q1 = std::min<int64_t>(length, q0 + kQueryBlock);
    if (a.queries == models::QueryRows::First) q0 = 0, q1 = 1;
    if (a.queries == models::QueryRows::Last) q0 = length - 1, q1 = length;
    if (q0 >= 0 && q0 < q1) attendBlock(a, s, head, q0, q1, attention_[static_cast<size_t>(worker)]);
  });
}

// Queries q0 .. q1 - 1 of sequence s (positions within it), one head, against the keys they see. Keys are
// numbered as the sequence sees them: its context's (if any) first, then its own; j below is that number.
void CpuOps::attendBlock(const models::AttentionArgs& a, int32_t s, int head, int64_t q0, int64_t q1, AttentionScratch& sc) {
  const int d = a.headDim;
  const int kvHead = head / (a.heads / (a.kvHeads > 0 ? a.kvHeads : a.heads));
  const int64_t start = batch_.cuSeqLens[s];
  const int64_t length = batch_.cuSeqLens[s + 1] - start;
  const int32_t c = contextOf(s);
  const int64_t contextStart = c >= 0 ? batch_.cuSeqLens[c] : 0;
  const int64_t before = c >= 0 ? batch_.cuSeqLens[c + 1] - contextStart : 0;  // the context's keys
  const auto keyRow = [&](int64_t j) { return j < before ? contextStart + j : start + (j - before); };
  const bool firstOnly = a.queries == models::QueryRows::First;
  const bool lastOnly = a.queries == models::QueryRows::Last;
  int64_t k0 = 0, k1 = before + length;
  if (a.window >= 0) {
    k0 = std::max<int64_t>(0, q0 - a.window);
    k1 = std::min<int64_t>(length, q1 - 1 + a.window + 1);
  }
  if (a.causal) k1 = std::min(k1, before + q1);
  const int64_t nk = k1 - k0, nq = q1 - q0;
  // keysT [d, nk]: the product below then runs along contiguous rows (b in gemm.h's terms).
  for (int64_t j = 0; j < nk; ++j) {
    const float* key = rowOf(a.k, keyRow(k0 + j)) + kvHead * d;
    for (int i = 0; i < d; ++i) sc.keysT[static_cast<size_t>(i) * nk + j] = key[i];
  }
  const float* q = (firstOnly ? rowOf(a.q, s) : rowOf(a.q, start + q0)) + head * d;
  float* scores = sc.scores.data();
  cpu::gemm(static_cast<int>(nq), static_cast<int>(nk), d, q, a.q.ld, sc.keysT.data(), nk, scores, nk);
  const float divisor = std::sqrt(static_cast<float>(d));
  for (int64_t r = 0; r < nq; ++r) {
    float* row = scores + r * nk;
    const int64_t i = q0 + r;
    if (a.window >= 0) {
      for (int64_t j = 0; j < nk; ++j) {
        if (std::llabs(i - (k0 + j)) > a.window) row[j] = -INFINITY;
      }
    }
    if (a.causal) {
      for (int64_t j = before + i + 1 - k0; j < nk; ++j) row[j] = -INFINITY;  // keys after the query
    }
    scaledSoftmax(row, nk, divisor);
  }
  float* out = (firstOnly || lastOnly ? rowOf(a.out, s) : rowOf(a.out, start + q0)) + head * d;
  const float* values = rowOf(a.v, start + k0) + kvHead * d;
  int64_t ldv = a.v.ld;
  if (before > 0) {  // two places: gathered, in key order, so the sums run as for the whole sequence
    for (int64_t j = 0; j < nk; ++j) std::memcpy(sc.values.data() + j * d, rowOf(a.v, keyRow(k0 + j)) + kvHead * d, sizeof(float) * d);
    values = sc.values.data();
    ldv = d;
  }
  cpu::gemm(static_cast<int>(nq), d, static_cast<int>(nk), scores, nk, values, ldv, out, a.out.ld);
}

void CpuOps::firstTokens(const View& x, const View& out) {
  for (int32_t s = 0; s < batch_.shape.sequences; ++s) {
    std::memcpy(rowOf(out, s), rowOf(x, batch_.cuSeqLens[s]), sizeof(float) * x.cols);
  }
}

void CpuOps::lastTokens(const View& x, const View& out) {
  for (int32_t s = 0; s < batch_.shape.sequences; ++s) {
    std::memcpy(rowOf(out, s), rowOf(x, batch_.cuSeqLens[s + 1] - 1), sizeof(float) * x.cols);
  }
}

void CpuOps::meanPool(const View& x, const View& out) {
  pool_.parallelFor(batch_.shape.sequences, [&](int64_t s, int) {
    const int64_t begin = batch_.cuSeqLens[s], end = batch_.cuSeqLens[s + 1];
    float* o = rowOf(out, s);
    for (int64_t j = 0; j < x.cols; ++j) {
      double sum = 0.0;
      for (int64_t t = begin; t < end; ++t) sum += rowOf(x, t)[j];
      o[j] = end > begin ? static_cast<float>(sum / static_cast<double>(end - begin)) : 0.0f;
    }
  });
}

void CpuOps::logits(const View& x, models::ParamId w) {
  const Param& p = param(w);
  if (p.parts.size() != 1 || x.cols != p.cols || x.rows != batch_.shape.sequences) shapeError("logits need one row per sequence");
  const PackedLinear& out = p.parts[0];
  cpu::linear(static_cast<const float*>(x.data), x.ld, static_cast<int>(x.rows), out, batch_.logits, out.outFeatures(),
              cpu::Activation::None, &pool_);
}

}  // namespace trt_rerank::cpu
