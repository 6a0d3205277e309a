// config.json as a model file reads it: typed look-ups that fail with an error naming the field, what was expected
// and what came (ERR_MODEL_INVALID), so a model declares each field it reads in one place (models/*.cc).
// The binding implements it over the parsed JSON object (binding/config_from_js.cc); tests can implement it over
// anything else.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "common/errors.h"

namespace trt_rerank::models {

class ConfigReader {
 public:
  virtual ~ConfigReader() = default;
  virtual bool has(const std::string& key) const = 0;
  // Absent keys (or JSON null) give nullopt; a present value of the wrong type throws.
  virtual std::optional<double> number(const std::string& key) const = 0;
  virtual std::optional<bool> boolean(const std::string& key) const = 0;
  virtual std::optional<std::string> string(const std::string& key) const = 0;
  virtual std::optional<std::vector<std::string>> strings(const std::string& key) const = 0;
  // Keys of a nested object (id2label), or nullopt.
  virtual std::optional<std::vector<std::string>> keys(const std::string& key) const = 0;
  // A nested object, read the same way (rope_parameters); nullptr when absent.
  virtual const ConfigReader* object(const std::string& key) const = 0;
  // "config.json" or "config.json: rope_parameters.full_attention": where the fields live, for messages.
  virtual std::string where() const = 0;

  // ---- checked helpers (every model reads its fields through these) ----

  [[noreturn]] void invalid(const std::string& key, const std::string& what) const {
    throw NativeError(kErrModelInvalid, where() + ": \"" + key + "\" " + what);
  }

  // An integer in [min, max]; `fallback` when absent (no fallback: required).
  int64_t integer(const std::string& key, int64_t min, int64_t max, std::optional<int64_t> fallback = std::nullopt) const {
    const std::optional<double> v = number(key);
    if (!v) {
      if (fallback) return *fallback;
      invalid(key, "is required (an integer from " + std::to_string(min) + " to " + std::to_string(max) + ")");
    }
    // Range first: converting NaN, an infinity or anything past int64 to an integer is undefined behaviour.
    if (!(*v >= static_cast<double>(min) && *v <= static_cast<double>(max)) || *v != std::trunc(*v)) {
      invalid(key, "must be an integer from " + std::to_string(min) + " to " + std::to_string(max) + ", got " + format(*v));
    }
    return static_cast<int64_t>(*v);
  }

  // A finite number in (lowExclusive, high]; `fallback` when absent.
  double positive(const std::string& key, double fallback, double high = 1e30) const {
    const double v = number(key).value_or(fallback);
    if (!(v > 0.0) || !(v <= high)) invalid(key, "must be a positive number up to " + format(high) + ", got " + format(v));
    return v;
  }

  bool flag(const std::string& key, bool fallback) const { return boolean(key).value_or(fallback); }

  std::string text(const std::string& key, const std::string& fallback) const { return string(key).value_or(fallback); }

  // One of `allowed`, or `fallback` when absent.
  std::string choice(const std::string& key, const std::vector<std::string>& allowed, const std::string& fallback) const {
    const std::string v = text(key, fallback);
    for (const std::string& a : allowed) {
      if (a == v) return v;
    }
    std::string list;
    for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + ("\"" + a + "\"");
    invalid(key, "must be one of " + list + ", got \"" + v + "\"");
  }

  // Shortest form a person reads ("1e+09", "0.5", "nan"), not std::to_string's 300 digits.
  static std::string format(double v) {
    char text[32];
    std::snprintf(text, sizeof(text), "%.10g", v);
    return text;
  }
};

}  // namespace trt_rerank::models
