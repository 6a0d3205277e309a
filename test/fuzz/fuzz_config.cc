// Fuzz target: config.json -> models::createModel, then every param's stored shapes (what describeModel lists)
// and picked rows (checkPickedRows). The input is config.json's text (plus "trt_rerank_fuzz_label_tokens", the
// label token ids a causal-LM reranker takes from tokenizer.json). A model must come out, or NativeError: the
// binding (modelFromJs) turns only NativeError into a JS error, so any other exception would terminate node.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "common/errors.h"
#include "common/model_spec.h"
#include "json.h"

using namespace trt_rerank;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::optional<fuzz::Json> json = fuzz::JsonParser::parse(reinterpret_cast<const char*>(data), size);
  if (!json || json->type != fuzz::Json::Type::Object) return 0;  // lib/model/config.ts rejects these before the addon
  try {
    fuzz::JsonConfigReader reader(*json, "config.json");
    const std::unique_ptr<models::Model> model = models::createModel(reader, fuzz::fuzzOptions(*json));
    const models::ModelInfo& info = model->info();
    if (info.hiddenSize <= 0 || info.numLayers <= 0 || info.vocabSize <= 0) std::abort();  // a model must be usable
    for (const models::ParamDecl& p : model->params()) {
      checkPickedRows(p);
      // What the loaders assume of every stored shape (common/model_spec.cc checkedTensor, cpu_weights.cc): positive
      // dimensions, rows and cols that fit an int (PackedLinear), and a byte count that fits 64 bits.
      for (size_t i = 0; i < p.parts.size(); ++i) {
        uint64_t bytes = 4;
        for (int64_t d : partShape(p, i)) {
          if (d <= 0 || d > INT32_MAX || __builtin_mul_overflow(bytes, static_cast<uint64_t>(d), &bytes)) {
            std::fprintf(stderr, "fuzz_config: tensor '%s' has a dimension %lld (<= 0, past int, or bytes past 64 bits)\n", p.parts[i].c_str(),
                         static_cast<long long>(d));
            std::abort();
          }
        }
      }
      for (size_t i = 0; i < p.biasParts.size(); ++i) (void)biasShape(p, i);
    }
  } catch (const NativeError& e) {
    if (std::getenv("TRT_RERANK_FUZZ_VERBOSE")) std::fprintf(stderr, "config refused: %s\n", e.what());  // the expected way to refuse
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz_config: %s escaped createModel: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  return 0;
}
