#pragma once
// A minimal fp32 host tensor (row-major, contiguous) and its byte form for the wire.
// net/ wraps the bytes in a msgpack `bin`; the shape travels beside them.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace alpaserve::kernels {

struct tensor {
  std::vector<int64_t> shape;  // outermost first; empty = scalar
  std::vector<float> data;     // numel() values, row-major

  tensor() = default;
  explicit tensor(std::vector<int64_t> dims, float fill = 0.0f);
  tensor(std::vector<int64_t> dims, std::vector<float> values);  // throws on size mismatch

  [[nodiscard]] size_t numel() const noexcept { return data.size(); }
  [[nodiscard]] int rank() const noexcept { return static_cast<int>(shape.size()); }
  [[nodiscard]] int64_t dim(int i) const { return shape.at(static_cast<size_t>(i)); }
  [[nodiscard]] float* ptr() noexcept { return data.data(); }
  [[nodiscard]] const float* ptr() const noexcept { return data.data(); }
};

// Product of dims; throws std::invalid_argument on a negative dim.
[[nodiscard]] size_t shape_numel(const std::vector<int64_t>& shape);
// "[2, 128, 1024]"
[[nodiscard]] std::string shape_string(const std::vector<int64_t>& shape);

// Raw little-endian fp32 bytes of the data (no shape).
[[nodiscard]] std::vector<uint8_t> tensor_data_bytes(const tensor& t);
// Rebuilds a tensor from raw little-endian fp32 bytes; throws std::invalid_argument when the
// byte count does not match the shape.
[[nodiscard]] tensor tensor_from_data_bytes(std::vector<int64_t> shape, const uint8_t* bytes,
                                            size_t size);

// Self-describing form: u32 rank, rank x i64 dims, then the fp32 data, all little-endian.
[[nodiscard]] std::vector<uint8_t> serialize_tensor(const tensor& t);
// Inverse of serialize_tensor; throws std::invalid_argument on truncated or inconsistent bytes.
[[nodiscard]] tensor deserialize_tensor(const uint8_t* bytes, size_t size);

}  // namespace alpaserve::kernels
