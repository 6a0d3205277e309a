#include "backends/tensorrt/engine_io.h"

#include <algorithm>
#include <sstream>

#include "common/errors.h"

namespace trt_rerank {
namespace {

constexpr const char* kIds = "input_ids";
constexpr const char* kMask = "attention_mask";
constexpr const char* kTypeIds = "token_type_ids";

std::string dims(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << '[';
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? "," : "") << shape[i];
  out << ']';
  return out.str();
}

std::string describe(const std::vector<TensorDesc>& tensors) {
  std::ostringstream out;
  for (bool inputs : {true, false}) {
    out << (inputs ? "inputs:" : "; outputs:");
    bool any = false;
    for (const auto& t : tensors) {
      if (t.isInput != inputs) continue;
      out << (any ? ", " : " ") << t.name << ' ' << tensorTypeName(t.type) << ' ' << dims(t.shape);
      if (inputs && !t.profileMax.empty()) {
        out << " (profile 0: min " << dims(t.profileMin) << " opt " << dims(t.profileOpt) << " max " << dims(t.profileMax) << ')';
      }
      any = true;
    }
    if (!any) out << " none";
  }
  return out.str();
}

// The range [min, max] (and opt) of one dimension of an input: fixed, or from profile 0.
struct Range {
  int64_t min = 0, opt = 0, max = 0;
  bool operator==(const Range& o) const { return min == o.min && opt == o.opt && max == o.max; }
};

bool dimensionRange(const TensorDesc& t, size_t d, Range& range, std::vector<std::string>& problems) {
  if (t.shape[d] >= 0) {
    range = {t.shape[d], t.shape[d], t.shape[d]};
    return true;
  }
  if (t.profileMin.size() != t.shape.size() || t.profileOpt.size() != t.shape.size() || t.profileMax.size() != t.shape.size()) {
    problems.push_back("input '" + t.name + "' has a dynamic dimension but no shape in optimization profile 0");
    return false;
  }
  range = {t.profileMin[d], t.profileOpt[d], t.profileMax[d]};
  return true;
}

}  // namespace

const char* tensorTypeName(TensorType type) {
  switch (type) {
    case TensorType::Float: return "fp32";
    case TensorType::Half: return "fp16";
    case TensorType::BFloat16: return "bf16";
    case TensorType::Int8: return "int8";
    case TensorType::Int32: return "int32";
    case TensorType::Int64: return "int64";
    case TensorType::Bool: return "bool";
    case TensorType::UInt8: return "uint8";
    default: return "other";
  }
}

EngineIoPlan planEngineIo(const std::vector<TensorDesc>& tensors) {
  std::vector<std::string> problems;
  EngineIoPlan plan;
  const TensorDesc* ids = nullptr;
  const TensorDesc* mask = nullptr;
  const TensorDesc* typeIds = nullptr;
  std::vector<const TensorDesc*> outputs;
  for (const auto& t : tensors) {
    if (!t.isInput) {
      outputs.push_back(&t);
    } else if (t.name == kIds) {
      ids = &t;
    } else if (t.name == kMask) {
      mask = &t;
    } else if (t.name == kTypeIds) {
      typeIds = &t;
    } else {
      problems.push_back("input '" + t.name + "' is not one trt-rerank can feed");
    }
  }
  if (!ids) problems.push_back("no input named 'input_ids'");
  if (!mask) problems.push_back("no input named 'attention_mask'");

  // Inputs: [batch, sequence], one integer type, one range per dimension shared by all.
  Range batch, seq;
  const TensorDesc* typeSetBy = nullptr;
  bool rangeSet = false;
  for (const TensorDesc* t : {ids, mask, typeIds}) {
    if (!t) continue;
    if (t->type != TensorType::Int32 && t->type != TensorType::Int64) {
      problems.push_back("input '" + t->name + "' is " + tensorTypeName(t->type) + ", not int32 or int64");
    } else if (!typeSetBy) {
      plan.inputType = t->type;
      typeSetBy = t;
    } else if (t->type != plan.inputType) {
      problems.push_back("input '" + t->name + "' is " + tensorTypeName(t->type) + " but '" + typeSetBy->name + "' is " +
                         tensorTypeName(plan.inputType) + ": all inputs must share one type");
    }
    if (t->shape.size() != 2) {
      problems.push_back("input '" + t->name + "' has shape " + dims(t->shape) + ", not [batch, sequence]");
      continue;
    }
    Range b, s;
    if (dimensionRange(*t, 0, b, problems) && dimensionRange(*t, 1, s, problems)) {
      if (!rangeSet) {
        batch = b;
        seq = s;
        rangeSet = true;
      } else if (!(b == batch) || !(s == seq)) {
        problems.push_back("input '" + t->name + "' has a different shape range from the other inputs");
      }
    }
  }
  if (batch.max > 0) {
    if (batch.min < 1 || batch.max < batch.min) problems.push_back("the batch range [" + std::to_string(batch.min) + ", " + std::to_string(batch.max) + "] is empty");
    if (seq.max < 2 || seq.max < seq.min) problems.push_back("the sequence range [" + std::to_string(seq.min) + ", " + std::to_string(seq.max) + "] holds no pair");
  }
  plan.minBatch = static_cast<int>(std::max<int64_t>(1, batch.min));
  plan.maxBatch = static_cast<int>(std::max<int64_t>(1, batch.max));
  plan.minSeq = static_cast<int>(std::max<int64_t>(1, seq.min));
  plan.optSeq = static_cast<int>(std::clamp<int64_t>(seq.opt, plan.minSeq, std::max<int64_t>(plan.minSeq, seq.max)));
  plan.maxSeq = static_cast<int>(std::max<int64_t>(1, seq.max));

  // Output: 'logits', or the only output; [batch, 1 | 2] or [batch]; a float type.
  const TensorDesc* out = nullptr;
  for (const TensorDesc* o : outputs) {
    if (o->name == "logits") out = o;
  }
  if (!out && outputs.size() == 1) out = outputs[0];
  if (!out) {
    problems.push_back(outputs.empty() ? "no output" : "several outputs and none named 'logits'");
  } else {
    plan.outputName = out->name;
    plan.outputType = out->type;
    if (out->type != TensorType::Float && out->type != TensorType::Half && out->type != TensorType::BFloat16) {
      problems.push_back("output '" + out->name + "' is " + tensorTypeName(out->type) + ", not fp32, fp16 or bf16");
    }
    const auto& s = out->shape;
    const bool batchOk = !s.empty() && (s[0] < 0 || s[0] == batch.max);
    if (s.size() == 1 && batchOk) {
      plan.numLabels = 1;
    } else if (s.size() == 2 && batchOk && (s[1] == 1 || s[1] == 2)) {
      plan.numLabels = static_cast<int>(s[1]);
    } else {
      problems.push_back("output '" + out->name + "' has shape " + dims(s) + ", not [batch, 1], [batch, 2] or [batch]");
    }
  }
  if (ids) plan.idsName = ids->name;
  if (mask) plan.maskName = mask->name;
  if (typeIds) plan.typeIdsName = typeIds->name;

  if (!problems.empty()) {
    std::string message = "the TensorRT engine's I/O does not fit a cross-encoder: ";
    for (size_t i = 0; i < problems.size(); ++i) message += (i ? "; " : "") + problems[i];
    message += ". It has " + describe(tensors) +
               ". Needed: inputs input_ids and attention_mask (token_type_ids optional), int32 or int64, "
               "[batch, sequence]; an output 'logits' [batch, 1], [batch, 2] or [batch] in fp32, fp16 or bf16 "
               "(tools/export_onnx.py exports such a model)";
    throw NativeError(kErrInvalidArgument, message);
  }
  return plan;
}

std::vector<int> sequenceBuckets(const EngineIoPlan& plan) {
  std::vector<int> buckets;
  auto add = [&](int b) {
    b = std::max(b, plan.minSeq);
    if (b < plan.maxSeq && (buckets.empty() || buckets.back() < b)) buckets.push_back(b);
  };
  add(16);
  add(32);
  for (int b = 64; b < plan.maxSeq; b += 64) add(b);
  buckets.push_back(plan.maxSeq);
  return buckets;
}

BatchShape planBatchShape(const EngineIoPlan& plan, int count, int longest) {
  if (count < 1 || count > plan.maxBatch) {
    throw NativeError(kErrInvalidArgument, "a batch of " + std::to_string(count) + " pairs does not fit the engine's profile (batch " +
                                               std::to_string(plan.minBatch) + " to " + std::to_string(plan.maxBatch) + ")");
  }
  if (longest > plan.maxSeq) {
    throw NativeError(kErrInvalidArgument, "a pair of " + std::to_string(longest) + " tokens is longer than the engine's profile allows (" +
                                               std::to_string(plan.maxSeq) + "): load with maxLength <= " + std::to_string(plan.maxSeq));
  }
  BatchShape shape;
  shape.rows = std::max(count, plan.minBatch);
  for (int b : sequenceBuckets(plan)) {
    if (b >= longest) {
      shape.seqLen = b;
      break;
    }
  }
  return shape;
}

}  // namespace trt_rerank
