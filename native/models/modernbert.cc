// ModernBERT cross-encoders (ModernBertForSequenceClassification, e.g. Alibaba-NLP/gte-reranker-modernbert-base),
// as transformers defines it:
//
//   h = LayerNorm(tok_embeddings[id])              (no position table: RoPE in attention)            [N, H]
//   every layer l (pre-LN; layer 0's attn_norm is the identity):
//     q|k|v = attn_norm(h) Wqkv^T (+ b)                                                               [N, 3H]
//     q, k = RoPE(q, k) at positions 0.. of each sequence, theta by layer type
//     h = h + attention(q, k, v) Wo^T          global layers: every key; sliding layers: |i - j| <= local_attention / 2
//     h = h + Wo2 (act(x Wi_in^T) * (x Wi_gate^T)),  x = mlp_norm(h)   (GeGLU: Wi is [2I, H], input | gate)
//   h = final_norm(h); pooled = h[first token] (classifier_pooling "cls") or the mean over the sequence ("mean")
//   logits = classifier(head.norm(act(head.dense(pooled))))
//
// Each residual add is fused into the norm that follows it (ops.norm writes the sum and the normalised rows).
// config.json in both dialects: transformers 4.48+ (global_attn_every_n_layers, global_rope_theta, local_rope_theta)
// and transformers 5 (layer_types, rope_parameters per layer type).
#include <string>

#include "models/families.h"

namespace trt_rerank::models {
namespace {

class ModernBert final : public Model {
 public:
  ModernBert(const ConfigReader& c, const std::string& architecture) {
    info_.architecture = architecture;
    info_.family = "modernbert";
    info_.modelType = c.text("model_type", "modernbert");
    info_.tensorPrefix = "model.";
    info_.numLabels = readNumLabels(c);
    const int64_t H = c.integer("hidden_size", 1, limits::kMaxHidden);
    const int64_t heads = c.integer("num_attention_heads", 1, limits::kMaxHeads);
    if (H % heads != 0) {
      c.invalid("hidden_size", std::to_string(H) + " is not a multiple of num_attention_heads " + std::to_string(heads));
    }
    if ((H / heads) % 2 != 0) c.invalid("hidden_size", "gives heads of odd size " + std::to_string(H / heads) + "; rotary embeddings need an even size");
    const int64_t layers = c.integer("num_hidden_layers", 1, limits::kMaxLayers);
    const int64_t I = c.integer("intermediate_size", 1, limits::kMaxIntermediate);
    const int64_t vocab = c.integer("vocab_size", 1, limits::kMaxVocab);
    const int64_t maxPositions = c.integer("max_position_embeddings", 4, limits::kMaxPositions, 8192);
    info_.padTokenId = static_cast<int>(c.integer("pad_token_id", 0, vocab - 1, std::min<int64_t>(50283, vocab - 1)));
    eps_ = static_cast<float>(c.positive("norm_eps", 1e-5, 1.0));
    const bool normBias = c.flag("norm_bias", false);
    const bool attentionBias = c.flag("attention_bias", false);
    const bool mlpBias = c.flag("mlp_bias", false);
    const bool classifierBias = c.flag("classifier_bias", false);
    act_ = readActivation(c, "hidden_activation", "gelu");
    headAct_ = readActivation(c, "classifier_activation", "gelu");
    info_.pooling = c.choice("classifier_pooling", {"cls", "mean"}, "cls");
    const int64_t localAttention = c.integer("local_attention", 2, limits::kMaxPositions, 128);
    if (localAttention % 2 != 0) c.invalid("local_attention", "must be even (the window is half on each side of a token), got " + std::to_string(localAttention));
    readLayerTypes(c, layers);
    readRopeThetas(c);

    info_.hiddenSize = static_cast<int>(H);
    info_.numHeads = static_cast<int>(heads);
    info_.numKvHeads = static_cast<int>(heads);
    info_.headDim = static_cast<int>(H / heads);
    info_.numLayers = static_cast<int>(layers);
    info_.intermediateSize = static_cast<int>(I);
    info_.vocabSize = static_cast<int>(vocab);
    info_.typeVocabSize = 0;
    info_.maxSequenceLength = static_cast<int>(maxPositions);
    info_.positions = PositionRule::Sequential;
    info_.gemmFlopsPerToken = 2.0 * static_cast<double>(layers) * (4.0 * H * H + 3.0 * H * I);
    window_ = static_cast<int>(localAttention / 2);

    const auto bias = [](bool on, const std::string& name) { return on ? std::vector<std::string>{name} : std::vector<std::string>{}; };
    const auto norm = [&](const std::string& name) { return Norm{vector(name + ".weight", H), normBias ? vector(name + ".bias", H) : kNoParam}; };
    words_ = table("embeddings.tok_embeddings.weight", vocab, H);
    embNorm_ = norm("embeddings.norm");
    for (int64_t l = 0; l < layers; ++l) {
      const std::string p = "layers." + std::to_string(l) + ".";
      Layer layer;
      if (l > 0) layer.attnNorm = norm(p + "attn_norm");
      layer.qkv = linear({p + "attn.Wqkv.weight"}, {3 * H}, H, bias(attentionBias, p + "attn.Wqkv.bias"));
      layer.out = linear({p + "attn.Wo.weight"}, {H}, H, bias(attentionBias, p + "attn.Wo.bias"));
      layer.mlpNorm = norm(p + "mlp_norm");
      layer.wi = linear({p + "mlp.Wi.weight"}, {2 * I}, H, bias(mlpBias, p + "mlp.Wi.bias"));
      layer.wo = linear({p + "mlp.Wo.weight"}, {H}, I, bias(mlpBias, p + "mlp.Wo.bias"));
      layers_.push_back(layer);
    }
    finalNorm_ = norm("final_norm");
    headDense_ = linear({"head.dense.weight"}, {H}, H, bias(classifierBias, "head.dense.bias"));
    headNorm_ = norm("head.norm");
    classifier_ = linear({"classifier.weight"}, {info_.numLabels}, H, {"classifier.bias"});
    // hidden (the residual stream, in fp32), normed and tmp [N, H]; work [N, max(3H + H, 2I + I)]: q|k|v and the
    // attention output, later Wi's output and the gated product; per sequence: the pooled rows and the head's.
    hidden_ = buffer(H, 0, /*fp32=*/true);
    normed_ = buffer(H);
    tmp_ = buffer(H);
    work_ = buffer(std::max(4 * H, 3 * I));
    pooled_ = buffer(0, 2 * H);
  }

  bool forward(Ops& ops, const BatchShape& b) const override {
    const int64_t N = b.tokens, S = b.sequences, H = info_.hiddenSize, I = info_.intermediateSize;
    const View hidden = ops.buffer(hidden_, N, H);
    const View normed = ops.buffer(normed_, N, H);
    const View tmp = ops.buffer(tmp_, N, H);
    const View qkv = ops.buffer(work_, N, 3 * H);
    const View ctx = ops.buffer(work_, N, H, N * 3 * H);
    const View wi = ops.buffer(work_, N, 2 * I);
    const View gated = ops.buffer(work_, N, I, N * 2 * I);
    const View pooled = ops.buffer(pooled_, S, H);
    const View head = ops.buffer(pooled_, S, H, S * H);

    // The embeddings, normalised, are layer 0's input and the residual stream's start; the stream itself (hidden,
    // fp32) begins at layer 0's first add.
    EmbedArgs e;
    e.words = words_;
    e.gamma = embNorm_.gamma;
    e.beta = embNorm_.beta;
    e.eps = eps_;
    e.out = normed;
    ops.embed(e);

    for (size_t l = 0; l < layers_.size(); ++l) {
      if (ops.cancelled()) return false;
      const Layer& w = layers_[l];
      // `normed` is attn_norm(h), written by the previous layer's last fused add + norm; layer 0 (no attn_norm)
      // reads the embeddings there.
      ops.linear(normed, w.qkv, qkv);
      AttentionArgs a;
      a.q = qkv.columns(0, H);
      a.k = qkv.columns(H, H);
      a.v = qkv.columns(2 * H, H);
      a.out = ctx;
      a.heads = info_.numHeads;
      a.headDim = info_.headDim;
      a.window = global_[l] ? -1 : window_;
      a.ropeTheta = static_cast<float>(global_[l] ? globalTheta_ : localTheta_);
      ops.attention(a);
      ops.linear(ctx, w.out, tmp);
      ops.norm(norm(tmp, l == 0 ? &normed : &hidden, &hidden, w.mlpNorm, normed));  // h += attention; normed = mlp_norm(h)
      ops.gatedLinear(normed, w.wi, wi, act_, gated);
      ops.linear(gated, w.wo, tmp);
      const Norm& next = l + 1 < layers_.size() ? layers_[l + 1].attnNorm : finalNorm_;
      ops.norm(norm(tmp, &hidden, &hidden, next, normed));  // h += mlp; normed = next attn_norm(h) or final_norm(h)
    }
    if (info_.pooling == "mean") {
      ops.meanPool(normed, pooled);
    } else {
      ops.firstTokens(normed, pooled);
    }
    ops.linear(pooled, headDense_, head, headAct_);
    ops.norm(norm(head, nullptr, nullptr, headNorm_, head));
    ops.logits(head, classifier_);
    return true;
  }

 private:
  struct Norm {
    ParamId gamma = kNoParam;
    ParamId beta = kNoParam;
  };
  struct Layer {
    Norm attnNorm, mlpNorm;
    ParamId qkv, out, wi, wo;
  };

  NormArgs norm(const View& x, const View* residual, const View* sum, const Norm& weights, const View& out) const {
    NormArgs n;
    n.x = x;
    n.residual = residual;
    n.sum = sum;
    n.gamma = weights.gamma;
    n.beta = weights.beta;
    n.eps = eps_;
    n.out = out;
    return n;
  }

  // layer_types (transformers 5) or, in older configs, every global_attn_every_n_layers-th layer global.
  void readLayerTypes(const ConfigReader& c, int64_t layers) {
    const std::optional<std::vector<std::string>> types = c.strings("layer_types");
    if (types) {
      if (static_cast<int64_t>(types->size()) != layers) {
        c.invalid("layer_types", "has " + std::to_string(types->size()) + " entries but num_hidden_layers is " + std::to_string(layers));
      }
      for (const std::string& t : *types) {
        if (t != "full_attention" && t != "sliding_attention") {
          c.invalid("layer_types", "entries must be \"full_attention\" or \"sliding_attention\", got \"" + t + "\"");
        }
        global_.push_back(t == "full_attention");
      }
      return;
    }
    const int64_t every = c.integer("global_attn_every_n_layers", 1, limits::kMaxLayers, 3);
    for (int64_t l = 0; l < layers; ++l) global_.push_back(l % every == 0);
  }

  // rope_parameters.{full_attention, sliding_attention}.rope_theta (transformers 5), else global_rope_theta /
  // local_rope_theta, else transformers' defaults (160000, 10000). Only the default RoPE type is implemented.
  void readRopeThetas(const ConfigReader& c) {
    globalTheta_ = c.positive("global_rope_theta", 160000.0);
    localTheta_ = c.positive("local_rope_theta", 10000.0);
    const ConfigReader* rope = c.object("rope_parameters");
    if (!rope) return;
    const auto read = [&](const char* type, double& theta) {
      const ConfigReader* p = rope->object(type);
      if (!p) return;
      const std::string ropeType = p->text("rope_type", "default");
      if (ropeType != "default") {
        throw NativeError(kErrModelUnsupported, p->where() + ": rope_type \"" + ropeType + "\" is not supported: only \"default\"");
      }
      theta = p->positive("rope_theta", theta);
    };
    read("full_attention", globalTheta_);
    read("sliding_attention", localTheta_);
  }

  Activation act_ = Activation::GeluErf, headAct_ = Activation::GeluErf;
  float eps_ = 1e-5f;
  int window_ = 64;
  double globalTheta_ = 160000.0, localTheta_ = 10000.0;
  std::vector<bool> global_;
  ParamId words_ = kNoParam, headDense_ = kNoParam, classifier_ = kNoParam;
  Norm embNorm_, finalNorm_, headNorm_;
  std::vector<Layer> layers_;
  int hidden_, normed_, tmp_, work_, pooled_;
};

}  // namespace

std::unique_ptr<Model> createModernBert(const ConfigReader& config, const std::string& architecture) {
  return std::make_unique<ModernBert>(config, architecture);
}

}  // namespace trt_rerank::models
