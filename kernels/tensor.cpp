#include "kernels/tensor.hpp"

#include <cstring>
#include <stdexcept>

namespace alpaserve::kernels {

static_assert(sizeof(float) == 4, "fp32 wire format");
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the tensor byte format assumes a little-endian host"
#endif

size_t shape_numel(const std::vector<int64_t>& shape) {
  size_t n = 1;
  for (int64_t d : shape) {
    if (d < 0) throw std::invalid_argument("negative dimension in shape " + shape_string(shape));
    n *= static_cast<size_t>(d);
  }
  return n;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

tensor::tensor(std::vector<int64_t> dims, float fill)
    : shape(std::move(dims)), data(shape_numel(shape), fill) {}

tensor::tensor(std::vector<int64_t> dims, std::vector<float> values)
    : shape(std::move(dims)), data(std::move(values)) {
  if (data.size() != shape_numel(shape))
    throw std::invalid_argument("tensor of shape " + shape_string(shape) + " given " +
                                std::to_string(data.size()) + " values");
}

std::vector<uint8_t> tensor_data_bytes(const tensor& t) {
  std::vector<uint8_t> out(t.numel() * sizeof(float));
  if (!out.empty()) std::memcpy(out.data(), t.ptr(), out.size());
  return out;
}

tensor tensor_from_data_bytes(std::vector<int64_t> shape, const uint8_t* bytes, size_t size) {
  const size_t n = shape_numel(shape);
  if (size != n * sizeof(float))
    throw std::invalid_argument("tensor of shape " + shape_string(shape) + " needs " +
                                std::to_string(n * sizeof(float)) + " bytes, got " +
                                std::to_string(size));
  tensor t(std::move(shape));
  if (size) std::memcpy(t.ptr(), bytes, size);
  return t;
}

std::vector<uint8_t> serialize_tensor(const tensor& t) {
  const uint32_t rank = static_cast<uint32_t>(t.shape.size());
  std::vector<uint8_t> out(4 + 8 * rank + t.numel() * 4);
  std::memcpy(out.data(), &rank, 4);
  if (rank) std::memcpy(out.data() + 4, t.shape.data(), 8 * rank);
  if (t.numel()) std::memcpy(out.data() + 4 + 8 * rank, t.ptr(), t.numel() * 4);
  return out;
}

tensor deserialize_tensor(const uint8_t* bytes, size_t size) {
  if (size < 4) throw std::invalid_argument("serialized tensor truncated: no rank");
  uint32_t rank = 0;
  std::memcpy(&rank, bytes, 4);
  if (rank > 16 || size < 4 + 8 * size_t{rank})
    throw std::invalid_argument("serialized tensor truncated or corrupt: rank " +
                                std::to_string(rank));
  std::vector<int64_t> shape(rank);
  if (rank) std::memcpy(shape.data(), bytes + 4, 8 * rank);
  const size_t header = 4 + 8 * size_t{rank};
  return tensor_from_data_bytes(std::move(shape), bytes + header, size - header);
}

}  // namespace alpaserve::kernels
