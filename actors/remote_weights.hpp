#pragma once
// Weights for a node that cannot read a model's weights file: a loading stage rank fetches each
// full tensor from a node that can (a donor), as the msgpack tensor-wire encoding of
// net/tensor_wire.hpp cut into chunks well below CAF's message limit, and slices its own part
// locally, so tensor-parallel ranks work as with a local file. No CAF here: the transport is a
// function (actors/weights_donor.hpp gives the CAF one); the donor's file side is
// weights_donor_core. docs/real-execution.md "Weights over CAF".

#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "kernels/weights.hpp"

namespace alpaserve::actors {

// Largest chunk ever sent: 4 MiB.
inline constexpr uint64_t weights_chunk_cap = uint64_t{4} << 20;
// The chunk size for a transport that accepts messages of up to max_message_bytes:
// min(4 MiB, max_message_bytes / 4), at least 4 KiB.
[[nodiscard]] uint64_t weights_chunk_bytes(uint64_t max_message_bytes) noexcept;

// Whether this process can open `path` for reading (a regular file with read permission).
[[nodiscard]] bool weights_file_readable(const std::string& path);

// One answer of a donor: bytes [offset, offset + bytes.size()) of the tensor's encoding, whose
// length is total_bytes. error non-empty: the donor refused or failed (says why).
struct weights_piece {
  uint64_t total_bytes = 0;
  std::string bytes;
  std::string error;
};

// Asks donor number `donor` for a chunk. Blocking; throws std::runtime_error when the donor
// cannot be reached or does not answer in time.
using weights_chunk_fn =
    std::function<weights_piece(size_t donor, const std::string& path, const std::string& tensor,
                                uint64_t offset, uint64_t max_bytes)>;

// A weight_source over donors: fetch() asks them in order (starting with the last one that
// answered) for the full tensor, reassembles and decodes it, checks its shape against
// desc.full_shape and slices desc.slice out of it. Any failure throws std::runtime_error naming
// the file, the tensor and every donor tried with its reason. Not thread-safe (one load).
class remote_weight_source final : public kernels::weight_source {
 public:
  remote_weight_source(std::string path, std::vector<std::string> donors, weights_chunk_fn fetch,
                       uint64_t chunk_bytes);
  [[nodiscard]] kernels::tensor fetch(const kernels::weight_desc& desc) override;
  [[nodiscard]] std::string describe() const override;

  // What was fetched so far: the donor that sent the last tensor, tensors, encoded bytes, and
  // seconds spent waiting for them.
  [[nodiscard]] const std::string& donor() const noexcept { return donor_; }
  [[nodiscard]] size_t tensors() const noexcept { return tensors_; }
  [[nodiscard]] uint64_t bytes() const noexcept { return bytes_; }
  [[nodiscard]] uint64_t chunks() const noexcept { return chunks_; }
  [[nodiscard]] double seconds() const noexcept { return seconds_; }

 private:
  // The decoded full tensor from donor `d`; throws std::runtime_error saying why not.
  [[nodiscard]] kernels::tensor fetch_from(size_t d, const kernels::weight_desc& desc);

  std::string path_;
  std::vector<std::string> donors_;  // names, for logs and errors
  weights_chunk_fn fetch_;
  uint64_t chunk_bytes_;
  size_t next_ = 0;  // the donor tried first
  std::string donor_;
  size_t tensors_ = 0;
  uint64_t bytes_ = 0;
  uint64_t chunks_ = 0;
  double seconds_ = 0;
};

// The donor's side, without CAF: which files it may send and the encoding of the tensors being
// sent. A file may be sent only when its path ends in ".safetensors" and names (after
// std::filesystem::weakly_canonical) a file allowed by allow(): the model weights files of the
// cluster's config and of the spawn_stage messages the node was sent. Nothing else on the
// node's filesystem can be read through it.
class weights_donor_core {
 public:
  explicit weights_donor_core(std::string node) : node_(std::move(node)) {}

  void allow(const std::string& path);
  // Empty when `path` may be sent, else why not.
  [[nodiscard]] std::string refusal(const std::string& path) const;
  // Bytes [offset, offset + min(max_bytes, the donor's chunk size)) of the tensor-wire encoding
  // (f32) of `tensor` in the file. Keeps the last two encoded tensors, so the chunks of one
  // tensor read the file once; a tensor whose last chunk was sent is dropped. Never throws: a
  // refusal or a read error comes back in weights_piece::error.
  [[nodiscard]] weights_piece serve(const std::string& path, const std::string& tensor,
                                    uint64_t offset, uint64_t max_bytes, uint64_t chunk_bytes);

 private:
  struct cached {
    std::string path;
    std::string tensor;
    std::string bytes;
  };
  std::string node_;
  std::set<std::string> allowed_;  // weakly canonical paths
  std::list<cached> cache_;        // most recent first, at most two
};

}  // namespace alpaserve::actors
