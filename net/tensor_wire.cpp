#include "net/tensor_wire.hpp"

#include <cstring>
#include <limits>

#include <msgpack.hpp>

namespace alpaserve::net {
namespace {

// Parses the envelope; fills dtype/shape and points `data` into the unpacked object's buffer
// (zero-copy: the handle keeps the bytes alive only as long as `bytes`).
bool parse(std::string_view bytes, wire_tensor* out, std::string_view* data, std::string* problem) {
  auto fail = [&](const std::string& why) {
    if (problem != nullptr) *problem = why;
    return false;
  };
  if (bytes.empty()) return fail("empty payload (expected a msgpack [dtype, shape, bin] tensor)");
  msgpack::object_handle handle;
  try {
    // The reference function says: never copy bin/str (zero-copy unpack).
    handle = msgpack::unpack(bytes.data(), bytes.size(),
                             [](msgpack::type::object_type, std::size_t, void*) { return true; });
  } catch (const std::exception& e) {
    return fail(std::string("payload is not msgpack: ") + e.what());
  }
  const msgpack::object& root = handle.get();
  if (root.type != msgpack::type::ARRAY || root.via.array.size != 3)
    return fail("payload must be a msgpack array [dtype, shape, data]");
  const msgpack::object& dtype = root.via.array.ptr[0];
  const msgpack::object& shape = root.via.array.ptr[1];
  const msgpack::object& blob = root.via.array.ptr[2];
  if (dtype.type != msgpack::type::STR) return fail("tensor dtype must be a string");
  const std::string_view dtype_name(dtype.via.str.ptr, dtype.via.str.size);
  const size_t item = dtype_size(dtype_name);
  if (item == 0) return fail("unknown tensor dtype '" + std::string(dtype_name) + "'");
  if (shape.type != msgpack::type::ARRAY) return fail("tensor shape must be an array of integers");
  if (blob.type != msgpack::type::BIN) return fail("tensor data must be msgpack bin");
  uint64_t elements = 1;
  std::vector<int64_t> dims;
  for (uint32_t i = 0; i < shape.via.array.size; ++i) {
    const msgpack::object& d = shape.via.array.ptr[i];
    if (d.type != msgpack::type::POSITIVE_INTEGER)
      return fail("tensor shape[" + std::to_string(i) + "] must be a non-negative integer");
    if (d.via.u64 != 0 && elements > std::numeric_limits<uint64_t>::max() / d.via.u64)
      return fail("tensor shape overflows");
    elements *= d.via.u64;
    dims.push_back(static_cast<int64_t>(d.via.u64));
  }
  if (elements > std::numeric_limits<uint64_t>::max() / item) return fail("tensor shape overflows");
  if (blob.via.bin.size != elements * item)
    return fail("tensor data has " + std::to_string(blob.via.bin.size) +
                " bytes, shape and dtype need " + std::to_string(elements * item));
  if (out != nullptr) {
    out->dtype = std::string(dtype_name);
    out->shape = std::move(dims);
    out->data.assign(blob.via.bin.ptr, blob.via.bin.size);
  }
  if (data != nullptr) *data = std::string_view(blob.via.bin.ptr, blob.via.bin.size);
  return true;
}

}  // namespace

size_t dtype_size(std::string_view dtype) noexcept {
  if (dtype == "f32" || dtype == "i32") return 4;
  if (dtype == "f16") return 2;
  if (dtype == "i64") return 8;
  if (dtype == "u8") return 1;
  return 0;
}

std::string encode_tensor(const wire_tensor& t) {
  msgpack::sbuffer buffer(t.data.size() + 64);
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_array(3);
  pk.pack(t.dtype);
  pk.pack_array(static_cast<uint32_t>(t.shape.size()));
  for (int64_t d : t.shape) pk.pack_uint64(static_cast<uint64_t>(d));
  pk.pack_bin(static_cast<uint32_t>(t.data.size()));
  pk.pack_bin_body(t.data.data(), static_cast<uint32_t>(t.data.size()));
  return std::string(buffer.data(), buffer.size());
}

std::string encode_f32(const std::vector<int64_t>& shape, const float* data) {
  wire_tensor t;
  t.shape = shape;
  size_t n = 1;
  for (int64_t d : shape) n *= static_cast<size_t>(d);
  t.data.resize(n * sizeof(float));
  if (n > 0) std::memcpy(t.data.data(), data, n * sizeof(float));
  return encode_tensor(t);
}

std::optional<wire_tensor> decode_tensor(std::string_view bytes, std::string* problem) {
  wire_tensor t;
  if (!parse(bytes, &t, nullptr, problem)) return std::nullopt;
  return t;
}

bool validate_tensor(std::string_view bytes, std::string* problem) {
  return parse(bytes, nullptr, nullptr, problem);
}

}  // namespace alpaserve::net
