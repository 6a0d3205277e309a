// models::ConfigReader over a parsed config.json (a plain JS object). Used on the JS thread only, while the
// object is alive.
#pragma once

#include <napi.h>

#include <map>
#include <memory>
#include <string>

#include "models/model.h"

namespace trt_rerank {

class JsConfigReader final : public models::ConfigReader {
 public:
  JsConfigReader(Napi::Object object, std::string where) : object_(object), where_(std::move(where)) {}

  bool has(const std::string& key) const override;
  std::optional<double> number(const std::string& key) const override;
  std::optional<bool> boolean(const std::string& key) const override;
  std::optional<std::string> string(const std::string& key) const override;
  std::optional<std::vector<std::string>> strings(const std::string& key) const override;
  std::optional<std::vector<std::string>> keys(const std::string& key) const override;
  const ConfigReader* object(const std::string& key) const override;
  std::string where() const override { return where_; }

 private:
  // The value at key; nullopt-like (undefined) when absent or null.
  Napi::Value value(const std::string& key) const;

  Napi::Object object_;
  std::string where_;
  mutable std::map<std::string, std::unique_ptr<JsConfigReader>> children_;
};

// The model config.json describes (models::createModel), its errors thrown as coded JS errors. `options`: the
// JS ModelOptions ({labelTokenIds?: [no, yes]}), or undefined.
std::shared_ptr<const models::Model> modelFromJs(const Napi::Object& config, const Napi::Value& options);

// describeModel(config, options?): what the model reads and needs, for lib/model/plan.ts: its info and tensor
// list (each tensor once, also when two params read it).
Napi::Value describeModel(const Napi::CallbackInfo& info);

}  // namespace trt_rerank
