#include "backends/cuda/cuda_weights.h"

#include <algorithm>
#include <string>
#include <utility>

#include "common/cuda_check.h"

namespace trt_rerank::cuda {
namespace {

int64_t elements(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Elements rounded up to 128 (256 bytes of the storage type): where each param's weights and biases start.
int64_t aligned(int64_t n) { return (n + 127) / 128 * 128; }

int sourceType(WeightDType dtype) { return dtype == WeightDType::F32 ? 0 : dtype == WeightDType::F16 ? 1
                                                                                                     : 2; }

// What one tensor contributes to the arena: all of it, or the picked rows of a param (in its order).
struct Piece {
  const TensorRef* tensor = nullptr;
  const std::vector<int64_t>* rows = nullptr;  // nullptr: the whole tensor
  int64_t cols = 0;
  int64_t values() const { return rows ? static_cast<int64_t>(rows->size()) * cols : elements(tensor->shape); }
  uint64_t bytes() const { return static_cast<uint64_t>(values()) * elementBytes(tensor->dtype); }
};

// A param's weight pieces and bias pieces, checked.
struct ParamPieces {
  std::vector<Piece> weights, biases;
};

}  // namespace

Weights loadWeights(const ModelSpec& spec, kernels::StorageType type) {
  const std::vector<models::ParamDecl>& decls = spec.model->params();
  const std::vector<MappedFile> files = mapWeightFiles(spec);
  // Check every tensor (name, shape, bytes, bounds, picked rows) before anything is allocated.
  std::vector<ParamPieces> pieces(decls.size());
  int64_t total = 0;
  uint64_t largest = 0;
  for (size_t p = 0; p < decls.size(); ++p) {
    const models::ParamDecl& d = decls[p];
    checkPickedRows(d);
    int64_t weights = 0, biases = 0;
    for (size_t i = 0; i < d.parts.size(); ++i) {
      Piece piece{&checkedTensor(spec, d.parts[i], partShape(d, i), files), d.pickedRows.empty() ? nullptr : &d.pickedRows, d.cols};
      weights += piece.values();
      largest = std::max(largest, piece.bytes());
      pieces[p].weights.push_back(piece);
    }
    for (size_t i = 0; i < d.biasParts.size(); ++i) {
      Piece piece{&checkedTensor(spec, d.biasParts[i], biasShape(d, i), files), nullptr, 0};
      biases += piece.values();
      largest = std::max(largest, piece.bytes());
      pieces[p].biases.push_back(piece);
    }
    total += aligned(weights) + aligned(biases);
  }

  Weights out;
  out.arena = DeviceBuffer(kStorageBytes * total);
  DeviceBuffer staging(largest);
  CudaStream stream;
  char* next = out.arena.get<char>();
  // Each piece: mapping -> staging (only its rows, runs of consecutive rows in one copy) -> converted into the arena.
  const auto upload = [&](const std::vector<Piece>& list) -> const void* {
    char* start = next;
    for (const Piece& piece : list) {
      const TensorRef& t = *piece.tensor;
      const uint8_t* src = files[t.file].data() + t.offset;
      if (!piece.rows) {
        TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(staging.get(), src, t.nbytes, cudaMemcpyHostToDevice, stream.get()));
      } else {
        const uint64_t rowBytes = static_cast<uint64_t>(piece.cols) * elementBytes(t.dtype);
        const std::vector<int64_t>& rows = *piece.rows;
        for (size_t i = 0; i < rows.size();) {
          size_t run = 1;
          while (i + run < rows.size() && rows[i + run] == rows[i] + static_cast<int64_t>(run)) ++run;
          TRT_RERANK_CUDA_CHECK(cudaMemcpyAsync(staging.get<char>() + i * rowBytes, src + static_cast<uint64_t>(rows[i]) * rowBytes, run * rowBytes,
                                                cudaMemcpyHostToDevice, stream.get()));
          i += run;
        }
      }
      kernels::convertWeights(staging.get(), sourceType(t.dtype), type, next, piece.values(), stream.get());
      TRT_RERANK_CUDA_CHECK(cudaStreamSynchronize(stream.get()));  // staging is reused by the next piece
      next += kStorageBytes * piece.values();
    }
    next = start + kStorageBytes * aligned((next - start) / kStorageBytes);
    return start;
  };
  for (size_t p = 0; p < decls.size(); ++p) {
    const models::ParamDecl& d = decls[p];
    Param param;
    param.kind = d.kind;
    param.partRows = d.partRows;
    param.cols = d.cols;
    param.data = upload(pieces[p].weights);
    param.bias = d.biasParts.empty() ? nullptr : upload(pieces[p].biases);
    out.params.push_back(param);
  }
  return out;
}

}  // namespace trt_rerank::cuda
