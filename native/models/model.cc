// The registry of architectures (config.json architectures[0] -> the file that defines it) and what every model
// file shares: declaring params and buffers, reading num_labels and activation names.
#include "models/model.h"

#include <utility>

#include "models/families.h"

namespace trt_rerank::models {
namespace {

struct Family {
  const char* architecture;
  std::unique_ptr<Model> (*create)(const ConfigReader&, const std::string& architecture, const ModelOptions&);
};

// Encoders read config.json only.
template <std::unique_ptr<Model> (*create)(const ConfigReader&, const std::string&)>
std::unique_ptr<Model> encoder(const ConfigReader& config, const std::string& architecture, const ModelOptions&) {
  return create(config, architecture);
}

const Family kFamilies[] = {
    {"BertForSequenceClassification", encoder<createBert>},
    {"XLMRobertaForSequenceClassification", encoder<createBert>},
    {"RobertaForSequenceClassification", encoder<createBert>},
    {"ModernBertForSequenceClassification", encoder<createModernBert>},
    {"Qwen3ForCausalLM", createQwen3},
    {"Qwen3ForSequenceClassification", createQwen3},
};

}  // namespace

const std::vector<std::string>& supportedArchitectures() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (const Family& f : kFamilies) out.emplace_back(f.architecture);
    return out;
  }();
  return names;
}

std::unique_ptr<Model> createModel(const ConfigReader& config, const ModelOptions& options) {
  const std::optional<std::vector<std::string>> architectures = config.strings("architectures");
  const std::string architecture = architectures && !architectures->empty() ? (*architectures)[0] : "";
  for (const Family& f : kFamilies) {
    if (architecture == f.architecture) return f.create(config, architecture, options);
  }
  std::string list;
  for (const std::string& a : supportedArchitectures()) list += (list.empty() ? "" : ", ") + a;
  throw NativeError(kErrModelUnsupported, "unsupported architecture " + (architecture.empty() ? std::string("null") : "\"" + architecture + "\"") +
                                              ": trt-rerank runs " + list);
}

ParamId Model::linear(std::vector<std::string> weights, std::vector<int64_t> rows, int64_t cols, std::vector<std::string> biases) {
  ParamDecl d;
  d.kind = ParamDecl::Kind::Linear;
  d.parts = std::move(weights);
  d.partRows = std::move(rows);
  d.cols = cols;
  d.biasParts = std::move(biases);
  params_.push_back(std::move(d));
  return static_cast<ParamId>(params_.size() - 1);
}

ParamId Model::pickedRows(const std::string& weight, int64_t sourceRows, int64_t cols, std::vector<int64_t> rows) {
  ParamDecl d;
  d.kind = ParamDecl::Kind::Linear;
  d.parts = {weight};
  d.partRows = {static_cast<int64_t>(rows.size())};
  d.cols = cols;
  d.pickedRows = std::move(rows);
  d.sourceRows = sourceRows;
  params_.push_back(std::move(d));
  return static_cast<ParamId>(params_.size() - 1);
}

ParamId Model::table(const std::string& name, int64_t rows, int64_t cols) {
  ParamDecl d;
  d.kind = ParamDecl::Kind::Table;
  d.parts = {name};
  d.partRows = {rows};
  d.cols = cols;
  params_.push_back(std::move(d));
  return static_cast<ParamId>(params_.size() - 1);
}

ParamId Model::vector(const std::string& name, int64_t n) {
  ParamDecl d;
  d.kind = ParamDecl::Kind::Vector;
  d.parts = {name};
  d.partRows = {n};
  d.cols = 1;
  params_.push_back(std::move(d));
  return static_cast<ParamId>(params_.size() - 1);
}

int Model::buffer(int64_t perToken, int64_t perSequence, bool fp32) {
  buffers_.push_back({perToken, perSequence, fp32});
  return static_cast<int>(buffers_.size() - 1);
}

int readNumLabels(const ConfigReader& config) {
  const std::optional<std::vector<std::string>> labels = config.keys("id2label");
  const int64_t n = config.integer("num_labels", 1, 1 << 20, labels ? static_cast<int64_t>(labels->size()) : 2);
  if (n != 1 && n != 2) {
    throw NativeError(kErrModelUnsupported, config.where() + ": a cross-encoder has 1 or 2 labels; this model has " + std::to_string(n));
  }
  return static_cast<int>(n);
}

Activation readActivation(const ConfigReader& config, const std::string& key, const std::string& fallback) {
  // transformers' ACT2FN names -> the functions the backends implement.
  static const std::pair<const char*, Activation> kNames[] = {
      {"gelu", Activation::GeluErf},
      {"gelu_new", Activation::GeluTanh},
      {"gelu_pytorch_tanh", Activation::GeluTanh},
      {"gelu_fast", Activation::GeluTanh},
      {"relu", Activation::Relu},
      {"silu", Activation::Silu},
      {"swish", Activation::Silu},
  };
  const std::string name = config.text(key, fallback);
  for (const auto& [n, act] : kNames) {
    if (name == n) return act;
  }
  std::string list;
  for (const auto& [n, act] : kNames) list += (list.empty() ? "" : ", ") + std::string(n);
  throw NativeError(kErrModelUnsupported, config.where() + ": " + key + " \"" + name + "\" is not supported: use one of " + list);
}

}  // namespace trt_rerank::models
