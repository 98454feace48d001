#include "actors/remote_weights.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include <fmt/format.h>

#include "kernels/safetensors.hpp"
#include "net/tensor_wire.hpp"

namespace alpaserve::actors {
namespace {

namespace fs = std::filesystem;

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string canonical_or_same(const std::string& path) {
  std::error_code ec;
  fs::path p = fs::weakly_canonical(fs::absolute(path, ec), ec);
  return ec ? fs::path(path).lexically_normal().string() : p.string();
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

uint64_t weights_chunk_bytes(uint64_t max_message_bytes) noexcept {
  return std::max<uint64_t>(std::min(weights_chunk_cap, max_message_bytes / 4), 4096);
}

bool weights_file_readable(const std::string& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec) && ::access(path.c_str(), R_OK) == 0;
}

// ---- receiving side --------------------------------------------------------------------------

remote_weight_source::remote_weight_source(std::string path, std::vector<std::string> donors,
                                           weights_chunk_fn fetch, uint64_t chunk_bytes)
    : path_(std::move(path)),
      donors_(std::move(donors)),
      fetch_(std::move(fetch)),
      chunk_bytes_(std::max<uint64_t>(chunk_bytes, 1)) {}

std::string remote_weight_source::describe() const {
  return fmt::format(
      "safetensors file '{}' over CAF from {}", path_,
      donors_.empty() ? std::string("no donor") : fmt::format("{}", fmt::join(donors_, ", ")));
}

kernels::tensor remote_weight_source::fetch_from(size_t d, const kernels::weight_desc& desc) {
  std::string encoded;
  uint64_t total = 0;
  bool first = true;
  while (first || encoded.size() < total) {
    weights_piece piece = fetch_(d, path_, desc.name, encoded.size(), chunk_bytes_);
    if (!piece.error.empty()) throw std::runtime_error(piece.error);
    if (first) {
      total = piece.total_bytes;
      encoded.reserve(total);
      first = false;
    } else if (piece.total_bytes != total) {
      throw std::runtime_error(fmt::format(
          "the tensor's size changed between chunks ({} then {} bytes)", total, piece.total_bytes));
    }
    if (piece.bytes.size() > chunk_bytes_)
      throw std::runtime_error(fmt::format("a chunk of {} bytes, more than the {} asked for",
                                           piece.bytes.size(), chunk_bytes_));
    if (piece.bytes.empty() && encoded.size() < total)
      throw std::runtime_error(
          fmt::format("an empty chunk at byte {} of {}", encoded.size(), total));
    if (encoded.size() + piece.bytes.size() > total)
      throw std::runtime_error(fmt::format("chunks beyond the announced {} bytes", total));
    encoded += piece.bytes;
    ++chunks_;
  }
  std::string problem;
  auto wire = net::decode_tensor(encoded, &problem);
  if (!wire) throw std::runtime_error("undecodable tensor: " + problem);
  if (wire->dtype != "f32")
    throw std::runtime_error("tensor sent as " + wire->dtype + ", expected f32");
  if (wire->shape != desc.full_shape)
    throw std::runtime_error(fmt::format("tensor has shape [{}], expected [{}]",
                                         fmt::join(wire->shape, ", "),
                                         fmt::join(desc.full_shape, ", ")));
  kernels::tensor full(wire->shape);
  if (wire->data.size() != full.numel() * sizeof(float))
    throw std::runtime_error("tensor data does not match its shape");
  if (!wire->data.empty()) std::memcpy(full.ptr(), wire->data.data(), wire->data.size());
  bytes_ += total;
  return full;
}

kernels::tensor remote_weight_source::fetch(const kernels::weight_desc& desc) {
  if (donors_.empty())
    throw std::runtime_error(fmt::format(
        "safetensors file '{}': not readable on this node and no node to fetch it from", path_));
  const double begin = now_s();
  std::vector<std::string> reasons;
  for (size_t i = 0; i < donors_.size(); ++i) {
    const size_t d = (next_ + i) % donors_.size();
    try {
      kernels::tensor full = fetch_from(d, desc);
      seconds_ += now_s() - begin;
      next_ = d;
      donor_ = donors_[d];
      ++tensors_;
      return kernels::slice_tensor(full, desc);
    } catch (const std::exception& e) {
      reasons.push_back(fmt::format("from {}: {}", donors_[d], e.what()));
    }
  }
  seconds_ += now_s() - begin;
  throw std::runtime_error(fmt::format(
      "safetensors file '{}' (not readable on this node): tensor '{}' could not be fetched over "
      "CAF: {}",
      path_, desc.name, fmt::join(reasons, "; ")));
}

// ---- donor side ------------------------------------------------------------------------------

void weights_donor_core::allow(const std::string& path) {
  if (!path.empty()) allowed_.insert(canonical_or_same(path));
}

std::string weights_donor_core::refusal(const std::string& path) const {
  if (!ends_with(path, ".safetensors"))
    return fmt::format("{} refuses '{}': not a .safetensors file", node_, path);
  if (allowed_.count(canonical_or_same(path)) == 0)
    return fmt::format("{} refuses '{}': not a weights file of a model this cluster serves", node_,
                       path);
  return {};
}

weights_piece weights_donor_core::serve(const std::string& path, const std::string& tensor,
                                        uint64_t offset, uint64_t max_bytes, uint64_t chunk_bytes) {
  weights_piece out;
  if (std::string why = refusal(path); !why.empty()) {
    out.error = why;
    return out;
  }
  auto it = std::find_if(cache_.begin(), cache_.end(),
                         [&](const cached& c) { return c.path == path && c.tensor == tensor; });
  if (it == cache_.end()) {
    try {
      const kernels::safetensors_file file(path);
      if (!file.contains(tensor)) {
        out.error =
            fmt::format("{}: safetensors file '{}': missing tensor '{}'", node_, path, tensor);
        return out;
      }
      const kernels::tensor t = file.read(tensor);
      cache_.push_front({path, tensor, net::encode_f32(t.shape, t.ptr())});
    } catch (const std::exception& e) {
      out.error = fmt::format("{}: {}", node_, e.what());
      return out;
    }
    while (cache_.size() > 2) cache_.pop_back();
    it = cache_.begin();
  }
  const std::string& bytes = it->bytes;
  out.total_bytes = bytes.size();
  if (offset > bytes.size()) {
    out.error = fmt::format("{}: offset {} beyond the {} bytes of tensor '{}'", node_, offset,
                            bytes.size(), tensor);
    return out;
  }
  const uint64_t limit = max_bytes == 0 ? chunk_bytes : std::min(max_bytes, chunk_bytes);
  const uint64_t n = std::min<uint64_t>(limit, bytes.size() - offset);
  out.bytes.assign(bytes, offset, n);
  if (offset + n == bytes.size()) cache_.erase(it);  // sent completely
  return out;
}

}  // namespace alpaserve::actors
