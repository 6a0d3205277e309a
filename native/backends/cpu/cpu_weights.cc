#include "backends/cpu/cpu_weights.h"

#include <cstring>
#include <string>
#include <utility>

#include "common/half.h"

namespace trt_rerank::cpu {
namespace {

// count stored values at src (little-endian, unaligned) -> fp32 at out.
void widen(const uint8_t* src, WeightDType dtype, size_t count, float* out) {
  switch (dtype) {
    case WeightDType::F32:
#if (defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) || defined(_WIN32)
      std::memcpy(out, src, 4 * count);  // the file's byte order is the host's
#else
      for (size_t i = 0; i < count; ++i) out[i] = bitsToFloat(loadLe32(src + 4 * i));
#endif
      break;
    case WeightDType::F16:
      for (size_t i = 0; i < count; ++i) out[i] = halfToFloat(loadLe16(src + 2 * i));
      break;
    case WeightDType::BF16:
      for (size_t i = 0; i < count; ++i) out[i] = bf16ToFloat(loadLe16(src + 2 * i));
      break;
  }
}

class Reader {
 public:
  explicit Reader(const ModelSpec& spec) : spec_(spec), files_(mapWeightFiles(spec)) {}

  // The whole tensor `name`, checked to have shape `shape`.
  std::vector<float> all(const std::string& name, const std::vector<int64_t>& shape) const {
    const TensorRef& t = checkedTensor(spec_, name, shape, files_);
    std::vector<float> out(t.nbytes / elementBytes(t.dtype));
    widen(files_[t.file].data() + t.offset, t.dtype, out.size(), out.data());
    return out;
  }

  // Rows `rows` of the [sourceRows, cols] tensor of a picked-rows param, in that order: [rows.size(), cols].
  std::vector<float> picked(const models::ParamDecl& d) const {
    checkPickedRows(d);
    const TensorRef& t = checkedTensor(spec_, d.parts[0], partShape(d, 0), files_);
    const size_t cols = static_cast<size_t>(d.cols);
    const uint64_t rowBytes = cols * elementBytes(t.dtype);
    std::vector<float> out(d.pickedRows.size() * cols);
    for (size_t i = 0; i < d.pickedRows.size(); ++i) {
      widen(files_[t.file].data() + t.offset + static_cast<uint64_t>(d.pickedRows[i]) * rowBytes, t.dtype, cols, out.data() + i * cols);
    }
    return out;
  }

 private:
  const ModelSpec& spec_;
  const std::vector<MappedFile> files_;
};

}  // namespace

std::vector<Param> loadParams(const ModelSpec& spec) {
  const Reader read(spec);  // unmapped when this returns: everything is copied
  std::vector<Param> params;
  for (const models::ParamDecl& d : spec.model->params()) {
    Param p;
    p.kind = d.kind;
    p.cols = d.cols;
    if (d.kind == models::ParamDecl::Kind::Linear) {
      for (size_t i = 0; i < d.parts.size(); ++i) {
        const std::vector<float> w = d.pickedRows.empty() ? read.all(d.parts[i], partShape(d, i)) : read.picked(d);
        const std::vector<float> b = d.biasParts.empty() ? std::vector<float>() : read.all(d.biasParts[i], biasShape(d, i));
        p.parts.emplace_back(w.data(), b.empty() ? nullptr : b.data(), static_cast<int>(d.partRows[i]), static_cast<int>(d.cols));
      }
    } else {
      p.values = read.all(d.parts[0], partShape(d, 0));
    }
    params.push_back(std::move(p));
  }
  return params;
}

}  // namespace trt_rerank::cpu
