// Qwen3 rerankers, as transformers defines the Qwen3 decoder (Qwen3Model) and the Qwen3-Reranker model card
// scores it:
//   Qwen3ForCausalLM (Qwen/Qwen3-Reranker-0.6B / 4B / 8B): logits = the LM head's "no" and "yes" rows at each
//     sequence's last token, so the raw score is logit(yes) - logit(no) and its sigmoid P(yes) over {no, yes};
//     the rest of the 151k-row vocabulary projection is never computed.
//   Qwen3ForSequenceClassification (converted "-seq-cls" checkpoints): score [labels, H] at the last token.
//
//   h = embed_tokens[id]                                                                   [N, H] (fp32 stream)
//   every layer l (pre-norm, RMSNorm):
//     x = input_layernorm(h)
//     q|k|v = x Wqkv^T (+ b)       q [N, heads * D], k and v [N, kvHeads * D] (q_proj | k_proj | v_proj fused)
//     q, k = RoPE(q_norm(q), k_norm(k))    per-head RMSNorm over D, then rotate_half RoPE at positions 0..
//     h = h + causal_attention(q, k, v) Wo^T        query head j reads K/V head j / (heads / kvHeads)
//     h = h + down(silu(gate(x')) * up(x')),  x' = post_attention_layernorm(h)   (gate | up fused: [2I, H])
//   logits = head(norm(h[last token]))
//
// Only each sequence's last token is read, and rows do not mix after attention: the last layer computes q, k, v
// for every token (later tokens' keys) but attention's output, the MLP, the final norm and the head for the last
// token alone. Each residual add is fused into the RMSNorm that follows it.
//
// The model is causal, so a prefix shared by the pairs of a batch (the system prompt, instruction and query of
// the reranker's template) is computed once per batch: see models/ops.h, contexts.
//
// config.json in both dialects: top-level rope_theta (transformers 4.51+) and transformers 5's rope_parameters.
#include <algorithm>
#include <string>

#include "models/families.h"

namespace trt_rerank::models {
namespace {

class Qwen3 final : public Model {
 public:
  Qwen3(const ConfigReader& c, const std::string& architecture, const ModelOptions& options) {
    const bool causalLm = architecture == "Qwen3ForCausalLM";
    info_.architecture = architecture;
    info_.family = "qwen3";
    info_.modelType = c.text("model_type", "qwen3");
    info_.tensorPrefix = "model.";
    info_.pooling = "last";
    info_.causal = true;
    const int64_t H = c.integer("hidden_size", 1, limits::kMaxHidden);
    const int64_t heads = c.integer("num_attention_heads", 1, limits::kMaxHeads);
    const int64_t kvHeads = c.integer("num_key_value_heads", 1, limits::kMaxHeads, heads);
    if (heads % kvHeads != 0) {
      c.invalid("num_key_value_heads", std::to_string(kvHeads) + " does not divide num_attention_heads " + std::to_string(heads));
    }
    // Qwen3 states head_dim (128 for every size, so heads x head_dim need not be hidden_size).
    const int64_t D = c.integer("head_dim", 2, 1024, H % heads == 0 ? std::optional<int64_t>(H / heads) : std::nullopt);
    if (D % 2 != 0) c.invalid("head_dim", "must be even for rotary embeddings, got " + std::to_string(D));
    const int64_t layers = c.integer("num_hidden_layers", 1, limits::kMaxLayers);
    const int64_t I = c.integer("intermediate_size", 1, limits::kMaxIntermediate);
    const int64_t vocab = c.integer("vocab_size", 1, limits::kMaxVocab);
    const int64_t maxPositions = c.integer("max_position_embeddings", 4, limits::kMaxPositions, 40960);
    const std::optional<double> pad = c.number("pad_token_id");
    info_.padTokenId = pad && *pad >= 0 && *pad < static_cast<double>(vocab) && *pad == static_cast<int64_t>(*pad) ? static_cast<int>(*pad) : 0;
    eps_ = static_cast<float>(c.positive("rms_norm_eps", 1e-6, 1.0));
    const bool attentionBias = c.flag("attention_bias", false);
    act_ = readActivation(c, "hidden_act", "silu");
    readAttentionLayout(c, layers);
    theta_ = readRopeTheta(c);
    const bool tied = c.flag("tie_word_embeddings", false);

    info_.hiddenSize = static_cast<int>(H);
    info_.numHeads = static_cast<int>(heads);
    info_.numKvHeads = static_cast<int>(kvHeads);
    info_.headDim = static_cast<int>(D);
    info_.numLayers = static_cast<int>(layers);
    info_.intermediateSize = static_cast<int>(I);
    info_.vocabSize = static_cast<int>(vocab);
    info_.typeVocabSize = 0;
    info_.maxSequenceLength = static_cast<int>(maxPositions);
    info_.positions = PositionRule::Sequential;
    const int64_t qWidth = heads * D, kvWidth = kvHeads * D;
    info_.gemmFlopsPerToken = 2.0 * static_cast<double>(layers) * (static_cast<double>(H) * (qWidth + 2 * kvWidth) + qWidth * H + 3.0 * H * I);

    const auto bias = [&](const std::string& name) { return attentionBias ? std::vector<std::string>{name} : std::vector<std::string>{}; };
    words_ = table("embed_tokens.weight", vocab, H);
    for (int64_t l = 0; l < layers; ++l) {
      const std::string p = "layers." + std::to_string(l) + ".";
      Layer layer;
      layer.inputNorm = vector(p + "input_layernorm.weight", H);
      layer.qkv = linear({p + "self_attn.q_proj.weight", p + "self_attn.k_proj.weight", p + "self_attn.v_proj.weight"}, {qWidth, kvWidth, kvWidth}, H,
                         attentionBias ? std::vector<std::string>{p + "self_attn.q_proj.bias", p + "self_attn.k_proj.bias", p + "self_attn.v_proj.bias"}
                                       : std::vector<std::string>{});
      layer.qNorm = vector(p + "self_attn.q_norm.weight", D);
      layer.kNorm = vector(p + "self_attn.k_norm.weight", D);
      layer.out = linear({p + "self_attn.o_proj.weight"}, {H}, qWidth, bias(p + "self_attn.o_proj.bias"));
      layer.postNorm = vector(p + "post_attention_layernorm.weight", H);
      layer.gateUp = linear({p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"}, {I, I}, H, {});
      layer.down = linear({p + "mlp.down_proj.weight"}, {H}, I, {});
      layers_.push_back(layer);
    }
    finalNorm_ = vector("norm.weight", H);
    if (causalLm) {
      if (options.labelTokens.size() != 2) {
        throw NativeError(kErrModelInvalid, c.where() + ": " + architecture +
                                                " is scored by its LM head's \"no\" and \"yes\" rows: load it with the ids of those tokens from its tokenizer");
      }
      for (int32_t id : options.labelTokens) {
        if (id < 0 || id >= vocab) {
          throw NativeError(kErrModelInvalid, c.where() + ": label token id " + std::to_string(id) + " is outside vocab_size " + std::to_string(vocab));
        }
      }
      info_.numLabels = 2;  // [no, yes]: the pipeline's raw score is logit 1 - logit 0
      head_ = pickedRows(tied ? "embed_tokens.weight" : "lm_head.weight", vocab, H, {options.labelTokens[0], options.labelTokens[1]});
    } else {
      info_.numLabels = readNumLabels(c);
      head_ = linear({"score.weight"}, {info_.numLabels}, H, {});
    }

    // Per token: the residual stream (fp32), the normed and projected rows, and one work buffer for q|k|v with the
    // attention output, later gate|up with the gated product. Per sequence, the same for the last token.
    hidden_ = buffer(H, 0, /*fp32=*/true);
    normed_ = buffer(H);
    tmp_ = buffer(H);
    work_ = buffer(std::max(2 * qWidth + 2 * kvWidth, 3 * I));
    lastHidden_ = buffer(0, H, /*fp32=*/true);
    lastNormed_ = buffer(0, H);
    lastTmp_ = buffer(0, H);
    lastWork_ = buffer(0, std::max(qWidth, 3 * I));
  }

  bool forward(Ops& ops, const BatchShape& b) const override {
    const int64_t N = b.tokens, S = b.sequences, H = info_.hiddenSize, I = info_.intermediateSize;
    const int64_t qWidth = static_cast<int64_t>(info_.numHeads) * info_.headDim, kvWidth = static_cast<int64_t>(info_.numKvHeads) * info_.headDim;
    const View hidden = ops.buffer(hidden_, N, H);
    const View normed = ops.buffer(normed_, N, H);
    const View tmp = ops.buffer(tmp_, N, H);
    const View qkv = ops.buffer(work_, N, qWidth + 2 * kvWidth);
    const View ctx = ops.buffer(work_, N, qWidth, N * (qWidth + 2 * kvWidth));
    const View gateUp = ops.buffer(work_, N, 2 * I);
    const View gated = ops.buffer(work_, N, I, N * 2 * I);
    const View lastHidden = ops.buffer(lastHidden_, S, H);
    const View lastNormed = ops.buffer(lastNormed_, S, H);
    const View lastTmp = ops.buffer(lastTmp_, S, H);
    const View lastCtx = ops.buffer(lastWork_, S, qWidth);
    const View lastGateUp = ops.buffer(lastWork_, S, 2 * I);
    const View lastGated = ops.buffer(lastWork_, S, I, S * 2 * I);

    // h = embed_tokens[id] (into tmp); the stream starts as its fp32 copy, and normed = layer 0's input_layernorm(h).
    EmbedArgs e;
    e.words = words_;
    e.out = tmp;
    ops.embed(e);
    ops.norm(rms(tmp, nullptr, &hidden, layers_[0].inputNorm, normed));

    for (size_t l = 0; l < layers_.size(); ++l) {
      if (ops.cancelled()) return false;
      const Layer& w = layers_[l];
      const bool last = l + 1 == layers_.size();
      ops.linear(normed, w.qkv, qkv);
      AttentionArgs a;
      a.q = qkv.columns(0, qWidth);
      a.k = qkv.columns(qWidth, kvWidth);
      a.v = qkv.columns(qWidth + kvWidth, kvWidth);
      a.out = last ? lastCtx : ctx;
      a.heads = info_.numHeads;
      a.kvHeads = info_.numKvHeads;
      a.headDim = info_.headDim;
      a.queries = last ? QueryRows::Last : QueryRows::All;
      a.causal = true;
      a.qNorm = w.qNorm;
      a.kNorm = w.kNorm;
      a.normEps = eps_;
      a.ropeTheta = static_cast<float>(theta_);
      ops.attention(a);
      if (!last) {
        ops.linear(ctx, w.out, tmp);
        ops.norm(rms(tmp, &hidden, &hidden, w.postNorm, normed));  // h += attention; normed = post_attention_layernorm(h)
        ops.gatedLinear(normed, w.gateUp, gateUp, act_, gated);
        ops.linear(gated, w.down, tmp);
        ops.norm(rms(tmp, &hidden, &hidden, layers_[l + 1].inputNorm, normed));  // h += mlp; normed = next input_layernorm(h)
        continue;
      }
      // The last layer past attention: each sequence's last token only.
      ops.linear(lastCtx, w.out, lastTmp);
      ops.lastTokens(hidden, lastHidden);
      ops.norm(rms(lastTmp, &lastHidden, &lastHidden, w.postNorm, lastNormed));
      ops.gatedLinear(lastNormed, w.gateUp, lastGateUp, act_, lastGated);
      ops.linear(lastGated, w.down, lastTmp);
      ops.norm(rms(lastTmp, &lastHidden, nullptr, finalNorm_, lastNormed));  // norm(h) at the last token
    }
    ops.logits(lastNormed, head_);
    return true;
  }

 private:
  struct Layer {
    ParamId inputNorm, qkv, qNorm, kNorm, out, postNorm, gateUp, down;
  };

  NormArgs rms(const View& x, const View* residual, const View* sum, ParamId gamma, const View& out) const {
    NormArgs n;
    n.x = x;
    n.residual = residual;
    n.sum = sum;
    n.gamma = gamma;
    n.eps = eps_;
    n.kind = NormKind::RmsNorm;
    n.out = out;
    return n;
  }

  // Every layer attends to every earlier token: a sliding window (use_sliding_window, layer_types) is refused, as no
  // published Qwen3 reranker has one.
  static void readAttentionLayout(const ConfigReader& c, int64_t layers) {
    if (c.flag("use_sliding_window", false)) {
      throw NativeError(kErrModelUnsupported, c.where() + ": use_sliding_window true is not supported (every layer must attend to all earlier tokens)");
    }
    const std::optional<std::vector<std::string>> types = c.strings("layer_types");
    if (!types) return;
    if (static_cast<int64_t>(types->size()) != layers) {
      c.invalid("layer_types", "has " + std::to_string(types->size()) + " entries but num_hidden_layers is " + std::to_string(layers));
    }
    for (const std::string& t : *types) {
      if (t != "full_attention") {
        throw NativeError(kErrModelUnsupported, c.where() + ": layer_types entry \"" + t + "\" is not supported: only \"full_attention\"");
      }
    }
  }

  // rope_parameters (transformers 5: {rope_type, rope_theta}, or one such object per layer type), else rope_theta
  // with rope_scaling (older configs); Qwen3Config's default theta is 10000. Only the default RoPE type runs.
  static double readRopeTheta(const ConfigReader& c) {
    double theta = c.positive("rope_theta", 10000.0);
    const auto readType = [](const ConfigReader& p) {
      const std::string type = p.text("rope_type", p.text("type", "default"));
      if (type != "default") {
        throw NativeError(kErrModelUnsupported, p.where() + ": rope_type \"" + type + "\" is not supported: only \"default\"");
      }
    };
    if (const ConfigReader* scaling = c.object("rope_scaling")) readType(*scaling);
    if (const ConfigReader* rope = c.object("rope_parameters")) {
      const ConfigReader* p = rope->has("rope_theta") || rope->has("rope_type") ? rope : rope->object("full_attention");
      if (p) {
        readType(*p);
        theta = p->positive("rope_theta", theta);
      }
    }
    return theta;
  }

  Activation act_ = Activation::Silu;
  float eps_ = 1e-6f;
  double theta_ = 10000.0;
  ParamId words_ = kNoParam, finalNorm_ = kNoParam, head_ = kNoParam;
  std::vector<Layer> layers_;
  int hidden_, normed_, tmp_, work_, lastHidden_, lastNormed_, lastTmp_, lastWork_;
};

}  // namespace

std::unique_ptr<Model> createQwen3(const ConfigReader& config, const std::string& architecture, const ModelOptions& options) {
  return std::make_unique<Qwen3>(config, architecture, options);
}

}  // namespace trt_rerank::models
