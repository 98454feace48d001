#pragma once
// safetensors files (https://github.com/huggingface/safetensors): 8-byte little-endian header
// length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end)}, "__metadata__":
// {str: str}}, then the raw little-endian data (offsets relative to its start).
// Read: F32, F16 and BF16 (converted to fp32). Write: F32, F16 or BF16.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kernels/tensor.hpp"
#include "kernels/weights.hpp"

namespace alpaserve::kernels {

class safetensors_file {
 public:
  struct entry {
    std::string dtype;  // "F32", "F16", "BF16", ...
    std::vector<int64_t> shape;
    uint64_t begin = 0;  // byte offsets in the data section
    uint64_t end = 0;
  };

  // Parses and checks the header (sizes, offsets within the file, dtype sizes); throws
  // std::runtime_error starting with "safetensors file '<path>': " on any problem.
  explicit safetensors_file(std::string path);

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] const std::map<std::string, entry>& entries() const noexcept { return entries_; }
  [[nodiscard]] const std::map<std::string, std::string>& metadata() const noexcept {
    return metadata_;
  }
  [[nodiscard]] bool contains(const std::string& name) const { return entries_.count(name) > 0; }
  // Reads one tensor as fp32; throws std::runtime_error when missing or of an unsupported dtype.
  [[nodiscard]] tensor read(const std::string& name) const;

 private:
  [[noreturn]] void fail(const std::string& problem) const;

  std::string path_;                             // for error messages and reads
  std::map<std::string, entry> entries_;         // every tensor in the header
  std::map<std::string, std::string> metadata_;  // "__metadata__"
  uint64_t data_start_ = 0;                      // 8 + header length
};

enum class safetensors_dtype { f32, f16, bf16 };

// Writes `tensors` (fp32 in memory) as `dtype`; throws std::runtime_error on I/O errors.
void write_safetensors(const std::string& path, const weight_map& tensors,
                       safetensors_dtype dtype = safetensors_dtype::f32,
                       const std::map<std::string, std::string>& metadata = {});
// Writes every tensor of the seeded model (what `load` with no file would use).
void write_seeded_model(const std::string& path, const model_spec& model,
                        safetensors_dtype dtype = safetensors_dtype::f32);

// A weight_source over a safetensors file holding the WHOLE model (full shapes); each shard
// reads the tensors it needs and slices them.
class safetensors_weights final : public weight_source {
 public:
  explicit safetensors_weights(std::string path) : file_(std::move(path)) {}
  [[nodiscard]] tensor fetch(const weight_desc& desc) override;
  [[nodiscard]] std::string describe() const override;

 private:
  safetensors_file file_;  // parsed header
};

// IEEE half / bfloat16 bit patterns to float and back (round to nearest even).
[[nodiscard]] float half_to_float(uint16_t h) noexcept;
[[nodiscard]] uint16_t float_to_half(float f) noexcept;
[[nodiscard]] float bf16_to_float(uint16_t b) noexcept;
[[nodiscard]] uint16_t float_to_bf16(float f) noexcept;

}  // namespace alpaserve::kernels
