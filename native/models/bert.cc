// BERT and XLM-RoBERTa / RoBERTa cross-encoders (BertForSequenceClassification,
// XLMRobertaForSequenceClassification, RobertaForSequenceClassification), as transformers defines them:
//
//   hidden = LayerNorm(word[id] + type[typeId] + position[pos])   pos: 0.. (BERT), pad + 1.. (XLM-R)   [N, H]
//   every layer (post-LN):
//     q|k|v = hidden Wqkv^T + b      (Wq, Wk, Wv fused at load)                                     [N, 3H]
//     hidden = LayerNorm(attention(q, k, v) Wo^T + bo + hidden)
//     hidden = LayerNorm(act(hidden Wi^T + bi) Wo2^T + bo2 + hidden)
//   head, on the first token ([CLS] / <s>): BERT pooler tanh(x Wp^T + bp) then the classifier; RoBERTa
//   classifier.dense + tanh then classifier.out_proj.
//
// The classifier reads only the first token, so the last layer computes keys and values for every token but
// everything else for the first token alone (rows do not mix after attention: the same values, far fewer FLOPs).
#include <string>

#include "models/families.h"

namespace trt_rerank::models {
namespace {

class Bert final : public Model {
 public:
  Bert(const ConfigReader& c, const std::string& architecture) {
    const bool bert = architecture == "BertForSequenceClassification";
    info_.architecture = architecture;
    info_.family = bert ? "bert" : "xlm-roberta";
    info_.modelType = c.text("model_type", info_.family);
    info_.tensorPrefix = bert ? "bert." : "roberta.";
    info_.pooling = "cls";
    const std::string positionType = c.text("position_embedding_type", "absolute");
    if (positionType != "absolute") {
      throw NativeError(kErrModelUnsupported, c.where() + ": position_embedding_type \"" + positionType + "\" is not supported: only \"absolute\"");
    }
    act_ = readActivation(c, "hidden_act", "gelu");
    info_.numLabels = readNumLabels(c);
    const int64_t H = c.integer("hidden_size", 1, limits::kMaxHidden);
    const int64_t heads = c.integer("num_attention_heads", 1, limits::kMaxHeads);
    if (H % heads != 0) {
      c.invalid("hidden_size", std::to_string(H) + " is not a multiple of num_attention_heads " + std::to_string(heads));
    }
    const int64_t layers = c.integer("num_hidden_layers", 1, limits::kMaxLayers);
    const int64_t I = c.integer("intermediate_size", 1, limits::kMaxIntermediate);
    const int64_t vocab = c.integer("vocab_size", 1, limits::kMaxVocab);
    const int64_t maxPositions = c.integer("max_position_embeddings", 1, limits::kMaxPositions);
    const int64_t typeVocab = c.integer("type_vocab_size", 1, limits::kMaxTypeVocab, 2);
    const int64_t pad = c.integer("pad_token_id", 0, limits::kMaxVocab, bert ? 0 : 1);  // any id, as transformers takes it
    eps_ = static_cast<float>(c.positive("layer_norm_eps", 1e-12, 1.0));
    // XLM-R numbers positions from pad + 1: the table's first pad + 1 rows are never a real token's.
    const int64_t longest = bert ? maxPositions : maxPositions - (pad + 1);
    if (longest < 4) c.invalid("max_position_embeddings", std::to_string(maxPositions) + " leaves no room for a sequence");

    info_.hiddenSize = static_cast<int>(H);
    info_.numHeads = static_cast<int>(heads);
    info_.numKvHeads = static_cast<int>(heads);
    info_.headDim = static_cast<int>(H / heads);
    info_.numLayers = static_cast<int>(layers);
    info_.intermediateSize = static_cast<int>(I);
    info_.vocabSize = static_cast<int>(vocab);
    info_.typeVocabSize = static_cast<int>(typeVocab);
    info_.padTokenId = static_cast<int>(pad);
    info_.maxSequenceLength = static_cast<int>(longest);
    info_.positions = bert ? PositionRule::Sequential : PositionRule::XlmRoberta;
    info_.gemmFlopsPerToken = 2.0 * static_cast<double>(layers) * (4.0 * H * H + 2.0 * H * I);

    words_ = table("embeddings.word_embeddings.weight", vocab, H);
    positions_ = table("embeddings.position_embeddings.weight", maxPositions, H);
    types_ = table("embeddings.token_type_embeddings.weight", typeVocab, H);
    embGamma_ = vector("embeddings.LayerNorm.weight", H);
    embBeta_ = vector("embeddings.LayerNorm.bias", H);
    for (int64_t l = 0; l < layers; ++l) {
      const std::string p = "encoder.layer." + std::to_string(l) + ".";
      Layer layer;
      const std::string self = p + "attention.self.";
      layer.qkv = linear({self + "query.weight", self + "key.weight", self + "value.weight"}, {H, H, H}, H,
                         {self + "query.bias", self + "key.bias", self + "value.bias"});
      layer.out = linear({p + "attention.output.dense.weight"}, {H}, H, {p + "attention.output.dense.bias"});
      layer.norm1Gamma = vector(p + "attention.output.LayerNorm.weight", H);
      layer.norm1Beta = vector(p + "attention.output.LayerNorm.bias", H);
      layer.ffnIn = linear({p + "intermediate.dense.weight"}, {I}, H, {p + "intermediate.dense.bias"});
      layer.ffnOut = linear({p + "output.dense.weight"}, {H}, I, {p + "output.dense.bias"});
      layer.norm2Gamma = vector(p + "output.LayerNorm.weight", H);
      layer.norm2Beta = vector(p + "output.LayerNorm.bias", H);
      layers_.push_back(layer);
    }
    if (bert) {
      headDense_ = linear({"pooler.dense.weight"}, {H}, H, {"pooler.dense.bias"});
      headOut_ = linear({"classifier.weight"}, {info_.numLabels}, H, {"classifier.bias"});
    } else {
      headDense_ = linear({"classifier.dense.weight"}, {H}, H, {"classifier.dense.bias"});
      headOut_ = linear({"classifier.out_proj.weight"}, {info_.numLabels}, H, {"classifier.out_proj.bias"});
    }
    // hidden and residual [N, H]; work [N, max(4H, I)] holds q|k|v and the attention output (3H + H), later the
    // FFN's intermediate (I); per sequence: the first tokens' rows of the last layer.
    hidden_ = buffer(H);
    residual_ = buffer(H);
    work_ = buffer(std::max(4 * H, I));
    cls_ = buffer(0, 4 * H + std::max(I, H));
  }

  bool forward(Ops& ops, const BatchShape& b) const override {
    const int64_t N = b.tokens, S = b.sequences, H = info_.hiddenSize, I = info_.intermediateSize;
    const View hidden = ops.buffer(hidden_, N, H);
    const View residual = ops.buffer(residual_, N, H);
    const View qkv = ops.buffer(work_, N, 3 * H);
    const View ctx = ops.buffer(work_, N, H, N * 3 * H);
    const View ffn = ops.buffer(work_, N, I);
    const View cls = ops.buffer(cls_, S, H);
    const View clsQ = ops.buffer(cls_, S, H, S * H);
    const View clsCtx = ops.buffer(cls_, S, H, 2 * S * H);
    const View clsTmp = ops.buffer(cls_, S, H, 3 * S * H);
    const View clsFfn = ops.buffer(cls_, S, I, 4 * S * H);

    EmbedArgs e;
    e.words = words_;
    e.types = types_;
    e.positions = positions_;
    e.gamma = embGamma_;
    e.beta = embBeta_;
    e.eps = eps_;
    e.out = hidden;
    ops.embed(e);

    for (size_t l = 0; l < layers_.size(); ++l) {
      if (ops.cancelled()) return false;
      const Layer& w = layers_[l];
      if (l + 1 < layers_.size()) {
        ops.linear(hidden, w.qkv, qkv);
        ops.attention(selfAttention(qkv.columns(0, H), qkv.columns(H, H), qkv.columns(2 * H, H), ctx, QueryRows::All));
        ops.linear(ctx, w.out, residual);
        ops.norm(postNorm(residual, &hidden, w.norm1Gamma, w.norm1Beta, hidden));
        ops.linear(hidden, w.ffnIn, ffn, act_);
        ops.linear(ffn, w.ffnOut, residual);
        ops.norm(postNorm(residual, &hidden, w.norm2Gamma, w.norm2Beta, hidden));
        continue;
      }
      // The last layer: keys and values of every token (parts 1 and 2 of q|k|v), the rest for first tokens only.
      const View kv = ops.buffer(work_, N, 2 * H);
      ops.linear(hidden, w.qkv, kv, Activation::None, 1, 2);
      ops.firstTokens(hidden, cls);
      ops.linear(cls, w.qkv, clsQ, Activation::None, 0, 1);
      ops.attention(selfAttention(clsQ, kv.columns(0, H), kv.columns(H, H), clsCtx, QueryRows::First));
      ops.linear(clsCtx, w.out, clsTmp);
      ops.norm(postNorm(clsTmp, &cls, w.norm1Gamma, w.norm1Beta, cls));
      ops.linear(cls, w.ffnIn, clsFfn, act_);
      ops.linear(clsFfn, w.ffnOut, clsTmp);
      ops.norm(postNorm(clsTmp, &cls, w.norm2Gamma, w.norm2Beta, cls));
    }
    ops.linear(cls, headDense_, clsTmp, Activation::Tanh);
    ops.logits(clsTmp, headOut_);
    return true;
  }

 private:
  struct Layer {
    ParamId qkv, out, norm1Gamma, norm1Beta, ffnIn, ffnOut, norm2Gamma, norm2Beta;
  };

  NormArgs postNorm(const View& x, const View* residual, ParamId gamma, ParamId beta, const View& out) const {
    NormArgs n;
    n.x = x;
    n.residual = residual;
    n.gamma = gamma;
    n.beta = beta;
    n.eps = eps_;
    n.out = out;
    return n;
  }

  AttentionArgs selfAttention(const View& q, const View& k, const View& v, const View& out, QueryRows rows) const {
    AttentionArgs a;
    a.q = q;
    a.k = k;
    a.v = v;
    a.out = out;
    a.heads = info_.numHeads;
    a.headDim = info_.headDim;
    a.queries = rows;
    return a;
  }

  Activation act_ = Activation::GeluErf;
  float eps_ = 1e-12f;
  ParamId words_, positions_, types_, embGamma_, embBeta_, headDense_, headOut_;
  std::vector<Layer> layers_;
  int hidden_, residual_, work_, cls_;
};

}  // namespace

std::unique_ptr<Model> createBert(const ConfigReader& config, const std::string& architecture) {
  return std::make_unique<Bert>(config, architecture);
}

}  // namespace trt_rerank::models
