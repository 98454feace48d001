#pragma once
// The tensor wire format of request payloads and results: one msgpack array
//   [dtype: str, shape: [int, ...], data: bin]
// with dtype "f32" | "f16" | "i32" | "i64" | "u8" and little-endian data of exactly
// prod(shape) * itemsize bytes. `bin` keeps packing to a memcpy (an array of floats packs 20x
// slower). docs/runtime.md describes it; clients in other languages can produce it with any
// msgpack library.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace alpaserve::net {

struct wire_tensor {
  std::string dtype = "f32";
  std::vector<int64_t> shape;
  std::string data;  // raw little-endian elements
};

// Bytes per element of a dtype name; 0 when unknown.
[[nodiscard]] size_t dtype_size(std::string_view dtype) noexcept;

[[nodiscard]] std::string encode_tensor(const wire_tensor& t);
[[nodiscard]] std::string encode_f32(const std::vector<int64_t>& shape, const float* data);

// Decodes and validates; on failure returns nullopt and says why in `problem`.
[[nodiscard]] std::optional<wire_tensor> decode_tensor(std::string_view bytes,
                                                       std::string* problem = nullptr);

// Validates without copying the data (what the dispatcher does per request).
[[nodiscard]] bool validate_tensor(std::string_view bytes, std::string* problem = nullptr);

}  // namespace alpaserve::net
