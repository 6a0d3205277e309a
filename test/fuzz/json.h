// A small JSON parser and a models::ConfigReader over it, for the fuzz harnesses (test/fuzz/*.cc): the addon reads
// config.json through JsConfigReader (native/binding/config_from_js.cc) over V8's JSON.parse, which a harness
// cannot link; this reader answers every look-up as that one does (null is absent, a wrong type throws
// ERR_MODEL_INVALID naming the field), so the model files see what they would see in the addon.
#pragma once

#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/config.h"

namespace trt_rerank::fuzz {

struct Json {
  enum class Type { Null,
                    Bool,
                    Number,
                    String,
                    Array,
                    Object } type = Type::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;  // in order; a repeated key: the last one wins (as JSON.parse)

  const Json* get(const std::string& key) const {
    const Json* found = nullptr;
    for (const auto& [k, v] : object) {
      if (k == key) found = &v;
    }
    return found;
  }
};

// JSON text -> Json, or nullopt where it is not JSON (or nests deeper than 64, or is past `limit` values).
class JsonParser {
 public:
  static std::optional<Json> parse(const char* data, size_t size) {
    JsonParser p(data, size);
    Json out;
    p.ws();
    if (!p.value(out, 0)) return std::nullopt;
    p.ws();
    if (p.i_ != p.n_) return std::nullopt;
    return out;
  }

 private:
  JsonParser(const char* d, size_t n) : d_(d), n_(n) {}

  void ws() {
    while (i_ < n_ && (d_[i_] == ' ' || d_[i_] == '\t' || d_[i_] == '\n' || d_[i_] == '\r')) ++i_;
  }
  bool lit(const char* s) {
    size_t k = 0;
    for (; s[k]; ++k) {
      if (i_ + k >= n_ || d_[i_ + k] != s[k]) return false;
    }
    i_ += k;
    return true;
  }
  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }
  bool hex4(unsigned& v) {
    if (i_ + 4 > n_) return false;
    v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = d_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return false;
    }
    return true;
  }
  bool str(std::string& out) {
    if (i_ >= n_ || d_[i_] != '"') return false;
    ++i_;
    while (i_ < n_) {
      const char c = d_[i_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= n_) return false;
      const char e = d_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp;
          if (!hex4(cp)) return false;
          utf8(out, cp);  // surrogates as WTF-8: only equality of names matters here
          break;
        }
        default: return false;
      }
    }
    return false;
  }
  bool num(double& out) {
    const size_t start = i_;
    if (i_ < n_ && d_[i_] == '-') ++i_;
    if (i_ >= n_) return false;
    if (d_[i_] == '0') {
      ++i_;
    } else if (d_[i_] >= '1' && d_[i_] <= '9') {
      while (i_ < n_ && d_[i_] >= '0' && d_[i_] <= '9') ++i_;
    } else {
      return false;
    }
    if (i_ < n_ && d_[i_] == '.') {
      ++i_;
      if (i_ >= n_ || d_[i_] < '0' || d_[i_] > '9') return false;
      while (i_ < n_ && d_[i_] >= '0' && d_[i_] <= '9') ++i_;
    }
    if (i_ < n_ && (d_[i_] == 'e' || d_[i_] == 'E')) {
      ++i_;
      if (i_ < n_ && (d_[i_] == '+' || d_[i_] == '-')) ++i_;
      if (i_ >= n_ || d_[i_] < '0' || d_[i_] > '9') return false;
      while (i_ < n_ && d_[i_] >= '0' && d_[i_] <= '9') ++i_;
    }
    const std::string text(d_ + start, i_ - start);
    out = std::strtod(text.c_str(), nullptr);  // overflow gives ±inf, as JSON.parse gives ±Infinity
    return true;
  }
  bool value(Json& out, int depth) {
    if (depth > 64 || ++values_ > 100000 || i_ >= n_) return false;
    const char c = d_[i_];
    if (c == 'n') return lit("null");
    if (c == 't') return out.type = Json::Type::Bool, out.boolean = true, lit("true");
    if (c == 'f') return out.type = Json::Type::Bool, lit("false");
    if (c == '"') return out.type = Json::Type::String, str(out.string);
    if (c == '[') {
      out.type = Json::Type::Array;
      ++i_;
      ws();
      if (i_ < n_ && d_[i_] == ']') return ++i_, true;
      for (;;) {
        out.array.emplace_back();
        ws();
        if (!value(out.array.back(), depth + 1)) return false;
        ws();
        if (i_ < n_ && d_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < n_ && d_[i_] == ']') return ++i_, true;
        return false;
      }
    }
    if (c == '{') {
      out.type = Json::Type::Object;
      ++i_;
      ws();
      if (i_ < n_ && d_[i_] == '}') return ++i_, true;
      for (;;) {
        ws();
        std::string key;
        if (!str(key)) return false;
        ws();
        if (i_ >= n_ || d_[i_] != ':') return false;
        ++i_;
        ws();
        out.object.emplace_back(std::move(key), Json());
        if (!value(out.object.back().second, depth + 1)) return false;
        ws();
        if (i_ < n_ && d_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < n_ && d_[i_] == '}') return ++i_, true;
        return false;
      }
    }
    return out.type = Json::Type::Number, num(out.number);
  }

  const char* d_;
  size_t n_;
  size_t i_ = 0;
  size_t values_ = 0;
};

// JsConfigReader's answers over a Json object (see native/binding/config_from_js.cc).
class JsonConfigReader : public models::ConfigReader {
 public:
  JsonConfigReader(const Json& object, std::string where) : object_(object), where_(std::move(where)) {}

  bool has(const std::string& key) const override {
    const Json* v = object_.get(key);
    return v && v->type != Json::Type::Null;
  }
  std::optional<double> number(const std::string& key) const override {
    if (!has(key)) return std::nullopt;
    const Json& v = *object_.get(key);
    if (v.type != Json::Type::Number) invalid(key, "must be a number, got " + typeName(v));
    return v.number;
  }
  std::optional<bool> boolean(const std::string& key) const override {
    if (!has(key)) return std::nullopt;
    const Json& v = *object_.get(key);
    if (v.type != Json::Type::Bool) invalid(key, "must be true or false, got " + typeName(v));
    return v.boolean;
  }
  std::optional<std::string> string(const std::string& key) const override {
    if (!has(key)) return std::nullopt;
    const Json& v = *object_.get(key);
    if (v.type != Json::Type::String) invalid(key, "must be a string, got " + typeName(v));
    return v.string;
  }
  std::optional<std::vector<std::string>> strings(const std::string& key) const override {
    if (!has(key)) return std::nullopt;
    const Json& v = *object_.get(key);
    if (v.type != Json::Type::Array) invalid(key, "must be an array of strings, got " + typeName(v));
    std::vector<std::string> out;
    for (size_t i = 0; i < v.array.size(); ++i) {
      if (v.array[i].type != Json::Type::String) invalid(key, "must be an array of strings; entry " + std::to_string(i) + " is " + typeName(v.array[i]));
      out.push_back(v.array[i].string);
    }
    return out;
  }
  std::optional<std::vector<std::string>> keys(const std::string& key) const override {
    if (!has(key)) return std::nullopt;
    const Json& v = *object_.get(key);
    if (v.type != Json::Type::Object) return std::nullopt;
    std::vector<std::string> out;
    for (const auto& [k, e] : v.object) {
      bool seen = false;
      for (const std::string& o : out) seen = seen || o == k;
      if (!seen) out.push_back(k);
    }
    return out;
  }
  const models::ConfigReader* object(const std::string& key) const override {
    if (!has(key)) return nullptr;
    const Json& v = *object_.get(key);
    if (v.type != Json::Type::Object) invalid(key, "must be an object, got " + typeName(v));
    auto& child = children_[key];
    if (!child) child = std::make_unique<JsonConfigReader>(v, where_ + ": " + key);
    return child.get();
  }
  std::string where() const override { return where_; }

 private:
  static std::string typeName(const Json& v) {
    switch (v.type) {
      case Json::Type::Null: return "null";
      case Json::Type::Bool: return "a boolean";
      case Json::Type::Number: return "a number";
      case Json::Type::String: return "a string";
      case Json::Type::Array: return "an array";
      case Json::Type::Object: return "an object";
    }
    return "a value";
  }

  const Json& object_;
  std::string where_;
  mutable std::map<std::string, std::unique_ptr<JsonConfigReader>> children_;
};

// config.json -> model options the way the harnesses pass them: labelTokenIds from a "trt_rerank_fuzz_label_tokens"
// array of numbers (what lib/ reads from tokenizer.json for a causal-LM reranker), each an integer in [0, 2^31).
inline models::ModelOptions fuzzOptions(const Json& config) {
  models::ModelOptions o;
  const Json* labels = config.get("trt_rerank_fuzz_label_tokens");
  if (labels && labels->type == Json::Type::Array) {
    for (const Json& e : labels->array) {
      if (e.type == Json::Type::Number && e.number >= 0 && e.number < 2147483648.0) o.labelTokens.push_back(static_cast<int32_t>(e.number));
    }
  }
  return o;
}

}  // namespace trt_rerank::fuzz
