#include "kernels/safetensors.hpp"

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace alpaserve::kernels {
namespace {

constexpr uint64_t max_header_bytes = 100ull << 20;  // the reference implementation's limit

size_t dtype_size(const std::string& dtype) {
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2")
    return 1;
  return 0;
}

uint32_t float_bits(float f) noexcept {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bits_float(uint32_t u) noexcept {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

float half_to_float(uint16_t h) noexcept {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1fu;
  const uint32_t man = h & 0x3ffu;
  if (exp == 0) {  // zero or subnormal: man * 2^-24
    const float v = std::ldexp(static_cast<float>(man), -24);
    return sign ? -v : v;
  }
  if (exp == 31) return bits_float(sign | 0x7f800000u | (man << 13));  // inf / nan
  return bits_float(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t float_to_half(float f) noexcept {
  const uint32_t u = float_bits(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | (abs > 0x7f800000u ? 0x7e00u : 0x7c00u);
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to >= 65520: overflow to inf
  if (abs < 0x38800000u) {  // below the smallest normal half: subnormal via rint
    const float v = std::nearbyint(bits_float(abs) * 16777216.0f);  // units of 2^-24
    return sign | static_cast<uint16_t>(v);
  }
  // normal: rebias exponent, round mantissa to nearest even
  const uint32_t rounded = abs + 0xfffu + ((abs >> 13) & 1u);
  return sign | static_cast<uint16_t>((rounded - (112u << 23)) >> 13);
}

float bf16_to_float(uint16_t b) noexcept {
  return bits_float(static_cast<uint32_t>(b) << 16);
}

uint16_t float_to_bf16(float f) noexcept {
  const uint32_t u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // nan
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

void safetensors_file::fail(const std::string& problem) const {
  throw std::runtime_error("safetensors file '" + path_ + "': " + problem);
}

safetensors_file::safetensors_file(std::string path) : path_(std::move(path)) {
  std::ifstream in(path_, std::ios::binary | std::ios::ate);
  if (!in) fail("cannot open");
  const uint64_t file_size = static_cast<uint64_t>(in.tellg());
  if (file_size < 8) fail("truncated: " + std::to_string(file_size) + " bytes, no header length");
  in.seekg(0);
  unsigned char len_bytes[8];
  in.read(reinterpret_cast<char*>(len_bytes), 8);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | len_bytes[i];
  if (header_len > max_header_bytes)
    fail("header length " + std::to_string(header_len) +
         " exceeds the 100 MiB limit (not a safetensors file?)");
  if (8 + header_len > file_size)
    fail("truncated: header declares " + std::to_string(header_len) + " bytes but the file has " +
         std::to_string(file_size - 8) + " after the length");
  std::string header(header_len, '\0');
  in.read(header.data(), static_cast<std::streamsize>(header_len));
  data_start_ = 8 + header_len;
  const uint64_t data_size = file_size - data_start_;

  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    fail(std::string("header is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) fail("header is not a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& name = it.key();
    const auto& v = it.value();
    if (name == "__metadata__") {
      if (!v.is_object()) fail("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m)
        metadata_[m.key()] =
            m.value().is_string() ? m.value().get<std::string>() : m.value().dump();
      continue;
    }
    try {
      entry e;
      e.dtype = v.at("dtype").get<std::string>();
      e.shape = v.at("shape").get<std::vector<int64_t>>();
      const auto offsets = v.at("data_offsets").get<std::vector<uint64_t>>();
      if (offsets.size() != 2) fail("tensor '" + name + "': data_offsets must have 2 entries");
      e.begin = offsets[0];
      e.end = offsets[1];
      const size_t es = dtype_size(e.dtype);
      if (es == 0) fail("tensor '" + name + "': unknown dtype '" + e.dtype + "'");
      if (e.end < e.begin) fail("tensor '" + name + "': data_offsets end before begin");
      if (e.end > data_size)
        fail("truncated: tensor '" + name + "' ends at byte " + std::to_string(e.end) +
             " of a data section of " + std::to_string(data_size) + " bytes");
      const uint64_t want = shape_numel(e.shape) * es;
      if (e.end - e.begin != want)
        fail("tensor '" + name + "': " + std::to_string(e.end - e.begin) + " bytes for shape " +
             shape_string(e.shape) + " of " + e.dtype + " (expected " + std::to_string(want) + ")");
      entries_.emplace(name, std::move(e));
    } catch (const nlohmann::json::exception& ex) {
      fail("tensor '" + name + "': malformed header entry (" + ex.what() + ")");
    }
  }
}

tensor safetensors_file::read(const std::string& name) const {
  const auto it = entries_.find(name);
  if (it == entries_.end()) fail("missing tensor '" + name + "'");
  const entry& e = it->second;
  std::ifstream in(path_, std::ios::binary);
  if (!in) fail("cannot open");
  std::vector<char> raw(e.end - e.begin);
  in.seekg(static_cast<std::streamoff>(data_start_ + e.begin));
  in.read(raw.data(), static_cast<std::streamsize>(raw.size()));
  if (static_cast<size_t>(in.gcount()) != raw.size())
    fail("truncated while reading tensor '" + name + "'");
  tensor t(e.shape);
  const size_t n = t.numel();
  if (e.dtype == "F32") {
    if (n) std::memcpy(t.ptr(), raw.data(), n * 4);
  } else if (e.dtype == "F16" || e.dtype == "BF16") {
    const bool half = e.dtype == "F16";
    for (size_t i = 0; i < n; ++i) {
      uint16_t b;
      std::memcpy(&b, raw.data() + 2 * i, 2);
      t.data[i] = half ? half_to_float(b) : bf16_to_float(b);
    }
  } else {
    fail("tensor '" + name + "' has dtype " + e.dtype + "; only F32, F16 and BF16 are supported");
  }
  return t;
}

void write_safetensors(const std::string& path, const weight_map& tensors, safetensors_dtype dtype,
                       const std::map<std::string, std::string>& metadata) {
  const char* dtype_name = dtype == safetensors_dtype::f32   ? "F32"
                           : dtype == safetensors_dtype::f16 ? "F16"
                                                             : "BF16";
  const size_t es = dtype == safetensors_dtype::f32 ? 4 : 2;
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    const uint64_t bytes = t.numel() * es;
    header[name] = {
        {"dtype", dtype_name}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  while ((8 + text.size()) % 8 != 0) text.push_back(' ');  // align the data section
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error("safetensors file '" + path + "': cannot create");
  unsigned char len_bytes[8];
  for (int i = 0; i < 8; ++i) len_bytes[i] = static_cast<unsigned char>(text.size() >> (8 * i));
  out.write(reinterpret_cast<const char*>(len_bytes), 8);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  std::vector<char> buf;
  for (const auto& [name, t] : tensors) {
    buf.resize(t.numel() * es);
    if (dtype == safetensors_dtype::f32) {
      if (t.numel()) std::memcpy(buf.data(), t.ptr(), buf.size());
    } else {
      for (size_t i = 0; i < t.numel(); ++i) {
        const uint16_t b =
            dtype == safetensors_dtype::f16 ? float_to_half(t.data[i]) : float_to_bf16(t.data[i]);
        std::memcpy(buf.data() + 2 * i, &b, 2);
      }
    }
    out.write(buf.data(), static_cast<std::streamsize>(buf.size()));
  }
  if (!out) throw std::runtime_error("safetensors file '" + path + "': write failed");
}

void write_seeded_model(const std::string& path, const model_spec& model, safetensors_dtype dtype) {
  seeded_weights source(model.seed);
  weight_map all;
  for (const auto& d : model_weight_descs(model)) all.emplace(d.name, source.fetch(d));
  write_safetensors(
      path, all, dtype,
      {{"format", "alpaserve"}, {"model", model.name}, {"kind", to_string(model.kind)}});
}

tensor safetensors_weights::fetch(const weight_desc& desc) {
  const auto it = file_.entries().find(desc.name);
  if (it == file_.entries().end())
    throw std::runtime_error("safetensors file '" + file_.path() + "': missing tensor '" +
                             desc.name + "' (expected shape " + shape_string(desc.full_shape) +
                             ")");
  if (it->second.shape != desc.full_shape)
    throw std::runtime_error("safetensors file '" + file_.path() + "': tensor '" + desc.name +
                             "' has shape " + shape_string(it->second.shape) + ", expected " +
                             shape_string(desc.full_shape));
  return slice_tensor(file_.read(desc.name), desc);
}

std::string safetensors_weights::describe() const {
  return "safetensors file '" + file_.path() + "'";
}

}  // namespace alpaserve::kernels
