// One factory per model file; models/model.cc maps config.json architectures to them.
#pragma once

#include <memory>
#include <string>

#include "models/model.h"

namespace trt_rerank::models {

std::unique_ptr<Model> createBert(const ConfigReader& config, const std::string& architecture);                                // bert.cc
std::unique_ptr<Model> createModernBert(const ConfigReader& config, const std::string& architecture);                          // modernbert.cc
std::unique_ptr<Model> createQwen3(const ConfigReader& config, const std::string& architecture, const ModelOptions& options);  // qwen3.cc

}  // namespace trt_rerank::models
