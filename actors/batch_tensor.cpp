#include "actors/batch_tensor.hpp"

#include <fmt/format.h>

#include "net/tensor_wire.hpp"

namespace alpaserve::actors {

std::string batch_key(std::string_view payload) {
  auto t = net::decode_tensor(payload);
  if (!t || t->shape.empty()) return {};
  std::vector<int64_t> rest(t->shape.begin() + 1, t->shape.end());
  return fmt::format("{}[{}]", t->dtype, fmt::join(rest, ","));
}

int64_t batch_rows(std::string_view payload) {
  auto t = net::decode_tensor(payload);
  return t && !t->shape.empty() ? t->shape.front() : 0;
}

std::string concat_batch(const std::vector<std::string_view>& payloads, std::string* error) {
  net::wire_tensor out;
  std::string key;
  for (size_t i = 0; i < payloads.size(); ++i) {
    std::string problem;
    auto t = net::decode_tensor(payloads[i], &problem);
    if (!t || t->shape.empty()) {
      if (error) *error = fmt::format("input {} of the batch: {}", i, t ? "rank 0" : problem);
      return {};
    }
    const std::string k = batch_key(payloads[i]);
    if (i == 0) {
      key = k;
      out.dtype = t->dtype;
      out.shape = t->shape;
      out.shape[0] = 0;
    } else if (k != key) {
      if (error) *error = fmt::format("input {} of the batch is {}, the first {}", i, k, key);
      return {};
    }
    out.shape[0] += t->shape[0];
    out.data += t->data;
  }
  return net::encode_tensor(out);
}

std::vector<std::string> split_batch(std::string_view output, const std::vector<int64_t>& rows,
                                     std::string* error) {
  std::string problem;
  auto t = net::decode_tensor(output, &problem);
  if (!t || t->shape.empty()) {
    if (error) *error = "batch output: " + (t ? std::string("rank 0") : problem);
    return {};
  }
  int64_t total = 0;
  for (int64_t r : rows) total += r;
  if (t->shape[0] != total) {
    if (error)
      *error = fmt::format("batch output has {} rows for {} input rows", t->shape[0], total);
    return {};
  }
  const size_t row_bytes = total > 0 ? t->data.size() / static_cast<size_t>(total) : 0;
  std::vector<std::string> out;
  size_t offset = 0;
  for (int64_t r : rows) {
    net::wire_tensor piece;
    piece.dtype = t->dtype;
    piece.shape = t->shape;
    piece.shape[0] = r;
    const size_t n = row_bytes * static_cast<size_t>(r);
    piece.data = t->data.substr(offset, n);
    offset += n;
    out.push_back(net::encode_tensor(piece));
  }
  return out;
}

}  // namespace alpaserve::actors
