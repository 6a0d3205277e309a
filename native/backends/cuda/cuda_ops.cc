#include "backends/cuda/cuda_ops.h"

#include <string>

#include "common/cuda_check.h"
#include "common/errors.h"
#include "kernels/attention.cuh"
#include "kernels/norm.cuh"
#include "kernels/rotary.cuh"

namespace trt_rerank::cuda {
namespace {

constexpr size_t kGemmWorkspaceBytes = 32u << 20;

kernels::Activation kernelActivation(models::Activation act) {
  switch (act) {
    case models::Activation::GeluTanh: return kernels::Activation::GeluTanh;
    case models::Activation::Relu: return kernels::Activation::Relu;
    case models::Activation::Silu: return kernels::Activation::Silu;
    case models::Activation::Tanh: return kernels::Activation::Tanh;
    case models::Activation::GeluErf: return kernels::Activation::GeluErf;
    default: return kernels::Activation::None;
  }
}

[[noreturn]] void shapeError(const std::string& what) { throw NativeError(kErrBackend, "CUDA backend: model forward: " + what); }

bool contiguous(const models::View& v) { return v.ld == v.cols; }

// Every op but norm reads and writes the storage type only (fp32 buffers are residual streams).
void requireStorage(const models::View& v, const char* op) {
  if (v.elementBytes != kStorageBytes) shapeError(std::string(op) + " reads and writes the storage type, not an fp32 buffer");
}

}  // namespace

CudaOps::CudaOps(const models::Model& model, const std::vector<Param>& params, const LinearGemm& gemm, kernels::StorageType type,
                 int64_t maxTokens, int64_t maxSequences)
    : model_(model), params_(params), gemm_(gemm), type_(type) {
  for (const models::BufferDecl& d : model.buffers()) {
    buffers_.emplace_back(static_cast<size_t>(bufferElementBytes(d) * (d.perToken * maxTokens + d.perSequence * maxSequences)));
  }
  positions_ = DeviceBuffer(sizeof(int32_t) * static_cast<size_t>(maxTokens));
  workspace_ = DeviceBuffer(kGemmWorkspaceBytes);
}

void CudaOps::bind(const DeviceTokens& tokens, const models::BatchShape& shape, cudaStream_t stream) {
  tokens_ = tokens;
  shape_ = shape;
  stream_ = stream;
}

uint64_t CudaOps::bytes() const {
  uint64_t total = positions_.bytes() + workspace_.bytes();
  for (const DeviceBuffer& b : buffers_) total += b.bytes();
  return total;
}

cudaDataType_t CudaOps::dataType() const { return type_ == kernels::StorageType::BFloat16 ? CUDA_R_16BF : CUDA_R_16F; }

const Param& CudaOps::param(models::ParamId id) const {
  if (id < 0 || static_cast<size_t>(id) >= params_.size()) shapeError("no param " + std::to_string(id));
  return params_[static_cast<size_t>(id)];
}

models::View CudaOps::buffer(int id, int64_t rows, int64_t cols, int64_t offset) {
  if (id < 0 || static_cast<size_t>(id) >= buffers_.size()) shapeError("no buffer " + std::to_string(id));
  DeviceBuffer& b = buffers_[static_cast<size_t>(id)];
  const int bytes = bufferElementBytes(model_.buffers()[static_cast<size_t>(id)]);
  if (rows < 0 || cols < 0 || offset < 0 || static_cast<uint64_t>(bytes * (offset + rows * cols)) > b.bytes()) {
    shapeError("buffer " + std::to_string(id) + " holds " + std::to_string(b.bytes() / bytes) + " values, not " + std::to_string(rows) +
               " x " + std::to_string(cols) + " at " + std::to_string(offset));
  }
  return {b.get<char>() + bytes * offset, rows, cols, cols, bytes};
}

void CudaOps::embed(const models::EmbedArgs& a) {
  requireStorage(a.out, "embed");
  const models::ModelInfo& info = model_.info();
  if (tokens_.contextOf != nullptr && info.positions != models::PositionRule::Sequential) shapeError("contexts need the sequential position rule");
  kernels::positionIds(tokens_.ids, tokens_.cuSeqLens, shape_.sequences, info.padTokenId, info.positions == models::PositionRule::XlmRoberta,
                       positions_.get<int32_t>(), stream_, tokens_.contextOf);
  const void* types = a.types == models::kNoParam ? nullptr : param(a.types).data;
  const void* positions = a.positions == models::kNoParam ? nullptr : param(a.positions).data;
  const void* gamma = a.gamma == models::kNoParam ? nullptr : param(a.gamma).data;  // none: the sum alone (decoders)
  const void* beta = a.beta == models::kNoParam ? nullptr : param(a.beta).data;
  if (gamma == nullptr && beta != nullptr) shapeError("an embedding bias without its norm weight");
  if (a.out.rows != shape_.tokens || !contiguous(a.out)) shapeError("embed writes a contiguous row per token");
  kernels::embeddingLayerNorm(type_, tokens_.ids, tokens_.typeIds, positions_.get<int32_t>(), shape_.tokens, static_cast<int>(a.out.cols),
                              param(a.words).data, positions, types, gamma, beta, a.eps, a.out.data, stream_);
}

// The product over output parts [firstPart, firstPart + parts) of param w, into outCols columns (the parts' rows,
// or half of them for the gated form).
LinearCall CudaOps::linearCall(const models::View& x, models::ParamId w, int firstPart, int parts, int64_t outCols, bool gated) const {
  const Param& p = param(w);
  const int count = parts < 0 ? static_cast<int>(p.partRows.size()) - firstPart : parts;
  if (p.kind != models::ParamDecl::Kind::Linear || firstPart < 0 || count <= 0 || firstPart + count > static_cast<int>(p.partRows.size())) {
    shapeError("linear over parts " + std::to_string(firstPart) + " +" + std::to_string(count) + " of param " + std::to_string(w));
  }
  int64_t row0 = 0, rows = 0;
  for (int i = 0; i < firstPart; ++i) row0 += p.partRows[static_cast<size_t>(i)];
  for (int i = firstPart; i < firstPart + count; ++i) rows += p.partRows[static_cast<size_t>(i)];
  requireStorage(x, "linear");
  if (x.cols != p.cols || !contiguous(x) || rows != (gated ? 2 : 1) * outCols) {
    shapeError("linear [" + std::to_string(x.rows) + ", " + std::to_string(x.cols) + "] -> " + std::to_string(outCols) + " columns with a [" +
               std::to_string(rows) + ", " + std::to_string(p.cols) + "] weight");
  }
  LinearCall c;
  c.type = type_;
  c.x = x.data;
  c.w = static_cast<const char*>(p.data) + kStorageBytes * row0 * p.cols;
  c.bias = p.bias ? static_cast<const char*>(p.bias) + kStorageBytes * row0 : nullptr;
  c.m = x.rows;
  c.n = outCols;
  c.k = p.cols;
  c.gated = gated;
  c.workspace = workspace_.get();
  c.workspaceBytes = workspace_.bytes();
  return c;
}

void CudaOps::linear(const models::View& x, models::ParamId w, const models::View& y, models::Activation act, int firstPart, int parts) {
  requireStorage(y, "linear");
  if (y.rows != x.rows || !contiguous(y)) shapeError("linear writes a contiguous row per input row");
  LinearCall c = linearCall(x, w, firstPart, parts, y.cols, false);
  c.y = y.data;
  c.act = kernelActivation(act);
  gemm_.run(c, stream_);
}

void CudaOps::gatedLinear(const models::View& x, models::ParamId w, const models::View& product, models::Activation act,
                          const models::View& out) {
  requireStorage(out, "gatedLinear");
  requireStorage(product, "gatedLinear");
  if (out.rows != x.rows || !contiguous(out) || product.rows != x.rows || product.cols != 2 * out.cols || !contiguous(product)) {
    shapeError("gatedLinear: out [rows, n] and product [rows, 2n]");
  }
  LinearCall c = linearCall(x, w, 0, -1, out.cols, true);
  c.y = out.data;
  c.act = kernelActivation(act);
  c.scratch = product.data;
  gemm_.run(c, stream_);
}

void CudaOps::norm(const models::NormArgs& a) {
  requireStorage(a.x, "norm's input");
  requireStorage(a.out, "norm's output");
  for (const models::View* v : {&a.x, a.residual, a.sum, &a.out}) {
    if (v != nullptr && (v->rows != a.x.rows || v->cols != a.x.cols || !contiguous(*v))) shapeError("norm's operands must be alike contiguous [rows, hidden]");
  }
  if (a.kind == models::NormKind::RmsNorm && a.beta != models::kNoParam) shapeError("RMSNorm has no bias");
  kernels::ResidualNormArgs n;
  n.type = type_;
  n.kind = a.kind == models::NormKind::RmsNorm ? kernels::NormType::Rms : kernels::NormType::Layer;
  n.x = a.x.data;
  n.residual = a.residual ? a.residual->data : nullptr;
  n.residualFloat = a.residual && a.residual->elementBytes == 4;
  n.sum = a.sum ? a.sum->data : nullptr;
  n.sumFloat = a.sum && a.sum->elementBytes == 4;
  n.rows = a.x.rows;
  n.hidden = static_cast<int>(a.x.cols);
  n.gamma = param(a.gamma).data;
  n.beta = a.beta == models::kNoParam ? nullptr : param(a.beta).data;
  n.eps = a.eps;
  n.out = a.out.data;
  kernels::residualNorm(n, stream_);
}

void CudaOps::gated(const models::View& x, models::Activation act, const models::View& out) {
  requireStorage(x, "gated");
  requireStorage(out, "gated");
  if (x.cols != 2 * out.cols || x.rows != out.rows || !contiguous(x) || !contiguous(out)) shapeError("gated input must be twice as wide as its output");
  kernels::gatedActivation(type_, kernelActivation(act), x.data, x.rows, out.cols, out.data, stream_);
}

// Rotary embeddings (and Qwen3's per-head norms before them) in place on q and k first, then the attention
// kernel: every query (All), or one per sequence (First: q is one row per sequence; Last: q has every token's).
void CudaOps::attention(const models::AttentionArgs& a) {
  for (const models::View* v : {&a.q, &a.k, &a.v, &a.out}) requireStorage(*v, "attention");
  const int kvHeads = a.kvHeads > 0 ? a.kvHeads : a.heads;
  if (a.heads < 1 || a.heads % kvHeads != 0) shapeError(std::to_string(kvHeads) + " K/V heads do not divide " + std::to_string(a.heads) + " heads");
  const bool firstOnly = a.queries == models::QueryRows::First;
  const int64_t perSequence = a.queries == models::QueryRows::All ? shape_.tokens : shape_.sequences;
  if (a.q.rows != (firstOnly ? shape_.sequences : shape_.tokens) || a.k.rows != shape_.tokens || a.v.rows != shape_.tokens ||
      a.out.rows != perSequence || a.q.cols != static_cast<int64_t>(a.heads) * a.headDim || a.out.cols != a.q.cols ||
      a.k.cols != static_cast<int64_t>(kvHeads) * a.headDim || a.v.cols != a.k.cols) {
    shapeError("attention views do not match the batch and the heads");
  }
  if (a.v.ld != a.k.ld) shapeError("keys and values need one row stride");
  const bool headNorm = a.qNorm != models::kNoParam || a.kNorm != models::kNoParam;
  if (headNorm || a.ropeTheta > 0.0f) {
    // Queries of first tokens sit at position 0 under the sequential rule, where the rotation is the identity:
    // only the keys turn then.
    if (firstOnly && (headNorm || model_.info().positions != models::PositionRule::Sequential)) {
      shapeError("rotary embeddings on first-token queries need the sequential position rule, and no q / k norms");
    }
    if (firstOnly) {
      kernels::rotaryEmbedding(type_, a.k.data, shape_.tokens, a.k.ld, a.heads, 0, a.headDim, positions_.get<int32_t>(), a.ropeTheta, stream_,
                               /*rotateQ=*/false, kvHeads);
    } else {
      // q and k are columns of one fused q|k|v buffer for all-token queries (one pass over both).
      const int64_t kOffset = (static_cast<const char*>(a.k.data) - static_cast<const char*>(a.q.data)) / kStorageBytes;
      if (a.q.ld != a.k.ld || kOffset < 0) shapeError("rotary embedding needs q and k in one buffer, k after q");
      if (headNorm) {
        const auto weight = [&](models::ParamId id) -> const void* {
          if (id == models::kNoParam) return nullptr;
          const Param& p = param(id);
          if (p.kind != models::ParamDecl::Kind::Vector || p.partRows.empty() || p.partRows[0] != a.headDim) shapeError("q / k norm weights are [headDim]");
          return p.data;
        };
        kernels::HeadNormRotaryArgs r;
        r.type = type_;
        r.qkv = a.q.data;
        r.tokens = shape_.tokens;
        r.stride = a.q.ld;
        r.qHeads = a.heads;
        r.kHeads = kvHeads;
        r.kOffset = kOffset;
        r.headDim = a.headDim;
        r.positions = positions_.get<int32_t>();
        r.qWeight = weight(a.qNorm);
        r.kWeight = weight(a.kNorm);
        r.eps = a.normEps;
        r.theta = a.ropeTheta;
        kernels::headNormRotary(r, stream_);
      } else {
        kernels::rotaryEmbedding(type_, a.q.data, shape_.tokens, a.q.ld, a.heads, kOffset, a.headDim, positions_.get<int32_t>(), a.ropeTheta,
                                 stream_, /*rotateQ=*/true, kvHeads);
      }
    }
  }
  kernels::AttentionArgs k;
  k.type = type_;
  k.q = a.q.data;
  k.k = a.k.data;
  k.v = a.v.data;
  k.out = a.out.data;
  k.qStride = a.q.ld;
  k.kvStride = a.k.ld;
  k.outStride = a.out.ld;
  k.cuSeqLens = tokens_.cuSeqLens;
  k.contextOf = tokens_.contextOf;
  k.count = shape_.sequences;
  k.maxLength = shape_.maxLength;
  k.heads = a.heads;
  k.kvHeads = kvHeads;
  k.headDim = a.headDim;
  k.queries = firstOnly                              ? kernels::AttentionQueries::First
              : a.queries == models::QueryRows::Last ? kernels::AttentionQueries::Last
                                                     : kernels::AttentionQueries::All;
  k.window = a.window;
  k.causal = a.causal;
  kernels::attention(k, stream_);
}

void CudaOps::firstTokens(const models::View& x, const models::View& out) {
  requireStorage(x, "firstTokens");
  kernels::gatherFirstTokens(type_, x.data, tokens_.cuSeqLens, shape_.sequences, static_cast<int>(x.cols), out.data, stream_);
}

void CudaOps::lastTokens(const models::View& x, const models::View& out) {
  if (x.elementBytes != out.elementBytes || x.cols != out.cols || x.rows != shape_.tokens || out.rows != shape_.sequences || !contiguous(x) ||
      !contiguous(out)) {
    shapeError("lastTokens: x [tokens, H] and out [sequences, H] of one element type");
  }
  kernels::gatherLastRows(x.data, tokens_.cuSeqLens, shape_.sequences, x.cols * x.elementBytes, out.data, stream_);
}

void CudaOps::meanPool(const models::View& x, const models::View& out) {
  requireStorage(x, "meanPool");
  kernels::meanPool(type_, x.data, tokens_.cuSeqLens, shape_.sequences, static_cast<int>(x.cols), out.data, stream_);
}

void CudaOps::logits(const models::View& x, models::ParamId w) {
  const Param& p = param(w);
  kernels::classifierOutput(type_, x.data, p.data, p.bias, shape_.sequences, static_cast<int>(x.cols), static_cast<int>(p.partRows.at(0)),
                            tokens_.logits, stream_);
}

}  // namespace trt_rerank::cuda
